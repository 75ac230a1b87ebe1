package hotcache

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/changefeed"
)

// newCache is a cache of at most entries entries, the default bytes, kept a minute.
func newCache(entries int) *Local { return New(Bounds{Entries: entries, TTL: time.Minute}) }

// stored sets e under key and reports whether c then holds it: a Set is refused when a change
// since e.Gen may affect the answer.
func stored(c *Local, key string, e Entry) bool {
	c.Set(key, e)
	_, ok := c.Get(key)
	return ok
}

// bytesOf is the size of c's entries as counted against the byte bound.
func bytesOf(c *Local) int64 {
	var n int64
	for _, s := range c.shards {
		n += s.bytes.Load()
	}
	return n
}

// clock is a settable clock for Local.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestApplyDropsAffected(t *testing.T) {
	c := newCache(100)
	c.Set("event:1", Entry{Body: []byte("1"), EventIDs: []int64{1}})
	c.Set("search:moscow", Entry{Body: []byte("s"), EventIDs: []int64{2}, Matches: func(e changefeed.Event) bool { return e.City == "moscow" }})
	c.Set("search:kazan", Entry{Body: []byte("k"), EventIDs: []int64{3}, Matches: func(e changefeed.Event) bool { return e.City == "kazan" }})
	c.Apply(changefeed.Change{Events: []changefeed.Event{{ID: 1, City: "moscow"}}, Users: []string{"u1"}})
	for key, want := range map[string]bool{"event:1": false, "search:moscow": false, "search:kazan": true} {
		if _, ok := c.Get(key); ok != want {
			t.Errorf("%s: got kept=%v, want %v", key, ok, want)
		}
	}
	if c.Len() != 1 {
		t.Fatalf("got %d entries, want 1", c.Len())
	}
}

func TestBoundedEntries(t *testing.T) {
	for _, max := range []int{10, 1000, 20000} {
		t.Run(fmt.Sprint(max), func(t *testing.T) {
			c := newCache(max)
			for i := 0; i < 3*max; i++ {
				c.Set(fmt.Sprint(i), Entry{Body: []byte("x")})
				if c.Len() > max {
					t.Fatalf("after %d stores got %d entries, want at most %d", i+1, c.Len(), max)
				}
			}
			if c.Len() < max/2 {
				t.Fatalf("got %d entries, want the cache kept at least half full (%d)", c.Len(), max/2)
			}
		})
	}
}

func TestBoundedBytes(t *testing.T) {
	const bound = 1 << 20
	c := New(Bounds{Entries: 100000, Bytes: bound, TTL: time.Minute})
	body := make([]byte, 4000)
	for i := 0; i < 2000; i++ {
		c.Set(fmt.Sprint("k", i), Entry{Body: body})
		if bytesOf(c) > bound {
			t.Fatalf("after %d stores got %d bytes, want at most %d", i+1, bytesOf(c), bound)
		}
	}
	if bytesOf(c) < bound/2 {
		t.Fatalf("got %d bytes, want the cache kept at least half full", bytesOf(c))
	}
	c.Set("huge", Entry{Body: make([]byte, bound)})
	if _, ok := c.Get("huge"); ok {
		t.Fatal("got an entry larger than a shard stored, want it refused")
	}
}

func TestEvictsLeastRecentlyUsed(t *testing.T) {
	c := newCache(50)
	c.Set("hot", Entry{Body: []byte("h")})
	for i := 0; i < 500; i++ {
		c.Get("hot")
		c.Set(fmt.Sprint(i), Entry{Body: []byte("x")})
	}
	if _, ok := c.Get("hot"); !ok {
		t.Fatal("got the most used entry evicted, want it kept")
	}
	if _, ok := c.Get("0"); ok {
		t.Fatal("got the oldest unused entry kept, want it evicted")
	}
}

