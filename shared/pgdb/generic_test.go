package pgdb_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dostupno/dostupno/shared/pgdb"
	"github.com/dostupno/dostupno/shared/pgtest"
)

// TestQueryGenericPlansOneStatement: the statement runs under force_generic_plan, and the
// connection is back to force_custom_plan (Connect) after it, inside a caller's transaction
// too; the indexed variant's also without sequential scans, put back on after it; a
// connection runs no parallel workers; a statement that fails reports its error.
func TestQueryGenericPlansOneStatement(t *testing.T) {
	ctx := context.Background()
	pool, err := pgdb.Connect(ctx, pgtest.NewURL(t), pgdb.Options{MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	setting := func(db pgdb.DBTX, name string) string {
		t.Helper()
		var v string
		if err := db.QueryRow(ctx, `SELECT current_setting($1)`, name).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	// inside is what sql, one text, answers when query runs it.
	inside := func(query func(context.Context, pgdb.DBTX, string, ...any) (pgx.Rows, pgx.BatchResults, error), db pgdb.DBTX, sql string) string {
		t.Helper()
		rows, br, err := query(ctx, db, sql)
		if err != nil {
			t.Fatal(err)
		}
		m, err := pgx.CollectExactlyOneRow(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		if err := br.Close(); err != nil {
			t.Fatal(err)
		}
		return m
	}
	const modeSQL = `SELECT current_setting('plan_cache_mode')`
	if got := inside(pgdb.QueryGeneric, pool, modeSQL); got != "force_generic_plan" {
		t.Fatalf("the statement ran with %s, want force_generic_plan", got)
	}
	if got := setting(pool, "plan_cache_mode"); got != "force_custom_plan" {
		t.Fatalf("after it the connection has %s, want force_custom_plan", got)
	}
	if err := pgdb.InTx(ctx, pool, func(tx pgx.Tx) error {
		if got := inside(pgdb.QueryGeneric, tx, modeSQL); got != "force_generic_plan" {
			t.Errorf("in a transaction the statement ran with %s, want force_generic_plan", got)
		}
		if got := setting(tx, "plan_cache_mode"); got != "force_custom_plan" {
			t.Errorf("in a transaction after it: %s, want force_custom_plan", got)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// The indexed variant: sequential scans off for its statement alone, in a transaction too.
	for _, tx := range []bool{false, true} {
		run := func(db pgdb.DBTX) error {
			got := inside(pgdb.QueryGenericIndexed, db, `SELECT current_setting('plan_cache_mode') || ' ' || current_setting('enable_seqscan')`)
			if got != "force_generic_plan off" {
				t.Errorf("in a transaction %v the indexed statement ran with %q, want force_generic_plan off", tx, got)
			}
			if m, s := setting(db, "plan_cache_mode"), setting(db, "enable_seqscan"); m != "force_custom_plan" || s != "on" {
				t.Errorf("in a transaction %v after it: %s, enable_seqscan %s; want force_custom_plan, on", tx, m, s)
			}
			return nil
		}
		if tx {
			err = pgdb.InTx(ctx, pool, func(tx pgx.Tx) error { return run(tx) })
		} else {
			err = run(pool)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := setting(pool, "max_parallel_workers_per_gather"); got != "0" {
		t.Fatalf("the connection has max_parallel_workers_per_gather %s, want 0", got)
	}
	if got := setting(pool, "effective_io_concurrency"); got != "64" {
		t.Fatalf("the connection has effective_io_concurrency %s, want 64", got)
	}

	rows, br, err := pgdb.QueryGeneric(ctx, pool, `SELECT 1/0`)
	if err == nil {
		rows.Next()
		rows.Close()
		err = rows.Err()
	}
	br.Close() //nolint:errcheck // the statement's error is the one checked
	if err == nil {
		t.Fatal("a failing statement: got no error")
	}
}

// TestOneConnHoldsOneConnection: on a pool, every statement of fn runs on the one connection
// acquired for it, even while the pool hands its other connection to someone else between
// them; a transaction is passed through as it is.
func TestOneConnHoldsOneConnection(t *testing.T) {
	ctx := context.Background()
	pool, err := pgdb.Connect(ctx, pgtest.NewURL(t), pgdb.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	pid := func(db pgdb.DBTX) (p int32) {
		t.Helper()
		if err := db.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var first, second, other int32
	if err := pgdb.OneConn(ctx, pool, func(db pgdb.DBTX) error {
		first = pid(db)
		c, err := pool.Acquire(ctx) // the connection last released, were fn's not held
		if err != nil {
			return err
		}
		defer c.Release()
		other = pid(c)
		second = pid(db)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if first != second || first == other {
		t.Fatalf("fn's statements ran on backends %d and %d (another caller's: %d), want one backend of its own", first, second, other)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read only
	if err := pgdb.OneConn(ctx, tx, func(db pgdb.DBTX) error {
		if db != tx {
			t.Fatalf("OneConn on a transaction ran fn on %T, want the transaction", db)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
