package hotcache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/klauspost/compress/s2"
	"github.com/nats-io/nats.go"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/changefeed"
	"github.com/dostupno/dostupno/shared/pgdb"
	"github.com/dostupno/dostupno/shared/writelog"
)

// Source computes the answers of one kind of key from the database exactly as the read
// function serves them, so that cache-snapshot stores current answers. A key it cannot
// answer is an error whose apperr code is not internal (e.g. not_found); an internal error
// stops the snapshot.
type Source interface {
	Load(ctx context.Context, db pgdb.DBTX, key string) (Entry, error)
}

// Matcher is a Source whose entries carry a Matches test, rebuilt from the key when a
// snapshot is loaded (a func cannot be stored).
type Matcher interface {
	Matcher(ctx context.Context, key string) (func(changefeed.Event) bool, error)
}

// Snapshot defaults.
const (
	DefaultKeep        = 3           // generations kept
	DefaultMaxEntries  = 1000        // answers per snapshot
	DefaultMaxBytes    = 32 << 20    // bytes of answers per snapshot
	DefaultMinInterval = time.Minute // at most one snapshot per interval
	DefaultCollect     = 200 * time.Millisecond
	hotDecay           = 0.5   // a stored hot score halves at each snapshot
	hotFloor           = 0.01  // below this a key is forgotten
	hotKept            = 10000 // most keys remembered
	maxKeyLen          = 2048
)

// SnapshotOptions tune TakeSnapshot; zero values take the defaults.
type SnapshotOptions struct {
	Sources     map[string]Source // by key kind (KindOf)
	NATS        *nats.Conn        // nil: no instance is asked, the stored hot keys are used
	Namespace   string
	Keep        int
	MaxEntries  int
	MaxBytes    int64
	MinInterval time.Duration
	Collect     time.Duration // how long instances' replies are awaited
	// Instances, when known (a fixed deployment, a test), ends the wait for replies as soon as
	// this many instances have replied; Collect still bounds it.
	Instances int
	Log       *slog.Logger
}

// SnapshotResult is what TakeSnapshot did: the snapshot it took or found, or Busy when
// another caller was taking one.
type SnapshotResult struct {
	ID      int64
	Entries int
	Bytes   int64
	TookMS  int64
	Busy    bool
}

// snapshotLock makes one snapshot at a time across instances (pg_try_advisory_xact_lock key).
const snapshotLock int64 = 0x686f74636163 // "hotcac"

