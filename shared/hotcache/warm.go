package hotcache

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dostupno/dostupno/shared/changefeed"
	"github.com/dostupno/dostupno/shared/pgdb"
)

// WarmTimeout bounds a warm start: past it, the instance starts cold.
const WarmTimeout = 2 * time.Second

// MaxSnapshotAge: an older snapshot is not loaded. Snapshots are taken every 5 minutes, so an
// old one means the cron has stopped; its answers may hold photo URLs near their expiry and
// searches whose default "from now" window has moved on.
const MaxSnapshotAge = time.Hour

// maxWarmChanges: when more events than this changed since the snapshot, it is not used.
const maxWarmChanges = 50000

// WarmStart loads into c the entries of the newest snapshot (younger than MaxSnapshotAge)
// whose kind has a source in srcs, then drops every entry that an event changed after the
// snapshot can affect, as if those changes had been announced. Call it after c follows the change feed (Subscribe): a change
// committed after the check below is announced after it, so no change falls between the two.
// On an error c may hold part of the snapshot: clear it.
func WarmStart(ctx context.Context, db pgdb.DBTX, c *Local, srcs map[string]Source) (int, error) {
	var id, seq int64
	err := db.QueryRow(ctx, `SELECT id, applied_seq FROM cache_snapshots
		WHERE taken_at > now() - make_interval(secs => $1) ORDER BY id DESC LIMIT 1`, MaxSnapshotAge.Seconds()).Scan(&id, &seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("newest snapshot: %w", err)
	}
	kinds := make([]string, 0, len(srcs))
	for k := range srcs {
		kinds = append(kinds, k)
	}
	rows, err := db.Query(ctx, `SELECT kind, key, body, etag, event_ids, venue_ids, has_matches FROM cache_snapshot_entries
		WHERE snapshot_id = $1 AND kind = ANY($2) ORDER BY score DESC, key`, id, kinds)
	if err != nil {
		return 0, fmt.Errorf("load snapshot %d: %w", id, err)
	}
	n := 0
	held := map[int64]bool{}
	var kind, key string
	var e Entry
	var hasMatches bool
	_, err = pgx.ForEachRow(rows, []any{&kind, &key, &e.Body, &e.ETag, &e.EventIDs, &e.VenueIDs, &hasMatches}, func() error {
		entry := e
		entry.Body = append([]byte(nil), e.Body...)
		entry.EventIDs = append([]int64(nil), e.EventIDs...)
		entry.VenueIDs = append([]int64(nil), e.VenueIDs...)
		if hasMatches {
			m, ok := srcs[kind].(Matcher)
			if !ok {
				return nil // cannot be invalidated correctly without its test
			}
			f, err := m.Matcher(ctx, key)
			if err != nil {
				return nil // a key this version no longer reads
			}
			entry.Matches = f
		}
		if c.restore(key, entry) {
			n++
			for _, id := range entry.EventIDs {
				held[id] = true
			}
		}
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("load snapshot %d: %w", id, err)
	}
	if n == 0 {
		return 0, nil
	}
	ch, err := changedSince(ctx, db, seq, held)
	if err != nil {
		return n, err
	}
	if len(ch.Events) > maxWarmChanges {
		c.Clear()
		return 0, nil
	}
	c.drop(ch)
	return c.Len(), nil
}

// changedSince names the events written after write-log position seq (their row or their
// photos, or the facts of their venue), and those of held that no longer exist.
func changedSince(ctx context.Context, db pgdb.DBTX, seq int64, held map[int64]bool) (changefeed.Change, error) {
	var ch changefeed.Change
	rows, err := db.Query(ctx, `
		SELECT e.id, e.city, e.category, e.starts_at,
		       coalesce((SELECT array_agg(k.code ORDER BY k.position) FROM accessibility_constraints k WHERE k.id = ANY (a.constraint_ids)), '{}'),
		       coalesce((SELECT array_agg(k.code ORDER BY k.position) FROM accessibility_constraints k WHERE k.id = ANY (a.excluded_ids)), '{}')
		FROM events e LEFT JOIN event_accessibility a ON a.event_id = e.id
		WHERE e.id IN (SELECT id FROM events WHERE version > $1
		               UNION SELECT event_id FROM event_photos WHERE version > $1
		               UNION SELECT event_id FROM event_availability WHERE version > $1
		               UNION SELECT x.id FROM events x JOIN venue_accessibility v ON v.venue_id = x.venue_id WHERE v.version > $1)
		LIMIT $2`, seq, maxWarmChanges+1)
	if err != nil {
		return ch, fmt.Errorf("events changed since %d: %w", seq, err)
	}
	var ev changefeed.Event
	if _, err := pgx.ForEachRow(rows, []any{&ev.ID, &ev.City, &ev.Category, &ev.StartsAt, &ev.Constraints, &ev.Excluded}, func() error {
		ch.Events = append(ch.Events, ev)
		ev.Constraints, ev.Excluded = nil, nil
		return nil
	}); err != nil {
		return ch, fmt.Errorf("events changed since %d: %w", seq, err)
	}
	ids := make([]int64, 0, len(held))
	for id := range held {
		ids = append(ids, id)
	}
	gone, err := pgdb.Collect(ctx, db, fmt.Sprintf("events deleted since %d", seq), pgx.RowTo[int64],
		`SELECT x FROM unnest($1::bigint[]) AS x WHERE NOT EXISTS (SELECT 1 FROM events WHERE id = x)`, ids)
	if err != nil {
		return ch, err
	}
	for _, id := range gone {
		ch.Events = append(ch.Events, changefeed.Event{ID: id, Deleted: true})
	}
	return ch, nil
}

// drop removes what c can affect without remembering it: it predates every answer read from
// now on.
func (l *Local) drop(c changefeed.Change) {
	if len(c.Events) == 0 && len(c.Venues) == 0 {
		return
	}
	a, ok := prepare(c)
	if !ok {
		l.Clear()
		return
	}
	l.dropMatching(a)
}

func (l *Local) dropMatching(a applied) {
	for _, s := range l.shards {
		s.mu.Lock()
		s.dropAffected(a)
		s.mu.Unlock()
	}
}
