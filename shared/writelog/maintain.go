package writelog

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Maintenance after large batches. Postgres plans a search well only with statistics of the
// rows it holds, and answers it from the indexes alone only where the visibility map marks the
// pages all-visible; autovacuum sees to both in time, but may be off or late, and a copy that
// has just taken an import must search fast at once. So the applier analyses and vacuums the
// tables its kinds grow (Kind.Grows) once they have grown enough: the test compares each
// table's size on disk with the size Postgres recorded at its last VACUUM or ANALYZE
// (pg_class.relpages), one catalog read that touches no table, made when an ApplyPending has
// read the stream to its end (writers waiting for their own command never make it).
const (
	// MaintainMinPages is the least growth worth maintaining: 64 pages of 8 KiB, about 1,500
	// events in event_accessibility; a few single writes never come near it.
	MaintainMinPages = 64
	// MaintainGrowth is the share of its recorded size a table grows by before ApplyPending
	// maintains it, each time a fixed sample and the new pages. An import's applier seldom
	// reads the stream to its end while the file is published (a 1M-event import was
	// maintained twice: once on the way, once when it returned), and a copy catching up only
	// at the end.
	MaintainGrowth = 0.2
)

// Maintain runs VACUUM (ANALYZE) (never FULL: readers and writers go on) on the tables of
// Kind.Grows that have grown by at least MaintainMinPages and by growth times their recorded
// size, outside any applying transaction, and returns their names. A table another session
// is already maintaining is skipped, unless growth is 0: then Maintain waits for it and
// maintains the table afterwards, so that an import that calls it last returns only once
// everything it wrote is analysed and vacuumed.
func (r *Replica) Maintain(ctx context.Context, growth float64) ([]string, error) {
	if len(r.grows) == 0 {
		return nil, nil
	}
	due, names, err := r.tablesWhere(ctx, "sizes", r.grows,
		`pg_relation_size(c.oid) / current_setting('block_size')::bigint - c.relpages >= $2 + $3 * c.relpages`, MaintainMinPages, growth)
	if err != nil || len(due) == 0 {
		return nil, err
	}
	opts := "ANALYZE, SKIP_LOCKED"
	if growth == 0 {
		opts = "ANALYZE"
	}
	start := time.Now()
	if _, err := r.pool.Exec(ctx, "VACUUM ("+opts+") "+names); err != nil {
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
// pages not marked all-visible, up to vacuumPasses times while some are, and returns their
// names. VACUUM leaves a page it finds pinned by another backend unpruned and unmarked, and a
// checkpoint pins each page it writes, in the order VACUUM walks them: the suite once saw 20 of
// 158 pages left unmarked while its parallel tests' CREATE DATABASE forced checkpoints, and
// once 26 of 163 still unmarked after a second VACUUM (in a deployment, an import's last
// VACUUM may meet a timed one). Each pass reads mostly the pages left unmarked; a snapshot
// older than their rows, still held, defeats them all. It skips a table another session holds
// locked, as the first did, when skipLocked.
func (r *Replica) vacuumAgain(ctx context.Context, tables []string, skipLocked bool) ([]string, error) {
	vacuum := "VACUUM "
	if skipLocked {
		vacuum += "(SKIP_LOCKED) "
	}
	var vacuumed []string
	for pass := range vacuumPasses {
		again, names, err := r.tablesWhere(ctx, "visibility", tables, "c.relallvisible < c.relpages * 9 / 10")
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
		if _, err := r.pool.Exec(ctx, vacuum+names); err != nil {
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

// vacuumPasses is how many times vacuumAgain may vacuum a table after its first VACUUM;
// before each it waits, vacuumBackoff then four times as long as before (0.1, 0.4, 1.6 and
// 6.4 s, only while pages stay unmarked: a CI run saw 17 of 155 left by three passes back to
// back, and another 18 of 156 by three passes 0.1, 0.4 and 1.6 s apart).
const (
	vacuumPasses  = 4
	vacuumBackoff = 100 * time.Millisecond
)

// tablesWhere answers those of tables for which cond holds (an expression of pg_class c, with
// args from $2 on), in name order, and them as a list of identifiers for a statement; what
// names the read in an error.
func (r *Replica) tablesWhere(ctx context.Context, what string, tables []string, cond string, args ...any) (names []string, list string, err error) {
	rows, err := r.pool.Query(ctx, `SELECT c.relname FROM pg_class c
		WHERE c.oid = ANY($1::text[]::regclass[]) AND `+cond+`
		ORDER BY c.relname`, append([]any{tables}, args...)...)
	if err != nil {
		return nil, "", fmt.Errorf("%s of %v on %s: %w", what, tables, r.name, err)
	}
	names, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, "", fmt.Errorf("%s of %v on %s: %w", what, tables, r.name, err)
	}
	ids := make([]string, len(names))
	for i, t := range names {
		ids[i] = pgx.Identifier{t}.Sanitize()
	}
	return names, strings.Join(ids, ", "), nil
}
