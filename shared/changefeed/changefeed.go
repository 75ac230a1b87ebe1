// Package changefeed names what an applied write changed, as announced on NATS after the
// primary copy commits it, so that every read-function instance can drop exactly the cached
// answers the change can affect.
package changefeed

import (
	"strings"
	"time"
)

// Event is the new state of a changed event: what a cached search needs to know whether the
// event could now be in its answer. Deleted is true when the event is gone.
type Event struct {
	ID          int64     `json:"id"`
	City        string    `json:"city"`
	Category    string    `json:"category"`
	StartsAt    time.Time `json:"starts_at"`
	Constraints []string  `json:"constraints"` // codes that are yes
	Deleted     bool      `json:"deleted,omitempty"`
}

// Change is what one applied command changed.
type Change struct {
	Seq    uint64   `json:"seq"`              // write-log sequence of the command
	Events []Event  `json:"events,omitempty"` // events upserted (or given a photo)
	Users  []string `json:"users,omitempty"`  // user ids whose needs or role changed
}

// Empty reports whether c changes nothing.
func (c Change) Empty() bool { return len(c.Events) == 0 && len(c.Users) == 0 }

// Merge adds o's changes to c (for a transaction of many commands).
func (c *Change) Merge(o Change) {
	if o.Seq > c.Seq {
		c.Seq = o.Seq
	}
	c.Events = append(c.Events, o.Events...)
	c.Users = append(c.Users, o.Users...)
}

// Subject is the NATS subject changes are announced on, under namespace ns.
func Subject(ns string) string { return strings.ToLower(ns) + ".changes" }
