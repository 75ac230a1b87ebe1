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
// too; a statement that fails reports its error.
func TestQueryGenericPlansOneStatement(t *testing.T) {
	ctx := context.Background()
	pool, err := pgdb.Connect(ctx, pgtest.NewURL(t), pgdb.Options{MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	mode := func(db pgdb.DBTX) string {
		t.Helper()
		var m string
		if err := db.QueryRow(ctx, `SHOW plan_cache_mode`).Scan(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	inside := func(db pgdb.DBTX) string {
		t.Helper()
		rows, br, err := pgdb.QueryGeneric(ctx, db, `SELECT current_setting('plan_cache_mode')`)
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
	if got := inside(pool); got != "force_generic_plan" {
		t.Fatalf("the statement ran with %s, want force_generic_plan", got)
	}
	if got := mode(pool); got != "force_custom_plan" {
		t.Fatalf("after it the connection has %s, want force_custom_plan", got)
	}
	if err := pgdb.InTx(ctx, pool, func(tx pgx.Tx) error {
		if got := inside(tx); got != "force_generic_plan" {
			t.Errorf("in a transaction the statement ran with %s, want force_generic_plan", got)
		}
		if got := mode(tx); got != "force_custom_plan" {
			t.Errorf("in a transaction after it: %s, want force_custom_plan", got)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
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
