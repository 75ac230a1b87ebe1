package search

import (
	"context"
	"time"

	"github.com/dostupno/dostupno/shared/pgdb"
)

// The steps of a text search (Search): searchText runs them, reading slices of the answer order
// (searchSlices) or of whole weeks (searchWeeks) through readSlices; the statements of each
// step are pageSQL's.

// maxSlice bounds the slice of answer order a text search reads the matches of (searchText):
// past it (a window stretched over years), the slice is not worth it.
const maxSlice = 10 * 365 * 24 * time.Hour

// maxSlices bounds the slices of answer order, one after the other, whose matches a text
// search reads before it walks the order or reads every match (searchText).
const maxSlices = 3

// denseMatches: with this many matches in the window or more (a share of at least 1.2% of
// the rows the filters pass), searchText walks the answer order first. The walk reads about
// Window * (Limit+1) / k rows before its page (1,750 at most for 6 matches); the text index
// hands over every match of the text in the whole catalog, and a common word's 50,000 matches
// cost 8-10 ms on 1M events (cmd/dostupno bench, "text: common word"), the walk 1-2 ms.
const denseMatches = 6

// searchText runs the steps of a text search (see Search) until one is exact. The window is
// also a sample: k rows of the page in it (the text's matches whose seats pass), kt matches
// of the text (k without seats). With denseMatches page rows or more, the walk comes first.
// Two matches of the text or more (but not a page) put the text's share above 2/Window, and
// the text index would likely hand over more than Cap of them: then the page is read from
// slices of the answer order, one after the other (searchSlices), each expected to hold
// twice what the page still lacks, from the density of the page's rows seen so far, then the
// walk before the capped read. Fewer than two matches: the capped read first.
//
// With seats, the window's k is a small sample: a common word whose matches a quarter pass
// (kt 24, k 1 on 1M events) looked rare, and its capped read overflowed (20-45 ms) before the
// walk answered; a word of a city (kt 10, k 2) took a slice sized from k that held 19 rows of
// 21, then the walk. The page's density is estimated as kt times the seats' share among them,
// (k+1)/(kt+2): the common word now walks first (2.6-3.5 ms), the word of a city too (13.6 ms
// against 18.6, its page 4,200 rows away), and slices go on from where the last stopped.
// Before such a walk, the filters' rows are counted from the time they span (windowSpan): when
// the text's matches among them are expected fewer than the rows the walk would read (a number
// in one city), the capped read comes first instead (expectedMatches).
//
// A text that requires every word (allWords) reads slices of whole weeks through its words'
// week keys (searchWeeks) where slices of the answer order would be read, and, with two words
// or more, or one word the window holds once in a city, before the capped read too: an AND of
// words each in a share of the events whose intersection is sparse costs the text index the
// words' whole lists (4.4-6.7 ms on 1M events for three of them), the keys of its first months
// a twelfth of them (1.0-1.5 ms for the question, when the keys were a month's), and a word in
// a large city the city's whole list, the keys none of it ("xx" in Samara 3.8 → 1.3 ms;
// "гамлет", in 0.5% of the events, once in Moscow's window: 4.4 → 0.6 ms, its 1,640 matches in
// the city read by the capped read). A word the window holds none of reads the capped read
// first: an absent word's finds nothing at once (0.2 ms), where a slice of months before it
// added 0.3-0.4 ms.
// Such a text dense in the window but short of a page reads its first week slice before the
// walk only when the slice is expected to hold far fewer candidates than the rows the walk
// would read (weeksNear): its walk is signed (migration 033), reading the index alone, where
// a week read reads each candidate's table page. For the same reason such a text walks first
// with two matches in the window, not denseMatches, when its page is expected within a fifth
// of the walk (cheap); before signatures a walk's row was a table page too.
//
// The first page of a question asked before reads the step that answered it then alone, its
// route (shared/search/route.go). An AND of words that holds a common one reads the text index
// and the week keys with its other words alone, its probe (shared/search/probe.go).
func searchText(ctx context.Context, db pgdb.DBTX, q *Query) (read, error) {
	if q.After != nil { // a later page: its rows are fewer, and would teach the first its steps
		r, _, err := textSteps(ctx, db, q)
		return r, err
	}
	key, memo := q.routeKey(time.Now()), routes.Load()
	if rt, ok := memo.get(key); ok {
		if r, ok, err := readRoute(ctx, db, q, rt); err != nil || ok {
			return r, err
		}
	}
	r, rt, err := textSteps(ctx, db, q)
	if err == nil {
		memo.learn(key, rt)
	}
	return r, err
}

