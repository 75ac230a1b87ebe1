package search_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/klauspost/compress/s2"
	"github.com/nats-io/nats.go"

	"github.com/dostupno/dostupno/migrations"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/changefeed"
	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/hotcache"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/logging"
	"github.com/dostupno/dostupno/shared/natstest"
	"github.com/dostupno/dostupno/shared/pgdb"
	"github.com/dostupno/dostupno/shared/pgtest"
	"github.com/dostupno/dostupno/shared/search"
	"github.com/dostupno/dostupno/shared/writelog/writelogtest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// world is one test's database, NATS namespace and the sources of both read functions.
type world struct {
	t         *testing.T
	ctx       context.Context
	pool      *pgxpool.Pool
	url       string
	nats      *natstest.Env
	vocab     *catalog.Vocabulary
	srcs      map[string]hotcache.Source
	seq       int64
	instances int // read-function instances following the feed
}

func newWorld(t *testing.T) *world {
	t.Helper()
	url := pgtest.NewURL(t)
	pool, err := pgdb.Connect(context.Background(), url, pgdb.Options{AppName: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	w := &world{t: t, ctx: context.Background(), pool: pool, url: url, nats: natstest.New(t)}
	if w.vocab, err = catalog.LoadVocabulary(w.ctx, pool); err != nil {
		t.Fatal(err)
	}
	noPhotos := func(string) string { return "" } // no photo store configured
	w.srcs = search.Sources(search.NewVocab(pool, time.Minute), noPhotos, time.Now)
	return w
}

// upsert writes events as the write-log applier does: at the next sequence, recorded as the
// copy's applied position.
func (w *world) upsert(events ...catalog.Event) {
	w.t.Helper()
	w.seq++
	if _, err := catalog.UpsertEvents(w.ctx, w.pool, w.vocab, w.seq, time.Now(), events); err != nil {
		w.t.Fatal(err)
	}
	if err := writelogtest.SetApplied(w.ctx, w.pool, uint64(w.seq)); err != nil {
		w.t.Fatal(err)
	}
}

// exec runs sql on the world's database.
func (w *world) exec(sql string) {
	w.t.Helper()
	if _, err := w.pool.Exec(w.ctx, sql); err != nil {
		w.t.Fatal(err)
	}
}

// seats gives event id a count of ws wheelchair spaces and cs companion seats.
func (w *world) seats(id int64, ws, cs int) {
	w.t.Helper()
	if _, err := w.pool.Exec(w.ctx, `INSERT INTO event_availability (event_id, wheelchair_spaces, companion_seats, as_of, version)
		VALUES ($1, $2, $3, now(), 1)`, id, ws, cs); err != nil {
		w.t.Fatal(err)
	}
}

func event(id int64, city string, access map[string]string) catalog.Event {
	return catalog.Event{ID: id, Title: "Concert", Category: "concert", City: city,
		Venue:    catalog.Venue{ID: 1, Name: "Hall"},
		StartsAt: time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second), Timezone: "Europe/Moscow",
		Accessibility: catalog.Answers(access)}
}

func (w *world) searchKey(raw string) string {
	w.t.Helper()
	q, err := search.ParseQuery(raw, w.vocab, time.Now())
	if err != nil {
		w.t.Fatal(err)
	}
	return q.CacheKey()
}

// instance is one running read-function instance: a cache following the feed, that has
// served keys (each asked uses times).
func (w *world) instance(uses map[string]int) *hotcache.Local {
	w.t.Helper()
	nc, err := nats.Connect(w.nats.URL)
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(nc.Close)
	c := hotcache.New(hotcache.Bounds{Entries: 100, Bytes: 1 << 20, TTL: time.Minute})
	sub, err := hotcache.Subscribe(nc, w.nats.Namespace, c, quiet)
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(sub.Close)
	w.instances++
	for key, n := range uses {
		e, err := w.srcs[hotcache.KindOf(key)].Load(w.ctx, w.pool, key)
		if err != nil {
			w.t.Fatalf("load %s: %v", key, err)
		}
		c.Set(key, e)
		for i := 1; i < n; i++ {
			c.Get(key)
		}
	}
	return c
}

// options are cache-snapshot's, except that it waits for the replies of every instance.
func (w *world) options() hotcache.SnapshotOptions {
	return hotcache.SnapshotOptions{Sources: w.srcs, NATS: w.nats.Conn, Namespace: w.nats.Namespace, Log: quiet,
		Collect: 10 * time.Second, Instances: w.instances}
}

func (w *world) snapshot() hotcache.SnapshotResult {
	w.t.Helper()
	res, err := hotcache.TakeSnapshot(w.ctx, w.pool, w.options())
	if err != nil {
		w.t.Fatal(err)
	}
	return res
}

// age makes every snapshot look older than the one-a-minute window.
func (w *world) age() {
	w.t.Helper()
	if _, err := w.pool.Exec(w.ctx, `UPDATE cache_snapshots SET taken_at = taken_at - interval '2 minutes'`); err != nil {
		w.t.Fatal(err)
	}
}

func TestSnapshotAtMostOneAMinute(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.upsert(event(1, "moscow", map[string]string{"elevator": "yes"}), event(2, "kazan", nil))
	w.instance(map[string]int{w.searchKey("city=moscow"): 3, search.EventCacheKey(1): 1})
	w.instance(map[string]int{search.EventCacheKey(2): 1})

	first := w.snapshot()
	if first.ID == 0 || first.Entries != 3 || first.Bytes == 0 {
		t.Fatalf("got %+v, want a snapshot of 3 entries", first)
	}
	if again := w.snapshot(); again != first {
		t.Fatalf("got %+v within the minute, want the last one %+v", again, first)
	}
	var n int
	if err := w.pool.QueryRow(w.ctx, `SELECT count(*) FROM cache_snapshots`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("got %d snapshots (%v), want 1", n, err)
	}
	w.age()
	if later := w.snapshot(); later.ID == first.ID {
		t.Fatalf("got snapshot %d again after the minute, want a new one", later.ID)
	}
}

func TestSnapshotConcurrentCallersTakeOne(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.upsert(event(1, "moscow", nil))
	w.instance(map[string]int{search.EventCacheKey(1): 2})
	got := make(chan hotcache.SnapshotResult, 3)
	for i := 0; i < 3; i++ {
		go func() {
			res, err := hotcache.TakeSnapshot(w.ctx, w.pool, w.options())
			if err != nil {
				t.Error(err)
			}
			got <- res
		}()
	}
	// Each caller takes the snapshot, finds the one just taken, or finds another taking it and
	// returns at once: one snapshot in all.
	ids := map[int64]bool{}
	for range 3 {
		if res := <-got; !res.Busy {
			ids[res.ID] = true
		}
	}
	var n int
	if err := w.pool.QueryRow(w.ctx, `SELECT count(*) FROM cache_snapshots`).Scan(&n); err != nil || n != 1 || len(ids) != 1 {
		t.Fatalf("got %d snapshots (%v) and ids %v from concurrent callers, want one", n, err, ids)
	}
}

func TestSnapshotRotationKeepsThree(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.upsert(event(1, "moscow", nil))
	c := w.instance(map[string]int{search.EventCacheKey(1): 1})
	var ids []int64
	for i := 0; i < 5; i++ {
		c.Get(search.EventCacheKey(1)) // asked again since the previous report
		ids = append(ids, w.snapshot().ID)
		w.age()
	}
	rows, err := w.pool.Query(w.ctx, `SELECT s.id, count(e.key) FROM cache_snapshots s
		LEFT JOIN cache_snapshot_entries e ON e.snapshot_id = s.id GROUP BY s.id ORDER BY s.id`)
	if err != nil {
		t.Fatal(err)
	}
	var kept []int64
	for rows.Next() {
		var id, n int64
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("snapshot %d: got %d entries, want 1", id, n)
		}
		kept = append(kept, id)
	}
	if len(kept) != 3 || kept[0] != ids[2] || kept[2] != ids[4] {
		t.Fatalf("got snapshots %v kept, want the newest three of %v", kept, ids)
	}
	var orphans int
	if err := w.pool.QueryRow(w.ctx, `SELECT count(*) FROM cache_snapshot_entries WHERE snapshot_id < $1`, ids[2]).Scan(&orphans); err != nil || orphans != 0 {
		t.Fatalf("got %d entries of dropped snapshots (%v), want 0", orphans, err)
	}
}

