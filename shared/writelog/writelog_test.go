package writelog_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dostupno/dostupno/shared/apitest"
	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/changefeed"
	"github.com/dostupno/dostupno/shared/commands"
	"github.com/dostupno/dostupno/shared/natstest"
	"github.com/dostupno/dostupno/shared/pgtest"
	"github.com/dostupno/dostupno/shared/userkeys"
	"github.com/dostupno/dostupno/shared/writelog"
	"github.com/dostupno/dostupno/shared/writelog/writelogtest"
)

var at = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func event(id int64, title string) catalog.Event {
	return catalog.Event{
		ID: id, Title: title, Category: "concert", City: "moscow",
		Venue:    catalog.Venue{ID: 10 + id%3, Name: "Hall"},
		StartsAt: time.Date(2026, 7, 1, 19, 0, 0, 0, time.UTC), Timezone: "Europe/Moscow",
		Accessibility: catalog.Answers(map[string]string{"elevator": "yes", "braille": "no"}),
	}
}

type env struct {
	log   *writelog.Log
	nats  *natstest.Env
	vocab *catalog.Vocabulary
	keys  *userkeys.Store
}

func newEnv(t *testing.T) *env {
	t.Helper()
	n := natstest.New(t)
	l, keys := writelogtest.Streams(t, n)
	return &env{log: l, nats: n, keys: keys}
}

// copy makes a fresh Postgres copy and its applier, which does not spread runs; calls counts
// event.upsert's handler calls.
func (e *env) copy(t *testing.T, name string, calls *atomic.Int64) (*pgxpool.Pool, *writelog.Replica) {
	t.Helper()
	return e.copyOf(t, name, calls, nil)
}

// spreadCopy makes a fresh copy whose applier spreads event.upsert runs, counting the runs
// it spread.
func (e *env) spreadCopy(t *testing.T, name string, runs *atomic.Int64) (*pgxpool.Pool, *writelog.Replica) {
	t.Helper()
	return e.copyOf(t, name, nil, runs)
}