// textSteps runs the steps of searchText from the window on, and says which step answered:
// window for the window, or for a step that depends on what the window read (the slices);
// else the step readRoute can read alone.
func textSteps(ctx context.Context, db pgdb.DBTX, q *Query) (read, route, error) {
	first := window
	if q.Seats() {
		first = textSeatWindow
	}
	r, err := readPage(ctx, db, q, first)
	if err != nil || r.next != nil {
		return r, denseWindow(r), err
	}
	// The steps after the window read the text index or the week keys: with the probe, asked
	// for only when the window did not answer.
	if q, err = withProbe(ctx, db, q); err != nil {
		return read{}, route{how: window}, err
	}
	k, kt := len(r.rows), len(r.rows)
	if first == textSeatWindow {
		kt = r.matches
	}
	est := float64(k) // the page's rows expected in the window
	if k < kt {
		est = float64(kt) * float64(k+1) / float64(kt+2)
	}
	b := textBounds.Load()
	words, all := q.allWords()
	weeksRead := false // searchWeeks was read, and did not answer
	steps := []plan{capped, long}
	var end time.Time                               // the window's end, once read (windowSpan, windowEnd)
	walkRows := float64(b.Window*(q.Limit+1)) / est // the walk's rows expected before its page
	// A signed walk (signed, no seats) reads the index alone and the text of the rows whose
	// signature holds the words: with two matches in the window or more it walks first too,
	// when its page is expected within a fifth of the walk (xx, in 0.8% of 1M events: 1.3-1.4 ms
	// walking against 4.6-4.9 for the 1,300 candidates of its first two months, each a table page;
	// pgbench, generic plans, in turns), unless the slice holds few (weeksNear).
	cheap := signed(q) && !q.Seats() && k >= 2 && walkRows <= float64(b.Walk/5)
	if k >= denseMatches || kt >= denseMatches && walkRows <= float64(b.Walk/5) || cheap {
		// A page is expected within Window * (Limit+1) / k rows of the walk, fewer than the
		// matches the text index would hand over (see denseMatches). With seats, a dense text
		// whose matches few seats pass walks first too when its page is expected within a
		// fifth of the walk: the text index would hand over every match of the text however
		// few pass (a common word's 52,000 in 20-30 ms on 1M events), the walk stops at the
		// page (концерт with both counts: 2.6-3.5 ms against 27-32 ms through slices).
		steps = []plan{capped}
		if k < denseMatches && !cheap {
			// Unless the filters hold few rows (a city): then the text index holds fewer
			// matches than the walk would read rows, and the capped read reads them alone
			// (a number in Samara with seats: 713 matches of the text in the city against a
			// page 6,100 rows into the walk, each row a page of the table to read).
			var (
				last time.Time
				more bool
			)
			end, last, more, err = windowSpan(ctx, db, q)
			if err != nil || !more {
				return r, route{how: window}, err
			}
			if expectedMatches(q, kt, end, last) <= min(walkRows, float64(b.Cap)) {
				r, err := readPage(ctx, db, q, capped)
				if err != nil || answered(capped, r) {
					return r, route{how: capped}, err
				}
				steps = nil
			}
		}
		if all && weeksNear(q, r, walkRows) {
			if r, weeks, ok, err := searchWeeks(ctx, db, q); err != nil || ok {
				return r, route{how: week, weeks: weeks}, err
			}
			weeksRead = true
		}
		r, err := readPage(ctx, db, q, long)
		if err != nil || answered(long, r) {
			return r, route{how: long}, err
		}
	}
	if kt >= 2 && len(steps) == 2 {
		steps = []plan{long, capped}
	}
	if all && (kt >= 2 || words >= 2 || kt == 1 && q.City != "") && !weeksRead {
		// The text's matches week by week (searchWeeks): with two matches in the window
		// or more, instead of slices of the text index; with fewer, an AND of words, or a
		// word seen once in a city's window, before the capped read of their whole lists and
		// of the city's (one rare word's list in the whole catalog is short, and a word
		// the window holds none of may be absent: the capped read first).
		if r, weeks, ok, err := searchWeeks(ctx, db, q); err != nil || ok {
			return r, route{how: week, weeks: weeks}, err
		}
	} else if kt >= 2 {
		if end.IsZero() {
			var more bool
			if end, more, err = windowEnd(ctx, db, q); err != nil || !more {
				return r, route{how: window}, err
			}
		}
		if r, ok, err := searchSlices(ctx, db, q, end, est); err != nil || ok {
			return r, route{how: window}, err // the slices are sized from the window
		}
	}
	for _, how := range steps {
		r, err := readPage(ctx, db, q, how)
		if err != nil || answered(how, r) {
			return r, route{how: how}, err
		}
	}
	r, err = readPage(ctx, db, q, sparse)
	return r, route{how: sparse}, err
}

