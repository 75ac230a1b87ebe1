package pgdb_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dostupno/dostupno/shared/pgdb"
	"github.com/dostupno/dostupno/shared/pgtest"
)

// batchPool is a pool of n connections on a database of its own, closed with the test.
func batchPool(t *testing.T, n int32) *pgxpool.Pool {
	t.Helper()
	pool, err := pgdb.Connect(context.Background(), pgtest.NewURL(t), pgdb.Options{MaxConns: n})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// answer is one read's outcome: what it scanned (its statement's one text) and its error.
type answer struct {
	got string
	err error
}

// ask runs sql with args through b and scans its one row's one text.
func ask(ctx context.Context, b *pgdb.Batcher, sql string, args ...any) answer {
	var got string
	err := b.QueryGeneric(ctx, sql, args, func(rows pgx.Rows) error {
		v, err := pgx.CollectExactlyOneRow(rows, pgx.RowTo[string])
		got = v
		return err
	})
	if err != nil {
		return answer{err: err}
	}
	return answer{got: got}
}

// queued holds pool's one connection, starts the reads (one goroutine each) and waits until
// all of them wait in b's queue, then gives the connection back, and returns their answers in
// order once all are in.
func queued(t *testing.T, pool *pgxpool.Pool, b *pgdb.Batcher, reads ...func() answer) []answer {
	t.Helper()
	held, err := pool.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := make([]answer, len(reads))
	var wg sync.WaitGroup
	for i, read := range reads {
		wg.Go(func() { out[i] = read() })
	}
	waitFor(t, func() bool { return b.Waiting() == len(reads) })
	held.Release()
	wg.Wait()
	return out
}

// waitFor waits until ok holds, failing the test after 10 s.
func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestBatcherSharesRoundTrips: reads queued while the pool's one connection is busy go in
// one round trip, each answered with its own rows, each under force_generic_plan, and the
// connection is back to force_custom_plan after them; a lone read goes alone.
func TestBatcherSharesRoundTrips(t *testing.T) {
	pool := batchPool(t, 1)
	b := pgdb.NewBatcher(pool, 8)
	ctx := context.Background()
	const sql = `SELECT current_setting('plan_cache_mode') || ' ' || $1::text`
	reads := make([]func() answer, 6)
	for i := range reads {
		reads[i] = func() answer { return ask(ctx, b, sql, fmt.Sprint(i)) }
	}
	for i, a := range queued(t, pool, b, reads...) {
		if want := fmt.Sprintf("force_generic_plan %d", i); a.err != nil || a.got != want {
			t.Errorf("read %d: %q, %v; want %q", i, a.got, a.err, want)
		}
	}
	if got := b.Stats(); got != (pgdb.BatchStats{Reads: 6, RoundTrips: 1}) {
		t.Errorf("stats %+v, want 6 reads in 1 round trip", got)
	}
	var mode string
	if err := pool.QueryRow(ctx, `SELECT current_setting('plan_cache_mode')`).Scan(&mode); err != nil || mode != "force_custom_plan" {
		t.Errorf("after the batch the connection has %q (%v), want force_custom_plan", mode, err)
	}
	if a := ask(ctx, b, sql, "9"); a.err != nil || a.got != "force_generic_plan 9" {
		t.Errorf("a lone read: %q, %v", a.got, a.err)
	}
	if got := b.Stats(); got != (pgdb.BatchStats{Reads: 7, RoundTrips: 2}) {
		t.Errorf("stats %+v after a lone read, want 7 reads in 2 round trips", got)
	}
}

// TestBatcherTakesAtMostItsSize: ten reads queued behind a batch of four go in three round
// trips, every one answered.
func TestBatcherTakesAtMostItsSize(t *testing.T) {
	pool := batchPool(t, 1)
	b := pgdb.NewBatcher(pool, 4)
	reads := make([]func() answer, 10)
	for i := range reads {
		reads[i] = func() answer { return ask(context.Background(), b, `SELECT $1::text`, fmt.Sprint(i)) }
	}
	for i, a := range queued(t, pool, b, reads...) {
		if a.err != nil || a.got != fmt.Sprint(i) {
			t.Errorf("read %d: %q, %v", i, a.got, a.err)
		}
	}
	if got := b.Stats(); got != (pgdb.BatchStats{Reads: 10, RoundTrips: 3}) {
		t.Errorf("stats %+v, want 10 reads in 3 round trips", got)
	}
}

// TestBatcherStatementFailsAlone: a statement that fails in a batch answers its read with its
// error (the caller sees Postgres's code); the reads around it are answered with their rows,
// those after it sent again; a scan that fails answers its read alone; so does an argument
// its statement cannot take, which fails the batch before it is sent.
func TestBatcherStatementFailsAlone(t *testing.T) {
	pool := batchPool(t, 1)
	b := pgdb.NewBatcher(pool, 8)
	ctx := context.Background()
	scanFails := errors.New("scan refused")
	check := checkFailsAlone(t, scanFails)
	reads := make([]func() answer, 7)
	for i := range reads {
		switch i {
		case 2, 4:
			reads[i] = func() answer { return ask(ctx, b, `SELECT (1 / ($1::int - $1::int))::text`, i) }
		case 5:
			reads[i] = func() answer {
				return answer{err: b.QueryGeneric(ctx, `SELECT $1::text`, []any{"5"}, func(pgx.Rows) error { return scanFails })}
			}
		default:
			reads[i] = func() answer { return ask(ctx, b, `SELECT $1::text`, fmt.Sprint(i)) }
		}
	}
	for i, a := range queued(t, pool, b, reads...) {
		check(i, a)
	}
	if got := b.Stats(); got.Reads != 7 || got.RoundTrips > 3 {
		t.Errorf("stats %+v, want 7 reads in at most 3 round trips", got)
	}
	reads[3] = func() answer { return ask(ctx, b, `SELECT $1::text`, struct{}{}) }
	for i, a := range queued(t, pool, b, reads...) {
		if i == 3 {
			if a.err == nil || !strings.Contains(a.err.Error(), "encode") {
				t.Errorf("read 3, whose argument its statement cannot take: %q, %v", a.got, a.err)
			}
			continue
		}
		check(i, a)
	}
}

func checkFailsAlone(t *testing.T, scanFails error) func(int, answer) {
	return func(i int, a answer) {
		t.Helper()
		var pe *pgconn.PgError
		switch i {
		case 2, 4:
			if !errors.As(a.err, &pe) || pe.Code != "22012" {
				t.Errorf("read %d: %q, %v; want division_by_zero", i, a.got, a.err)
			}
		case 5:
			if !errors.Is(a.err, scanFails) {
				t.Errorf("read %d: %v, want its scan's error", i, a.err)
			}
		default:
			if a.err != nil || a.got != fmt.Sprint(i) {
				t.Errorf("read %d: %q, %v", i, a.got, a.err)
			}
		}
	}
}

// TestBatcherCallerGivesUp: a caller whose context ends while its read waits gets the
// context's error and its read is not sent; a batch whose callers have all given up is
// cancelled, and its connection is free again long before its statement would have ended; a
// read of a closed pool fails.
func TestBatcherCallerGivesUp(t *testing.T) {
	pool := batchPool(t, 1)
	b := pgdb.NewBatcher(pool, 8)
	held, err := pool.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	gone, leave := context.WithCancel(context.Background())
	left := make(chan error, 1)
	go func() { left <- ask(gone, b, `SELECT 'never'`).err }()
	waitFor(t, func() bool { return b.Waiting() == 1 })
	leave()
	if err := <-left; !errors.Is(err, context.Canceled) {
		t.Fatalf("the caller that gave up got %v, want context.Canceled", err)
	}
	if n := b.Waiting(); n != 0 {
		t.Fatalf("%d reads still wait after their caller gave up", n)
	}
	held.Release()
	if a := ask(context.Background(), b, `SELECT 'after'`); a.err != nil || a.got != "after" {
		t.Fatalf("the next read: %q, %v", a.got, a.err)
	}
	if got := b.Stats(); got.Reads != 1 {
		t.Fatalf("stats %+v: the read given up was sent", got)
	}

	slow, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ask(slow, b, `SELECT pg_sleep(30)::text`).err }()
	watch, err := pgx.Connect(context.Background(), pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close(context.Background())
	waitFor(t, func() bool {
		return pgtest.Count(t, watch, `SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND state = 'active' AND pid <> pg_backend_pid()`) == 1
	})
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("the slow read's caller got %v, want context.Canceled", err)
	}
	free, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pool.Acquire(free)
	if err != nil {
		t.Fatalf("the connection of a batch nobody waits for is still busy: %v", err)
	}
	c.Release()

	pool.Close()
	if a := ask(context.Background(), b, `SELECT 'closed'`); a.err == nil {
		t.Fatal("a read of a closed pool succeeded")
	}
}