func TestExpires(t *testing.T) {
	clk := &clock{now: time.Date(2030, 3, 1, 10, 0, 0, 0, time.UTC)}
	c := New(Bounds{Entries: 10, TTL: 30 * time.Millisecond, Stale: time.Second})
	c.Now = clk.Now
	c.Set("a", Entry{Body: []byte("a")})
	clk.Add(30 * time.Millisecond)
	if _, ok := c.Get("a"); !ok {
		t.Fatal("got miss, want hit before the TTL")
	}
	clk.Add(30 * time.Millisecond)
	if _, ok := c.Get("a"); ok {
		t.Fatal("got hit, want miss after the TTL")
	}
	if got := c.Hot(10); len(got) != 0 {
		t.Fatalf("got hot keys %v, want none after the TTL", got)
	}
	c.Sweep()
	if _, ok := c.Stale("a"); !ok {
		t.Fatal("got nothing stale after a sweep within the stale bound, want the entry kept")
	}
	clk.Add(time.Second)
	if _, ok := c.Stale("a"); ok {
		t.Fatal("got a stale entry past TTL + Stale, want none")
	}
	c.Sweep()
	if c.Len() != 0 || bytesOf(c) != 0 {
		t.Fatalf("got %d entries, %d bytes after a sweep, want 0 and 0", c.Len(), bytesOf(c))
	}
}

func TestSetAfterChange(t *testing.T) {
	for name, tc := range map[string]struct {
		genAfter bool // the answer was read after the change was applied
		entry    Entry
		want     bool
	}{
		"RefusedReadBeforeChange":      {entry: Entry{EventIDs: []int64{1}}, want: false},
		"RefusedSearchBeforeChange":    {entry: Entry{Matches: func(e changefeed.Event) bool { return e.City == "moscow" }}, want: false},
		"StoredUnaffected":             {entry: Entry{EventIDs: []int64{2}}, want: true},
		"StoredReadAfterChange":        {genAfter: true, entry: Entry{EventIDs: []int64{1}}, want: true},
		"RefusedWithGenBeforeChange":   {entry: Entry{EventIDs: []int64{1}, Gen: 1}, want: false},
		"StoredWithGenBeforeUnrelated": {entry: Entry{EventIDs: []int64{3}, Gen: 1}, want: true},
	} {
		t.Run(name, func(t *testing.T) {
			c := newCache(10)
			c.Apply(changefeed.Change{Events: []changefeed.Event{{ID: 1, City: "moscow"}}})
			e := tc.entry
			if tc.genAfter {
				e.Gen = c.Gen()
			}
			if ok := stored(c, "k", e); ok != tc.want {
				t.Fatalf("got stored=%v, want %v", ok, tc.want)
			}
		})
	}
}

func TestSuspendServesNothing(t *testing.T) {
	c := newCache(10)
	c.Set("a", Entry{Body: []byte("a")})
	c.Suspend()
	if _, ok := c.Get("a"); ok {
		t.Fatal("got hit while suspended, want miss")
	}
	c.Set("b", Entry{Body: []byte("b"), Gen: c.Gen()})
	if c.Len() != 0 {
		t.Fatalf("got %d entries while suspended, want 0", c.Len())
	}
	before := c.Gen()
	c.Resume()
	if stored(c, "old", Entry{Body: []byte("o"), Gen: before}) {
		t.Fatal("got an answer read before Resume stored, want it refused (a change may have been missed)")
	}
	if !stored(c, "new", Entry{Body: []byte("n"), Gen: c.Gen()}) {
		t.Fatal("got an answer read after Resume refused, want it stored")
	}
}

func TestForgottenChangesRefuseUncheckedSets(t *testing.T) {
	c := newCache(10)
	for i := 0; i <= maxRecent; i++ {
		c.Apply(changefeed.Change{Events: []changefeed.Event{{ID: int64(1000 + i)}}})
	}
	if stored(c, "nogen", Entry{EventIDs: []int64{1}}) {
		t.Fatal("got stored, want refused while forgotten changes may affect it")
	}
	if !stored(c, "fresh", Entry{EventIDs: []int64{1}, Gen: c.Gen()}) {
		t.Fatal("got refused, want stored (read after every change)")
	}
}

