package hotcache

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

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
	kinds := make([]string, 0, len(srcs))
	for k := range srcs {
		kinds = append(kinds, k)
	}
	// The snapshot's entries of kinds and their stored size decide how it is read (loadParts):
	// the snapshot's own count is of every kind's, and a function that loads one kind of few
	// answers (get-event's events beside search-events' pages) would read them in parts.
	var (
		id, seq int64
		entries int
		bytes   int64
		venues  venueRows
		seen    *string // the snapshot's read (migration 031), nil in one taken before
	)
	err := db.QueryRow(ctx, `SELECT s.id, s.applied_seq, s.venue_ids, s.venue_digests, s.seen::text, k.entries, k.bytes
		FROM (SELECT id, applied_seq, venue_ids, venue_digests, seen FROM cache_snapshots
			WHERE taken_at > now() - make_interval(secs => $1) ORDER BY id DESC LIMIT 1) s
		CROSS JOIN LATERAL (SELECT count(*)::int AS entries, coalesce(sum(pg_column_size(e.body)), 0)::bigint AS bytes
			FROM cache_snapshot_entries e WHERE e.snapshot_id = s.id AND e.kind = ANY($2)) k`,
		MaxSnapshotAge.Seconds(), kinds).Scan(&id, &seq, &venues.ids, &venues.digests, &seen, &entries, &bytes)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("newest snapshot: %w", err)
	}
	if entries == 0 {
		return 0, nil
	}
	// The events of the snapshot's answers that no longer exist: the deletions its read did not
	// see, a short read after the answers on their connection; in a snapshot taken before those
	// were recorded, a probe of every event its answers hold, beside the answers when those are
	// read in parts, else after them on the same connection: a snapshot of a few answers checks
	// a few events, and opening another connection costs more than the check (12-35 ms on one
	// machine, where search-events' first answer from a 3-entry snapshot came 25-30 ms sooner
	// this way, builds in turns; docs/PERFORMANCE.md, the eleventh machine).
	parts := loadParts(db, entries, bytes)
	beside := seen == nil && parts > 1
	var (
		gone     []int64
		all      bool // every event deleted since (TRUNCATE)
		goneRead errgroup.Group
	)
	readGone := func() (err error) {
		if seen != nil {
			var ok bool
			if gone, all, ok, err = deletedSince(ctx, db, *seen); err != nil || ok {
				return err
			}
		}
		gone, err = goneSince(ctx, db, id, kinds)
		return err
	}
	if beside {
		goneRead.Go(readGone)
	}
	loaded, err := loadEntries(ctx, db, id, kinds, entries, parts)
	if err != nil {
		_ = goneRead.Wait() // its error says less than the load's
		return 0, fmt.Errorf("load snapshot %d: %w", id, err)
	}
	n := 0
	for _, l := range loaded {
		entry := l.Entry
		if l.hasMatches {
			m, ok := srcs[l.kind].(Matcher)
			if !ok {
				continue // cannot be invalidated correctly without its test
			}
			f, err := m.Matcher(ctx, l.key)
			if err != nil {
				continue // a key this version no longer reads
			}
			entry.Matches = f
		}
		if c.restore(l.key, entry, l.packed) {
			n++
		}
	}
	goneErr := goneRead.Wait()
	if !beside {
		goneErr = readGone()
	}
	if goneErr != nil {
		return n, goneErr
	}
	if n == 0 || all {
		c.Clear()
		return 0, nil
	}
	ch, err := changedSince(ctx, db, seq, venues)
	if err != nil {
		return n, err
	}
	for _, id := range gone {
		ch.Events = append(ch.Events, changefeed.Event{ID: id, Deleted: true})
	}
	if len(ch.Events) > maxWarmChanges {
		c.Clear()
		return 0, nil
	}
	c.drop(ch)
	return c.Len(), nil
}