// weeksNear says whether a text whose window (r, no seats) held two of its matches or more,
// but not a page, has few enough candidates in the first slice of searchWeeks for it to be
// read before the walk, whose rows, walkRows of them, are expected before its page: when the
// question's only other filters are its time and city, whose rows the week keys hold (so
// that its candidates are its matches), and the matches' density in time over the window, k of
// them up to the last one's start, gives at most half of Cap in that slice and fewer than
// walkRows / weeksPerWalkRow. Such a text is signed: its walk reads the index alone, in a
// city as in the whole catalog, where a week read reads each candidate's table page.
func weeksNear(q *Query, r read, walkRows float64) bool {
	k := len(r.rows)
	if q.Seats() || !q.timeAndCityAlone() || k == 0 {
		return false
	}
	begin := q.begin()
	seen := r.rows[k-1].pos.StartsAt.Sub(begin) // k matches within it
	if seen <= 0 {
		return false // every match starts at the question's start: no density in time
	}
	slice := firstWeeksEnd(begin).Sub(begin)
	expected := float64(k) * float64(slice) / float64(seen)
	return expected <= float64(textBounds.Load().Cap)/2 && weeksPerWalkRow*expected <= walkRows
}

// weeksPerWalkRow weighs a candidate of a week slice against a row of a signed walk
// (weeksNear): the week read reads each candidate's table page through the keys' bitmap,
// then checks, filters and sorts them all, where the walk reads an index row and the text of
// the rows whose signature holds the words, and stops at its page: xx on 1M events, 1,300
// candidates in 4.6-4.9 ms against 2,600 rows walked in 1.3-1.4 ms (pgbench, generic plans, in
// turns), about seven times a walk's row.
const weeksPerWalkRow = 7

// searchSlices reads the page of a text search from slices of the answer order (readSlices),
// each read from the text index (capped): the first sized from the window, which reached end
// and held est of the page's rows, to hold twice the page; each next one to hold twice what
// is still missing, from the rows found so far over the slices read. A slice that would pass
// maxSlice ends them (ok false), as maxSlices do.
func searchSlices(ctx context.Context, db pgdb.DBTX, q *Query, end time.Time, est float64) (r read, ok bool, err error) {
	begin := q.begin()
	seen, span := est, end.Sub(begin) // seen rows of the page over span
	r, _, ok, err = readSlices(ctx, db, q, capped, maxSlices, func(from time.Time, found int) (time.Time, bool) {
		if from != begin {
			seen, span = float64(found), from.Sub(begin)
		}
		next := twiceWhatLacks(span, seen, q.Limit+1-found)
		if next <= 0 || next > maxSlice {
			return time.Time{}, false
		}
		return from.Add(next), true
	})
	return r, ok, err
}

// twiceWhatLacks is how long a next slice must be to hold twice the lacking rows a page still
// needs, at the density of seen rows (at least one) over span: the sizing of searchSlices' and
// searchWeeks' slices after their first.
func twiceWhatLacks(span time.Duration, seen float64, lacking int) time.Duration {
	return time.Duration(float64(span) * float64(2*lacking) / max(seen, 1))
}

// maxWeekSlices bounds the slices of whole weeks whose matches a text search reads, one after
// the other (searchWeeks), before it reads them otherwise; maxSliceWeeks bounds the weeks of one
// slice: a text whose page is expected further away is sparse enough for the capped read of its
// whole lists, one index scan where a slice's weeks are a key each.
const (
	maxWeekSlices = 3
	maxSliceWeeks = 52
)

// searchWeeks reads the page of a text search that requires every word of its text
// (allWords) from slices of whole weeks (readSlices), each slice's matches read through the
// keys of its words in each of its weeks (plan week, migration 036): an AND of words each in
// a share of the events whose intersection is sparse, or a word in a large city, costs the
// text index the whole catalog's lists of its words or of the city, and a week a fiftieth of
// them. The first slice is the question's week and the next (its start may be the week's last
// day); each next one is sized, as searchSlices' are, to hold twice what the page still lacks
// from the rows found so far, in whole weeks; a slice that would span more than maxSliceWeeks
// ends them (ok false). The weeks are UTC weeks from Monday, as the keys'. weeks is how many
// the page needed, from the question's start's week through the one that holds the row after
// the page (or the question's end): a route reads them as one slice (readWeeks).
func searchWeeks(ctx context.Context, db pgdb.DBTX, q *Query) (r read, weeks int, ok bool, err error) {
	if q, err = withLexemes(ctx, db, q); err != nil {
		return read{}, 0, false, err
	}
	begin := q.begin()
	r, reach, ok, err := readSlices(ctx, db, q, week, maxWeekSlices, func(from time.Time, found int) (time.Time, bool) {
		if from == begin {
			return firstWeeksEnd(begin), true
		}
		need := from.Add(twiceWhatLacks(from.Sub(begin), float64(found), q.Limit+1-found))
		n := 1
		for weekAfter(from, n).Before(need) {
			if n++; n > maxSliceWeeks {
				return time.Time{}, false
			}
		}
		return weekAfter(from, n), true
	})
	if ok {
		if r.next == nil {
			reach = reach.Add(-time.Nanosecond) // the question's end, itself past the page
		}
		weeks = weeksFrom(begin, reach)
	}
	return r, weeks, ok, err
}