func TestHot(t *testing.T) {
	c := newCache(100)
	c.Set("a", Entry{})
	c.Set("b", Entry{})
	for i := 0; i < 5; i++ {
		c.Get("b")
	}
	got := c.Hot(10)
	if len(got) != 2 || got[0] != (HotKey{"b", 6}) || got[1] != (HotKey{"a", 1}) {
		t.Fatalf("got %v, want [{b 6} {a 1}]", got)
	}
	if got := c.Hot(10); len(got) != 0 {
		t.Fatalf("got %v on a second report, want none (uses are counted since the previous report)", got)
	}
}

func TestKindOf(t *testing.T) {
	if KindOf("event:id=5") != "event" || KindOf("nokind") != "" {
		t.Fatal("got wrong KindOf")
	}
}

// TestConcurrentUseKeepsCounts runs every operation at once, then checks that the byte count
// matches the entries held and the bounds held.
func TestConcurrentUseKeepsCounts(t *testing.T) {
	c := New(Bounds{Entries: 300, Bytes: 200 << 10, TTL: time.Minute})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5000; i++ {
				key := fmt.Sprint(g, "-", i%500)
				switch i % 7 {
				case 0:
					c.Apply(changefeed.Change{Events: []changefeed.Event{{ID: int64(i % 50)}}})
				case 1:
					c.Hot(10)
				case 2:
					c.Sweep()
				default:
					c.Set(key, Entry{Body: make([]byte, i%2000), EventIDs: []int64{int64(i % 50)}, Gen: c.Gen()})
					c.Get(key)
				}
				if i%997 == 0 {
					c.Suspend()
					c.Resume()
				}
			}
		}()
	}
	wg.Wait()
	if c.Len() > 300 || bytesOf(c) > 200<<10 {
		t.Fatalf("got %d entries, %d bytes, want at most 300 and %d", c.Len(), bytesOf(c), 200<<10)
	}
	var held int64
	for _, s := range c.shards {
		for _, v := range s.c.Items() {
			held += v.Object.(*item).size
		}
	}
	if got := bytesOf(c); got != held {
		t.Fatalf("got %d bytes counted, want %d (the entries held)", got, held)
	}
}

func TestDiverseBulkChangeDropsEverything(t *testing.T) {
	c := newCache(10)
	c.Set("unrelated", Entry{EventIDs: []int64{1}})
	before := c.Gen()
	bulk := changefeed.Change{}
	for i := 0; i <= maxApplyGroups; i++ { // one city more than can be summarised
		bulk.Events = append(bulk.Events, changefeed.Event{ID: int64(1000 + i), City: fmt.Sprintf("city-%d", i)})
	}
	c.Apply(bulk)
	if c.Len() != 0 {
		t.Fatalf("got %d entries after a bulk change, want 0", c.Len())
	}
	if stored(c, "old", Entry{EventIDs: []int64{1}, Gen: before}) {
		t.Fatal("got an answer read before the bulk change stored, want it refused")
	}
	if !stored(c, "new", Entry{EventIDs: []int64{1}, Gen: c.Gen()}) {
		t.Fatal("got an answer read after the bulk change refused, want it stored")
	}
}

