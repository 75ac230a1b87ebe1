package search

import (
	"sync"
	"sync/atomic"
	"time"
)

// KeptDetails keeps the details of the events a search-events instance showed (detail: the
// event's row and cover photo as a page shows them, and whether it has seat counts, not the
// counts), each under the generation of the database's details it was read at
// (details_generation, migration 032). A page's rows carry the generation of the snapshot
// they were read in (withGeneration): a detail kept under that generation is what Postgres
// would answer in that snapshot, so a lean page's walk reads no details (keepLean); the events
// it has not kept are read by key in one more round trip (detailsSQL), and so are the counts of
// those that have some (seatsOf). A page reads its details with its rows, as without a keep,
// and keeps them, until the keep holds most of the rows pages show (mode): right after a
// write, and always while writes come faster than pages come back. Every write of an event
// or a photo, and every addition of seat counts, moves the generation on, and the first page
// read past it starts an empty keep for the new one.
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

// NewKeptDetails returns an empty KeptDetails that keeps up to max events (MaxKeptDetails when
// max <= 0).
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

	// looked and held count the pages' rows since the keep was made, and those whose details
	// it held when they came (mode).
	looked, held atomic.Int64

	mu sync.RWMutex
	m  map[int64]*detail
}

// keepMode is how a question of an instance that keeps details reads a page (Query.keep).
type keepMode uint8

const (
	keepNone keepMode = iota // no details kept: as before KeptDetails
	keepFull                 // the rows' details read with them, and kept
	keepLean                 // the rows without their details, taken from the keep
)

// Lean pages come once the keep holds the details of at least half the rows it has seen,
// after leanAfter rows (64; a test's SetLeanAfter): a page whose details are mostly kept
// reads fewer rows' worth, but one whose details are mostly not costs a round trip more than
// reading them with its rows. So while writes move the generation on faster than pages come
// back (every write makes an empty keep), pages read their details with their rows, as
// without a keep, and fill it.
var leanAfter atomic.Int64

func init() { leanAfter.Store(64) }

// mode is how the next question reads its page: lean when the current keep held at least
// half the rows it has seen (of leanAfter or more), else full.
func (d *KeptDetails) mode() keepMode {
	k := d.keep.Load()
	if k == nil {
		return keepFull
	}
	looked := k.looked.Load()
	if looked < leanAfter.Load() || 2*k.held.Load() < looked {
		return keepFull
	}
	return keepLean
}

// take takes from k the details of page's rows: those read with the rows (a full read at k's
// generation, with their details) are kept, the others (ids) are taken from k where it
// holds them, into found; it returns the ids whose details are still to read, and those of
// the events taken from k that have seat counts (kept without them).
func (k *keep) take(page []pageRow, ids []int64, found map[int64]*detail) (missing, counted []int64) {
	var read map[int64]*detail
	for _, r := range page {
		if r.d != nil {
			if read == nil {
				read = make(map[int64]*detail, len(page))
			}
			read[r.pos.ID] = r.d
		}
	}
	k.mu.RLock()
	held := 0
	for id := range read {
		if _, ok := k.m[id]; ok {
			held++
		}
	}
	for _, id := range ids {
		if dt, ok := k.m[id]; ok {
			found[id] = dt
			if dt.counted {
				counted = append(counted, id)
			}
		} else {
			missing = append(missing, id)
		}
	}
	k.mu.RUnlock()
	hits := len(ids) - len(missing)
	k.looked.Add(int64(len(page)))
	k.held.Add(int64(held + hits))
	k.owner.hits.Add(int64(hits))
	k.owner.misses.Add(int64(len(read) + len(missing)))
	if len(read) > held {
		k.owner.store(k, read)
	}
	return missing, counted
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

// store keeps read, details read at k's generation, without their seat counts but whether
// the event has some (a page reads them: withSeats, seatsOf). A full keep starts over (the
// pages asked move on with time), so it holds the events of the latest pages.
func (d *KeptDetails) store(k *keep, read map[int64]*detail) {
	kept, ids := make([]detail, 0, len(read)), make([]int64, 0, len(read))
	for id, dt := range read {
		kept = append(kept, detail{Summary: dt.Summary, cover: dt.cover, counted: dt.Availability != nil})
		d := &kept[len(kept)-1]
		d.Availability = nil
		d.inUTC()                       // as summaries gives them, once
		d.head = encodeHead(&d.Summary) // its Summary's, which summaries copies with it
		ids = append(ids, id)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.m)+len(read) > d.max {
		k.m = make(map[int64]*detail, len(read))
	}
	for i, id := range ids {
		k.m[id] = &kept[i]
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
