package writelog_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dostupno/dostupno/migrations"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/logging"
	"github.com/dostupno/dostupno/shared/pgdb"
	"github.com/dostupno/dostupno/shared/pgtest"
	"github.com/dostupno/dostupno/shared/writelog"
)

// maintained reports whether table has been analysed and vacuumed (pg_stat_user_tables).
func maintained(t *testing.T, pool *pgxpool.Pool, table string) bool {
	t.Helper()
	var analyzed, vacuumed *time.Time
	if err := pool.QueryRow(context.Background(), `SELECT last_analyze, last_vacuum FROM pg_stat_user_tables WHERE relname = $1`, table).
		Scan(&analyzed, &vacuumed); err != nil {
		t.Fatal(err)
	}
	return analyzed != nil && vacuumed != nil
}

// Small writes never maintain a table; a large batch does, once ApplyPending (db-writer's
// path) has read the stream to its end; a writer that applied a large run itself while
// waiting for its command leaves the maintenance to the db-writer it rings.
func TestMaintainAfterLargeBatches(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	bell, err := e.nats.Conn.SubscribeSync(writelog.DoorbellSubject(e.nats.Namespace))
	if err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int64
	pool, rep := e.spreadCopy(t, writelog.PrimaryName, &runs)

	for i := int64(1); i <= 20; i++ {
		e.publish(t, "small", event(i, "small"))
		if _, err := rep.ApplyPending(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if maintained(t, pool, "events") {
		t.Fatal("got events analysed after small writes, want them left alone")
	}

	// A writer waiting for its command applies the large runs before it, and rings.
	w := writelog.NewWriter(e.log, rep, quiet())
	for i := int64(0); i < 15; i++ {
		e.publish(t, "big", big(1000+200*i, 200, "Большой")...)
	}
	if _, err := w.Submit(ctx, at, upsert("after", event(5000, "after"))); err != nil {
		t.Fatal(err)
	}
	if runs.Load() == 0 {
		t.Fatal("got no spread run, want the large commands spread")
	}
	if maintained(t, pool, "events") {
		t.Fatal("got events analysed by a writer waiting for its command, want the db-writer to do it")
	}
	if _, err := bell.NextMsg(5 * time.Second); err != nil {
		t.Fatalf("got no doorbell after a writer applied a large run: %v", err)
	}

	// The db-writer it rang reads the stream to its end and maintains what grew.
	if _, err := rep.ApplyPending(ctx); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"events", "event_accessibility"} {
		if !maintained(t, pool, table) {
			t.Errorf("got %s not analysed and vacuumed after 3,000 events, want both", table)
		}
	}
	var pages, visible, onDisk int64
	if err := pool.QueryRow(ctx, `SELECT relpages, relallvisible, pg_relation_size(oid) / 8192 FROM pg_class WHERE relname = 'event_accessibility'`).
		Scan(&pages, &visible, &onDisk); err != nil {
		t.Fatal(err)
	}
	if holding := int64(pgtest.PagesHoldingRows(t, pool, "event_accessibility")); pages != onDisk || visible < holding*9/10 {
		t.Errorf("got %d pages recorded of %d, %d all-visible of the %d that hold rows; want the size recorded and the pages all-visible", pages, onDisk, visible, holding)
		logHorizon(t, pool)
	}
	if tables, err := rep.Maintain(ctx, writelog.MaintainGrowth); err != nil || len(tables) != 0 {
		t.Errorf("got %v (%v) maintained again with nothing new, want nothing", tables, err)
	}
}

// A VACUUM that leaves more than a tenth of a grown table's pages unmarked (here: a snapshot
// older than their rows, held by another session until the VACUUM is over; in the suite, a
// checkpoint pinning the pages as VACUUM passed) is followed by another once that is gone
// (up to four while pages stay unmarked: a checkpoint may pin pages in the second too), which
// marks them all-visible.
func TestMaintainVacuumsAgainWhatTheFirstLeftUnmarked(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var runs atomic.Int64
	pool, rep := e.spreadCopy(t, writelog.PrimaryName, &runs)
	// A repeatable read transaction keeps the snapshot of its first statement, taken before the
	// rows are written, until it ends.
	old, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Rollback(ctx) //nolint:errcheck // committed in the hook; a no-op then
	if _, err := old.Exec(ctx, "SELECT count(*) FROM events"); err != nil {
		t.Fatal(err)
	}
	visible := func() (pages, visible int64) {
		t.Helper()
		if err := pool.QueryRow(ctx, `SELECT relpages, relallvisible FROM pg_class WHERE relname = 'event_accessibility'`).Scan(&pages, &visible); err != nil {
			t.Fatal(err)
		}
		return pages, visible
	}
	var afterFirst [2]int64
	rep.SetAfterVacuum(func() {
		afterFirst[0], afterFirst[1] = visible()
		if err := old.Commit(ctx); err != nil {
			t.Error(err)
		}
	})
	for i := int64(0); i < 15; i++ {
		e.publish(t, "big", big(1000+200*i, 200, "Большой")...)
	}
	if _, err := rep.ApplyPending(ctx); err != nil {
		t.Fatal(err)
	}
	if afterFirst[0] == 0 || afterFirst[1] >= afterFirst[0]*9/10 {
		t.Fatalf("after the first VACUUM got %d of %d pages all-visible, want most unmarked (the old snapshot held)", afterFirst[1], afterFirst[0])
	}
	_, vis := visible()
	if holding := int64(pgtest.PagesHoldingRows(t, pool, "event_accessibility")); vis < holding*9/10 {
		t.Errorf("got %d all-visible of the %d pages that hold rows, want them marked by the second VACUUM", vis, holding)
	}
}

// Maintenance and poison handling compose: a command the database refuses inside the large
// runs fails alone (its run is applied one by one) and the rest of the batch is applied; the
// tables it grew count all the same, and the applier that read the stream to its end
// maintains them.
func TestMaintainAfterABatchWithAPoisonedCommand(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var runs atomic.Int64
	pool, rep := e.spreadCopy(t, writelog.PrimaryName, &runs)
	var poisoned uint64
	for i := int64(0); i < 15; i++ {
		events := big(1000+200*i, 200, "Большой")
		if i == 7 {
			events[100].Title = "before\x00after" // SQLSTATE 22021: NUL is not valid text
			poisoned = e.publish(t, fmt.Sprintf("big:%d", i), events...)
			continue
		}
		e.publish(t, fmt.Sprintf("big:%d", i), events...)
	}
	if _, err := rep.ApplyPending(ctx); err != nil {
		t.Fatal(err)
	}
	if o, ok, err := rep.Outcome(ctx, poisoned); err != nil || !ok || o.Status != writelog.Failed || !strings.Contains(o.Message, "SQLSTATE 22021") {
		t.Fatalf("got %+v, %v, %v for the poisoned command, want failed with SQLSTATE 22021", o, ok, err)
	}
	if n := pgtest.Count(t, pool, `SELECT count(*) FROM events`); n != 14*200 {
		t.Fatalf("got %d events, want %d: every command but the poisoned one applied", n, 14*200)
	}
	if runs.Load() == 0 {
		t.Fatal("got no spread run, want the runs without the poison spread")
	}
	for _, table := range []string{"events", "event_accessibility"} {
		if !maintained(t, pool, table) {
			t.Errorf("got %s not analysed and vacuumed after a batch with a poisoned command, want both", table)
		}
	}
}

// logHorizon logs the other sessions of pool's database and what each holds back VACUUM with
// (its snapshot's xmin), for a test whose pages VACUUM left unmarked.
func logHorizon(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT pid, coalesce(state, ''), coalesce(backend_xmin::text, ''), left(query, 80)
		FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	if err != nil {
		t.Logf("the database's sessions: %v", err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var pid int
		var state, xmin, query string
		if err := rows.Scan(&pid, &state, &xmin, &query); err != nil {
			t.Logf("the database's sessions: %v", err)
			return
		}
		t.Logf("session %d: %s, xmin %q, %q", pid, state, xmin, query)
	}
}

// A deployment's applier connects as dostupno_writer, which owns no table, and VACUUM and
// ANALYZE skip a table whose owner the role is not with only a warning. Where the server lets
// the role maintain the tables (PostgreSQL 17: migration 034 grants MAINTAIN) the applier
// maintains them as the owner would; where it cannot, it maintains none, claims none and says
// so once in its log.
func TestMaintainAsTheWriterRole(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	admin := pgtest.New(t)
	writer, err := pgdb.Connect(ctx, pgtest.RoleURL(admin.Config().ConnString(), migrations.WriterRole), pgdb.Options{AppName: "writer", MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(writer.Close)
	vocab, err := catalog.LoadVocabulary(ctx, writer)
	if err != nil {
		t.Fatal(err)
	}
	var logs logging.Buffer
	var runs atomic.Int64
	rep := writelog.NewReplica(e.log, writer, writelog.PrimaryName, e.kinds(vocab, nil, &runs), slog.New(slog.NewTextHandler(&logs, nil)))
	for i := int64(0); i < 15; i++ {
		e.publish(t, "big", big(1000+200*i, 200, "Большой")...)
	}
	if _, err := rep.ApplyPending(ctx); err != nil {
		t.Fatal(err)
	}
	tables, err := rep.Maintain(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var version int
	if err := admin.QueryRow(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	warned := strings.Count(logs.String(), "cannot vacuum and analyse")
	if version >= 170000 {
		for _, table := range []string{"events", "event_accessibility"} {
			if !maintained(t, admin, table) {
				t.Errorf("PostgreSQL %d: got %s not analysed and vacuumed by the writer role, want both (MAINTAIN, migration 034)", version, table)
			}
		}
		if warned != 0 {
			t.Errorf("got the warning that tables cannot be maintained, want none:\n%s", logs.String())
		}
		return
	}
	t.Logf("PostgreSQL %d has no MAINTAIN privilege: the writer role may not maintain the tables", version)
	if len(tables) != 0 || maintained(t, admin, "events") {
		t.Errorf("got %v claimed maintained and events maintained %v, want nothing claimed (VACUUM skips them)", tables, maintained(t, admin, "events"))
	}
	if warned != 1 || !strings.Contains(logs.String(), "event_accessibility") || !strings.Contains(logs.String(), "role="+migrations.WriterRole) {
		t.Errorf("got the warning %d times, want once, naming the tables and the role:\n%s", warned, logs.String())
	}
}
