// Package hotcache is the warm per-instance cache of the read functions, behind a small
// interface. Entries are bounded in count, bytes and age; each entry knows which events it
// holds and, for searches, which events could join it, so a change announced on the change
// feed drops exactly what it affects (Subscribe). cache-snapshot stores the hot set in
// Postgres (TakeSnapshot) and a new instance loads it before it serves (WarmStart).
//
// The store is patrickmn/go-cache split into shards, each with its own lock, so that a sweep
// or an eviction locks a sixteenth of the map, never all of it. Ages are kept by the cache on
// its own clock (Local.Now), not by go-cache, whose janitor is off (it would be one goroutine
// per shard locking a whole shard on a timer): an expired entry is never served, and is swept
// one shard at a time by the subscription's loop and, when a shard is full, before it evicts.
// Eviction is LRU in batches: a full shard drops its least recently used entries down to 90%
// of its bounds, so the cost is amortised over many stores.
//
// Stale answers. An entry past its age bound is not served, but it is kept for Bounds.Stale
// more (while room allows: a full shard drops such entries first), so that when the database
// cannot answer, ReadThrough serves it, marked Stale. A change on the feed still drops it at
// once, and a suspended cache holds nothing: a stale answer is one the database would still
// give, only older than the bound.
package hotcache

import (
	"cmp"
	"hash/maphash"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/s2"
	gocache "github.com/patrickmn/go-cache"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/changefeed"
)

// Entry is one cached answer.
type Entry struct {
	Body     []byte
	ETag     string
	EventIDs []int64                       // events the answer holds
	VenueIDs []int64                       // venues it shows
	Matches  func(e changefeed.Event) bool // for searches: whether a changed event could now be in the answer
	// Gen is Cache.Gen() taken before the answer was read from the database (optional). With
	// it, Set checks the entry only against changes applied after that point; without it,
	// against every change applied in the last RecentWindow.
	Gen uint64
}

// Cache is what the read functions' handlers use. Local implements it; what keeps a Local in
// step with the change feed, snapshots it and warms it (Subscribe, TakeSnapshot, WarmStart)
// works on the Local itself.
type Cache interface {
	Get(key string) (Entry, bool)
	// Stale is Get that also returns an entry past its age bound (within Bounds.Stale), for
	// when the database cannot answer.
	Stale(key string) (Entry, bool)
	// Set stores e unless a change applied since e was read could affect it.
	Set(key string, e Entry)
	// Gen is the number of changes applied so far; see Entry.Gen.
	Gen() uint64
}

// From says where an answer came from; it is the value of the X-Cache header.
type From string

// Where ReadThrough found an answer.
const (
	Hit   From = "hit"   // the cache, within its bounds
	Miss  From = "miss"  // the database
	Stale From = "stale" // the cache, past its age bound, because the database could not answer
)

// ReadThrough returns key's entry from c when useCache and c holds it (Hit), else the entry
// load reads (Miss), which it stores in c when useCache. c's generation is taken before load
// runs, so Set refuses the entry if a change applied meanwhile could affect it. When load
// fails because the database cannot answer now (apperr.Unavailable) and useCache, an entry
// past its age bound is served instead (Stale); once the database answers again, load does.
func ReadThrough(c Cache, key string, useCache bool, load func() (Entry, error)) (Entry, From, error) {
	if useCache {
		if e, ok := c.Get(key); ok {
			return e, Hit, nil
		}
	}
	gen := c.Gen()
	e, err := load()
	if err != nil {
		if useCache && apperr.CodeOf(err) == apperr.Unavailable {
			if e, ok := c.Stale(key); ok {
				return e, Stale, nil
			}
		}
		return Entry{}, Miss, err
	}
	if useCache {
		e.Gen = gen
		c.Set(key, e)
	}
	return e, Miss, nil
}

// HotKey is one key's uses since the previous report.
type HotKey struct {
	Key  string `json:"key"`
	Hits int64  `json:"hits"`
}