// A change of every event at a venue (10,000 of them) drops exactly what it affects: the
// answers holding one of them and the searches one of them could now join, tested against a
// summary of the events rather than each event.
func TestVenueChangeDropsExactly(t *testing.T) {
	c := newCache(100)
	start := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	search := func(city, code string, lenient bool, from time.Time) func(changefeed.Event) bool {
		return func(e changefeed.Event) bool {
			if e.City != city || e.Last().Before(from) {
				return false
			}
			if lenient {
				return !slices.Contains(e.Excluded, code)
			}
			return slices.Contains(e.Constraints, code)
		}
	}
	venue := changefeed.Change{}
	for i := range 10000 {
		ev := changefeed.Event{ID: int64(100000 + i), City: "kazan", Category: []string{"theatre", "concert"}[i%2],
			StartsAt: start.Add(time.Duration(i) * time.Hour), Constraints: []string{"step_free_entrance"}, Excluded: []string{"elevator"}}
		if i%3 == 0 {
			ev.Constraints = append(ev.Constraints, "sign_language")
		}
		venue.Events = append(venue.Events, ev)
	}
	last := start.Add(9999 * time.Hour)
	entries := map[string]struct {
		e    Entry
		kept bool
	}{
		"event holding one":    {Entry{EventIDs: []int64{105000}}, false},
		"event elsewhere":      {Entry{EventIDs: []int64{7}}, true},
		"search it joins":      {Entry{EventIDs: []int64{7}, Matches: search("kazan", "sign_language", false, start)}, false},
		"lenient it joins":     {Entry{EventIDs: []int64{7}, Matches: search("kazan", "sign_language", true, start)}, false},
		"lenient it leaves":    {Entry{EventIDs: []int64{7}, Matches: search("kazan", "elevator", true, start)}, true},
		"search another city":  {Entry{EventIDs: []int64{7}, Matches: search("omsk", "sign_language", false, start)}, true},
		"search another code":  {Entry{EventIDs: []int64{7}, Matches: search("kazan", "braille", false, start)}, true},
		"search after them":    {Entry{EventIDs: []int64{7}, Matches: search("kazan", "sign_language", false, last.Add(time.Hour))}, true},
		"search at their last": {Entry{EventIDs: []int64{7}, Matches: search("kazan", "sign_language", false, last)}, false},
	}
	for key, tt := range entries {
		c.Set(key, tt.e)
	}
	before := c.Gen()
	c.Apply(venue)
	for key, tt := range entries {
		if _, ok := c.Get(key); ok != tt.kept {
			t.Errorf("%s: got kept %v after the venue's change, want %v", key, ok, tt.kept)
		}
	}
	// An answer read before the change and stored after it is checked against the summary.
	if stored(c, "late search", Entry{EventIDs: []int64{7}, Matches: search("kazan", "step_free_entrance", false, start), Gen: before}) {
		t.Error("got an answer the change affects stored after it, want it refused")
	}
	if !stored(c, "late unrelated", Entry{EventIDs: []int64{7}, Matches: search("omsk", "step_free_entrance", false, start), Gen: before}) {
		t.Error("got an answer the change does not affect refused, want it stored")
	}
}

func TestReadThrough(t *testing.T) {
	c := newCache(10)
	loads := 0
	load := func(body string, ids ...int64) func() (Entry, error) {
		return func() (Entry, error) {
			loads++
			return Entry{Body: []byte(body), EventIDs: ids}, nil
		}
	}
	read := func(key string, useCache bool, f func() (Entry, error)) (string, bool) {
		t.Helper()
		e, from, err := ReadThrough(c, key, useCache, f)
		if err != nil {
			t.Fatal(err)
		}
		return string(e.Body), from == Hit
	}
	if body, hit := read("k", true, load("a", 1)); hit || body != "a" || loads != 1 {
		t.Fatalf("got %q hit=%v after %d loads, want a loaded once", body, hit, loads)
	}
	if body, hit := read("k", true, load("b", 1)); !hit || body != "a" || loads != 1 {
		t.Fatalf("got %q hit=%v after %d loads, want a from the cache", body, hit, loads)
	}
	if body, hit := read("k", false, load("c", 1)); hit || body != "c" {
		t.Fatalf("got %q hit=%v without the cache, want c loaded", body, hit)
	}
	if e, _ := c.Get("k"); string(e.Body) != "a" {
		t.Fatalf("got %q stored, want a (an answer read without the cache is not stored)", e.Body)
	}
	read("changed", true, func() (Entry, error) {
		c.Apply(changefeed.Change{Events: []changefeed.Event{{ID: 2}}}) // while reading
		return Entry{Body: []byte("old"), EventIDs: []int64{2}}, nil
	})
	if _, ok := c.Get("changed"); ok {
		t.Fatal("got an answer stored that a change applied while it was read affects, want it refused")
	}
	fail := errors.New("down")
	if _, _, err := ReadThrough(c, "failed", true, func() (Entry, error) { return Entry{}, fail }); !errors.Is(err, fail) {
		t.Fatalf("got %v, want the load's error", err)
	}
	if _, ok := c.Get("failed"); ok {
		t.Fatal("got an entry stored for a failed load, want none")
	}
}

