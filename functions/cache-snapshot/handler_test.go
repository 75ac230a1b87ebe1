package function

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	getevent "github.com/dostupno/dostupno/functions/get-event"
	searchevents "github.com/dostupno/dostupno/functions/search-events"
	"github.com/dostupno/dostupno/shared/apitest"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/changefeed"
	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/writelog"
	"github.com/dostupno/dostupno/shared/writelog/writelogtest"
)

// stack is one database and NATS namespace shared by the instances a test starts.
type stack struct {
	t      *testing.T
	shared *apitest.Env
}

func newStack(t *testing.T) *stack {
	t.Helper()
	return &stack{t: t, shared: apitest.Services(t, apitest.WithNATS())}
}

// start serves a new instance of a function (its own Deps: pool, NATS connection, cache of
// 100 entries and 1 MiB kept a minute).
func (s *stack) start(name string, build apitest.Builder) string {
	s.t.Helper()
	return apitest.New(s.t, name, build, apitest.WithDatabaseOf(s.shared), apitest.WithNATSOf(s.shared),
		apitest.WithConfig(func(c *config.Config) { c.CacheEntries, c.CacheBytes, c.CacheTTL = 100, 1<<20, time.Minute })).URL
}

// waitingFor is cache-snapshot asking for hot keys until n read instances have replied
// (within 10 s), instead of for its usual 200 ms.
func waitingFor(n int) apitest.Builder {
	return func(d *instance.Deps) (http.Handler, error) {
		s, err := newServer(d)
		if err != nil {
			return nil, err
		}
		s.opts.Collect, s.opts.Instances = 10*time.Second, n
		return s.handler(), nil
	}
}

type answer struct {
	status int
	cache  string
	etag   string
	body   string
}

func call(t *testing.T, method, url string) answer {
	t.Helper()
	resp, b := apitest.Do(t, method, url, nil)
	return answer{resp.StatusCode, resp.Header.Get("X-Cache"), resp.Header.Get("ETag"), string(b)}
}

// upsert writes events as the write-log applier of the primary copy does, then announces the
// change.
func (s *stack) upsert(seq int64, events ...catalog.Event) {
	s.t.Helper()
	ctx := context.Background()
	pool := s.shared.Pool
	vocab, err := catalog.LoadVocabulary(ctx, pool)
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := catalog.UpsertEvents(ctx, pool, vocab, seq, time.Now(), events); err != nil {
		s.t.Fatal(err)
	}
	if err := writelogtest.SetApplied(ctx, pool, uint64(seq)); err != nil {
		s.t.Fatal(err)
	}
	ch := changefeed.Change{Seq: uint64(seq)}
	for _, e := range events {
		ch.Events = append(ch.Events, changefeed.Event{ID: e.ID, City: e.City, Category: e.Category, StartsAt: e.StartsAt})
	}
	b, err := json.Marshal(ch)
	if err != nil {
		s.t.Fatal(err)
	}
	if err := s.shared.NATS.Conn.Publish(changefeed.Subject(s.shared.NATS.Namespace), b); err != nil {
		s.t.Fatal(err)
	}
}

type snapshotRow struct {
	id, bytes int64
	entries   int
}

