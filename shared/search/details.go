package search

import (
	"sync"
	"sync/atomic"
	"time"
)

// KeptDetails keeps the details of the events a search-events instance showed (detail: the
// event's row, cover photo and seat counts as a page shows them), each under the generation
// of the database's details it was read at (details_generation, migration 032). A page's
// rows carry the generation of the snapshot they were read in (withGeneration): a detail kept
// under that generation is what Postgres would answer in that snapshot, so the page's walk
// reads no details (leanWalk) and only the events it has not kept are read, in one more
// round trip (detailsSQL). Every write of the catalog moves the generation on, and the first
// page read past it starts an empty keep for the new one.
//
// Read per row of the page in the walk, the details were about 40% of Postgres's CPU an
// answer at 16 clients, uncached, on 1M events (docs/PERFORMANCE.md, "A fifteenth machine").
// Only reads outside a transaction use it (SearchWith): a transaction sees its own writes'
// generation, which other readers never may.
//
// A KeptDetails is safe for concurrent use; the zero value is not: use NewKeptDetails.
type KeptDetails struct {
	max  int
	keep atomic.Pointer[keep]

	hits, misses atomic.Int64
}

// MaxKeptDetails is how many events' details an instance keeps at most: 445 bytes each on the
// heap, 28 MiB in all (measured on 1M events), beside the answer cache's 64 MiB.
const MaxKeptDetails = 65536

// NewKeptDetails returns an empty Details that keeps up to max events (MaxKeptDetails when max <= 0).
func NewKeptDetails(max int) *KeptDetails {
	if max <= 0 {
		max = MaxKeptDetails
	}
	return &KeptDetails{max: max}
}

// generation is the value of details_generation a statement read (ok false: none read).
type generation struct {
	epoch, n int64
	ok       bool
}

// keep is the details read at one generation.
type keep struct {
	owner *KeptDetails
	gen   generation
	made  time.Time // when the first read past the previous generation made it

	mu sync.RWMutex
	m  map[int64]*detail
}

// at returns the keep of generation g, for a read that started at started; nil when the read
// must not use any (g unknown, or older than the kept generation: a read whose snapshot
// predates a write that a later read already saw). A newer generation, another database's,
// or a different one read by a read that started after the keep was made (the database's
// generation went back: restored) replaces the keep with an empty one.
func (d *KeptDetails) at(g generation, started time.Time) *keep {
	if d == nil || !g.ok {
		return nil
	}
	for {
		k := d.keep.Load()
		if k != nil && k.gen == g {
			return k
		}
		if k != nil && k.gen.epoch == g.epoch && g.n < k.gen.n && !started.After(k.made) {
			return nil
		}
		n := &keep{owner: d, gen: g, made: time.Now(), m: make(map[int64]*detail)}
		if d.keep.CompareAndSwap(k, n) {
			return n
		}
	}
}

// lookup returns the kept details of ids, and the ids it does not keep.
func (k *keep) lookup(ids []int64, found map[int64]*detail) (missing []int64) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	for _, id := range ids {
		if dt, ok := k.m[id]; ok {
			found[id] = dt
		} else {
			missing = append(missing, id)
		}
	}
	return missing
}

// store keeps read, details read at k's generation. A full keep starts over (the pages asked
// move on with time), so it holds the events of the latest pages.
func (d *KeptDetails) store(k *keep, read map[int64]*detail) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.m)+len(read) > d.max {
		k.m = make(map[int64]*detail, len(read))
	}
	for id, dt := range read {
		k.m[id] = dt
	}
}

// KeptStats are a KeptDetails' counts since it was made: events whose details a page took from
// it, and events read from Postgres instead.
type KeptStats struct {
	Hits, Misses int64
}

// Stats returns d's counts.
func (d *KeptDetails) Stats() KeptStats {
	return KeptStats{Hits: d.hits.Load(), Misses: d.misses.Load()}
}