// TestBatcherUnderConcurrency: many callers on a pool of two, each reading its own values,
// each get theirs (run with -race).
func TestBatcherUnderConcurrency(t *testing.T) {
	pool := batchPool(t, 2)
	b := pgdb.NewBatcher(pool, 0)
	var wg sync.WaitGroup
	for c := range 24 {
		wg.Go(func() {
			for i := range 25 {
				want := fmt.Sprintf("%d-%d", c, i)
				if a := ask(context.Background(), b, `SELECT $1::text`, want); a.err != nil || a.got != want {
					t.Errorf("caller %d read %d: %q, %v", c, i, a.got, a.err)
					return
				}
			}
		})
	}
	wg.Wait()
	s := b.Stats()
	if s.Reads != 24*25 || s.RoundTrips > s.Reads {
		t.Errorf("stats %+v, want %d reads", s, 24*25)
	}
	t.Logf("%d reads in %d round trips", s.Reads, s.RoundTrips)
}

// TestBatcherSetsEachReadsPlanMode: in one batch, reads of QueryGeneric run with a generic
// plan and sequential scans on, those of QueryGenericIndexed with them off, in any order, and
// the connection is back to its own settings after them.
func TestBatcherSetsEachReadsPlanMode(t *testing.T) {
	pool := batchPool(t, 1)
	b := pgdb.NewBatcher(pool, 8)
	ctx := context.Background()
	const sql = `SELECT current_setting('plan_cache_mode') || ' ' || current_setting('enable_seqscan')`
	indexed := []bool{false, true, true, false, true, false, false}
	reads := make([]func() answer, len(indexed))
	for i, ix := range indexed {
		reads[i] = func() answer {
			var got string
			query := b.QueryGeneric
			if ix {
				query = b.QueryGenericIndexed
			}
			err := query(ctx, sql, nil, func(rows pgx.Rows) (err error) {
				got, err = pgx.CollectExactlyOneRow(rows, pgx.RowTo[string])
				return err
			})
			return answer{got: got, err: err}
		}
	}
	for i, a := range queued(t, pool, b, reads...) {
		want := "force_generic_plan on"
		if indexed[i] {
			want = "force_generic_plan off"
		}
		if a.err != nil || a.got != want {
			t.Errorf("read %d (indexed %v): %q, %v; want %q", i, indexed[i], a.got, a.err, want)
		}
	}
	if got := b.Stats(); got.RoundTrips != 1 {
		t.Errorf("stats %+v, want one round trip", got)
	}
	var mode string
	if err := pool.QueryRow(ctx, `SELECT current_setting('plan_cache_mode') || ' ' || current_setting('enable_seqscan')`).Scan(&mode); err != nil || mode != "force_custom_plan on" {
		t.Errorf("after the batch the connection has %q (%v), want force_custom_plan on", mode, err)
	}
}