// Bounds limit one cache.
type Bounds struct {
	Entries int           // at most this many entries (0 stores nothing)
	Bytes   int64         // at most this many bytes, as counted by sizeOf (0: DefaultBytes)
	TTL     time.Duration // no entry is served older than this (0: DefaultTTL), but as Stale
	Stale   time.Duration // how long past TTL an entry is kept for Stale answers (0: DefaultStale)
}

// The bounds a zero byte bound or age takes (CACHE_MAX_BYTES and CACHE_TTL default to the
// same).
const (
	DefaultBytes = 64 << 20
	DefaultTTL   = 5 * time.Minute
	// DefaultStale covers a database restart or an outage of the better part of an hour.
	DefaultStale = time.Hour
)

// RecentWindow is how long applied changes are remembered to refuse a Set of an answer read
// before them (an answer read more than this long before its Set is not expected: read
// functions answer within seconds).
const RecentWindow = 10 * time.Second

const (
	maxShards       = 16
	maxRecent       = 1024  // changes remembered
	maxRecentEvents = 65536 // event ids across them
	// A change of up to maxExactEvents events is tested event by event against the answers
	// that could take them; a larger one (a venue's events, an import) is summarised into at
	// most maxApplyGroups groups (changefeed.Summarize), each tested once, or, when it is too
	// diverse for that, drops every entry.
	maxExactEvents = 64
	maxApplyGroups = 256
	maxCompared    = 4   // a change of at most so many events is found in an answer by comparing ids
	entryOverhead  = 200 // bytes counted per entry beyond its contents (map slot, item, headers)
)

// Local is a Cache on patrickmn/go-cache, bounded in entries, bytes and age.
type Local struct {
	// Now is the cache's clock: entries' ages and the window of recent changes are measured on
	// it. New sets time.Now; a test may replace it before the cache is used.
	Now func() time.Time

	shards []*shard
	seed   maphash.Seed
	sweep  atomic.Uint32
	ttl    time.Duration
	stale  time.Duration

	suspended atomic.Bool

	mu          sync.Mutex // guards what follows
	gen         uint64
	resetGen    uint64    // a Set read before this generation is refused
	forgotGen   uint64    // the newest change no longer in recent
	refuseUntil time.Time // a Set without Gen is refused before this
	recent      []applied
}

// applied is a change as the cache tests it: the ids of its events (an answer holding one is
// affected) and the events, or their summaries, a search's Matches is asked about.
type applied struct {
	gen    uint64
	at     time.Time
	ids    map[int64]bool
	few    []int64        // the ids, when there are at most maxCompared of them
	venues map[int64]bool // venues whose row changed: the answers showing one are affected
	tests  []changefeed.Event
}

type shard struct {
	mu sync.Mutex // serialises writes; go-cache guards its map for readers
	c  *gocache.Cache
	// What a change can affect, so that Apply never copies the map: entries with a Matches
	// test are scanned; the others are found by the events they hold.
	scan       map[string]*item
	byEvent    map[int64][]string
	byVenue    map[int64][]string
	bytes      atomic.Int64
	tick       atomic.Int64 // logical clock of uses, for LRU order within the shard
	maxEntries int
	maxBytes   int64
}

type item struct {
	e        Entry
	packed   *packedBody // e's body as a snapshot stored it, until first served (restore)
	size     int64
	expires  time.Time    // served until then
	keep     time.Time    // kept for Stale answers until then
	hits     atomic.Int64 // uses since the previous Hot
	lastUsed atomic.Int64 // shard tick of the last use
}

func (it *item) expired(now time.Time) bool { return now.After(it.expires) }

func (it *item) gone(now time.Time) bool { return now.After(it.keep) }

