// Package changefeed names what an applied write changed, as announced on NATS after the
// primary copy commits it, so that every read-function instance can drop exactly the cached
// answers the change can affect.
package changefeed

import (
	"maps"
	"slices"
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
	Constraints []string  `json:"constraints"` // codes that are (effectively) yes
	// Excluded are the codes that are no or not_applicable, which a lenient search rules out.
	// An announcement without it (from a writer older than the field) excludes nothing, so a
	// lenient answer it could affect is dropped rather than kept.
	Excluded []string `json:"excluded,omitempty"`
	Deleted  bool     `json:"deleted,omitempty"`
	// Seats, when set, says that the event's live availability alone changed, to these
	// counts: its other facts are as before, so the answers that hold it are affected and,
	// of the others, only searches that ask for at least so many seats could now take it.
	Seats *Seats `json:"seats,omitempty"`

	// Until, when set, makes the event stand for several events that start anywhere from
	// StartsAt to Until, each holding at most Constraints and at least Excluded: a cache
	// summarises a change of many events so (Summarize). Never on the wire.
	Until time.Time `json:"-"`
}

// Seats are an event's free wheelchair spaces and companion seats.
type Seats struct {
	WheelchairSpaces int `json:"wheelchair_spaces"`
	CompanionSeats   int `json:"companion_seats"`
}

// Last is the latest start e stands for: Until when set, else StartsAt.
func (e Event) Last() time.Time {
	if e.Until.After(e.StartsAt) {
		return e.Until
	}
	return e.StartsAt
}

// Change is what one applied command changed.
type Change struct {
	Seq    uint64  `json:"seq"`              // write-log sequence of the command
	Events []Event `json:"events,omitempty"` // events upserted (or given a photo)
	// Venues are venues whose name, address, place or city changed: every answer that shows
	// one of them is affected, though no event's answers changed.
	Venues []int64  `json:"venues,omitempty"`
	Users  []string `json:"users,omitempty"` // user ids whose needs or role changed
}

// Empty reports whether c changes nothing.
func (c Change) Empty() bool { return len(c.Events) == 0 && len(c.Venues) == 0 && len(c.Users) == 0 }

// Merge adds o's changes to c (for a transaction of many commands).
func (c *Change) Merge(o Change) {
	if o.Seq > c.Seq {
		c.Seq = o.Seq
	}
	c.Events = append(c.Events, o.Events...)
	c.Venues = append(c.Venues, o.Venues...)
	c.Users = append(c.Users, o.Users...)
}

// Subject is the NATS subject changes are announced on, under namespace ns.
func Subject(ns string) string { return strings.ToLower(ns) + ".changes" }

// Summarize returns at most limit events standing for the live events of evs (see Event.Until),
// so that a test of whether a change could affect an answer costs as many calls as there are
// summaries, not events; nil when evs are too diverse for limit. Events are grouped by city,
// category and their exact sets of codes first, and, if that makes more than limit groups, by
// city and category alone, with the union of their yes codes and the intersection of their
// excluded ones: a matcher that answers true for any event of a group then answers true for
// the summary, so the summary drops at least what the events would. Deleted events are left
// out: they affect only the answers that hold them. Changes of availability alone (Seats) are
// grouped apart from the others, each group with the largest counts of its events.
func Summarize(evs []Event, limit int) []Event {
	if out := summarize(evs, limit, true); out != nil || limit <= 0 {
		return out
	}
	return summarize(evs, limit, false)
}

func summarize(evs []Event, limit int, exact bool) []Event {
	type group struct {
		e        Event
		yes, out map[string]bool
		seats    Seats
	}
	var (
		groups []*group
		index  = map[string]*group{}
		key    strings.Builder
	)
	for _, e := range evs {
		if e.Deleted {
			continue
		}
		key.Reset()
		key.WriteString(e.City + "\x00" + e.Category)
		if e.Seats != nil {
			key.WriteString("\x00seats")
		}
		if exact {
			key.WriteString("\x00" + strings.Join(e.Constraints, ",") + "\x00" + strings.Join(e.Excluded, ","))
		}
		g, ok := index[key.String()]
		if !ok {
			if len(groups) == limit {
				return nil
			}
			g = &group{e: Event{City: e.City, Category: e.Category, StartsAt: e.StartsAt, Until: e.Last()},
				yes: map[string]bool{}, out: map[string]bool{}}
			for _, c := range e.Excluded {
				g.out[c] = true
			}
			if e.Seats != nil {
				g.e.Seats = &g.seats
			}
			index[key.String()], groups = g, append(groups, g)
		} else {
			if e.StartsAt.Before(g.e.StartsAt) {
				g.e.StartsAt = e.StartsAt
			}
			if l := e.Last(); l.After(g.e.Until) {
				g.e.Until = l
			}
			keep := map[string]bool{}
			for _, c := range e.Excluded {
				if g.out[c] {
					keep[c] = true
				}
			}
			g.out = keep
		}
		for _, c := range e.Constraints {
			g.yes[c] = true
		}
		if e.Seats != nil {
			g.seats.WheelchairSpaces = max(g.seats.WheelchairSpaces, e.Seats.WheelchairSpaces)
			g.seats.CompanionSeats = max(g.seats.CompanionSeats, e.Seats.CompanionSeats)
		}
	}
	out := make([]Event, len(groups))
	for i, g := range groups {
		g.e.Constraints, g.e.Excluded = slices.Sorted(maps.Keys(g.yes)), slices.Sorted(maps.Keys(g.out))
		out[i] = g.e
	}
	return out
}
