package search

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/changefeed"
	"github.com/dostupno/dostupno/shared/pgdb"
)

// CacheKey is the key of q's answer in the per-instance cache: the fingerprint (codes by id,
// slugs lower-cased, categories sorted, a defaulted from as the minute it was truncated to),
// the page size and the keyset position.
func (q *Query) CacheKey() string {
	k := "search|" + q.Fingerprint() + "|at=" + q.From.Format(time.RFC3339) + "|limit=" + strconv.Itoa(q.Limit)
	if q.After != nil {
		k += "|after=" + strconv.FormatInt(q.After.StartsAt.UnixMicro(), 10) + "," + strconv.FormatInt(q.After.ID, 10)
	}
	return k
}

// EventCacheKey is the key of get-event's answer for id.
func EventCacheKey(id int64) string { return "event|" + strconv.FormatInt(id, 10) }

// Matches reports whether a changed event could now belong to q's answer: its city, category,
// start and constraints fit. The text is not checked (a changed event that fits otherwise
// drops the entry), nor the page position: both err on the side of dropping.
func (q *Query) Matches(e changefeed.Event) bool {
	if e.Deleted {
		return false // a deleted event leaves only the answers that hold it (EventIDs)
	}
	if q.City != "" && e.City != q.City {
		return false
	}
	if len(q.Categories) > 0 && !slices.Contains(q.Categories, e.Category) {
		return false
	}
	if e.StartsAt.Before(q.From) || (q.To != nil && !e.StartsAt.Before(*q.To)) {
		return false
	}
	for _, c := range q.Codes {
		if !slices.Contains(e.Constraints, c) {
			return false
		}
	}
	return true
}

// Vocab keeps the vocabulary of one instance: loaded on first use and reloaded after ttl
// (the codes are fixed; profiles are data that may be tuned), so a search does not pay a
// query for it.
type Vocab struct {
	db  pgdb.DBTX
	ttl time.Duration

	mu     sync.Mutex
	v      *catalog.Vocabulary
	loaded time.Time
}

// NewVocab returns a vocabulary cache on db.
func NewVocab(db pgdb.DBTX, ttl time.Duration) *Vocab { return &Vocab{db: db, ttl: ttl} }

// Get returns the vocabulary, loading it when absent or older than ttl; if a reload fails the
// previous one is kept.
func (c *Vocab) Get(ctx context.Context) (*catalog.Vocabulary, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.v != nil && time.Since(c.loaded) < c.ttl {
		return c.v, nil
	}
	v, err := catalog.LoadVocabulary(ctx, c.db)
	if err != nil {
		if c.v != nil {
			c.loaded = time.Now() // try again after ttl, not on every request
			return c.v, nil
		}
		return nil, err
	}
	c.v, c.loaded = v, time.Now()
	return v, nil
}
