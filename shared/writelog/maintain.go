package writelog

import (
	"context"
	"fmt"
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
	rows, err := r.pool.Query(ctx, `SELECT c.relname FROM pg_class c
		WHERE c.oid = ANY($1::text[]::regclass[])
		  AND pg_relation_size(c.oid) / current_setting('block_size')::bigint - c.relpages >= $2 + $3 * c.relpages
		ORDER BY c.relname`, r.grows, MaintainMinPages, growth)
	if err != nil {
		return nil, fmt.Errorf("sizes of %v on %s: %w", r.grows, r.name, err)
	}
	due, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(due) == 0 {
		return nil, err
	}
	names := make([]string, len(due))
	for i, t := range due {
		names[i] = pgx.Identifier{t}.Sanitize()
	}
	opts := "ANALYZE, SKIP_LOCKED"
	if growth == 0 {
		opts = "ANALYZE"
	}
	start := time.Now()
	if _, err := r.pool.Exec(ctx, "VACUUM ("+opts+") "+strings.Join(names, ", ")); err != nil {
		return nil, fmt.Errorf("vacuum and analyse %v on %s: %w", due, r.name, err)
	}
	r.logger.Info("maintained grown tables", "tables", due, "took_ms", time.Since(start).Milliseconds())
	return due, nil
}
