package search

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/changefeed"
	"github.com/dostupno/dostupno/shared/pgdb"
)

// CacheParams are the parameters of q's cache key: the question as it finally stands, in a
// form ParseQuery reads back to the same question (saved needs become constraints, and
// personalize=false keeps a replay from asking for them again). Codes and slugs are
// normalised, categories sorted, q lower-cased (the text search ignores case). A defaulted
// from is left out: an answer cached a few minutes ago may still list an event that started
// since, which the entry's age bounds.
func (q *Query) CacheParams() url.Values {
	p := url.Values{"personalize": {"false"}, "limit": {strconv.Itoa(q.Limit)}}
	if len(q.Codes) > 0 {
		p["constraints"] = q.Codes
	}
	if q.City != "" {
		p.Set("city", q.City)
	}
	if len(q.Categories) > 0 {
		p["category"] = q.Categories
	}
	if !q.FromDefault {
		p.Set("from", q.From.Format(time.RFC3339Nano))
	}
	if q.To != nil {
		p.Set("to", q.To.Format(time.RFC3339Nano))
	}
	if q.Text != "" {
		p.Set("q", strings.ToLower(q.Text))
	}
	if q.Cursor != "" {
		p.Set("cursor", q.Cursor)
	}
	if q.Lenient {
		p.Set("match", "lenient") // a strict key stays as it was before lenient questions
	}
	if q.WheelchairSpaces > 0 {
		p.Set("wheelchair_spaces", strconv.Itoa(q.WheelchairSpaces))
	}
	if q.CompanionSeats > 0 {
		p.Set("companion_seats", strconv.Itoa(q.CompanionSeats))
	}
	return p
}

// Kinds of the read functions' cache keys: a key is "<kind>:<parameters>" (hotcache.KindOf).
const (
	KindSearch = "search" // search-events' answers: CacheKey
	KindEvent  = "event"  // get-event's answers: EventCacheKey
)

const eventKeyPrefix = KindEvent + ":id="

// CacheKey is the key of q's answer in the per-instance cache: KindSearch, ":" and the
// encoded CacheParams (names sorted).
func (q *Query) CacheKey() string { return KindSearch + ":" + q.CacheParams().Encode() }

// EventCacheKey is the key of get-event's answer for id: KindEvent, ":id=" and the id.
func EventCacheKey(id int64) string { return eventKeyPrefix + strconv.FormatInt(id, 10) }

// EventLDCacheKey is the key of get-event's schema.org answer for id (Event.JSONLD): the
// JSON answer's key and "&as=jsonld".
func EventLDCacheKey(id int64) string { return EventCacheKey(id) + ldKeySuffix }

const ldKeySuffix = "&as=jsonld"

// Matches reports whether a changed event could now belong to q's answer: its city, category,
// start and constraints fit (for a lenient question: none of the required codes is excluded).
// The text is not checked (a changed event that fits otherwise drops the entry), nor the page
// position: both err on the side of dropping. e may stand for many events (a summary, with
// Until set): then it fits when any start from StartsAt to Until could. A change of an
// event's availability alone (e.Seats) can bring it into a question that asks for seats, and
// into no other.
func (q *Query) Matches(e changefeed.Event) bool {
	if e.Deleted {
		return false // a deleted event leaves only the answers that hold it (EventIDs)
	}
	if e.Seats != nil && (!q.Seats() || e.Seats.WheelchairSpaces < q.WheelchairSpaces || e.Seats.CompanionSeats < q.CompanionSeats) {
		return false
	}
	if q.City != "" && e.City != q.City {
		return false
	}
	if len(q.Categories) > 0 && !slices.Contains(q.Categories, e.Category) {
		return false
	}
	if e.Last().Before(q.From) || (q.To != nil && !e.StartsAt.Before(*q.To)) {
		return false
	}
	for _, c := range q.Codes {
		if q.Lenient && slices.Contains(e.Excluded, c) || !q.Lenient && !slices.Contains(e.Constraints, c) {
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
