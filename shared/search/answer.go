package search

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/changefeed"
	"github.com/dostupno/dostupno/shared/hotcache"
	"github.com/dostupno/dostupno/shared/jsoncodec"
	"github.com/dostupno/dostupno/shared/pgdb"
)

// The answers of both read functions are built here, with one code for every use:
// search-events and get-event build their cache entries with SearchEntry and EventEntry,
// cache-snapshot recomputes the hot keys through Sources, and a warm start rebuilds a
// search's invalidation test from its key (SearchSource.Matcher).

// Sources returns the sources of both read functions' answers, by key kind, reading the
// vocabulary through vocab and making photo URLs with photoURL; now is the clock of a
// search's defaulted window.
func Sources(vocab *Vocab, photoURL func(string) string, now func() time.Time) map[string]hotcache.Source {
	return map[string]hotcache.Source{
		KindSearch: &SearchSource{Vocab: vocab, PhotoURL: photoURL, Now: now},
		KindEvent:  &EventSource{Vocab: vocab, PhotoURL: photoURL},
	}
}

// SearchEntry runs q (SearchWith, with what the instance's searches share) and returns its
// cache entry: the encoded page, the events it holds, and q's test of whether a changed event
// could join it.
func SearchEntry(ctx context.Context, db pgdb.DBTX, shared Shared, vocab *catalog.Vocabulary, q *Query, photoURL func(string) string) (hotcache.Entry, error) {
	page, err := SearchWith(ctx, db, shared, vocab, q, photoURL)
	if err != nil {
		return hotcache.Entry{}, err
	}
	body, err := encodePage(page)
	if err != nil {
		return hotcache.Entry{}, apperr.Wrap(err, "encode search answer")
	}
	ids, venues := make([]int64, len(page.Items)), make([]int64, 0, len(page.Items))
	for i, it := range page.Items {
		ids[i] = it.ID
		if !slices.Contains(venues, it.Venue.ID) {
			venues = append(venues, it.Venue.ID)
		}
	}
	return hotcache.Entry{Body: body, EventIDs: ids, VenueIDs: venues, Matches: q.Matches}, nil
}

// EventEntry loads event id and returns its cache entry: the encoded event and its ETag.
// An unknown id is not_found.
func EventEntry(ctx context.Context, db pgdb.DBTX, vocab *catalog.Vocabulary, id int64, photoURL func(string) string) (hotcache.Entry, error) {
	return eventEntry(ctx, db, vocab, id, photoURL, func(e *Event) ([]byte, error) { return jsoncodec.MarshalTrusted(e) })
}

// EventLDEntry is EventEntry of the event's schema.org form (Event.JSONLD).
func EventLDEntry(ctx context.Context, db pgdb.DBTX, vocab *catalog.Vocabulary, id int64, photoURL func(string) string) (hotcache.Entry, error) {
	return eventEntry(ctx, db, vocab, id, photoURL, func(e *Event) ([]byte, error) { return e.JSONLD(vocab) })
}

func eventEntry(ctx context.Context, db pgdb.DBTX, vocab *catalog.Vocabulary, id int64, photoURL func(string) string,
	encode func(*Event) ([]byte, error)) (hotcache.Entry, error) {
	ev, err := LoadEvent(ctx, db, vocab, id, photoURL)
	if err != nil {
		return hotcache.Entry{}, err
	}
	body, err := encode(ev)
	if err != nil {
		return hotcache.Entry{}, apperr.Wrap(err, "encode event %d", id)
	}
	return hotcache.Entry{Body: body, ETag: ETag(body), EventIDs: []int64{id}, VenueIDs: []int64{ev.Venue.ID}}, nil
}

// ETag is the entity tag of an encoded event: a hash of its bytes, so every instance and
// every snapshot names the same answer alike.
func ETag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
}

// SearchSource answers KindSearch keys as search-events does.
type SearchSource struct {
	Vocab    *Vocab
	PhotoURL func(string) string
	Now      func() time.Time
}

func (s *SearchSource) query(ctx context.Context, key string) (*Query, *catalog.Vocabulary, error) {
	raw, ok := strings.CutPrefix(key, KindSearch+":")
	if !ok {
		return nil, nil, apperr.New(apperr.InvalidArgument, "not a search key: %q", key)
	}
	vocab, err := s.Vocab.Get(ctx)
	if err != nil {
		return nil, nil, apperr.Wrap(err, "vocabulary")
	}
	q, err := ParseQuery(raw, vocab, s.Now())
	if err != nil {
		return nil, nil, err
	}
	if err := q.Check(); err != nil {
		return nil, nil, err
	}
	if q.CacheKey() != key {
		// Not the key search-events would use for this question (e.g. made by an older
		// version): an answer stored under it would never be asked for.
		return nil, nil, apperr.New(apperr.InvalidArgument, "search key %q is not normalised", key)
	}
	return &q, vocab, nil
}

// Load answers key from db.
func (s *SearchSource) Load(ctx context.Context, db pgdb.DBTX, key string) (hotcache.Entry, error) {
	q, vocab, err := s.query(ctx, key)
	if err != nil {
		return hotcache.Entry{}, err
	}
	return SearchEntry(ctx, db, Shared{}, vocab, q, s.PhotoURL)
}

// Matcher rebuilds the invalidation test of key.
func (s *SearchSource) Matcher(ctx context.Context, key string) (func(changefeed.Event) bool, error) {
	q, _, err := s.query(ctx, key)
	if err != nil {
		return nil, err
	}
	return q.Matches, nil
}

// EventSource answers KindEvent keys as get-event does, in JSON or in the schema.org form.
type EventSource struct {
	Vocab    *Vocab
	PhotoURL func(string) string
}

// Load answers key from db.
func (e *EventSource) Load(ctx context.Context, db pgdb.DBTX, key string) (hotcache.Entry, error) {
	raw, ok := strings.CutPrefix(key, eventKeyPrefix)
	raw, ld := strings.CutSuffix(raw, ldKeySuffix)
	id, err := strconv.ParseInt(raw, 10, 64)
	if !ok || err != nil || id <= 0 || ld && EventLDCacheKey(id) != key || !ld && EventCacheKey(id) != key {
		return hotcache.Entry{}, apperr.New(apperr.InvalidArgument, "not an event key: %q", key)
	}
	vocab, err := e.Vocab.Get(ctx)
	if err != nil {
		return hotcache.Entry{}, apperr.Wrap(err, "vocabulary")
	}
	if ld {
		return EventLDEntry(ctx, db, vocab, id, e.PhotoURL)
	}
	return EventEntry(ctx, db, vocab, id, e.PhotoURL)
}