// TakeSnapshot stores the hot set in the database: it asks the running instances for their
// hot keys, adds them to the decayed scores kept in cache_hot_keys, recomputes the answers of
// the top keys from the database in one consistent read (recording the write-log position it
// saw), stores them as a new generation and drops generations beyond Keep. If a snapshot was
// taken within MinInterval, it returns that one instead; a caller that finds another taking
// one returns at once (Busy) rather than waiting, so at most one snapshot is taken per
// interval across every instance and calls never pile up.
func TakeSnapshot(ctx context.Context, pool *pgxpool.Pool, o SnapshotOptions) (SnapshotResult, error) {
	o.defaults()
	start := time.Now()
	var (
		res   SnapshotResult
		taken bool
	)
	err := pgdb.InTx(ctx, pool, func(tx pgx.Tx) error {
		var locked bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, snapshotLock).Scan(&locked); err != nil {
			return fmt.Errorf("lock snapshots: %w", err)
		}
		if !locked {
			res.Busy = true
			return nil
		}
		err := tx.QueryRow(ctx, `SELECT id, entries, bytes, took_ms FROM cache_snapshots
			WHERE taken_at > clock_timestamp() - make_interval(secs => $1) ORDER BY id DESC LIMIT 1`,
			o.MinInterval.Seconds()).Scan(&res.ID, &res.Entries, &res.Bytes, &res.TookMS)
		if err == nil {
			return nil // the last one is recent: answer it
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("last snapshot: %w", err)
		}
		keys, err := hotKeys(ctx, tx, o)
		if err != nil {
			return err
		}
		entries, seq, venues, seen, err := recompute(ctx, pool, o, keys)
		if err != nil {
			return err
		}
		for _, e := range entries {
			res.Bytes += int64(len(e.body))
		}
		res.Entries = len(entries)
		res.TookMS = time.Since(start).Milliseconds()
		if err := tx.QueryRow(ctx, `INSERT INTO cache_snapshots (taken_at, applied_seq, entries, bytes, took_ms, venue_ids, venue_digests, seen)
			VALUES (clock_timestamp(), $1, $2, $3, $4, $5, $6, $7::text::pg_snapshot) RETURNING id`,
			seq, res.Entries, res.Bytes, res.TookMS, venues.ids, venues.digests, seen).Scan(&res.ID); err != nil {
			return fmt.Errorf("insert snapshot: %w", err)
		}
		// The bodies are stored compressed (S2, migration 025): an instance reads the newest
		// snapshot whole at every start.
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"cache_snapshot_entries"},
			[]string{"snapshot_id", "kind", "key", "body", "body_encoding", "etag", "event_ids", "venue_ids", "has_matches", "score"},
			pgx.CopyFromSlice(len(entries), func(i int) ([]any, error) {
				e := entries[i]
				return []any{res.ID, e.kind, e.key, s2.Encode(nil, e.body), encodingS2, e.etag, e.eventIDs, e.venueIDs, e.hasMatches, e.score}, nil
			})); err != nil {
			return fmt.Errorf("store snapshot %d: %w", res.ID, err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM cache_snapshots WHERE id NOT IN
			(SELECT id FROM cache_snapshots ORDER BY id DESC LIMIT $1)`, o.Keep); err != nil {
			return fmt.Errorf("drop old snapshots: %w", err)
		}
		// A deletion every kept snapshot's read saw is one no warm start needs (migration 031);
		// while a kept snapshot has no read recorded, none is dropped.
		if _, err := tx.Exec(ctx, `DELETE FROM events_deleted d WHERE NOT EXISTS (SELECT FROM cache_snapshots s
			WHERE s.seen IS NULL OR NOT pg_visible_in_snapshot(d.xid, s.seen))`); err != nil {
			return fmt.Errorf("drop old deletions: %w", err)
		}
		o.Log.Info("cache snapshot taken", "snapshot_id", res.ID, "entries", res.Entries, "bytes", res.Bytes,
			"applied_seq", seq, "took_ms", res.TookMS)
		taken = true
		return nil
	})
	if err == nil && taken {
		vacuumSnapshots(ctx, pool, o.Log)
	}
	return res, err
}

// snapshotTables are the tables each snapshot rewrites: a generation written and the oldest
// dropped (its answers, several MB of TOAST), the hot keys' scores decayed, old deletions
// dropped.
var snapshotTables = []string{"cache_hot_keys", "cache_snapshot_entries", "cache_snapshots", "events_deleted"}

// snapshotVacuumBarred holds the roles for which vacuumSnapshots met a snapshot table the role
// may not vacuum, and said so (once a role and process).
var snapshotVacuumBarred sync.Map

// vacuumSnapshots vacuums the snapshot tables after a snapshot, those this role may (all but
// pgdb.Maintainable), so that the space of the generations it dropped is reused: on a server
// whose autovacuum is off, nothing else would, and every snapshot would add its answers' size
// to the tables for good (the benchmark's copy, after a day of runs: 1,003 live rows, 32,096
// dead, and 112 MB of TOAST). With autovacuum on, it does little (a few small tables, their
// pages mostly marked). A failure is logged: the snapshot is taken all the same.
func vacuumSnapshots(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) {
	may, barred, err := pgdb.Maintainable(ctx, pool, snapshotTables)
	if err != nil {
		log.Warn("cache snapshot: tables left unvacuumed", "err", err)
		return
	}
	role := pool.Config().ConnConfig.User
	if len(barred) > 0 {
		if _, said := snapshotVacuumBarred.LoadOrStore(role, true); !said {
			log.Warn("cache snapshot: cannot vacuum the snapshot tables: VACUUM needs the table's owner, or the MAINTAIN privilege (PostgreSQL 17 and later, migration 035); with autovacuum off their dropped generations are never reclaimed",
				"tables", barred, "role", role)
		}
	}
	if len(may) == 0 {
		return
	}
	if _, err := pool.Exec(ctx, "VACUUM (SKIP_LOCKED) "+pgdb.Identifiers(may)); err != nil {
		log.Warn("cache snapshot: vacuum of the snapshot tables failed", "tables", may, "err", err)
	}
}

func (o *SnapshotOptions) defaults() {
	o.Keep = orDefault(o.Keep, DefaultKeep)
	o.MaxEntries = orDefault(o.MaxEntries, DefaultMaxEntries)
	o.MaxBytes = orDefault(o.MaxBytes, DefaultMaxBytes)
	o.MinInterval = orDefault(o.MinInterval, DefaultMinInterval)
	o.Collect = orDefault(o.Collect, DefaultCollect)
	if o.Log == nil {
		o.Log = slog.Default()
	}
}

// KindOf is the kind of a cache key "<kind>:<parameters>" ("" if it has none): a snapshot
// keeps only the keys whose kind has a Source.
func KindOf(key string) string {
	kind, _, ok := strings.Cut(key, ":")
	if !ok {
		return ""
	}
	return kind
}

type hotKey struct {
	key, kind string
	score     float64
}

// hotKeys merges the instances' reports into cache_hot_keys and returns the top keys of the
// kinds that have a source.
func hotKeys(ctx context.Context, tx pgx.Tx, o SnapshotOptions) ([]hotKey, error) {
	var keys, kinds []string
	var scores []float64
	if o.NATS != nil {
		got, err := collectHot(o.NATS, o.Namespace, MaxHotKeys, o.Collect, o.Instances)
		if err != nil {
			// The stored scores still name a hot set.
			o.Log.Warn("cache snapshot: asking instances for hot keys", "err", err)
		}
		for k, hits := range got {
			kind := KindOf(k)
			if _, ok := o.Sources[kind]; !ok || len(k) > maxKeyLen || !utf8.ValidString(k) {
				continue
			}
			keys, kinds, scores = append(keys, k), append(kinds, kind), append(scores, float64(hits))
		}
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE cache_hot_keys SET score = score * $1`, []any{hotDecay}},
		{`INSERT INTO cache_hot_keys (key, kind, score, seen_at)
			SELECT k, kind, s, clock_timestamp() FROM unnest($1::text[], $2::text[], $3::float8[]) AS t (k, kind, s)
			ON CONFLICT (key) DO UPDATE SET score = cache_hot_keys.score + excluded.score, seen_at = excluded.seen_at`,
			[]any{keys, kinds, scores}},
		{`DELETE FROM cache_hot_keys WHERE score < $1 OR key NOT IN
			(SELECT key FROM cache_hot_keys ORDER BY score DESC, key LIMIT $2)`, []any{hotFloor, hotKept}},
	} {
		if _, err := tx.Exec(ctx, q.sql, q.args...); err != nil {
			return nil, fmt.Errorf("hot keys: %w", err)
		}
	}
	var wanted []string
	for k := range o.Sources {
		wanted = append(wanted, k)
	}
	return pgdb.Collect(ctx, tx, "hot keys", func(r pgx.CollectableRow) (hotKey, error) {
		var h hotKey
		err := r.Scan(&h.key, &h.kind, &h.score)
		return h, err
	}, `SELECT key, kind, score FROM cache_hot_keys WHERE kind = ANY($1)
		ORDER BY score DESC, key LIMIT $2`, wanted, o.MaxEntries)
}