// orDefault is v, or def when v is zero or negative: a bound or option left out.
func orDefault[T ~int | ~int64](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// New returns a cache within b.
func New(b Bounds) *Local {
	b.TTL = orDefault(b.TTL, DefaultTTL)
	b.Bytes = orDefault(b.Bytes, DefaultBytes)
	b.Stale = orDefault(b.Stale, DefaultStale)
	n := 1
	for n < maxShards && b.Entries/(n*2) >= 64 {
		n *= 2
	}
	l := &Local{Now: time.Now, seed: maphash.MakeSeed(), gen: 1, ttl: b.TTL, stale: b.Stale}
	for i := 0; i < n; i++ {
		s := &shard{c: gocache.New(gocache.NoExpiration, 0)}
		// Spread the bounds so that the shards add up to exactly b.
		s.maxEntries = b.Entries / n
		if i < b.Entries%n {
			s.maxEntries++
		}
		s.maxBytes = b.Bytes / int64(n)
		s.resetIndex()
		s.c.OnEvicted(func(key string, v any) { // called with s.mu held: every delete is ours
			it := v.(*item)
			s.bytes.Add(-it.size)
			s.unindex(key, it)
		})
		l.shards = append(l.shards, s)
	}
	return l
}

func (l *Local) shard(key string) *shard {
	if len(l.shards) == 1 {
		return l.shards[0]
	}
	return l.shards[maphash.String(l.seed, key)%uint64(len(l.shards))]
}

// sizeOf is what an entry counts against the byte bound, its body counted as served.
func sizeOf(key string, e Entry) int64 { return sizeWith(key, e, len(e.Body)) }

// sizeWith is sizeOf with a body of body bytes (a packed one's length once decoded).
func sizeWith(key string, e Entry, body int) int64 {
	return int64(len(key) + body + len(e.ETag) + 8*len(e.EventIDs) + 8*len(e.VenueIDs) + entryOverhead)
}

// Get returns the entry for key, unless it is older than the TTL.
func (l *Local) Get(key string) (Entry, bool) { return l.lookup(key, (*item).expired, true) }

// Stale returns the entry for key even when it is older than the TTL, unless it is older
// than TTL + Bounds.Stale, was dropped by a change, or the cache is suspended.
func (l *Local) Stale(key string) (Entry, bool) { return l.lookup(key, (*item).gone, false) }

// lookup returns key's entry unless the cache is suspended or expired(entry, now) holds;
// a hit counts towards the hot keys when hot.
func (l *Local) lookup(key string, expired func(*item, time.Time) bool, hot bool) (Entry, bool) {
	if l.suspended.Load() {
		return Entry{}, false
	}
	s := l.shard(key)
	v, ok := s.c.Get(key)
	if !ok {
		return Entry{}, false
	}
	it := v.(*item)
	if expired(it, l.Now()) {
		return Entry{}, false
	}
	e := it.e
	if it.packed != nil {
		body, ok := it.packed.body()
		if !ok {
			return Entry{}, false // a body that does not decode is no answer: the database gives one
		}
		e.Body = body
	}
	if hot {
		it.hits.Add(1)
	}
	it.lastUsed.Store(s.tick.Add(1))
	return e, true
}

// packedBody is an entry's body compressed (s2) as a snapshot stores it, decoded when the
// entry is first served, once: a warm start that decoded every body of the largest snapshot
// (1,000 answers, 22 MiB decoded, 3.6 MB stored) spent about 50 ms of search-events' start in
// the decoding and in faulting in the decoded bodies' pages, for answers many of which are
// asked for late or never (docs/PERFORMANCE.md, the twenty-fifth machine). Until then the
// entry counts its decoded length against the cache's bounds, as if decoded.
type packedBody struct {
	size    int // the length it decodes to, as its header says
	once    sync.Once
	packed  []byte // until decoded
	decoded []byte
	ok      bool
}

// newPackedBody returns packed as a packedBody, or false when its header gives no length: not
// s2's block format. Whether the rest decodes is known when it is first served.
func newPackedBody(packed []byte) (*packedBody, bool) {
	n, err := s2.DecodedLen(packed)
	if err != nil {
		return nil, false
	}
	return &packedBody{size: n, packed: packed}, true
}

// body decodes the body once and returns it, or false when it did not decode.
func (p *packedBody) body() ([]byte, bool) {
	p.once.Do(func() {
		b, err := s2.Decode(nil, p.packed)
		p.decoded, p.ok, p.packed = b, err == nil, nil
	})
	return p.decoded, p.ok
}

// Set stores e under key, evicting the least recently used entries of its shard when the
// shard is full. It stores nothing while the cache is suspended, when e alone exceeds a
// shard's byte bound, or when a change applied after e was read could affect it.
func (l *Local) Set(key string, e Entry) {
	s := l.shard(key)
	size := sizeOf(key, e)
	if s.maxEntries <= 0 || size > s.maxBytes {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Checked under the shard lock: an Apply records its change before it scans the shards,
	// so it either is seen here or scans this shard after the store.
	if l.suspended.Load() || l.staleOnArrival(e) {
		return
	}
	l.store(s, key, e, nil, size)
}

// store puts e under key, its body packed when packed is not nil, and returns its item. Called
// with s.mu held.
func (l *Local) store(s *shard, key string, e Entry, packed *packedBody, size int64) *item {
	now := l.Now()
	s.c.Delete(key)
	s.makeRoom(size, now)
	it := &item{e: e, packed: packed, size: size, expires: now.Add(l.ttl), keep: now.Add(l.ttl + l.stale)}
	it.hits.Store(1)
	it.lastUsed.Store(s.tick.Add(1))
	s.c.SetDefault(key, it)
	s.bytes.Add(size)
	s.index(key, it)
	return it
}

func scanned(e Entry) bool { return e.Matches != nil }

func (s *shard) resetIndex() {
	s.scan, s.byEvent, s.byVenue = map[string]*item{}, map[int64][]string{}, map[int64][]string{}
}

func (s *shard) index(key string, it *item) {
	if scanned(it.e) {
		s.scan[key] = it
		return
	}
	for _, id := range it.e.EventIDs {
		s.byEvent[id] = append(s.byEvent[id], key)
	}
	for _, id := range it.e.VenueIDs {
		s.byVenue[id] = append(s.byVenue[id], key)
	}
}

func (s *shard) unindex(key string, it *item) {
	if scanned(it.e) {
		delete(s.scan, key)
		return
	}
	unlist(s.byEvent, it.e.EventIDs, key)
	unlist(s.byVenue, it.e.VenueIDs, key)
}

// unlist removes key from the lists of ids in index.
func unlist(index map[int64][]string, ids []int64, key string) {
	for _, id := range ids {
		keys := index[id]
		for i, k := range keys {
			if k == key {
				keys = append(keys[:i], keys[i+1:]...)
				break
			}
		}
		if len(keys) == 0 {
			delete(index, id)
		} else {
			index[id] = keys
		}
	}
}

// dropAffected deletes what a affects. Called with s.mu held.
func (s *shard) dropAffected(a applied) {
	for id := range a.ids {
		for _, key := range slices.Clone(s.byEvent[id]) {
			s.c.Delete(key)
		}
	}
	for id := range a.venues {
		for _, key := range slices.Clone(s.byVenue[id]) {
			s.c.Delete(key)
		}
	}
	for key, it := range s.scan {
		if affected(it.e, a) {
			s.c.Delete(key) // removes key from s.scan: allowed while ranging
		}
	}
}

// restore stores e regardless of recent changes (WarmStart checks the database instead). When
// packed is not nil, it is e's body, decoded when first served.
func (l *Local) restore(key string, e Entry, packed *packedBody) bool {
	s := l.shard(key)
	size := sizeOf(key, e)
	if packed != nil {
		size = sizeWith(key, e, packed.size)
	}
	if s.maxEntries <= 0 || size > s.maxBytes {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if l.suspended.Load() {
		return false
	}
	l.store(s, key, e, packed, size).hits.Store(0) // loaded, not asked for
	return true
}

func (l *Local) staleOnArrival(e Entry) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.Now()
	if e.Gen != 0 {
		if e.Gen < l.resetGen {
			return true
		}
		if e.Gen < l.forgotGen {
			// A change applied after e was read is forgotten: e cannot be checked against it.
			return true
		}
	} else if now.Before(l.refuseUntil) {
		return true
	}
	for _, a := range l.recent {
		if e.Gen != 0 && a.gen <= e.Gen {
			continue
		}
		if e.Gen == 0 && now.Sub(a.at) > RecentWindow {
			continue
		}
		if affected(e, a) {
			return true
		}
	}
	return false
}

// makeRoom makes the shard fit one more entry of size bytes: it drops the expired entries
// (those kept for Stale answers too), then the least recently used. Called with s.mu held.
func (s *shard) makeRoom(size int64, now time.Time) {
	fits := func() bool { return s.c.ItemCount() < s.maxEntries && s.bytes.Load()+size <= s.maxBytes }
	if fits() {
		return
	}
	items := s.deleteExpired(now, (*item).expired)
	if fits() {
		return
	}
	wantEntries := min(s.maxEntries*9/10, s.maxEntries-1)
	wantBytes := s.maxBytes*9/10 - size
	if wantBytes < 0 {
		wantBytes = 0
	}
	type cand struct {
		key  string
		used int64
	}
	cands := make([]cand, 0, len(items))
	for k, v := range items {
		cands = append(cands, cand{k, v.Object.(*item).lastUsed.Load()})
	}
	slices.SortFunc(cands, func(a, b cand) int { return cmp.Compare(a.used, b.used) })
	for _, c := range cands {
		if s.c.ItemCount() <= wantEntries && s.bytes.Load() <= wantBytes {
			break
		}
		s.c.Delete(c.key)
	}
}

// deleteExpired drops the entries for which expired(now) holds ((*item).expired: past the
// TTL; (*item).gone: past the Stale bound too) and returns the others. Called with s.mu held.
func (s *shard) deleteExpired(now time.Time, expired func(*item, time.Time) bool) map[string]gocache.Item {
	items := s.c.Items()
	for key, v := range items {
		if expired(v.Object.(*item), now) {
			s.c.Delete(key)
			delete(items, key)
		}
	}
	return items
}

// Apply drops every entry that holds a changed event or could now hold one. A change of
// users alone affects no entry (answers tied to a user are not cached here). A change of many
// events (every event at a venue) drops exactly the answers that hold one of them and those
// that one of its summaries could join; one too diverse to summarise (an import, which
// affects most answers anyway) drops everything, in one pass instead of testing every entry
// against every event.
func (l *Local) Apply(c changefeed.Change) {
	if len(c.Events) == 0 && len(c.Venues) == 0 {
		return
	}
	a, ok := prepare(c)
	if !ok {
		l.reset()
		return
	}
	a.at = l.Now()
	l.remember(a)
	l.dropMatching(a)
}

// prepare is c as the cache tests it; ok is false when c is too diverse to summarise.
func prepare(c changefeed.Change) (a applied, ok bool) {
	a.ids = make(map[int64]bool, len(c.Events))
	for _, e := range c.Events {
		if !a.ids[e.ID] {
			a.ids[e.ID] = true
			if len(a.ids) <= maxCompared {
				a.few = append(a.few, e.ID)
			}
		}
	}
	if len(c.Venues) > 0 {
		a.venues = make(map[int64]bool, len(c.Venues))
		for _, id := range c.Venues {
			a.venues[id] = true
		}
	}
	a.tests = c.Events
	if len(c.Events) > maxExactEvents {
		if a.tests = changefeed.Summarize(c.Events, maxApplyGroups); a.tests == nil {
			return a, false
		}
	}
	return a, true
}

func (l *Local) remember(a applied) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.gen++
	a.gen = l.gen
	cut := 0
	for cut < len(l.recent) && a.at.Sub(l.recent[cut].at) > RecentWindow {
		l.forgotGen = l.recent[cut].gen
		cut++
	}
	l.recent = append(l.recent[cut:], a)
	events := 0
	for _, r := range l.recent {
		events += len(r.ids) + len(r.venues)
	}
	for len(l.recent) > 1 && (len(l.recent) > maxRecent || events > maxRecentEvents) {
		// Forgetting a change: an answer without Gen read before it may be stale, so none is
		// stored until the window after it has passed.
		old := l.recent[0]
		l.forgotGen = old.gen
		events -= len(old.ids) + len(old.venues)
		l.recent = l.recent[1:]
		if t := old.at.Add(RecentWindow); t.After(l.refuseUntil) {
			l.refuseUntil = t
		}
	}
}

func affected(e Entry, a applied) bool {
	for _, id := range e.VenueIDs {
		if a.venues[id] {
			return true
		}
	}
	if len(a.ids) <= maxCompared {
		// The usual change (one event): comparing beats hashing. (Not with a.tests: a round of
		// many commands about one event is summarised, and summaries carry no id.)
		for _, id := range e.EventIDs {
			for _, x := range a.few {
				if x == id {
					return true
				}
			}
		}
	} else {
		for _, id := range e.EventIDs {
			if a.ids[id] {
				return true
			}
		}
	}
	if e.Matches != nil {
		for _, ev := range a.tests {
			if e.Matches(ev) {
				return true
			}
		}
	}
	return false
}

// Gen is the number of changes applied so far (plus one); see Entry.Gen.
func (l *Local) Gen() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.gen
}

