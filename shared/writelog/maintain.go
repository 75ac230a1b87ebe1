package writelog

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dostupno/dostupno/shared/pgdb"
)

// Maintenance after large batches. Postgres plans a search well only with statistics of the
// rows it holds, and answers it from the indexes alone only where the visibility map marks the
// pages all-visible; autovacuum sees to both in time, but may be off or late, and a copy that
// has just taken an import must search fast at once. So the applier analyses and vacuums the
// tables its kinds grow (Kind.Grows) once they have grown enough: the test compares each
// table's size on disk with the size Postgres recorded at its last VACUUM or ANALYZE
// (pg_class.relpages), one catalog read that touches no table, made when an ApplyPending has
// read the stream to its end (writers waiting for their own command never make it).
// The least growth worth maintaining is pgdb.MaintainMinPages.
const (
	// MaintainGrowth is the share of its recorded size a table grows by before ApplyPending
	// maintains it, each time a fixed sample and the new pages. An import's applier seldom
	// reads the stream to its end while the file is published (a 1M-event import was
	// maintained twice: once on the way, once when it returned), and a copy catching up only
	// at the end.
	MaintainGrowth = 0.2
)

// Maintain runs VACUUM (ANALYZE) (never FULL: readers and writers go on) on the tables of
// Kind.Grows that have grown by at least pgdb.MaintainMinPages and by growth times their recorded
// size, outside any applying transaction, and returns their names. A table another session
// is already maintaining is skipped, unless growth is 0: then Maintain waits for it and
// maintains the table afterwards, so that an import that calls it last returns only once
// everything it wrote is analysed and vacuumed.
func (r *Replica) Maintain(ctx context.Context, growth float64) ([]string, error) {
	if len(r.grows) == 0 {
		return nil, nil
	}
	grown, err := r.tablesWhere(ctx, "sizes", r.grows,
		`pg_relation_size(c.oid) / current_setting('block_size')::bigint - c.relpages >= $2 + $3 * c.relpages`, pgdb.MaintainMinPages, growth)
	if err != nil || len(grown) == 0 {
		return nil, err
	}
	due := make([]string, len(grown))
	for i, t := range grown {
		due[i] = t.Name
	}
	due, barred, err := pgdb.Maintainable(ctx, r.pool, due)
	if err != nil {
		return nil, fmt.Errorf("tables %v on %s: %w", due, r.name, err)
	}
	if len(barred) > 0 {
		if !r.maintainBarred.Swap(true) {
			r.logger.Warn("cannot vacuum and analyse the tables large batches grew: VACUUM and ANALYZE need the table's owner, or the MAINTAIN privilege (PostgreSQL 17 and later, migration 034); searches read them slowly after an import until autovacuum does it",
				"tables", barred, "role", r.pool.Config().ConnConfig.User)
		}
		if len(due) == 0 {
			return nil, nil
		}
	}
	opts := "ANALYZE, SKIP_LOCKED"
	if growth == 0 {
		opts = "ANALYZE"
	}
	start := time.Now()
	if _, err := r.pool.Exec(ctx, "VACUUM ("+opts+") "+pgdb.Identifiers(due)); err != nil {
		return nil, fmt.Errorf("vacuum and analyse %v on %s: %w", due, r.name, err)
	}
	if r.afterVacuum != nil {
		r.afterVacuum()
	}
	again, err := r.vacuumAgain(ctx, due, growth != 0)
	if err != nil {
		return nil, err
	}
	r.logger.Info("maintained grown tables", "tables", due, "vacuumed_again", again, "took_ms", time.Since(start).Milliseconds())
	return due, nil
}

// vacuumAgain vacuums again those of tables that VACUUM left with more than a tenth of their
// pages that hold rows not marked all-visible (unmarked), up to vacuumPasses times while some
// are, and returns their names. VACUUM leaves a page it finds pinned by another backend
// unpruned and unmarked (a checkpoint pins each page it writes, in the order VACUUM walks
// them; in a deployment, an import's last VACUUM may meet a timed one), and a snapshot older
// than a page's rows, still held, keeps it unmarked until it ends. Each pass reads mostly the
// pages left unmarked. It skips a table another session holds locked, as the first did, when
// skipLocked.
func (r *Replica) vacuumAgain(ctx context.Context, tables []string, skipLocked bool) ([]string, error) {
	vacuum := "VACUUM "
	if skipLocked {
		vacuum += "(SKIP_LOCKED) "
	}
	var vacuumed []string
	for pass := range vacuumPasses {
		again, err := r.unmarked(ctx, tables)
		if err != nil || len(again) == 0 {
			return vacuumed, err
		}
		// The VACUUM before met these pages pinned or not yet visible to every transaction:
		// what held them (a checkpoint writing them in the order VACUUM reads them, a
		// transaction older than their rows) is given time to move on first.
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(vacuumBackoff << (2 * pass)):
		}
		if _, err := r.pool.Exec(ctx, vacuum+pgdb.Identifiers(again)); err != nil {
			return nil, fmt.Errorf("vacuum %v again on %s: %w", again, r.name, err)
		}
		for _, t := range again {
			if !slices.Contains(vacuumed, t) {
				vacuumed = append(vacuumed, t)
			}
		}
	}
	return vacuumed, nil
}

// unmarked answers those of tables that hold rows on more than a tenth more pages than the
// visibility map marks all-visible. Pages that hold no row are left out: several sessions
// inserting into a table at once (a spread run's parts) make Postgres extend it by many pages
// at a time, and those none wrote to stay all zeroes, which VACUUM never marks (the suite saw
// 17 and 29 such pages among the last of 155 and 167, by pg_visibility, while its parallel
// tests loaded the server). Counting the pages that hold rows reads the table, so it is done
// only for a table whose recorded pages (pg_class.relpages, zeroed ones included) are more
// than a tenth unmarked.
func (r *Replica) unmarked(ctx context.Context, tables []string) ([]string, error) {
	candidates, err := r.tablesWhere(ctx, "visibility", tables, "c.relallvisible < c.relpages * 9 / 10")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, t := range candidates {
		holding, err := pgdb.PagesHoldingRows(ctx, r.pool, t.Name)
		if err != nil {
			return nil, fmt.Errorf("pages holding rows of %s on %s: %w", t.Name, r.name, err)
		}
		if t.Marked < holding*9/10 {
			out = append(out, t.Name)
		}
	}
	return out, nil
}

// vacuumPasses is how many times vacuumAgain may vacuum a table after its first VACUUM;
// before each it waits, vacuumBackoff then four times as long as before (0.1, 0.4, 1.6 and
// 6.4 s, only while pages stay unmarked).
const (
	vacuumPasses  = 4
	vacuumBackoff = 100 * time.Millisecond
)

// tablesWhere answers those of tables for which cond holds (an expression of pg_class c, with
// args as $2 on), by name, each with its pages marked all-visible; what names the query in
// errors.
func (r *Replica) tablesWhere(ctx context.Context, what string, tables []string, cond string, args ...any) ([]catalogTable, error) {
	rows, err := r.pool.Query(ctx, `SELECT c.relname, c.relallvisible FROM pg_class c
		WHERE c.oid = ANY($1::text[]::regclass[]) AND `+cond+`
		ORDER BY c.relname`, append([]any{tables}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("%s of %v on %s: %w", what, tables, r.name, err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowToStructByPos[catalogTable])
	if err != nil {
		return nil, fmt.Errorf("%s of %v on %s: %w", what, tables, r.name, err)
	}
	return found, nil
}

// catalogTable is a table as pg_class records it: its name and its pages marked all-visible.
type catalogTable struct {
	Name   string
	Marked int64
}