type snapEntry struct {
	kind, key, etag string
	body            []byte
	eventIDs        []int64
	venueIDs        []int64
	hasMatches      bool
	score           float64
}

// venueDigest is the digest of a venue's row v (every column) that a snapshot keeps for each
// venue its answers show and a warm start compares (changedSince): md5 tells a changed row,
// and the rows are the catalog's own, not an adversary's.
const venueDigest = `md5(v::text)`

// venueRows are the venues a snapshot's answers show, by id, and their rows' digests then.
type venueRows struct {
	ids     []int64
	digests []string
}

// recompute answers keys in one repeatable-read transaction and returns them with the
// write-log position that transaction saw, the digests of the venues they show and its
// snapshot of the database (pg_current_snapshot, as text).
func recompute(ctx context.Context, pool *pgxpool.Pool, o SnapshotOptions, keys []hotKey) ([]snapEntry, int64, venueRows, string, error) {
	var venues venueRows
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, 0, venues, "", fmt.Errorf("begin recompute: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read only: nothing to keep
	applied, err := writelog.AppliedSeq(ctx, tx)
	if err != nil {
		return nil, 0, venues, "", err
	}
	// The read's own snapshot (repeatable read: every statement below sees this one): the
	// events deleted by a transaction not visible in it may be in the answers (goneSince).
	var seen string
	if err := tx.QueryRow(ctx, `SELECT pg_current_snapshot()::text`).Scan(&seen); err != nil {
		return nil, 0, venues, "", fmt.Errorf("read's snapshot: %w", err)
	}
	seq := int64(applied)
	var out []snapEntry
	var bytes int64
	skipped := 0
	for _, k := range keys {
		e, err := o.Sources[k.kind].Load(ctx, tx, k.key)
		if err != nil {
			if ctx.Err() != nil || apperr.CodeOf(err) == apperr.Internal {
				return nil, 0, venues, "", fmt.Errorf("recompute %s: %w", k.key, err)
			}
			skipped++ // e.g. an event deleted since, or a key no longer valid
			continue
		}
		if bytes+int64(len(e.Body)) > o.MaxBytes {
			break
		}
		bytes += int64(len(e.Body))
		out = append(out, snapEntry{kind: k.kind, key: k.key, etag: e.ETag, body: e.Body,
			eventIDs: append([]int64{}, e.EventIDs...), venueIDs: append([]int64{}, e.VenueIDs...),
			hasMatches: e.Matches != nil, score: k.score})
	}
	if skipped > 0 {
		o.Log.Info("cache snapshot: keys no longer answerable skipped", "skipped", skipped)
	}
	var shown []int64
	for _, e := range out {
		shown = append(shown, e.venueIDs...)
	}
	if err := tx.QueryRow(ctx, `SELECT coalesce(array_agg(v.id ORDER BY v.id), '{}'), coalesce(array_agg(`+venueDigest+` ORDER BY v.id), '{}')
		FROM venues v WHERE v.id = ANY($1)`, shown).Scan(&venues.ids, &venues.digests); err != nil {
		return nil, 0, venues, "", fmt.Errorf("venues shown: %w", err)
	}
	return out, seq, venues, seen, nil
}