// Suspend drops every entry; until Resume, Get misses and Set stores nothing.
func (l *Local) Suspend() {
	l.suspended.Store(true)
	l.Clear()
}

// Resume serves again. Answers read before it are refused by Set: they may predate a change
// that was missed while suspended.
func (l *Local) Resume() {
	l.reset()
	l.suspended.Store(false)
}

// reset drops every entry and makes Set refuse every answer read before it.
func (l *Local) reset() {
	l.mu.Lock()
	l.gen++
	l.resetGen = l.gen
	if t := l.Now().Add(RecentWindow); t.After(l.refuseUntil) {
		l.refuseUntil = t
	}
	l.mu.Unlock()
	l.Clear()
}

// Suspended reports whether the cache is suspended.
func (l *Local) Suspended() bool { return l.suspended.Load() }

// Clear drops every entry.
func (l *Local) Clear() {
	for _, s := range l.shards {
		s.mu.Lock()
		s.c.Flush() // does not call OnEvicted
		s.bytes.Store(0)
		s.resetIndex()
		s.mu.Unlock()
	}
}

// Sweep drops the entries of the next shard that are past the Stale bound.
func (l *Local) Sweep() {
	s := l.shards[int(l.sweep.Add(1))%len(l.shards)]
	now := l.Now()
	s.mu.Lock()
	s.deleteExpired(now, (*item).gone)
	s.mu.Unlock()
}

// Hot returns up to n keys by uses since the previous call, most used first; expired
// entries are left out.
func (l *Local) Hot(n int) []HotKey {
	var out []HotKey
	now := l.Now()
	for _, s := range l.shards {
		for key, v := range s.c.Items() {
			it := v.Object.(*item)
			if it.expired(now) {
				continue
			}
			if h := it.hits.Swap(0); h > 0 {
				out = append(out, HotKey{Key: key, Hits: h})
			}
		}
	}
	slices.SortFunc(out, func(a, b HotKey) int {
		if a.Hits != b.Hits {
			return cmp.Compare(b.Hits, a.Hits)
		}
		return cmp.Compare(a.Key, b.Key)
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// Len is the number of entries (expired ones included until swept).
func (l *Local) Len() int {
	n := 0
	for _, s := range l.shards {
		n += s.c.ItemCount()
	}
	return n
}