func TestSnapshotUsesStoredHotKeysWithoutInstances(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.upsert(event(1, "moscow", nil))
	c := w.instance(map[string]int{search.EventCacheKey(1): 1})
	w.snapshot()
	w.age()
	c.Suspend() // the instance is gone; its keys' scores remain
	if res := w.snapshot(); res.Entries != 1 {
		t.Fatalf("got %d entries, want 1 from the stored hot keys", res.Entries)
	}
}

func TestWarmStart(t *testing.T) {
	t.Parallel()
	moscow, kazan := map[string]string{"elevator": "yes"}, map[string]string{"sign_language": "yes"}
	tests := []struct {
		name   string
		change func(w *world) // after the snapshot
		hits   []string       // keys served from memory at once
		misses []string
	}{
		{name: "OK", hits: []string{"city=moscow", "event:1", "event:2", "city=kazan"}},
		{name: "EventChangedAfterSnapshot",
			change: func(w *world) { w.upsert(event(2, "kazan", map[string]string{"sign_language": "no"})) },
			hits:   []string{"city=moscow", "event:1"}, misses: []string{"event:2", "city=kazan"}},
		{name: "NewEventJoinsSearch",
			change: func(w *world) {
				e := event(3, "moscow", moscow)
				e.Venue = catalog.Venue{ID: 3, Name: "Club"}
				w.upsert(e)
			},
			hits: []string{"event:1", "event:2", "city=kazan"}, misses: []string{"city=moscow"}},
		// Venue 1's row says the city of the last event that named it (Kazan): an event there
		// in Moscow moves it, which the change feed announces (every answer showing it), and
		// a warm start sees in the snapshot's digest of its row.
		{name: "VenueMovedAfterSnapshot",
			change: func(w *world) { w.upsert(event(3, "moscow", moscow)) },
			misses: []string{"event:1", "event:2", "city=kazan", "city=moscow"}},
		// The other writes a warm start looks for by their write-log position (changedSince),
		// each past the snapshot's: a photo, seat counts, the venue's facts (venue 1 holds both
		// events).
		{name: "PhotoAddedAfterSnapshot",
			change: func(w *world) {
				w.exec(`INSERT INTO event_photos (event_id, object_key, content_type, width, height, bytes, position, version)
					VALUES (2, 'events/2/a.jpg', 'image/jpeg', 1, 1, 1, 0, 1000)`)
			},
			hits: []string{"city=moscow", "event:1"}, misses: []string{"event:2", "city=kazan"}},
		{name: "SeatsCountedAfterSnapshot",
			change: func(w *world) {
				w.exec(`INSERT INTO event_availability (event_id, wheelchair_spaces, companion_seats, as_of, version)
					VALUES (2, 3, 1, now(), 1000)`)
			},
			hits: []string{"city=moscow", "event:1"}, misses: []string{"event:2", "city=kazan"}},
		{name: "VenueFactsAfterSnapshot",
			change: func(w *world) {
				w.exec(`INSERT INTO venue_accessibility (venue_id, version, updated_at) VALUES (1, 1000, now())
					ON CONFLICT (venue_id) DO UPDATE SET version = 1000`)
			},
			misses: []string{"event:1", "event:2", "city=kazan", "city=moscow"}},
		{name: "SnapshotTooOld",
			change: func(w *world) {
				if _, err := w.pool.Exec(w.ctx, `UPDATE cache_snapshots SET taken_at = now() - interval '2 hours'`); err != nil {
					w.t.Fatal(err)
				}
			},
			misses: []string{"event:1", "event:2", "city=kazan", "city=moscow"}},
		{name: "EventDeleted",
			change: func(w *world) {
				if _, err := w.pool.Exec(w.ctx, `DELETE FROM events WHERE id = 1`); err != nil {
					w.t.Fatal(err)
				}
			},
			hits: []string{"event:2", "city=kazan"}, misses: []string{"event:1", "city=moscow"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.upsert(event(1, "moscow", moscow), event(2, "kazan", kazan))
			key := func(k string) string {
				switch k {
				case "event:1":
					return search.EventCacheKey(1)
				case "event:2":
					return search.EventCacheKey(2)
				}
				return w.searchKey(k)
			}
			uses := map[string]int{}
			for _, k := range append(tt.hits, tt.misses...) {
				uses[key(k)] = 2
			}
			w.instance(uses)
			if res := w.snapshot(); res.Entries != len(uses) {
				t.Fatalf("got %d entries in the snapshot, want %d", res.Entries, len(uses))
			}
			if tt.change != nil {
				tt.change(w)
			}
			d := instance.New("search-events", config.Config{DatabaseURL: w.url, NatsURL: w.nats.URL,
				Namespace: w.nats.Namespace, CacheEntries: 100, CacheBytes: 1 << 20, CacheTTL: time.Minute}, quiet)
			t.Cleanup(d.Close)
			c := instance.StartCache(d, w.srcs)
			// Its connection, opened while NATS connected, is the one the warm start used.
			if pool, err := d.Pool(); err != nil || pool.Stat().NewConnsCount() != 1 {
				t.Errorf("the warm start opened %d connections (%v), want 1", pool.Stat().NewConnsCount(), err)
			}
			for _, k := range tt.hits {
				got, ok := c.Get(key(k))
				if !ok {
					t.Errorf("%s: got miss after the warm start, want hit", k)
					continue
				}
				want, err := w.srcs[hotcache.KindOf(key(k))].Load(w.ctx, w.pool, key(k))
				if err != nil {
					t.Fatal(err)
				}
				if string(got.Body) != string(want.Body) || got.ETag != want.ETag {
					t.Errorf("%s: got body %s, want the current answer %s", k, got.Body, want.Body)
				}
			}
			for _, k := range tt.misses {
				if _, ok := c.Get(key(k)); ok {
					t.Errorf("%s: got hit, want it dropped (changed after the snapshot)", k)
				}
			}
			// The search's invalidation test came back with it.
			c.Apply(changefeed.Change{Events: []changefeed.Event{{ID: 99, City: "kazan", StartsAt: time.Now().Add(time.Hour),
				Constraints: []string{"sign_language"}}}})
			if _, ok := c.Get(key("city=kazan")); ok {
				t.Error("city=kazan: got kept after a matching change, want dropped")
			}
		})
	}
}