// snapshots are the stored snapshots, oldest first.
func (s *stack) snapshots() []snapshotRow {
	s.t.Helper()
	rows, err := s.shared.Pool.Query(context.Background(), `SELECT id, entries, bytes FROM cache_snapshots ORDER BY id`)
	if err != nil {
		s.t.Fatal(err)
	}
	defer rows.Close()
	var out []snapshotRow
	for rows.Next() {
		var r snapshotRow
		if err := rows.Scan(&r.id, &r.entries, &r.bytes); err != nil {
			s.t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		s.t.Fatal(err)
	}
	return out
}

func concert(id int64, title string) catalog.Event {
	return catalog.Event{ID: id, Title: title, Category: "concert", City: "moscow", Venue: catalog.Venue{ID: 1, Name: "Hall"},
		StartsAt: time.Now().Add(72 * time.Hour).UTC().Truncate(time.Second), Timezone: "Europe/Moscow",
		Accessibility: catalog.Answers(map[string]string{"elevator": "yes"})}
}

// TestRestartStartsWarm is the story: questions asked of running instances are
// snapshotted; new instances answer them from memory at once; a write then reaches them
// within the bound.
func TestRestartStartsWarm(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.upsert(1, concert(1, "Opening night"), concert(2, "Matinee"))
	search, event := "/?city=moscow&constraints=elevator", "/1"

	searchA, eventA := s.start(searchevents.Name, searchevents.New), s.start(getevent.Name, getevent.New)
	var before = map[string]answer{}
	for _, u := range []string{searchA + search, eventA + event} {
		first, second := call(t, "GET", u), call(t, "GET", u)
		if first.status != 200 || first.cache != "miss" || second.cache != "hit" || second.body != first.body {
			t.Fatalf("%s: got %d %s then %s, want 200 miss then hit with the same body", u, first.status, first.cache, second.cache)
		}
		before[u] = first
	}

	snap := s.start(Name, waitingFor(2)) // searchA and eventA
	if got := call(t, "POST", snap+"/"); got.status != 204 || got.body != "" {
		t.Fatalf("got %d %q, want 204 with no body", got.status, got.body)
	}
	first := s.snapshots()
	if len(first) != 1 || first[0].entries != 2 || first[0].bytes < int64(len(before[searchA+search].body)) {
		t.Fatalf("got snapshots %+v, want one of the 2 asked answers", first)
	}
	if again := call(t, "POST", snap+"/"); again.status != 204 || fmt.Sprint(s.snapshots()) != fmt.Sprint(first) {
		t.Fatalf("got %d and snapshots %+v within the minute, want 204 and the last snapshot alone", again.status, s.snapshots())
	}

	searchB, eventB := s.start(searchevents.Name, searchevents.New), s.start(getevent.Name, getevent.New)
	for u, old := range map[string]answer{searchB + search: before[searchA+search], eventB + event: before[eventA+event]} {
		a := call(t, "GET", u)
		if a.status != 200 || a.cache != "hit" || a.body != old.body || a.etag != old.etag {
			t.Fatalf("%s: got %d %s etag %q, want the first request of a new instance a hit with the same body and ETag", u, a.status, a.cache, a.etag)
		}
	}

	s.upsert(2, concert(1, "Opening night, moved"))
	written := time.Now()
	old := map[string]string{
		searchA + search: before[searchA+search].body, searchB + search: before[searchA+search].body,
		eventA + event: before[eventA+event].body, eventB + event: before[eventA+event].body,
	}
	for u, oldBody := range old {
		for {
			a := call(t, "GET", u)
			if a.status == 200 && a.cache == "miss" && a.body != oldBody {
				break
			}
			if time.Since(written) > time.Second {
				t.Fatalf("%s: got the old answer (X-Cache %s) %v after the write, want the new one within 1s", u, a.cache, time.Since(written))
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	t.Logf("four instances served the new answers %v after the write", time.Since(written))
}

// TestWarmStartDropsAnswersOfVenuesChangedSince: a venue renamed between a snapshot and an
// instance's start, through upsert-venue (its events' rows keep their versions): the new
// instance serves none of the snapshot's answers showing it (a search, the event's page), and
// the others from the snapshot as before.
func TestWarmStartDropsAnswersOfVenuesChangedSince(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	play := concert(2, "Jazz night")
	play.Category, play.Venue = "theatre", catalog.Venue{ID: 2, Name: "Club"}
	s.upsert(1, concert(1, "Opening night"), play)
	renamed := []string{"/?category=concert", "/1"} // venue 1
	kept := []string{"/?category=theatre", "/2"}    // venue 2
	searchA, eventA := s.start(searchevents.Name, searchevents.New), s.start(getevent.Name, getevent.New)
	before := map[string]answer{}
	for _, p := range slices.Concat(renamed, kept) {
		u := searchA + p
		if p[1] != '?' {
			u = eventA + p
		}
		if a, again := call(t, "GET", u), call(t, "GET", u); a.status != 200 || again.cache != "hit" {
			t.Fatalf("%s: got %d then %s, want 200 then a hit", u, a.status, again.cache)
		}
		before[p] = call(t, "GET", u)
	}
	snap := s.start(Name, waitingFor(2))
	if got := call(t, "POST", snap+"/"); got.status != 204 {
		t.Fatalf("snapshot: got %d %s", got.status, got.body)
	}
	if got := s.snapshots(); len(got) != 1 || got[0].entries != 4 {
		t.Fatalf("got snapshots %+v, want one of the 4 answers asked", got)
	}

	// Venue 1 renamed at write-log position 2, as the applier applies upsert-venue; the
	// running instances would learn it from the change feed, the next ones start after it.
	ctx := context.Background()
	vocab, err := catalog.LoadVocabulary(ctx, s.shared.Pool)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal([]catalog.VenueInput{{Venue: catalog.Venue{ID: 1, Name: "Great Hall"}, City: "moscow"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := pgx.BeginFunc(ctx, s.shared.Pool, func(tx pgx.Tx) error {
		o, err := catalog.VenueUpsert(vocab)(ctx, tx, 2, writelog.Command{Kind: catalog.KindVenueUpsert, At: time.Now(), Payload: payload})
		if err == nil && o.Status != writelog.Applied {
			err = fmt.Errorf("got %s: %s", o.Status, o.Message)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := writelogtest.SetApplied(ctx, s.shared.Pool, 2); err != nil {
		t.Fatal(err)
	}

	searchB, eventB := s.start(searchevents.Name, searchevents.New), s.start(getevent.Name, getevent.New)
	for _, p := range slices.Concat(renamed, kept) {
		u := searchB + p
		if p[1] != '?' {
			u = eventB + p
		}
		a := call(t, "GET", u)
		switch {
		case slices.Contains(renamed, p) && (a.status != 200 || a.cache != "miss" || !strings.Contains(a.body, "Great Hall")):
			t.Errorf("%s: got %d %s %.120s, want the venue's new name read anew (a miss)", u, a.status, a.cache, a.body)
		case slices.Contains(kept, p) && (a.cache != "hit" || a.body != before[p].body):
			t.Errorf("%s: got %s, want the snapshot's answer (a hit, the same body)", u, a.cache)
		}
	}
}

func TestSnapshotRequests(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	snap := s.start(Name, New)
	for _, tt := range []struct {
		name, method, path string
		status             int
	}{
		{"OK", "POST", "/", 204},
		{"ErrMethod", "GET", "/", 405},
		{"ErrPath", "POST", "/elsewhere", 404},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := call(t, tt.method, snap+tt.path)
			if a.status != tt.status {
				t.Fatalf("got %d %s, want %d", a.status, a.body, tt.status)
			}
			if tt.status != 204 {
				apitest.ErrorOf(t, []byte(a.body))
			}
		})
	}
}

// A call while this instance takes a snapshot answers at once and takes none.
func TestOneSnapshotAtATime(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	var srv *server
	url := apitest.New(t, Name, func(d *instance.Deps) (http.Handler, error) {
		var err error
		srv, err = newServer(d)
		if err != nil {
			return nil, err
		}
		return srv.handler(), nil
	}, apitest.WithDatabaseOf(s.shared), apitest.WithNATSOf(s.shared)).URL
	srv.running.Lock() // a snapshot in progress
	if a := call(t, "POST", url+"/"); a.status != 204 || len(s.snapshots()) != 0 {
		t.Fatalf("got %d and %d snapshots while one was being taken, want 204 at once and none", a.status, len(s.snapshots()))
	}
	srv.running.Unlock()
	if a := call(t, "POST", url+"/"); a.status != 204 || len(s.snapshots()) != 1 {
		t.Fatalf("got %d and %d snapshots, want 204 and one", a.status, len(s.snapshots()))
	}
}