// readWeeks reads the page of a text search from one slice of whole weeks (plan week), the
// weeks weeks from its start's week on (searchWeeks' count): ok false when the slice does not
// hold the page.
func readWeeks(ctx context.Context, db pgdb.DBTX, q *Query, weeks int) (r read, ok bool, err error) {
	if q, err = withLexemes(ctx, db, q); err != nil {
		return read{}, false, err
	}
	r, _, ok, err = readSlices(ctx, db, q, week, 1, func(from time.Time, _ int) (time.Time, bool) {
		return weekAfter(from, weeks), true
	})
	return r, ok, err
}

// The week keys' weeks (migration 036, search_week): weekSeconds long, week 0 starting
// week0Unix seconds after the epoch, on Monday 1970-01-05 at 00:00 UTC: search_week's two
// constants, in the same units.
const (
	weekSeconds = 604800
	week0Unix   = 345600
)

// weekOf is the week of t as search_week counts it: whole weeks from week 0, negative before.
func weekOf(t time.Time) int64 {
	s := t.Unix() - week0Unix
	w := s / weekSeconds
	if s%weekSeconds < 0 {
		w-- // floor, as search_week's
	}
	return w
}

// weeksFrom is how many weeks from the week of begin through that of t (1: the same).
func weeksFrom(begin, t time.Time) int { return int(weekOf(t)-weekOf(begin)) + 1 }

// firstWeeksEnd is the end of searchWeeks' first slice from begin: the end of the week after
// begin's (begin may be its week's last day).
func firstWeeksEnd(begin time.Time) time.Time { return weekAfter(begin, 2) }

// weekAfter is the start of the n-th week after the week of t (n 1: the next one).
func weekAfter(t time.Time, n int) time.Time {
	return time.Unix((weekOf(t)+int64(n))*weekSeconds+week0Unix, 0).UTC()
}

// readSlices reads the page of a text search from slices of the answer order, one after the
// other from the question's start, each read with plan how (capped or week); next gives a
// slice's end from its start and the page's rows found before it (ok false: no such slice). A
// slice that holds the rest of the page (or reaches the question's end) makes the page exact:
// its rows follow those of the slices before it; reach is then how far the page needed the
// answer order: the start of the row after it, else the question's end. ok is false, and the
// page must be read otherwise, when a slice holds more than Cap matches of the text, when next
// gives no slice, or after slices slices.
func readSlices(ctx context.Context, db pgdb.DBTX, q *Query, how plan, slices int, next func(from time.Time, found int) (time.Time, bool)) (r read, reach time.Time, ok bool, err error) {
	begin := q.begin()
	var (
		found []pageRow
		gen   generation // the slices' generation: not ok if they differ
	)
	from := begin
	for range slices {
		until, more := next(from, len(found))
		if !more {
			return read{}, reach, false, nil
		}
		last := false
		if q.To != nil && !until.Before(*q.To) {
			until, last = *q.To, true
		}
		slice := *q
		slice.From, slice.To, slice.Limit = from, &until, q.Limit+1-len(found)
		if from != begin {
			slice.After = nil // rows from the slice's start on are all past the cursor
		}
		s, err := readPage(ctx, db, &slice, how)
		if err != nil || s.over {
			return read{}, reach, false, err
		}
		found = append(found, s.rows...)
		switch {
		case len(s.rows) == 0: // an empty slice read no generation
		case len(found) == len(s.rows):
			gen = s.gen
		case gen != s.gen:
			gen = generation{}
		}
		if len(found) > q.Limit {
			return read{rows: found[:q.Limit], next: &found[q.Limit-1].pos, gen: gen}, found[q.Limit].pos.StartsAt, true, nil
		}
		if last {
			return read{rows: found, gen: gen}, until, true, nil
		}
		from = until
	}
	return read{}, reach, false, nil
}