// A venue whose row changed (a rename) drops the answers that show it, searches and event
// pages alike, and nothing else; an answer showing it read before the change is refused.
func TestVenueRowChangeDropsAnswersShowingIt(t *testing.T) {
	c := newCache(100)
	never := func(changefeed.Event) bool { return false }
	c.Set("page of 1", Entry{EventIDs: []int64{1}, VenueIDs: []int64{45}})
	c.Set("page of 2", Entry{EventIDs: []int64{2}, VenueIDs: []int64{46}})
	c.Set("search showing 45", Entry{EventIDs: []int64{1, 3}, VenueIDs: []int64{46, 45}, Matches: never})
	c.Set("search not showing it", Entry{EventIDs: []int64{2}, VenueIDs: []int64{46}, Matches: never})
	before := c.Gen()
	c.Apply(changefeed.Change{Seq: 9, Venues: []int64{45}})
	for key, kept := range map[string]bool{"page of 1": false, "page of 2": true, "search showing 45": false, "search not showing it": true} {
		if _, ok := c.Get(key); ok != kept {
			t.Errorf("%s: got kept %v, want %v", key, ok, kept)
		}
	}
	if stored(c, "late page of 1", Entry{EventIDs: []int64{1}, VenueIDs: []int64{45}, Gen: before}) {
		t.Error("got an answer showing the venue, read before its change, stored; want it refused")
	}
}

