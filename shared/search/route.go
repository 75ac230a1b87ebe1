package search

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/dostupno/dostupno/shared/pgdb"
)

// A text search's route: the step that answered the first page of a text question past its
// window (capped, long, week or sparse; for the week slices, how many weeks the page
// needed, read the next time as one slice), remembered per question without its start
// (routeKey), so that the same text with the same filters reads that step alone the next
// time, without the window and the steps before it. Every step is exact when it answers
// (searchText), so a route changes what a search costs, never what it answers; a route that no
// longer answers (the catalog changed) falls back to the steps from the window, and the step
// that answers then is the route. A later page (a cursor) neither reads nor teaches a route:
// fewer rows are left after it, and the capped read that answers the last page would
// overflow on the first. A text answered by its window has no route, unless its page needed
// few of the window's rows (denseRanks a row, from the signed window's ranks): then its route
// is the window testing each row's text (route.dense, signed), which such a text fills sooner
// than the signatures' probes would (a common word: 0.18-0.23 ms against 0.40-0.53 on 1M events).
//
// Asked again, at 16 clients on 1M events (Postgres CPU per answer, each question alone,
// routes against none, when the slices were of months): an absent word 317-456 → 61-79 µs (the
// capped read alone), an AND of three words whose intersection is sparse 3,145 → 2,098 µs (its
// two month slices), then 1,367-1,451 µs (the months they held, as one slice), one with none
// at all 3,459 → 2,240 µs (the capped read, without the window and an empty month slice), a
// number the walk answers 3,025 → 2,377 µs; the bench's whole mix, builds in turns,
// 2,139-2,273 → 2,704-2,754 answers/s, p99 18.3-20.1 → 14.3-14.5 ms, then with the months as
// one slice 2,862-3,203 → 3,100-3,302 (cmd/dostupno bench).

// maxRoutes bounds the questions whose route is remembered: the least recently used is
// dropped first. A route is a few hundred bytes (its key holds the text, at most
// MaxQueryRunes).
const maxRoutes = 4096

// routes are the remembered routes of this process (a test's own, ForgetRoutes).
var routes atomic.Pointer[routeMemo]

func init() { routes.Store(newRoutes()) }

// route is a step that answered a text question's first page: how, and for the week slices
// how many weeks from the question's start's week held the page (searchWeeks), read the next
// time as one slice; more than maxSliceWeeks, or none known, and the slices are read one after
// the other again.
type route struct {
	how   plan
	weeks int
	dense bool // how window: the window, testing each row's text (Query.dense)
}

// denseRanks: a signed window whose page's rows were met within this many of the filters'
// rows a row makes the text dense (route.dense). Through the signatures the window reads an
// index row for each row it passes and probes each match's text by the event's primary key;
// testing each row's text reads the table page of each row it passes: about a fifth of the
// rows passed are matches where the two cost the same on 1M events.
const denseRanks = 4

// denseWindow is the route of a page the window answered (r, read with plan window): dense
// when its rows were met within denseRanks rows of the filters each.
func denseWindow(r read) route {
	return route{how: window, dense: r.rank > 0 && r.rank <= denseRanks*int64(len(r.rows))}
}

// routeMemo is a bounded memory of routes, safe for concurrent use.
type routeMemo struct{ c *lru.Cache[string, route] }

func newRoutes() *routeMemo { return &routeMemo{c: newMemo[route](maxRoutes)} }

// newMemo is a bounded memory of values by text, the least recently used dropped first.
func newMemo[V any](size int) *lru.Cache[string, V] {
	c, err := lru.New[string, V](size)
	if err != nil {
		panic(err) // only for a size below 1
	}
	return c
}

// get is the route remembered for key, if any.
func (m *routeMemo) get(key string) (route, bool) { return m.c.Get(key) }

// learn remembers rt as key's route; the window (the window answered, or the steps it sized)
// is no route but when dense, and forgets any.
func (m *routeMemo) learn(key string, rt route) {
	if rt.how == window && !rt.dense {
		m.c.Remove(key)
		return
	}
	m.c.Add(key, rt)
}

// readRoute reads q's page with route rt alone; ok is false when that step does not answer
// (capped: more than Cap matches; long: no page within the walk; week: the weeks did not
// hold it), and the page must be read by the steps from the window.
func readRoute(ctx context.Context, db pgdb.DBTX, q *Query, rt route) (r read, ok bool, err error) {
	if rt.how != long && rt.how != window { // the walks read no index of the text
		if q, err = withProbe(ctx, db, q); err != nil {
			return read{}, false, err
		}
	}
	switch rt.how {
	case window:
		dense := *q
		dense.dense = true
		r, err = readPage(ctx, db, &dense, window)
		return r, err == nil && r.next != nil, err
	case week:
		if rt.weeks < 1 || rt.weeks > maxSliceWeeks {
			r, _, ok, err = searchWeeks(ctx, db, q)
			return r, ok, err
		}
		return readWeeks(ctx, db, q, rt.weeks)
	case capped, long, sparse:
		r, err = readPage(ctx, db, q, rt.how)
		return r, err == nil && answered(rt.how, r), err
	}
	return read{}, false, nil
}

// answered says whether r, read with plan how, is the page: a page with a row past it (any
// plan), every match of the text within Cap (capped), every match (sparse).
func answered(how plan, r read) bool {
	return r.next != nil || how == capped && !r.over || how == sparse
}

// routeKey is q, a first page (no cursor) asked at now, without what its route does not
// depend on: its start, which moves the window along the same catalog, but for the months it
// lies ahead of now (routeAhead): a text that the capped read answers a year ahead may have
// more than Cap matches from now on. Whether it has an end is kept, not the end: an end may
// bound the matches so that a step answers that would not without it.
func (q *Query) routeKey(now time.Time) string {
	var b strings.Builder
	b.Grow(len(q.Text) + len(q.City) + 64)
	b.WriteString(q.Text)
	b.WriteByte(0)
	b.WriteString(q.City)
	b.WriteByte(0)
	b.WriteString(strings.Join(q.Categories, ","))
	b.WriteByte(0)
	for _, id := range q.IDs {
		b.WriteString(strconv.Itoa(int(id)))
		b.WriteByte(',')
	}
	b.WriteByte(0)
	b.WriteString(strconv.FormatBool(q.Lenient))
	b.WriteString(strconv.FormatBool(q.To != nil))
	b.WriteByte(0)
	for _, n := range []int{q.Limit, q.WheelchairSpaces, q.CompanionSeats, routeAhead(q.From, now)} {
		b.WriteString(strconv.Itoa(n))
		b.WriteByte(',')
	}
	return b.String()
}

// routeAhead is how many whole months of 30 days from lies ahead of now (0 for the past),
// at most maxRouteAhead.
func routeAhead(from, now time.Time) int {
	return int(min(max(from.Sub(now), 0)/(30*24*time.Hour), maxRouteAhead))
}

// maxRouteAhead: questions starting further ahead share one route.
const maxRouteAhead = 24
