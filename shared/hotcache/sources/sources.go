// Package sources answers the read functions' cache keys from the database, with the same
// code the functions serve them with: search-events and get-event build their entries with
// SearchEntry and EventEntry, cache-snapshot recomputes the hot keys with All, and a warm
// start rebuilds a search's invalidation test from its key (Matcher).
package sources

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/changefeed"
	"github.com/dostupno/dostupno/shared/hotcache"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/pgdb"
	"github.com/dostupno/dostupno/shared/search"
)

// Key kinds.
const (
	KindSearch = "search"
	KindEvent  = "event"
)

// All returns the sources of both read functions, keyed by kind, reading the vocabulary
// through db; photo URLs are built as the functions build them from d's configuration.
func All(d *instance.Deps, db pgdb.DBTX) (map[string]hotcache.Source, error) {
	vocab := search.NewVocab(db, time.Minute)
	photoURL, err := search.PhotoURL(d.Config)
	if err != nil {
		return nil, err
	}
	return map[string]hotcache.Source{
		KindSearch: &Search{Vocab: vocab, PhotoURL: photoURL, Now: time.Now},
		KindEvent:  &Event{Vocab: vocab, PhotoURL: photoURL},
	}, nil
}

// Search answers "search:" keys as search-events does.
type Search struct {
	Vocab    *search.Vocab
	PhotoURL func(string) string
	Now      func() time.Time
}

// SearchEntry runs q and returns its cache entry: the encoded page, the events it holds, and
// q's test of whether a changed event could join it.
func SearchEntry(ctx context.Context, db pgdb.DBTX, vocab *catalog.Vocabulary, q *search.Query, photoURL func(string) string) (hotcache.Entry, error) {
	page, err := search.Search(ctx, db, vocab, q, photoURL)
	if err != nil {
		return hotcache.Entry{}, err
	}
	body, err := json.Marshal(page)
	if err != nil {
		return hotcache.Entry{}, apperr.Wrap(err, "encode search answer")
	}
	ids := make([]int64, len(page.Items))
	for i, it := range page.Items {
		ids[i] = it.ID
	}
	return hotcache.Entry{Body: body, EventIDs: ids, Matches: q.Matches}, nil
}

func (s *Search) query(ctx context.Context, key string) (*search.Query, *catalog.Vocabulary, error) {
	raw, ok := strings.CutPrefix(key, KindSearch+":")
	if !ok {
		return nil, nil, apperr.New(apperr.InvalidArgument, "not a search key: %q", key)
	}
	vocab, err := s.Vocab.Get(ctx)
	if err != nil {
		return nil, nil, apperr.Wrap(err, "vocabulary")
	}
	q, err := search.ParseQuery(raw, vocab, s.Now())
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
func (s *Search) Load(ctx context.Context, db pgdb.DBTX, key string) (hotcache.Entry, error) {
	q, vocab, err := s.query(ctx, key)
	if err != nil {
		return hotcache.Entry{}, err
	}
	return SearchEntry(ctx, db, vocab, q, s.PhotoURL)
}

// Matcher rebuilds the invalidation test of key.
func (s *Search) Matcher(ctx context.Context, key string) (func(changefeed.Event) bool, error) {
	q, _, err := s.query(ctx, key)
	if err != nil {
		return nil, err
	}
	return q.Matches, nil
}

// Event answers "event:" keys as get-event does.
type Event struct {
	Vocab    *search.Vocab
	PhotoURL func(string) string
}

// EventEntry loads event id and returns its cache entry: the encoded event and its ETag.
// An unknown id is not_found.
func EventEntry(ctx context.Context, db pgdb.DBTX, vocab *catalog.Vocabulary, id int64, photoURL func(string) string) (hotcache.Entry, error) {
	ev, err := search.LoadEvent(ctx, db, vocab, id, photoURL)
	if err != nil {
		return hotcache.Entry{}, err
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return hotcache.Entry{}, apperr.Wrap(err, "encode event %d", id)
	}
	return hotcache.Entry{Body: body, ETag: ETag(body), EventIDs: []int64{id}}, nil
}

// ETag is the entity tag of an encoded event: a hash of its bytes, so every instance and
// every snapshot names the same answer alike.
func ETag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
}

// Load answers key from db.
func (e *Event) Load(ctx context.Context, db pgdb.DBTX, key string) (hotcache.Entry, error) {
	_, params, err := hotcache.ParseKey(key)
	if err != nil {
		return hotcache.Entry{}, apperr.New(apperr.InvalidArgument, "%v", err)
	}
	id, err := strconv.ParseInt(params.Get("id"), 10, 64)
	if err != nil || id <= 0 || search.EventCacheKey(id) != key {
		return hotcache.Entry{}, apperr.New(apperr.InvalidArgument, "not an event key: %q", key)
	}
	vocab, err := e.Vocab.Get(ctx)
	if err != nil {
		return hotcache.Entry{}, apperr.Wrap(err, "vocabulary")
	}
	return EventEntry(ctx, db, vocab, id, e.PhotoURL)
}