// While the database cannot answer (the load is apperr.Unavailable), an answer past its age
// bound is served as Stale; never one a change dropped, never from a suspended cache, never
// for a request that bypasses the cache, and never once the database answers again.
func TestReadThroughStale(t *testing.T) {
	clk := &clock{now: time.Date(2030, 3, 1, 10, 0, 0, 0, time.UTC)}
	c := New(Bounds{Entries: 10, TTL: time.Second, Stale: time.Minute})
	c.Now = clk.Now
	away := func() (Entry, error) {
		return Entry{}, fmt.Errorf("search: %w", &pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"})
	}
	broken := func() (Entry, error) { return Entry{}, errors.New("a bug") }
	loaded := func(body string) func() (Entry, error) {
		return func() (Entry, error) { return Entry{Body: []byte(body), EventIDs: []int64{7}}, nil }
	}
	for _, k := range []string{"a", "b", "c"} {
		if _, from, err := ReadThrough(c, k, true, loaded(k)); err != nil || from != Miss {
			t.Fatalf("got %v %v, want a miss loaded", from, err)
		}
	}
	clk.Add(2 * time.Second) // every entry past its age bound

	e, from, err := ReadThrough(c, "a", true, away)
	if err != nil || from != Stale || string(e.Body) != "a" {
		t.Fatalf("got %q %v %v with the database away, want a served stale", e.Body, from, err)
	}
	if _, from, err := ReadThrough(c, "a", false, away); apperr.CodeOf(err) != apperr.Unavailable || from != Miss {
		t.Fatalf("got %v %v without the cache, want unavailable", from, err)
	}
	if _, _, err := ReadThrough(c, "a", true, broken); err == nil || apperr.CodeOf(err) != apperr.Internal {
		t.Fatalf("got %v for a failure that is not the database being away, want it returned", err)
	}
	if e, from, err := ReadThrough(c, "a", true, loaded("a2")); err != nil || from != Miss || string(e.Body) != "a2" {
		t.Fatalf("got %q %v %v once the database answers, want a fresh miss", e.Body, from, err)
	}
	if _, from, _ := ReadThrough(c, "a", true, away); from != Hit {
		t.Fatalf("got %v, want the fresh answer a hit", from)
	}

	c.Apply(changefeed.Change{Events: []changefeed.Event{{ID: 7}}}) // drops a, b and c
	if _, from, err := ReadThrough(c, "b", true, away); from == Stale || apperr.CodeOf(err) != apperr.Unavailable {
		t.Fatalf("got %v %v after a change dropped b, want unavailable, not stale", from, err)
	}

	// A venue's change (a rename) and a change of many events (a venue's facts reaching its
	// events, tested as summaries) drop what they affect just as surely: nothing they dropped
	// is served stale, and what they left is.
	for key, e := range map[string]Entry{
		"page at venue 45": {Body: []byte("p"), EventIDs: []int64{8}, VenueIDs: []int64{45}},
		"search in kazan":  {Body: []byte("s"), Matches: func(ev changefeed.Event) bool { return ev.City == "kazan" }},
		"page at venue 46": {Body: []byte("o"), EventIDs: []int64{9}, VenueIDs: []int64{46}},
	} {
		if _, _, err := ReadThrough(c, key, true, func() (Entry, error) { return e, nil }); err != nil {
			t.Fatal(err)
		}
	}
	clk.Add(2 * time.Second)
	c.Apply(changefeed.Change{Venues: []int64{45}})
	many := make([]changefeed.Event, 2*maxExactEvents)
	for i := range many {
		many[i] = changefeed.Event{ID: int64(100 + i), City: "kazan", Category: "concert", StartsAt: clk.Now().Add(time.Hour)}
	}
	c.Apply(changefeed.Change{Events: many})
	for key, stale := range map[string]bool{"page at venue 45": false, "search in kazan": false, "page at venue 46": true} {
		if _, from, _ := ReadThrough(c, key, true, away); (from == Stale) != stale {
			t.Errorf("%s: got %v with the database away, want stale %v", key, from, stale)
		}
	}

	c.restore("d", Entry{Body: []byte("d")}, nil)
	clk.Add(2 * time.Second)
	c.Suspend()
	if _, from, _ := ReadThrough(c, "d", true, away); from == Stale {
		t.Fatal("got a stale answer from a suspended cache, want none")
	}
}

// A round of many commands about one event (seat counts of a popular event, merged by the
// writer into one change of more events than are tested one by one) still drops, and
// refuses to store, every answer holding that event.
func TestManyChangesOfOneEvent(t *testing.T) {
	c := newCache(100)
	never := func(changefeed.Event) bool { return false }
	c.Set("event:7", Entry{Body: []byte("7"), EventIDs: []int64{7}})
	c.Set("search holding 7", Entry{Body: []byte("s"), EventIDs: []int64{7}, Matches: never})
	before := c.Gen()
	var round changefeed.Change
	for i := range maxExactEvents + 1 {
		round.Merge(changefeed.Change{Seq: uint64(i + 1), Events: []changefeed.Event{{ID: 7, City: "kazan",
			Seats: &changefeed.Seats{WheelchairSpaces: i % 3}}}})
	}
	c.Apply(round)
	for _, key := range []string{"event:7", "search holding 7"} {
		if _, ok := c.Get(key); ok {
			t.Errorf("%s: got kept after event 7 changed, want dropped", key)
		}
	}
	for key, e := range map[string]Entry{
		"late event:7": {Body: []byte("7"), EventIDs: []int64{7}, Gen: before},
		"late search":  {Body: []byte("s"), EventIDs: []int64{7}, Matches: never, Gen: before},
	} {
		if stored(c, key, e) {
			t.Errorf("%s: got an answer read before event 7 changed stored after it, want it refused", key)
		}
	}
}
