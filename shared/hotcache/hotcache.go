// Package hotcache is the warm per-instance cache of the read functions, behind a small
// interface. Entries are bounded in count and age; each entry knows which events it holds
// and, for searches, which events could join it, so a change drops exactly what it affects.
package hotcache

import (
	"time"

	gocache "github.com/patrickmn/go-cache"

	"github.com/dostupno/dostupno/shared/changefeed"
)

// Entry is one cached answer.
type Entry struct {
	Body     []byte
	ETag     string
	EventIDs []int64                        // events the answer holds
	Matches  func(e changefeed.Event) bool // for searches: whether a changed event could now be in the answer
	Users    []string                       // user ids whose change invalidates the answer
}

// Cache is what the read functions use.
type Cache interface {
	Get(key string) (Entry, bool)
	Set(key string, e Entry)
	// Apply drops every entry the change can affect.
	Apply(c changefeed.Change)
	Len() int
}

// Local is a Cache on patrickmn/go-cache, bounded in entries and age.
type Local struct {
	c          *gocache.Cache
	maxEntries int
}

// NewLocal returns a cache of at most maxEntries entries, each kept at most ttl.
func NewLocal(maxEntries int, ttl time.Duration) *Local {
	return &Local{c: gocache.New(ttl, ttl), maxEntries: maxEntries}
}

// Get returns the entry for key.
func (l *Local) Get(key string) (Entry, bool) {
	v, ok := l.c.Get(key)
	if !ok {
		return Entry{}, false
	}
	return v.(Entry), true
}

// Set stores e under key; when the cache is full, expired entries are dropped first and, if
// that is not enough, the entry is not stored (the answer is still served).
func (l *Local) Set(key string, e Entry) {
	if l.maxEntries <= 0 {
		return
	}
	if l.c.ItemCount() >= l.maxEntries {
		l.c.DeleteExpired()
		if l.c.ItemCount() >= l.maxEntries {
			return
		}
	}
	l.c.SetDefault(key, e)
}

// Apply drops every entry that holds a changed event or could now hold one, and every entry
// tied to a changed user.
func (l *Local) Apply(c changefeed.Change) {
	if c.Empty() {
		return
	}
	ids := map[int64]bool{}
	for _, e := range c.Events {
		ids[e.ID] = true
	}
	users := map[string]bool{}
	for _, u := range c.Users {
		users[u] = true
	}
	for key, item := range l.c.Items() {
		e := item.Object.(Entry)
		if affected(e, c, ids, users) {
			l.c.Delete(key)
		}
	}
}

func affected(e Entry, c changefeed.Change, ids map[int64]bool, users map[string]bool) bool {
	for _, id := range e.EventIDs {
		if ids[id] {
			return true
		}
	}
	for _, u := range e.Users {
		if users[u] {
			return true
		}
	}
	if e.Matches != nil {
		for _, ev := range c.Events {
			if e.Matches(ev) {
				return true
			}
		}
	}
	return false
}

// Len is the number of entries (expired ones included until dropped).
func (l *Local) Len() int { return l.c.ItemCount() }