// changedSince names the events written after write-log position seq: their row or their
// photos, or the facts of their venue; and the venues of shown (the snapshot's) whose row
// differs from its digest then, or is gone: their rows carry no write-log position, and a
// rename (upsert-venue) moves none of their events' versions.
func changedSince(ctx context.Context, db pgdb.DBTX, seq int64, shown venueRows) (changefeed.Change, error) {
	var ch changefeed.Change
	if len(shown.ids) > 0 {
		var err error
		ch.Venues, err = pgdb.Collect(ctx, db, "venues changed since the snapshot", pgx.RowTo[int64], `
			SELECT u.id FROM unnest($1::bigint[], $2::text[]) AS u (id, digest)
			LEFT JOIN venues v ON v.id = u.id
			WHERE v.id IS NULL OR `+venueDigest+` <> u.digest`, shown.ids, shown.digests)
		if err != nil {
			return ch, err
		}
	}
	// Whether any event changed at all, first: the statement that names them joins the search
	// table, whose five dozen indexes a new backend reads into its caches to plan it (9.5-14.5
	// ms on the fourteenth machine against 2.0-2.5 for this one), and an instance started
	// within minutes of its snapshot often finds nothing changed.
	var changed bool
	if err := db.QueryRow(ctx, `SELECT EXISTS (`+strings.Join(changedEvents, `) OR EXISTS (`)+`)`, seq).Scan(&changed); err != nil {
		return ch, fmt.Errorf("events changed since %d: %w", seq, err)
	}
	if !changed {
		return ch, nil
	}
	rows, err := db.Query(ctx, `
		SELECT e.id, e.city, e.category, e.starts_at,
		       coalesce((SELECT array_agg(k.code ORDER BY k.position) FROM accessibility_constraints k WHERE k.id = ANY (a.constraint_ids)), '{}'),
		       coalesce((SELECT array_agg(k.code ORDER BY k.position) FROM accessibility_constraints k WHERE k.id = ANY (a.excluded_ids)), '{}')
		FROM events e LEFT JOIN event_accessibility a ON a.event_id = e.id
		WHERE e.id IN (`+strings.Join(changedEvents, ` UNION `)+`)
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
	return ch, nil
}

// changedEvents select the ids of the events written past write-log position $1, one
// statement for each way an event changes: its row, its photos, its seat counts, its venue's
// facts. changedSince asks whether any returns a row, then names the events they return.
var changedEvents = []string{
	`SELECT id FROM events WHERE version > $1`,
	`SELECT event_id FROM event_photos WHERE version > $1`,
	`SELECT event_id FROM event_availability WHERE version > $1`,
	`SELECT x.id FROM events x JOIN venue_accessibility v ON v.venue_id = x.venue_id WHERE v.version > $1`,
}

// deletedSince names the events deleted by the transactions that a snapshot's read, seen (its
// pg_snapshot as text), did not see (events_deleted, migration 031), and says whether one of
// them deleted every event (TRUNCATE). Its rows are the few an operator's deletions left,
// read through their transaction ids from the read's oldest on: any answer of the snapshot
// that holds one of these events is dropped, and no other event of the answers can be gone.
// ok is false when seen is ahead of this server's transactions (the database restored into
// another server since): its ids then tell nothing here, and the caller probes (goneSince).
func deletedSince(ctx context.Context, db pgdb.DBTX, seen string) (ids []int64, all, ok bool, err error) {
	err = db.QueryRow(ctx, `SELECT pg_snapshot_xmax(s.seen) <= pg_snapshot_xmax(pg_current_snapshot()),
			ARRAY(SELECT DISTINCT d.event_id FROM events_deleted d WHERE `+unseen+` AND d.event_id IS NOT NULL),
			EXISTS (SELECT FROM events_deleted d WHERE `+unseen+` AND d.event_id IS NULL)
		FROM (SELECT $1::text::pg_snapshot AS seen) s`, seen).Scan(&ok, &ids, &all)
	if err != nil {
		return nil, false, false, fmt.Errorf("events deleted since the snapshot: %w", err)
	}
	return ids, all, ok, nil
}

// unseen is deletedSince's condition on a row d of events_deleted: its transaction is not
// visible in the snapshot s.seen.
const unseen = `d.xid >= pg_snapshot_xmin(s.seen) AND NOT pg_visible_in_snapshot(d.xid, s.seen)`

// goneSince names the events of snapshot id's answers (of kinds) that no longer exist, for a
// snapshot taken before deletions were recorded (deletedSince). It was most of a large
// snapshot's warm start, one primary-key probe per event the answers hold (45,570 events for
// the largest snapshot on 1M events, 100-135 ms; 189 ms on the fourteenth machine), so
// WarmStart runs it on a connection of its own while the answers load in parts; the ids are
// read from the snapshot itself and probed in order, which reads the key's pages in order (123
// ms against 211 ms in a random order, EXPLAIN ANALYZE on the same ids).
func goneSince(ctx context.Context, db pgdb.DBTX, id int64, kinds []string) ([]int64, error) {
	return pgdb.Collect(ctx, db, fmt.Sprintf("events of snapshot %d deleted since", id), pgx.RowTo[int64],
		`SELECT x FROM (SELECT DISTINCT x FROM cache_snapshot_entries s, unnest(s.event_ids) AS x
			WHERE s.snapshot_id = $1 AND s.kind = ANY($2) ORDER BY x) h
		WHERE NOT EXISTS (SELECT 1 FROM events WHERE id = h.x)`, id, kinds)
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

// encodingS2 is body_encoding of a body compressed with S2 (migration 025); "" is a body as is.
const encodingS2 = "s2"

// loadedEntry is one entry of a snapshot as loadEntries reads it.
type loadedEntry struct {
	Entry
	kind, key  string
	hasMatches bool
	packed     *packedBody // the body as stored (Body nil), decoded when first served
}

// warmParts: a snapshot whose entries of the kinds an instance loads are stored in more than
// partBytes is read in up to warmParts parts at once, a part per partBytes, on as many
// connections of a pool. Reading the largest snapshot cache-snapshot writes (1,000 answers, 22
// MiB, 3.6 MB stored) is mostly Postgres reading the bodies' TOAST chunks and the client
// copying them, one core each; in parts both cores work (search-events' first answer after
// its process starts: 217-353 ms in one read on 1M events, see the README's cold starts). A
// part costs a new connection (2-3 ms on most machines, 15-32 on one whose kernel is dear to
// enter), worth it for a read of a megabyte, not for get-event's 150 answers of that snapshot
// (180 KB), which in four parts started in 174-222 ms there and in one in 100-122
// (docs/PERFORMANCE.md, the fourteenth machine).
const (
	warmParts = 4
	partBytes = 1 << 20
)

// loadParts is how many parts loadEntries reads entries answers stored in bytes in, on db.
func loadParts(db pgdb.DBTX, entries int, bytes int64) int {
	if _, ok := db.(*pgxpool.Pool); !ok {
		return 1
	}
	return int(max(1, min(warmParts, int64(entries), (bytes+partBytes-1)/partBytes)))
}

// loadEntries reads the entries of snapshot id whose kind is one of kinds, highest score first
// (so that, should the cache's bounds not hold them all, the most asked for are kept), each
// body as stored (a compressed one is decoded when its entry is first served: packedBody): in
// parts parts of that order at once (loadParts: one unless db is a pool, as a transaction runs one
// statement at a time), each of an equal share of the kinds' entries entries, the last
// taking whatever is left.
func loadEntries(ctx context.Context, db pgdb.DBTX, id int64, kinds []string, entries, parts int) ([]loadedEntry, error) {
	size := (entries + parts - 1) / parts
	loaded := make([][]loadedEntry, parts)
	g, gctx := errgroup.WithContext(ctx)
	for i := range parts {
		var limit *int // the last part: no limit
		if i < parts-1 {
			limit = &size
		}
		g.Go(func() error {
			rows, err := db.Query(gctx, `SELECT kind, key, body, body_encoding, etag, event_ids, venue_ids, has_matches FROM cache_snapshot_entries
				WHERE snapshot_id = $1 AND kind = ANY($2) ORDER BY score DESC, key OFFSET $3 LIMIT $4`, id, kinds, i*size, limit)
			if err != nil {
				return err
			}
			var (
				l        loadedEntry
				encoding string
			)
			_, err = pgx.ForEachRow(rows, []any{&l.kind, &l.key, &l.Body, &encoding, &l.ETag, &l.EventIDs, &l.VenueIDs, &l.hasMatches}, func() error {
				e := l // the body is the scan's own: a bytea is scanned into a new slice
				switch encoding {
				case "":
				case encodingS2:
					p, ok := newPackedBody(l.Body)
					if !ok {
						return fmt.Errorf("entry %q: not an s2 block", l.key)
					}
					e.Body, e.packed = nil, p
				default:
					return fmt.Errorf("entry %q: unknown body encoding %q", l.key, encoding)
				}
				e.EventIDs = append([]int64(nil), l.EventIDs...)
				e.VenueIDs = append([]int64(nil), l.VenueIDs...)
				loaded[i] = append(loaded[i], e)
				return nil
			})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return slices.Concat(loaded...), nil
}