func (e *env) copyOf(t *testing.T, name string, calls, runs *atomic.Int64) (*pgxpool.Pool, *writelog.Replica) {
	t.Helper()
	pool := pgtest.New(t)
	vocab, err := catalog.LoadVocabulary(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	return pool, writelog.NewReplica(e.log, pool, name, e.kinds(vocab, calls, runs), quiet())
}

// kinds are every command kind (commands.Kinds), event.upsert's counted: calls counts its
// handler's calls, runs its spread runs; without runs it is not spread at all.
func (e *env) kinds(vocab *catalog.Vocabulary, calls, runs *atomic.Int64) []writelog.Kind {
	ks := commands.Kinds(vocab, e.keys)
	for i, k := range ks {
		if k.Name != catalog.KindEventUpsert {
			continue
		}
		ks[i].Apply = func(ctx context.Context, tx pgx.Tx, seq uint64, cmd writelog.Command) (writelog.Outcome, error) {
			if calls != nil {
				calls.Add(1)
			}
			return k.Apply(ctx, tx, seq, cmd)
		}
		ks[i].Spread = nil
		if runs != nil {
			ks[i].Spread = func(ctx context.Context, tx pgx.Tx, parts []pgx.Tx, run []writelog.Numbered) ([]writelog.Outcome, error) {
				runs.Add(1)
				return k.Spread(ctx, tx, parts, run)
			}
		}
	}
	return ks
}

func (e *env) publish(t *testing.T, key string, events ...catalog.Event) uint64 {
	t.Helper()
	seq, err := e.log.Publish(context.Background(), catalog.KindEventUpsert, key, at, events)
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

func title(t *testing.T, pool *pgxpool.Pool, id int64) (string, int64) {
	t.Helper()
	var s string
	var v int64
	if err := pool.QueryRow(context.Background(), `SELECT title, version FROM events WHERE id = $1`, id).Scan(&s, &v); err != nil {
		t.Fatalf("event %d: %v", id, err)
	}
	return s, v
}

func consumerSettled(t *testing.T, r *writelog.Replica) {
	t.Helper()
	c, err := r.Consumer(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The acknowledgements are sent without waiting for the server's reply (the settling's
	// Ack), so the consumer's counts reach zero after the round returns, not always before.
	apitest.Eventually(t, 10*time.Second, "consumer "+r.Name()+" settled", func() (bool, string) {
		info, err := c.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return info.NumPending == 0 && info.NumAckPending == 0,
			fmt.Sprintf("pending %d, ack pending %d (want 0 and 0)", info.NumPending, info.NumAckPending)
	})
}

func TestOpen(t *testing.T) {
	t.Run("Idempotent", func(t *testing.T) {
		e := newEnv(t)
		if _, err := writelog.Open(context.Background(), e.nats.JS, e.nats.Namespace); err != nil {
			t.Fatalf("second Open: %v", err)
		}
		s, err := e.nats.JS.Stream(context.Background(), writelog.StreamName(e.nats.Namespace))
		if err != nil {
			t.Fatal(err)
		}
		cfg := s.CachedInfo().Config
		if cfg.Storage != jetstream.FileStorage || cfg.Duplicates < 2*time.Hour || cfg.MaxAge != 0 || cfg.MaxMsgs != -1 || cfg.MaxMsgSize != writelog.MaxMsgSize {
			t.Errorf("got storage %v, duplicates %v, max age %v, max msgs %d, max msg size %d; want file, >=2h, 0, -1, %d",
				cfg.Storage, cfg.Duplicates, cfg.MaxAge, cfg.MaxMsgs, cfg.MaxMsgSize, writelog.MaxMsgSize)
		}
	})
}

func TestApply(t *testing.T) {
	t.Run("ReadYourWrites", func(t *testing.T) {
		e := newEnv(t)
		pool, r := e.copy(t, "primary", nil)
		seq := e.publish(t, "event:1", event(1, "First"))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		o, err := r.WaitApplied(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		if o.Status != writelog.Applied {
			t.Fatalf("got status %q (%s), want applied", o.Status, o.Message)
		}
		var res catalog.EventUpsertResult
		if err := json.Unmarshal(o.Result, &res); err != nil || res.Changed != 1 {
			t.Errorf("got result %s (%v), want changed 1", o.Result, err)
		}
		if got, v := title(t, pool, 1); got != "First" || v != int64(seq) {
			t.Errorf("got title %q version %d, want First version %d", got, v, seq)
		}
		consumerSettled(t, r)
	})

	t.Run("StreamOrderLastWriterWins", func(t *testing.T) {
		e := newEnv(t)
		pool, r := e.copy(t, "primary", nil)
		var last uint64
		const n = writelog.MaxBatchCommands + 88 // more than one transaction's worth
		for i := range n {
			last = e.publish(t, fmt.Sprintf("event:%d", i), event(int64(i%50+1), fmt.Sprintf("v%d", i)))
		}
		applied, err := r.ApplyPending(context.Background())
		if err != nil || applied != n {
			t.Fatalf("got applied %d, %v; want %d, nil", applied, err, n)
		}
		if got, v := title(t, pool, int64((n-1)%50+1)); got != fmt.Sprintf("v%d", n-1) || v != int64(last) {
			t.Errorf("got %q version %d, want v%d version %d", got, v, n-1, last)
		}
		st, err := r.Status(context.Background())
		if err != nil || st.Lag != 0 || st.AppliedSeq != last {
			t.Errorf("got status %+v, %v; want applied %d lag 0", st, err, last)
		}
		consumerSettled(t, r)
	})

	t.Run("RefusedFailsAndChangesNothing", func(t *testing.T) {
		e := newEnv(t)
		pool, r := e.copy(t, "primary", nil)
		bad := event(2, "Bad")
		bad.Venue.ID = -4 // refused by the schema
		seq := e.publish(t, "event:batch", event(1, "Good"), bad)
		next := e.publish(t, "event:3", event(3, "Next"))
		o, err := r.WaitApplied(context.Background(), seq)
		if err != nil {
			t.Fatal(err)
		}
		if o.Status != writelog.Failed || o.Code != apperr.InvalidArgument || !strings.Contains(o.Message, "SQLSTATE 23") {
			t.Errorf("got %q %q %q, want failed invalid_argument with the SQLSTATE", o.Status, o.Code, o.Message)
		}
		if n := pgtest.Count(t, pool, `SELECT count(*) FROM events WHERE id IN (1, 2)`); n != 0 {
			t.Errorf("got %d events of the refused command, want 0", n)
		}
		if o, err := r.WaitApplied(context.Background(), next); err != nil || o.Status != writelog.Applied {
			t.Errorf("got %q, %v for the next command, want applied", o.Status, err)
		}
	})

	t.Run("UndecodableRecordedFailedStreamContinues", func(t *testing.T) {
		e := newEnv(t)
		pool, r := e.copy(t, "primary", nil)
		ctx := context.Background()
		for _, body := range []string{`{not json`, `{"v":99,"kind":"event.upsert","key":"k","payload":[]}`, `{"v":1,"kind":"no.such","key":"k","payload":{}}`} {
			if _, err := e.nats.JS.Publish(ctx, writelog.Subject(e.nats.Namespace, "event.upsert"), []byte(body)); err != nil {
				t.Fatal(err)
			}
		}
		seq := e.publish(t, "event:1", event(1, "After"))
		if _, err := r.WaitApplied(ctx, seq); err != nil {
			t.Fatal(err)
		}
		if n := pgtest.Count(t, pool, `SELECT count(*) FROM writelog_outcomes WHERE status = 'failed'`); n != 3 {
			t.Errorf("got %d failed outcomes, want 3", n)
		}
		if got, _ := title(t, pool, 1); got != "After" {
			t.Errorf("got %q, want After", got)
		}
		consumerSettled(t, r)
	})

	t.Run("DuplicatePublishDropped", func(t *testing.T) {
		e := newEnv(t)
		pool, r := e.copy(t, "primary", nil)
		first := e.publish(t, "event:1", event(1, "Once"))
		again := e.publish(t, "event:1", event(1, "Once"))
		if again != first {
			t.Errorf("got sequence %d for the duplicate, want the original %d", again, first)
		}
		last, err := e.log.LastSeq(context.Background())
		if err != nil || last != first {
			t.Errorf("got last sequence %d, %v; want %d", last, err, first)
		}
		if _, err := r.ApplyPending(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := pgtest.Count(t, pool, `SELECT count(*) FROM writelog_outcomes`); n != 1 {
			t.Errorf("got %d outcomes, want 1", n)
		}
	})

	t.Run("ApplyingWhilePublishingRecordsNoHoles", func(t *testing.T) {
		e := newEnv(t)
		pool, r := e.copy(t, "primary", nil)
		const n = 200
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := range n {
				e.publish(t, fmt.Sprintf("event:%d", i), event(int64(i%20+1), fmt.Sprintf("v%d", i)))
			}
		}()
		for running := true; running; {
			select {
			case <-done:
				running = false
			default:
			}
			if _, err := r.ApplyPending(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := r.ApplyPending(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := pgtest.Count(t, pool, `SELECT count(*) FROM writelog_outcomes WHERE status = 'applied'`); got != n {
			t.Errorf("got %d applied outcomes, want %d", got, n)
		}
	})

	t.Run("OneApplierPerCopy", func(t *testing.T) {
		e := newEnv(t)
		var calls atomic.Int64
		pool, r1 := e.copy(t, "primary", &calls)
		vocab, err := catalog.LoadVocabulary(context.Background(), pool)
		if err != nil {
			t.Fatal(err)
		}
		r2 := writelog.NewReplica(e.log, pool, "primary", e.kinds(vocab, nil, nil), quiet())
		for i := range 300 {
			e.publish(t, fmt.Sprintf("event:%d", i+1), event(int64(i+1), "T"))
		}
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := range 8 {
			wg.Go(func() {
				r := r1
				if i%2 == 1 {
					r = r2
				}
				_, err := r.WaitApplied(context.Background(), 300)
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if n := pgtest.Count(t, pool, `SELECT count(*) FROM writelog_outcomes`); n != 300 {
			t.Errorf("got %d outcomes, want 300", n)
		}
		if c := calls.Load(); c > 300 {
			t.Errorf("got %d handler calls on one applier, want at most 300", c)
		}
	})
}

func TestFaults(t *testing.T) {
	t.Run("StoppedBetweenCommitAndAckAppliesNothingTwice", func(t *testing.T) {
		e := newEnv(t)
		var calls atomic.Int64
		pool, r := e.copy(t, "primary", &calls)
		for i := range 5 {
			e.publish(t, fmt.Sprintf("event:%d", i+1), event(int64(i+1), "T"))
		}
		r.SetAfterCommit(func(uint64) { panic("stopped after commit") })
		func() {
			defer func() {
				if recover() == nil {
					t.Fatal("got no stop, want the hook to stop the applier")
				}
			}()
			_, _ = r.ApplyPending(context.Background()) // stops in the hook
		}()
		if got := calls.Load(); got != 5 {
			t.Fatalf("got %d handler calls, want 5", got)
		}
		// The consumer delivered nothing acked: a fresh applier of the same copy.
		vocab, err := catalog.LoadVocabulary(context.Background(), pool)
		if err != nil {
			t.Fatal(err)
		}
		var calls2 atomic.Int64
		fresh := writelog.NewReplica(e.log, pool, "primary", e.kinds(vocab, &calls2, nil), quiet())
		n, err := fresh.ApplyPending(context.Background())
		if err != nil || n != 0 || calls2.Load() != 0 {
			t.Errorf("got applied %d, %d handler calls, %v; want 0, 0, nil", n, calls2.Load(), err)
		}
		if n := pgtest.Count(t, pool, `SELECT count(*) FROM writelog_outcomes`); n != 5 {
			t.Errorf("got %d outcomes, want 5", n)
		}
		consumerSettled(t, fresh)
	})

	t.Run("ErrStreamRecreated", func(t *testing.T) {
		e := newEnv(t)
		pool, r := e.copy(t, "primary", nil)
		e.publish(t, "event:1", event(1, "A"))
		e.publish(t, "event:2", event(2, "B"))
		ctx := context.Background()
		if _, err := r.ApplyPending(ctx); err != nil {
			t.Fatal(err)
		}
		if err := e.nats.JS.DeleteStream(ctx, writelog.StreamName(e.nats.Namespace)); err != nil {
			t.Fatal(err)
		}
		l, err := writelog.Open(ctx, e.nats.JS, e.nats.Namespace)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Publish(ctx, catalog.KindEventUpsert, "event:3", at, []catalog.Event{event(3, "C")}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.ApplyPending(ctx); err == nil || !strings.Contains(err.Error(), "recreated") {
			t.Errorf("got %v from a copy ahead of its stream, want the stream named as recreated", err)
		}
		// A writer whose command takes a sequence the copy applied from the old stream gets
		// 503, not the old command's outcome.
		vocab, err := catalog.LoadVocabulary(ctx, pool)
		if err != nil {
			t.Fatal(err)
		}
		w := writelog.NewWriter(l, writelog.NewReplica(l, pool, "primary", e.kinds(vocab, nil, nil), quiet()), quiet())
		_, err = w.Submit(ctx, at, writelog.Write{Kind: catalog.KindEventUpsert, Key: "event:4", Payload: []catalog.Event{event(4, "D")}})
		if apperr.CodeOf(err) != apperr.Unavailable || !strings.Contains(err.Error(), "recreated") {
			t.Errorf("got %v from a write at a sequence of the old stream, want unavailable, the stream named as recreated", err)
		}
		// Once the new stream has grown past the copy's position, an applier starting then
		// (a process's start) refuses it, rather than take its first commands as applied.
		if _, err := l.Publish(ctx, catalog.KindEventUpsert, "event:5", at, []catalog.Event{event(5, "E")}); err != nil {
			t.Fatal(err)
		}
		fresh := writelog.NewReplica(l, pool, "primary", e.kinds(vocab, nil, nil), quiet())
		if _, err := fresh.ApplyPending(ctx); err == nil || !strings.Contains(err.Error(), "recreated") {
			t.Errorf("got %v from a copy whose applied command the stream holds no more, want the stream named as recreated", err)
		}
		if n := pgtest.Count(t, pool, `SELECT count(*) FROM events`); n != 2 {
			t.Errorf("got %d events in the copy, want the old stream's 2", n)
		}
	})

	t.Run("CopyAddedLaterReplaysToSameState", func(t *testing.T) {
		e := newEnv(t)
		a, ra := e.copy(t, "primary", nil)
		for i := range 50 {
			e.publish(t, fmt.Sprintf("event:%d:%d", i%7, i), event(int64(i%7+1), fmt.Sprintf("t%d", i)))
		}
		bad := event(99, "Bad")
		bad.Venue.ID = 0 // refused by the schema: a rejected outcome is replayed alike
		e.publish(t, "event:99", bad)
		if _, err := ra.ApplyPending(context.Background()); err != nil {
			t.Fatal(err)
		}
		b, rb := e.copy(t, "copy-2", nil)
		if _, err := rb.ApplyPending(context.Background()); err != nil {
			t.Fatal(err)
		}
		writelogtest.Equal(t, a, b)
		if n := pgtest.Count(t, b, `SELECT count(*) FROM events`); n != 7 {
			t.Errorf("got %d events in the later copy, want 7", n)
		}
		// A difference is seen.
		if _, err := b.Exec(context.Background(), `UPDATE events SET title = 'drift' WHERE id = 1`); err != nil {
			t.Fatal(err)
		}
		diffs, err := writelogtest.Diff(context.Background(), a, b)
		if err != nil || len(diffs) != 1 {
			t.Errorf("got diffs %v, %v; want one", diffs, err)
		}
	})
}

func TestAnnounce(t *testing.T) {
	// announced subscribes to the change feed and returns the first change announced.
	announced := func(t *testing.T, e *env) func() changefeed.Change {
		t.Helper()
		sub, err := e.nats.Conn.SubscribeSync(changefeed.Subject(e.nats.Namespace))
		if err != nil {
			t.Fatal(err)
		}
		if err := e.nats.Conn.Flush(); err != nil {
			t.Fatal(err)
		}
		return func() changefeed.Change {
			t.Helper()
			m, err := sub.NextMsg(10 * time.Second)
			if err != nil {
				t.Fatalf("got no announcement (%v), want one", err)
			}
			var c changefeed.Change
			if err := json.Unmarshal(m.Data, &c); err != nil {
				t.Fatal(err)
			}
			return c
		}
	}

	t.Run("PrimaryAnnounces", func(t *testing.T) {
		e := newEnv(t)
		_, r := e.copy(t, "primary", nil)
		next := announced(t, e)
		seq := e.publish(t, "event:5", event(5, "Ann"))
		if _, err := r.WaitApplied(context.Background(), seq); err != nil {
			t.Fatal(err)
		}
		c := next()
		if c.Seq != seq || len(c.Events) != 1 || c.Events[0].ID != 5 || len(c.Events[0].Constraints) != 1 || c.Events[0].Constraints[0] != "elevator" {
			t.Errorf("got change %+v, want seq %d with event 5 [elevator]", c, seq)
		}
	})

	t.Run("OtherCopySilent", func(t *testing.T) {
		e := newEnv(t)
		_, other := e.copy(t, "copy-2", nil)
		_, primary := e.copy(t, "primary", nil)
		next := announced(t, e)
		seq := e.publish(t, "event:5", event(5, "Ann"))
		if _, err := other.WaitApplied(context.Background(), seq); err != nil {
			t.Fatal(err)
		}
		last := e.publish(t, "event:6", event(6, "Ann"))
		if _, err := primary.WaitApplied(context.Background(), last); err != nil {
			t.Fatal(err)
		}
		// Both copies announce (if they do) through one connection, in order: had copy-2
		// announced event 5, that change would come before the primary's of events 5 and 6.
		if c := next(); c.Seq != last || len(c.Events) != 2 {
			t.Errorf("got change %+v first, want the primary's of events 5 and 6 (seq %d)", c, last)
		}
	})
}

// TestOutcomesKeptByTheApplier: an applier answers the outcomes of the commands it committed
// lately from memory (a writer waiting for its command reads no table), the same as the copy
// recorded them, for seconds only; an applier that did not apply them reads the copy; a
// command that rewrites earlier outcomes (Kind.Scrubs) makes the copy the only source again.
func TestOutcomesKeptByTheApplier(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	pool := pgtest.New(t)
	kinds := []writelog.Kind{
		{Name: "test.note", Apply: func(context.Context, pgx.Tx, uint64, writelog.Command) (writelog.Outcome, error) {
			return writelog.Succeed(map[string]int{"n": 1}, changefeed.Change{})
		}},
		{Name: "test.refuse", Apply: func(context.Context, pgx.Tx, uint64, writelog.Command) (writelog.Outcome, error) {
			return writelog.Reject(apperr.Conflict, "taken"), nil
		}},
		{Name: "test.scrub", Scrubs: true, Apply: func(ctx context.Context, tx pgx.Tx, seq uint64, _ writelog.Command) (writelog.Outcome, error) {
			if _, err := tx.Exec(ctx, `UPDATE writelog_outcomes SET status = 'erased', message = 'scrubbed', result = NULL WHERE seq < $1`, int64(seq)); err != nil {
				return writelog.Outcome{}, err
			}
			return writelog.Succeed(nil, changefeed.Change{})
		}},
	}
	r := writelog.NewReplica(e.log, pool, "primary", kinds, quiet())
	publish := func(kind string) uint64 {
		t.Helper()
		seq, err := e.log.Publish(ctx, kind, kind, at, map[string]int{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.WaitApplied(ctx, seq); err != nil {
			t.Fatal(err)
		}
		return seq
	}
	note, refused := publish("test.note"), publish("test.refuse")
	kept, err := r.Outcomes(ctx, []uint64{note, refused})
	if err != nil {
		t.Fatal(err)
	}
	// Another applier of the same copy holds nothing in memory: it reads the table.
	other := writelog.NewReplica(e.log, pool, "primary", kinds, quiet())
	recorded, err := other.Outcomes(ctx, []uint64{note, refused})
	if err != nil {
		t.Fatal(err)
	}
	for i := range kept {
		k, rec := kept[i], recorded[i]
		var a, b any
		_ = json.Unmarshal(k.Result, &a)
		_ = json.Unmarshal(rec.Result, &b)
		if k.Status != rec.Status || k.Code != rec.Code || k.Message != rec.Message || fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("outcome %d: kept %+v, recorded %+v, want the same", i, k, rec)
		}
	}
	if kept[0].Status != writelog.Applied || kept[1].Status != writelog.Rejected || kept[1].Code != apperr.Conflict {
		t.Errorf("got %+v, want applied then rejected (conflict)", kept)
	}
	if _, err := pool.Exec(ctx, `DELETE FROM writelog_outcomes WHERE seq = $1`, int64(note)); err != nil {
		t.Fatal(err)
	}
	if o, ok, err := r.Outcome(ctx, note); err != nil || !ok || o.Status != writelog.Applied {
		t.Errorf("from memory: got %+v, %v, %v, want applied", o, ok, err)
	}
	if _, ok, err := other.Outcome(ctx, note); err != nil || ok {
		t.Errorf("from the table after its row went: got found %v, %v, want not found", ok, err)
	}
	// Kept for seconds only: then the table answers (here, that the row went).
	r.AgeRemembered(time.Minute)
	if _, ok, err := r.Outcome(ctx, note); err != nil || ok {
		t.Errorf("a minute after: got found %v, %v, want the table's answer (not found)", ok, err)
	}
	publish("test.scrub")
	if o, ok, err := r.Outcome(ctx, refused); err != nil || !ok || o.Status != writelog.Erased || o.Message != "scrubbed" {
		t.Errorf("after a scrub: got %+v, %v, %v, want the rewritten outcome (erased)", o, ok, err)
	}
}
