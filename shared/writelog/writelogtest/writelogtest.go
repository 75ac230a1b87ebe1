// Package writelogtest compares Postgres copies row by row, for tests and for the local
// runner's checks that copies fed by the write log never differ.
package writelogtest

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/dostupno/dostupno/shared/pgdb"
)

// Excluded reports whether table is left out of a comparison: the migration record, the
// cache snapshots and the details' generation (migration 032: a count of the copy's own
// writing statements, and its epoch), which each copy writes for itself.
func Excluded(table string) bool {
	return table == "schema_migrations" || strings.HasPrefix(table, "cache_") || strings.HasPrefix(table, "details_")
}

// Tables lists the compared tables of db's public schema, by name.
func Tables(ctx context.Context, db pgdb.DBTX) ([]string, error) {
	all, err := pgdb.Collect(ctx, db, "list tables", pgx.RowTo[string], `SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, t := range all {
		if !Excluded(t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// Diff compares every table (but the excluded ones) of a and b row by row, each row in its
// text form, and describes the first few differences; it returns nil when they are identical.
func Diff(ctx context.Context, a, b pgdb.DBTX) ([]string, error) {
	ta, err := Tables(ctx, a)
	if err != nil {
		return nil, err
	}
	tb, err := Tables(ctx, b)
	if err != nil {
		return nil, err
	}
	if strings.Join(ta, ",") != strings.Join(tb, ",") {
		return []string{fmt.Sprintf("tables differ: %v vs %v", ta, tb)}, nil
	}
	var diffs []string
	for _, t := range ta {
		ra, err := rowsOf(ctx, a, t)
		if err != nil {
			return nil, err
		}
		rb, err := rowsOf(ctx, b, t)
		if err != nil {
			return nil, err
		}
		if len(ra) != len(rb) {
			diffs = append(diffs, fmt.Sprintf("%s: %d rows vs %d rows", t, len(ra), len(rb)))
			continue
		}
		for i := range ra {
			if ra[i] != rb[i] {
				diffs = append(diffs, fmt.Sprintf("%s row %d: %s vs %s", t, i+1, ra[i], rb[i]))
				break
			}
		}
	}
	return diffs, nil
}

func rowsOf(ctx context.Context, db pgdb.DBTX, table string) ([]string, error) {
	q := fmt.Sprintf(`SELECT t::text FROM %s t ORDER BY 1`, pgx.Identifier{table}.Sanitize())
	return pgdb.Collect(ctx, db, "read "+table, pgx.RowTo[string], q)
}

// TB is the part of testing.TB Equal uses.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Errorf(format string, args ...any)
}

// Equal fails t unless every compared table of a and b holds the same rows.
func Equal(t TB, a, b pgdb.DBTX) {
	t.Helper()
	diffs, err := Diff(context.Background(), a, b)
	if err != nil {
		t.Fatalf("compare copies: %v", err)
	}
	for _, d := range diffs {
		t.Errorf("copies differ: %s", d)
	}
}

// SetApplied records seq as db's applied position, as the applier does after writing rows at
// that sequence: tests that write catalog rows directly use it to stand for the applier.
func SetApplied(ctx context.Context, db pgdb.DBTX, seq uint64) error {
	if _, err := db.Exec(ctx, `UPDATE writelog_position SET applied_seq = $1`, int64(seq)); err != nil {
		return fmt.Errorf("set the applied position %d: %w", seq, err)
	}
	return nil
}