// TestWarmStartReadsTheDeletionsItsSnapshotDidNotSee: a warm start learns the events gone
// since its snapshot from the deletions recorded after the snapshot's read (migration 031,
// hotcache's deletedSince), not by probing every event its answers hold: an event that a
// transaction open during the read deleted is gone, an id that never existed is not looked
// for, and a truncated table leaves nothing to start from. A snapshot without its read
// recorded (taken before), or whose read is ahead of this server (a restored database), is
// checked by the probe.
func TestWarmStartReadsTheDeletionsItsSnapshotDidNotSee(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		during  string // run in a transaction open while the snapshot is taken, committed after
		after   string // after the snapshot
		hits    []string
		misses  []string
		nothing bool // the warm start loads no entry
	}{
		{name: "NothingDeleted", hits: []string{"event:1", "event:2", "city=moscow"}},
		{name: "DeletedDuringTheRead", during: `DELETE FROM events WHERE id = 1`,
			hits: []string{"event:2"}, misses: []string{"event:1", "city=moscow"}},
		{name: "DeletedAfter", after: `DELETE FROM events WHERE id = 2`,
			hits: []string{"event:1", "city=moscow"}, misses: []string{"event:2"}},
		{name: "Truncated", after: `TRUNCATE events CASCADE`, nothing: true},
		// The answer of event 2 is made to hold an id that never existed: only a probe drops it.
		{name: "SnapshotWithoutItsRead", after: `UPDATE cache_snapshots SET seen = NULL`,
			hits: []string{"event:1", "city=moscow"}, misses: []string{"event:2"}},
		{name: "ReadAheadOfThisServer", after: `UPDATE cache_snapshots SET seen = '4000000000:4000000000:'`,
			hits: []string{"event:1", "city=moscow"}, misses: []string{"event:2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.upsert(event(1, "moscow", map[string]string{"elevator": "yes"}), event(2, "kazan", nil))
			key := map[string]string{"event:1": search.EventCacheKey(1), "event:2": search.EventCacheKey(2),
				"city=moscow": w.searchKey("city=moscow")}
			w.instance(map[string]int{key["event:1"]: 2, key["event:2"]: 2, key["city=moscow"]: 2})
			var open pgx.Tx
			if tt.during != "" {
				var err error
				if open, err = w.pool.Begin(w.ctx); err != nil {
					t.Fatal(err)
				}
				defer open.Rollback(w.ctx) //nolint:errcheck // committed below
				if _, err := open.Exec(w.ctx, tt.during); err != nil {
					t.Fatal(err)
				}
			}
			if res := w.snapshot(); res.Entries != 3 {
				t.Fatalf("got %d entries in the snapshot, want 3", res.Entries)
			}
			if open != nil {
				if err := open.Commit(w.ctx); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := w.pool.Exec(w.ctx, `UPDATE cache_snapshot_entries SET event_ids = event_ids || 987654321::bigint
				WHERE key = $1`, key["event:2"]); err != nil {
				t.Fatal(err)
			}
			if tt.after != "" {
				if _, err := w.pool.Exec(w.ctx, tt.after); err != nil {
					t.Fatal(err)
				}
			}
			pool, err := pgdb.Connect(w.ctx, w.url, pgdb.Options{AppName: "test"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(pool.Close)
			c := hotcache.New(hotcache.Bounds{Entries: 100, Bytes: 1 << 20, TTL: time.Minute})
			n, err := hotcache.WarmStart(w.ctx, pool, c, w.srcs)
			if err != nil {
				t.Fatal(err)
			}
			if tt.nothing {
				if n != 0 || c.Len() != 0 {
					t.Fatalf("got %d entries (%d cached), want none", n, c.Len())
				}
				return
			}
			for _, k := range tt.hits {
				if _, ok := c.Get(key[k]); !ok {
					t.Errorf("%s: got miss, want hit", k)
				}
			}
			for _, k := range tt.misses {
				if _, ok := c.Get(key[k]); ok {
					t.Errorf("%s: got hit, want it dropped", k)
				}
			}
		})
	}
}

// TestSnapshotDropsTheDeletionsEveryKeptReadSaw: taking a snapshot drops the recorded
// deletions that every kept snapshot's read saw, and none while a kept snapshot has no read
// recorded.
func TestSnapshotDropsTheDeletionsEveryKeptReadSaw(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.upsert(event(1, "moscow", nil), event(2, "kazan", nil))
	w.instance(map[string]int{search.EventCacheKey(1): 2})
	deletions := func() (n int) {
		t.Helper()
		if err := w.pool.QueryRow(w.ctx, `SELECT count(*) FROM events_deleted`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	take := func(keep int) {
		t.Helper()
		w.age()
		o := w.options()
		o.Keep = keep
		if _, err := hotcache.TakeSnapshot(w.ctx, w.pool, o); err != nil {
			t.Fatal(err)
		}
	}
	take(2)
	if _, err := w.pool.Exec(w.ctx, `DELETE FROM events WHERE id = 2`); err != nil {
		t.Fatal(err)
	}
	if n := deletions(); n != 1 {
		t.Fatalf("got %d deletions recorded, want 1", n)
	}
	take(2) // the first snapshot, which did not see the deletion, is kept
	if n := deletions(); n != 1 {
		t.Fatalf("got %d deletions recorded with a snapshot that did not see it kept, want 1", n)
	}
	if _, err := w.pool.Exec(w.ctx, `UPDATE cache_snapshots SET seen = NULL`); err != nil {
		t.Fatal(err)
	}
	take(2) // kept: the second, without its read recorded, and this one
	if n := deletions(); n != 1 {
		t.Fatalf("got %d deletions recorded with a kept snapshot's read unknown, want 1", n)
	}
	take(2) // kept: the last two, which both saw it
	if n := deletions(); n != 0 {
		t.Fatalf("got %d deletions recorded once every kept snapshot saw them, want 0", n)
	}
}

// TestWarmStartOfAFewAnswersOnOneConnection: a snapshot read in one part is checked for its
// events gone and what changed after the answers, on the connection they were read on, not
// beside them on another: a new connection to Postgres costs more than the checks of a few
// answers (shared/hotcache/warm.go, WarmStart).
func TestWarmStartOfAFewAnswersOnOneConnection(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.upsert(event(1, "moscow", map[string]string{"elevator": "yes"}), event(2, "kazan", nil))
	w.instance(map[string]int{search.EventCacheKey(1): 2, search.EventCacheKey(2): 2, w.searchKey("city=moscow"): 2})
	if res := w.snapshot(); res.Entries != 3 {
		t.Fatalf("got %d entries in the snapshot, want 3", res.Entries)
	}
	pool, err := pgdb.Connect(w.ctx, w.url, pgdb.Options{AppName: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	c := hotcache.New(hotcache.Bounds{Entries: 100, Bytes: 1 << 20, TTL: time.Minute})
	if n, err := hotcache.WarmStart(w.ctx, pool, c, w.srcs); err != nil || n != 3 {
		t.Fatalf("got %d entries (%v), want 3", n, err)
	}
	if n := pool.Stat().NewConnsCount(); n != 1 {
		t.Fatalf("the warm start opened %d connections, want 1", n)
	}
}

// A large snapshot is read in parts at once (hotcache.WarmStart on a pool), a part per
// megabyte of the kinds the instance loads: every entry comes back with its own body and tag,
// whichever part read it, stored as is (rows written before migration 025) or compressed with
// S2, decoded when first served; a body that does not decode is never served. An instance that loads only the snapshot's few small answers of one
// kind reads them on one connection, however large the others are.
func TestWarmStartInParts(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	const (
		n     = 250 // of 10 KB each that neither S2 nor TOAST shrinks much: three parts
		pages = 300 // of a few bytes: one
	)
	var id int64
	if err := w.pool.QueryRow(w.ctx, `INSERT INTO cache_snapshots (taken_at, applied_seq, entries, bytes, took_ms)
		VALUES (now(), 0, $1, 0, 0) RETURNING id`, n+pages).Scan(&id); err != nil {
		t.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	pad := func() string {
		b := make([]byte, 7500)
		for i := range b {
			b[i] = byte(rnd.Uint32())
		}
		return base64.StdEncoding.EncodeToString(b)
	}
	bodies := make([]string, n)
	for i := range int64(n) {
		bodies[i] = fmt.Sprintf(`{"id":%d,"pad":%q}`, 1000+i, pad())
		body, encoding := []byte(bodies[i]), ""
		if i%2 == 1 {
			body, encoding = s2.Encode(nil, body), "s2"
		}
		if _, err := w.pool.Exec(w.ctx, `INSERT INTO cache_snapshot_entries (snapshot_id, kind, key, body, body_encoding, etag, score)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, id, search.KindEvent, search.EventCacheKey(1000+i),
			body, encoding, fmt.Sprintf(`"e%d"`, i), float64(i%7)); err != nil {
			t.Fatal(err)
		}
	}
	// Small answers of another kind, more of them than the big ones, which an instance of
	// search answers alone reads.
	for i := range pages {
		if _, err := w.pool.Exec(w.ctx, `INSERT INTO cache_snapshot_entries (snapshot_id, kind, key, body, etag)
			VALUES ($1, $2, $3, '{"events":[]}', '"p"')`, id, search.KindSearch,
			w.searchKey(fmt.Sprintf("city=%s&limit=%d", []string{"moscow", "kazan", "omsk"}[i%3], 1+i/3))); err != nil {
			t.Fatal(err)
		}
	}
	// warm starts on a pool of their own, so that its connections count those it opened.
	warm := func(srcs map[string]hotcache.Source) (*hotcache.Local, int, int64, error) {
		pool, err := pgdb.Connect(w.ctx, w.url, pgdb.Options{AppName: "test"})
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		c := hotcache.New(hotcache.Bounds{Entries: 1000, Bytes: 1 << 24, TTL: time.Minute})
		got, err := hotcache.WarmStart(w.ctx, pool, c, srcs)
		return c, got, pool.Stat().NewConnsCount(), err
	}
	c, got, conns, err := warm(w.srcs)
	if err != nil || got != n+pages {
		t.Fatalf("got %d entries (%v), want %d", got, err, n+pages)
	}
	// A compressed body is decoded when first served, once, however many ask for it at once.
	var g sync.WaitGroup
	for range 8 {
		g.Go(func() {
			for i := int64(1); i < n; i += 2 {
				if e, ok := c.Get(search.EventCacheKey(1000 + i)); !ok || string(e.Body) != bodies[i] {
					t.Errorf("entry %d asked for at once: got %.40q (%v), want %.40q", i, e.Body, ok, bodies[i])
					return
				}
			}
		})
	}
	g.Wait()
	if conns < 3 {
		t.Errorf("the warm start of %d answers of 10 KB opened %d connections, want its parts' (3 at least)", n, conns)
	}
	for i := range int64(n) {
		e, ok := c.Get(search.EventCacheKey(1000 + i))
		if !ok || string(e.Body) != bodies[i] || e.ETag != fmt.Sprintf(`"e%d"`, i) {
			t.Fatalf("entry %d: got %.40q %q (%v), want %.40q", i, e.Body, e.ETag, ok, bodies[i])
		}
	}
	c, got, conns, err = warm(map[string]hotcache.Source{search.KindSearch: w.srcs[search.KindSearch]})
	if err != nil || got != pages || conns != 1 {
		t.Fatalf("the pages alone: got %d entries (%v) on %d connections, want %d on 1", got, err, conns, pages)
	}
	if e, ok := c.Get(w.searchKey("city=omsk&limit=100")); !ok || string(e.Body) != `{"events":[]}` {
		t.Fatalf("the pages alone: got %q (%v)", e.Body, ok)
	}

	// A body whose data does not decode is not served: its key is the database's to answer.
	if _, err := w.pool.Exec(w.ctx, `UPDATE cache_snapshot_entries SET body = '\x0aff00ff'::bytea, body_encoding = 's2'
		WHERE snapshot_id = $1 AND key = $2`, id, search.EventCacheKey(1100)); err != nil {
		t.Fatal(err)
	}
	c, got, _, err = warm(w.srcs)
	if err != nil || got != n+pages {
		t.Fatalf("a body that does not decode: got %d entries (%v), want %d", got, err, n+pages)
	}
	if e, ok := c.Get(search.EventCacheKey(1100)); ok {
		t.Fatalf("a body that does not decode: got %.40q served, want none", e.Body)
	}
	if e, ok := c.Get(search.EventCacheKey(1101)); !ok || string(e.Body) != bodies[101] {
		t.Fatalf("beside a body that does not decode: got %.40q (%v), want %.40q", e.Body, ok, bodies[101])
	}
	// One that is not S2's at all (its length overflows) fails the warm start (the instance
	// then starts cold), naming its entry.
	if _, err := w.pool.Exec(w.ctx, `UPDATE cache_snapshot_entries SET body = '\xffffffffffffffffffff01'::bytea
		WHERE snapshot_id = $1 AND key = $2`, id, search.EventCacheKey(1100)); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := warm(w.srcs); err == nil || !strings.Contains(err.Error(), search.EventCacheKey(1100)) {
		t.Fatalf("a body that is not S2's: got %v, want an error naming its entry", err)
	}
}

// Each snapshot drops the oldest generation and then vacuums the snapshot tables, so that on a
// server whose autovacuum is off (the test server's) their space is reused instead of growing
// by each snapshot's answers for good. As the deployment's role, dostupno_snapshot, which owns
// none of them, it may only where the server lets it (PostgreSQL 17: migration 035 grants
// MAINTAIN); elsewhere it vacuums nothing and says so, naming the tables and the role.
func TestSnapshotVacuumsItsTables(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.upsert(event(1, "moscow", nil))
	w.instance(map[string]int{search.EventCacheKey(1): 1})
	vacuumed := func() bool {
		t.Helper()
		var at *time.Time
		if err := w.pool.QueryRow(w.ctx, `SELECT last_vacuum FROM pg_stat_user_tables WHERE relname = 'cache_snapshot_entries'`).Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at != nil
	}
	if vacuumed() {
		t.Fatal("cache_snapshot_entries vacuumed before any snapshot")
	}
	w.snapshot()
	if !vacuumed() {
		t.Fatal("got cache_snapshot_entries not vacuumed after a snapshot taken as its owner, want it vacuumed")
	}

	if _, err := w.pool.Exec(w.ctx, `SELECT pg_stat_reset_single_table_counters('cache_snapshot_entries'::regclass)`); err != nil {
		t.Fatal(err)
	}
	w.age()
	role, err := pgdb.Connect(w.ctx, pgtest.RoleURL(w.url, migrations.SnapshotRole), pgdb.Options{AppName: "snapshot"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(role.Close)
	var logs logging.Buffer
	o := w.options()
	o.Log = slog.New(slog.NewTextHandler(&logs, nil))
	if res, err := hotcache.TakeSnapshot(w.ctx, role, o); err != nil || res.ID == 0 || res.Busy {
		t.Fatalf("as %s: got %+v, %v, want a new snapshot", migrations.SnapshotRole, res, err)
	}
	var version int
	if err := w.pool.QueryRow(w.ctx, `SELECT current_setting('server_version_num')::int`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	warned := strings.Contains(logs.String(), "cannot vacuum the snapshot tables")
	if version >= 170000 {
		if !vacuumed() || warned {
			t.Errorf("PostgreSQL %d as %s: got vacuumed %v, warned %v; want vacuumed (MAINTAIN, migration 035), no warning:\n%s",
				version, migrations.SnapshotRole, vacuumed(), warned, logs.String())
		}
		return
	}
	if vacuumed() || !warned || !strings.Contains(logs.String(), "cache_snapshot_entries") || !strings.Contains(logs.String(), "role="+migrations.SnapshotRole) {
		t.Errorf("PostgreSQL %d as %s: got vacuumed %v, want not (no MAINTAIN before 17), and the warning naming the table and the role:\n%s",
			version, migrations.SnapshotRole, vacuumed(), logs.String())
	}
}