// TestBatcherObserved: with an observer, each read of a batch reports its wait and its place,
// and the time its answer took includes the statements before it (each sleeps 20 ms, so the
// read at place p waited (p+1) × 20 ms at least); with none, nothing is reported.
func TestBatcherObserved(t *testing.T) {
	pool := batchPool(t, 1)
	b := pgdb.NewBatcher(pool, 8)
	var (
		mu  sync.Mutex
		got []pgdb.ReadTimes
	)
	b.Observe(func(r pgdb.ReadTimes) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, r)
	})
	const nap = 20 * time.Millisecond
	sql := fmt.Sprintf(`SELECT pg_sleep(%g)::text || $1::text`, nap.Seconds())
	reads := make([]func() answer, 3)
	for i := range reads {
		reads[i] = func() answer { return ask(context.Background(), b, sql, fmt.Sprint(i)) }
	}
	for i, a := range queued(t, pool, b, reads...) {
		if a.err != nil || a.got != fmt.Sprint(i) {
			t.Fatalf("read %d: %q, %v", i, a.got, a.err)
		}
	}
	if len(got) != 3 {
		t.Fatalf("%d reads reported, want 3: %+v", len(got), got)
	}
	places := map[int]bool{}
	for _, r := range got {
		places[r.Place] = true
		if r.Waited <= 0 {
			t.Errorf("%+v: a read queued behind a held connection reports no wait", r)
		}
		if least := time.Duration(r.Place+1) * nap; r.Answered < least {
			t.Errorf("%+v: answered in less than the %s its statement and those before it slept", r, least)
		}
	}
	if len(places) != 3 || !places[0] || !places[1] || !places[2] {
		t.Errorf("places %v, want 0, 1 and 2", places)
	}
	b.Observe(nil)
	if a := ask(context.Background(), b, `SELECT $1::text`, "x"); a.err != nil {
		t.Fatal(a.err)
	}
	if len(got) != 3 {
		t.Errorf("a read after Observe(nil) was reported: %+v", got[3:])
	}
}
