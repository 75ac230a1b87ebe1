package search_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/pgtest"
	"github.com/dostupno/dostupno/shared/search"
)

// TestAllWords: a text whose every word is required (websearch_to_tsquery's AND) is told apart
// from one with a phrase, an OR, a negation or any other character, and Postgres agrees: for
// each text taken as all words, its query holds no OR and no negation, and every lexeme of
// the query is one of to_tsvector's for the same text, from which the week keys are made
// (migration 036).
func TestAllWords(t *testing.T) {
	w := newWorld(t)
	for _, c := range []struct {
		text  string
		words int // -1: not all words
	}{
		{"гамлет", 1}, {"гамлет космос антракт", 3}, {"кто-то пришёл", 2}, {"2-й ряд", 2}, {"1812", 1},
		{"Ёлка XX", 2}, {"и на", 2}, {"Or", -1}, {"гамлет or космос", -1}, {"гамлет OR космос", -1},
		{"-гамлет", -1}, {"гамлет -космос", -1}, {"гамлет-", -1}, {"a--b", -1}, {`"гамлет космос"`, -1},
		{"гамлет, космос", -1}, {"гамлет!", -1}, {"c++", -1}, {"a|b", -1}, {"a:*", -1}, {"orchestra", 1},
	} {
		q, err := search.ParseQuery("q="+url.QueryEscape(c.text), w.vocab, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		n, ok := q.AllWords()
		if want := c.words >= 0; ok != want || ok && n != c.words {
			t.Errorf("%q: got %d words, all %v; want %d", c.text, n, ok, c.words)
			continue
		}
		if !ok {
			continue
		}
		var tree string
		if err := w.pool.QueryRow(w.ctx, `SELECT querytree(websearch_to_tsquery('russian', $1))`, c.text).Scan(&tree); err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(tree, "|!") {
			t.Errorf("%q: websearch_to_tsquery made %s, want an AND", c.text, tree)
		}
		var lexemes []string
		if err := w.pool.QueryRow(w.ctx, `SELECT ARRAY(SELECT DISTINCT unnest(regexp_matches(querytree(websearch_to_tsquery('russian', $1)), '''([^'']*)''', 'g')))`, c.text).Scan(&lexemes); err != nil {
			t.Fatal(err)
		}
		var vector []string
		if err := w.pool.QueryRow(w.ctx, `SELECT tsvector_to_array(to_tsvector('russian', $1))`, c.text).Scan(&vector); err != nil {
			t.Fatal(err)
		}
		for _, l := range lexemes {
			if !slices.Contains(vector, l) {
				t.Errorf("%q: the query's lexeme %q is not among to_tsvector's %v", c.text, l, vector)
			}
		}
	}
}

// TestTextSearchByWeeks: a text that requires every word reads its matches week by week
// through the week keys (searchWeeks, migration 036) and pages exactly, over weeks whose
// boundaries fall between its pages: an AND of two words whose intersection is sparse (the
// months first), a word the window holds twice or more (the months instead of slices), a word
// whose months hold more than Cap candidates (then the walk or the capped read), words met
// only late (the months end, the capped read answers), words only of stop words, each in the
// whole catalog and in a city, with seats and with an end. A text with a negation or an OR
// takes the other steps (no week slice), as exactly. The week read's plan reads the keys'
// index.
func TestTextSearchByWeeks(t *testing.T) {
	search.SetTextBounds(t, search.TextBounds{Window: 10, Cap: 30, Walk: 40})
	w := newWorld(t)
	// The question starts on the 20th of next month; an event every 18 hours for six months.
	now := time.Now().UTC()
	start := time.Date(now.Year(), now.Month()+1, 20, 6, 0, 0, 0, time.UTC)
	type ev struct {
		id     int64
		city   string
		at     time.Time
		words  []string
		seated bool
	}
	var evs []ev
	var events []catalog.Event
	for i := int64(1); i <= 240; i++ {
		words := append([]string{"alpha"}, wordsIn([]wordIn{
			{"mu", i%4 == 0}, {"nu", i%5 == 0}, {"omicron", i%3 == 0}, {"rho", i%2 == 0}, {"pi", i > 200 && i%3 == 1},
		})...)
		city := []string{"moscow", "kazan"}[i%2]
		e := show(i, city, start.Add(time.Duration(i-1)*18*time.Hour), words)
		evs = append(evs, ev{i, city, e.StartsAt, words, i%3 != 2})
		events = append(events, e)
	}
	// Events of the days before the question's start, with every word, one of them an hour
	// before it: candidates of its first week, which its start rules out.
	for i := int64(1001); i <= 1007; i++ {
		e := event(i, []string{"moscow", "kazan"}[i%2], nil)
		e.Title = "Show alpha mu nu omicron rho pi"
		e.StartsAt = start.AddDate(0, 0, -int(i-1000)*3)
		if i == 1007 {
			e.StartsAt = start.Add(-time.Hour)
		}
		events = append(events, e)
	}
	w.upsert(events...)
	for _, e := range evs {
		if e.seated {
			w.seats(e.id, 1, 0)
		}
	}
	end := start.AddDate(0, 2, 3) // within a month
	for _, c := range []struct {
		text  string
		match func(words []string) bool
		week  string // "yes": some page reads a week slice; "no": none does; "": either
	}{
		{"mu nu", func(ws []string) bool { return slices.Contains(ws, "mu") && slices.Contains(ws, "nu") }, "yes"},
		{"omicron", func(ws []string) bool { return slices.Contains(ws, "omicron") }, ""},
		{"rho", func(ws []string) bool { return slices.Contains(ws, "rho") }, ""},
		{"alpha pi", func(ws []string) bool { return slices.Contains(ws, "pi") }, "yes"},
		{"и на", func([]string) bool { return false }, "yes"},
		{"mu -nu", func(ws []string) bool { return slices.Contains(ws, "mu") && !slices.Contains(ws, "nu") }, "no"},
		{"mu or pi", func(ws []string) bool { return slices.Contains(ws, "mu") || slices.Contains(ws, "pi") }, "no"},
	} {
		for _, city := range []string{"", "kazan"} {
			for _, limit := range []int{2, 5, 11} {
				for _, seats := range []bool{false, true} {
					for _, to := range []time.Time{{}, end} {
						name := fmt.Sprintf("%s/%s/%d/seats%v/to%v", c.text, city, limit, seats, !to.IsZero())
						t.Run(name, func(t *testing.T) {
							raw := "q=" + url.QueryEscape(c.text) + "&from=" + url.QueryEscape(start.Format(time.RFC3339))
							if city != "" {
								raw += "&city=" + city
							}
							if seats {
								raw += "&wheelchair_spaces=1"
							}
							if !to.IsZero() {
								raw += "&to=" + url.QueryEscape(to.Format(time.RFC3339))
							}
							var want []int64
							for _, e := range evs { // in answer order
								if c.match(e.words) && (city == "" || e.city == city) && (!seats || e.seated) && (to.IsZero() || e.at.Before(to)) {
									want = append(want, e.id)
								}
							}
							var steps []string
							search.SetStepHook(t, func(s string) { steps = append(steps, s) })
							got := pageThrough(t, w, raw, limit, nil)
							if !slices.Equal(got, want) {
								t.Fatalf("got %v, want %v", got, want)
							}
							if read := slices.Contains(steps, "week"); c.week != "" && read != (c.week == "yes") {
								t.Errorf("its pages read steps %v, want a week slice: %s", steps, c.week)
							}
						})
					}
				}
			}
		}
	}

	// The week read's plan, as it runs (a generic plan, no sequential scan), reads the keys'
	// indexes after ANALYZE has seen the catalog, in the whole catalog and in a city.
	if _, err := w.pool.Exec(w.ctx, `ANALYZE event_accessibility`); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ raw, index string }{
		{"q=mu+nu", "event_accessibility_text_weeks"},
		{"q=mu+nu&city=kazan", "event_accessibility_text_city_weeks"},
	} {
		q, err := search.ParseQuery(c.raw+"&from="+url.QueryEscape(start.Format(time.RFC3339)), w.vocab, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		until := start.AddDate(0, 3, 0)
		q.To = &until
		sql, args, err := search.WeekSQL(w.ctx, w.pool, &q)
		if err != nil {
			t.Fatal(err)
		}
		checkIndexedPlan(t, w, "the week read of "+c.raw, c.index, sql, args)
	}
}

// TestWordsAloneTellsAnANDOfLexemes: a week read tests its candidates' text only for a
// question whose tsquery asks for more than its words' lexemes, all of them.
func TestWordsAloneTellsAnANDOfLexemes(t *testing.T) {
	w := newWorld(t)
	for text, want := range map[string]bool{
		"80": true, "xx": true, "гамлет космос антракт": true, "Щелкунчик": true, "и на": true,
		"красно-синий": false, "mu-nu pi": false, `"mu nu"`: false, "mu -nu": false, "mu or nu": false,
	} {
		var got bool
		if err := w.pool.QueryRow(w.ctx, `SELECT `+search.WordsAlone("$1::text"), text).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%q: got words alone %v, want %v", text, got, want)
		}
	}
}

// TestDenseWordInACityReadsWeeksBeforeTheWalk: a word whose window holds denseMatches of its
// matches or more, but not a page, reads its first week slice before the walk when its
// density in time puts few candidates in the slice against the rows the walk expects
// (weeksNear: a word of a city whose events are weeks apart), and walks first when it would
// not (the same word in a city with events every day and a half, or every few hours, or in the
// whole catalog: the signed walk reads the index alone), when the question has other filters
// than its time and city (a code, whose rows the week keys do not know), or when the text is
// not all words. Every question pages exactly.
func TestDenseWordInACityReadsWeeksBeforeTheWalk(t *testing.T) {
	search.SetTextBounds(t, search.TextBounds{Window: 10, Cap: 60, Walk: 40})
	w := newWorld(t)
	start := mondayAhead()
	type ev struct {
		id       int64
		city     string
		at       time.Time
		rho, mu  bool
		stepFree bool
	}
	var evs []ev
	var events []catalog.Event
	add := func(id int64, city string, at time.Time, n int64) {
		x := ev{id: id, city: city, at: at, rho: n%5 < 3, mu: n%7 == 0, stepFree: n%2 == 0}
		access := map[string]string{}
		if x.stepFree {
			access["step_free_entrance"] = "yes"
		}
		e := event(id, city, access)
		e.StartsAt, e.Title = at, "Show"
		if x.rho {
			e.Title += " rho"
		}
		if x.mu {
			e.Title += " mu"
		}
		evs = append(evs, x)
		events = append(events, e)
	}
	// Kazan: an event every 14 days for three years, rho in 6 of each 10 (the window's 10 rows
	// hold 6 matches over 140 days: about 0.6 in the first slice's two weeks, against 20 rows
	// of walk for a page of 11, seven a candidate). Omsk: every 36 hours for four months, rho
	// alike (over 15 days: about 5.5 in the slice, 38 rows' worth). Moscow: every 6 hours, rho
	// alike (the window spans 2.5 days: about 33 in the slice).
	for n := int64(1); n <= 80; n++ {
		add(n, "kazan", start.Add(time.Duration(n)*14*24*time.Hour-time.Hour), n)
		add(500+n, "omsk", start.Add(time.Duration(n)*36*time.Hour-3*time.Hour), n)
	}
	for n := int64(1); n <= 480; n++ {
		add(1000+n, "moscow", start.Add(time.Duration(n)*6*time.Hour-2*time.Hour), n)
	}
	slices.SortFunc(evs, func(a, b ev) int { return a.at.Compare(b.at) }) // answer order (no two start together)
	w.upsert(events...)
	for _, c := range []struct {
		raw   string
		match func(e ev) bool
		first []string // the steps of the first page
	}{
		// The first slice holds none of the page's 12 rows (counted as one), the next, sized
		// to hold twice them, 48 weeks, holds the page.
		{"city=kazan&q=rho", func(e ev) bool { return e.city == "kazan" && e.rho }, []string{"window", "week", "week"}},
		{"city=omsk&q=rho", func(e ev) bool { return e.city == "omsk" && e.rho }, []string{"window", "long"}},
		{"city=moscow&q=rho", func(e ev) bool { return e.city == "moscow" && e.rho }, []string{"window", "long"}},
		{"q=rho", func(e ev) bool { return e.rho }, []string{"window", "long"}},
		{"city=kazan&q=rho&constraints=step_free_entrance", func(e ev) bool { return e.city == "kazan" && e.rho && e.stepFree }, nil},
		{"city=kazan&q=rho+-mu", func(e ev) bool { return e.city == "kazan" && e.rho && !e.mu }, nil},
	} {
		t.Run(c.raw, func(t *testing.T) {
			checkPagesAndSteps(t, w, c.raw, start, evs, func(e ev) int64 { return e.id }, c.match, c.first)
		})
	}
}

// TestDenseWordOfTheWholeCatalogWalksUnlessTheSliceHoldsFew: a word whose window holds
// denseMatches of its matches or more, but not a page, reads its first week slice before the
// walk only when the slice is expected to hold fewer than a seventh of the rows the walk
// expects before its page (weeksPerWalkRow), in the whole catalog as in a city (weeksNear).
// Every question pages exactly.
func TestDenseWordOfTheWholeCatalogWalksUnlessTheSliceHoldsFew(t *testing.T) {
	search.SetTextBounds(t, search.TextBounds{Window: 10, Cap: 60, Walk: 40})
	w := newWorld(t)
	start := mondayAhead()
	later := start.AddDate(0, 0, 301) // a Monday
	type ev struct {
		id  int64
		at  time.Time
		rho bool
	}
	var (
		evs    []ev
		events []catalog.Event
	)
	// Perm, from start: an event every 2 days for 160 days, rho in 6 of each 10 (the window's
	// 10 rows hold 6 matches over 20 days: about 4 in the first slice's two weeks, fewer than
	// half of Cap but more than a page of 12's 20 rows of walk over seven). Kazan, from 301
	// days on (a Monday): every 10 days (6 over 100 days: about 0.8 in the slice; it holds
	// one, and the next, sized from it, 44 weeks, the rest of the page).
	for n := int64(1); n <= 80; n++ {
		for _, c := range []struct {
			id    int64
			city  string
			from  time.Time
			every time.Duration
		}{{n, "perm", start, 2 * 24 * time.Hour}, {500 + n, "kazan", later, 10 * 24 * time.Hour}} {
			x := ev{id: c.id, at: c.from.Add(time.Duration(n)*c.every - time.Hour), rho: n%5 < 3}
			e := event(c.id, c.city, nil)
			e.StartsAt, e.Title = x.at, "Show"
			if x.rho {
				e.Title += " rho"
			}
			evs, events = append(evs, x), append(events, e)
		}
	}
	slices.SortFunc(evs, func(a, b ev) int { return a.at.Compare(b.at) })
	w.upsert(events...)
	for _, c := range []struct {
		raw   string
		from  time.Time
		city  bool // perm's alone
		first []string
	}{
		{"q=rho", start, false, []string{"window", "long"}},
		{"city=perm&q=rho", start, true, []string{"window", "long"}},
		{"q=rho", later, false, []string{"window", "week", "week"}},
	} {
		t.Run(c.raw+" from "+c.from.Format(time.DateOnly), func(t *testing.T) {
			checkPagesAndSteps(t, w, c.raw, c.from, evs, func(e ev) int64 { return e.id }, func(e ev) bool {
				return e.rho && !e.at.Before(c.from) && (!c.city || e.id < 500)
			}, c.first)
		})
	}
}

// TestRareWordInACityReadsWeeksBeforeTheCappedRead: a word the window holds once, but not
// twice, reads its first week slice before the capped read in a city (the capped read
// decodes the city's whole list in the text index, the week keys the word's weeks in the
// city alone), and the capped read first in the whole catalog, or in a city when the window
// holds none of its matches (an absent word's capped read finds nothing at once). Every
// question pages exactly.
func TestRareWordInACityReadsWeeksBeforeTheCappedRead(t *testing.T) {
	search.SetTextBounds(t, search.TextBounds{Window: 10, Cap: 60, Walk: 40})
	w := newWorld(t)
	start := mondayAhead()
	type ev struct {
		id       int64
		at       time.Time
		rho, tau bool
	}
	var (
		evs    []ev
		events []catalog.Event
	)
	// Kazan, from start: an event every 12 hours for 120 days. rho in one of each 8, the
	// window's 10 rows holding one (the fifth): three in the first slice's two weeks, the next
	// slice, sized from them, the rest of the page of 11; tau as dense, none of it in the
	// window.
	for n := int64(1); n <= 240; n++ {
		x := ev{id: n, at: start.Add(time.Duration(n)*12*time.Hour - time.Hour), rho: n%8 == 5, tau: n > 10 && n%8 == 7}
		e := event(n, "kazan", nil)
		e.StartsAt, e.Title = x.at, "Show"
		if x.rho {
			e.Title += " rho"
		}
		if x.tau {
			e.Title += " tau"
		}
		evs, events = append(evs, x), append(events, e)
	}
	w.upsert(events...)
	for _, c := range []struct {
		raw   string
		match func(e ev) bool
		first []string
	}{
		{"city=kazan&q=rho", func(e ev) bool { return e.rho }, []string{"window", "week", "week"}},
		{"q=rho", func(e ev) bool { return e.rho }, []string{"window", "capped"}},
		{"city=kazan&q=tau", func(e ev) bool { return e.tau }, []string{"window", "capped"}},
	} {
		t.Run(c.raw, func(t *testing.T) {
			checkPagesAndSteps(t, w, c.raw, start, evs, func(e ev) int64 { return e.id }, c.match, c.first)
		})
	}
}

// TestTextIndexReadPlans: a read of the text index (capped) for the first page of a question
// whose only other filters are its start and city runs with a generic plan (planned once per
// connection), which reads the text index, scans no table and makes the tsquery once; with a
// constraint code, a category, an end or a cursor it keeps a custom plan, which sees the values.
func TestTextIndexReadPlans(t *testing.T) {
	w := newWorld(t)
	var events []catalog.Event
	for i := int64(1); i <= 200; i++ {
		e := event(i, []string{"moscow", "kazan"}[i%2], map[string]string{"step_free_entrance": "yes"})
		e.Title = fmt.Sprintf("Show %d", i)
		events = append(events, e)
	}
	w.upsert(events...)
	fillCatalog(t, w, "вечер концерт программа")
	from := url.QueryEscape(time.Now().UTC().Format(time.RFC3339))
	for _, raw := range []string{"q=zeppelin", "q=zeppelin&city=kazan", "q=zeppelin+show&city=kazan&wheelchair_spaces=1"} {
		q, err := search.ParseQuery(raw+"&from="+from, w.vocab, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		sql, args := search.CappedSQL(&q)
		checkIndexedPlan(t, w, "the capped read of "+raw, "event_accessibility_city_document", sql, args)
	}

	// The plans readPage chose, on one connection: generic for the capped read of a first page
	// without a code, a category or an end; custom with one, or after the first page
	// (pg_prepared_statements counts each statement's plans).
	cursor := search.Position{StartsAt: time.Now().Add(time.Hour), ID: 5}
	for _, c := range []struct {
		raw     string
		after   bool
		generic bool
	}{
		{"q=zeppelin&city=kazan", false, true},
		{"q=zeppelin", false, true},
		{"q=zeppelin&city=kazan&constraints=step_free_entrance", false, false},
		{"q=zeppelin&category=concert", false, false},
		{"q=zeppelin&city=kazan&to=" + url.QueryEscape(time.Now().AddDate(1, 0, 0).UTC().Format(time.RFC3339)), false, false},
		{"q=zeppelin&city=kazan", true, false},
	} {
		q, err := search.ParseQuery(c.raw, w.vocab, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if c.after {
			q.After = &cursor
		}
		var steps []string
		search.SetStepHook(t, func(s string) { steps = append(steps, s) })
		sql, _ := search.CappedSQL(&q)
		var generic, custom int64
		searchOnOneConn(t, w, &q, func(conn *pgxpool.Conn) {
			if !slices.Contains(steps, "capped") {
				t.Fatalf("%s (cursor %v): read steps %v, want a capped read", c.raw, c.after, steps)
			}
			if err := conn.QueryRow(w.ctx, `SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1`, sql).Scan(&generic, &custom); err != nil {
				t.Fatalf("%s (cursor %v): the capped read's prepared statement: %v", c.raw, c.after, err)
			}
		})
		if got := generic > 0 && custom == 0; got != c.generic || generic+custom == 0 {
			t.Errorf("%s (cursor %v): the capped read ran %d generic and %d custom plans, want generic %v", c.raw, c.after, generic, custom, c.generic)
		}
	}
}

// searchOnOneConn runs q on one connection of w's pool, then check with it (whose session knows
// the statements the search prepared); the connection goes back to the pool whatever fails.
func searchOnOneConn(t *testing.T, w *world, q *search.Query, check func(conn *pgxpool.Conn)) {
	t.Helper()
	conn, err := w.pool.Acquire(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := search.Search(w.ctx, conn, w.vocab, q, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	check(conn)
}

// wordEvent is an event of a text test: its id, city and the words of its title.
type wordEvent struct {
	id    int64
	city  string
	words []string
}

// wordIn is a word and whether an event's title holds it.
type wordIn struct {
	word string
	in   bool
}

// wordsIn are the words of ws an event's title holds, in order.
func wordsIn(ws []wordIn) []string {
	var out []string
	for _, w := range ws {
		if w.in {
			out = append(out, w.word)
		}
	}
	return out
}

// show is event id in city at at, titled "Show" and words.
func show(id int64, city string, at time.Time, words []string) catalog.Event {
	e := event(id, city, nil)
	e.Title = "Show " + strings.Join(words, " ")
	e.StartsAt = at
	return e
}

// fillCatalog makes the plans of w's searches those of a catalog: 24,000 more rows over a year
// in twelve cities (rows of event_accessibility alone, which the plans read), each holding
// words and a number of 300, then VACUUM ANALYZE.
func fillCatalog(t *testing.T, w *world, words string) {
	t.Helper()
	if _, err := w.pool.Exec(w.ctx, `INSERT INTO event_accessibility (event_id, starts_at, city, category, document)
		SELECT 100000 + i, now() + i * interval '22 minutes', 'city' || (i % 12), 'concert',
			to_tsvector('russian', $1 || ' ' || (i % 300))
		FROM generate_series(1, 24000) i`, words); err != nil {
		t.Fatal(err)
	}
	if _, err := w.pool.Exec(w.ctx, `VACUUM ANALYZE event_accessibility`); err != nil {
		t.Fatal(err)
	}
}

// checkIndexedPlan checks the generic plan of sql without sequential scans, as readPage runs a
// week read or a read of the text index (pgdb.QueryGenericIndexed): it reads index, scans no
// table, and makes the tsquery once (an InitPlan), not for each row it checks.
func checkIndexedPlan(t *testing.T, w *world, what, index, sql string, args []any) {
	t.Helper()
	plan := pgtest.GenericPlan(t, w.pool, "EXPLAIN", sql, args, "enable_seqscan = off")
	if !strings.Contains(plan, "Bitmap Index Scan on "+index+" ") || strings.Contains(plan, "Seq Scan") {
		t.Errorf("%s: the generic plan does not read %s alone:\n%s", what, index, plan)
	}
	if strings.Contains(plan, "@@ websearch_to_tsquery") {
		t.Errorf("%s: the generic plan makes the tsquery for each row it checks, not once (an InitPlan):\n%s", what, plan)
	}
}

// mondayAhead is the first Monday of the month after next, at 06:00 UTC: a question from it
// reads a first week slice of 14 days less 6 hours (its week and the next), whatever the day
// the test runs, so that the steps its page reads are the same every day.
func mondayAhead() time.Time {
	now := time.Now().UTC()
	t := time.Date(now.Year(), now.Month()+2, 1, 6, 0, 0, 0, time.UTC)
	return t.AddDate(0, 0, (8-int(t.Weekday()))%7)
}

// checkPagesAndSteps pages through question raw from from, 11 rows a page, and wants the ids
// of the events of evs (in answer order) that match, and its first page to read the steps
// first; first nil: any steps but a week slice.
func checkPagesAndSteps[E any](t *testing.T, w *world, raw string, from time.Time, evs []E, id func(E) int64, match func(E) bool, first []string) {
	t.Helper()
	var want []int64
	for _, e := range evs {
		if match(e) {
			want = append(want, id(e))
		}
	}
	got, steps := pageThroughSteps(t, w, raw+"&from="+url.QueryEscape(from.Format(time.RFC3339)), 11)
	if first != nil && !slices.Equal(steps, first) || first == nil && slices.Contains(steps, "week") {
		t.Errorf("first page read steps %v, want %v (nil: no week slice)", steps, first)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// TestOlderInstancesFindTheMonthFunctions: migration 036 drops the month keys' indexes and
// keeps their functions, which an instance of search-events from before it asks for until it
// is replaced (its month read: the keys of a month's events against the question's): without
// them its text searches would fail with a 500 instead of waiting out the statement timeout.
func TestOlderInstancesFindTheMonthFunctions(t *testing.T) {
	ctx := t.Context()
	pool := pgtest.New(t)
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM event_accessibility a
		WHERE search_text_months(a.document, a.starts_at) @> search_text_month_keys('гамлет', now(), NULL)
		   OR search_text_city_months(a.document, a.starts_at, a.city) @> search_text_month_keys('гамлет', now(), 'kazan')`).Scan(&n); err != nil {
		t.Fatalf("the month read of the code before migration 036: %v", err)
	}
	var indexes int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_indexes
		WHERE tablename = 'event_accessibility' AND indexname IN ('event_accessibility_text_months', 'event_accessibility_text_city_months')`).Scan(&indexes); err != nil {
		t.Fatal(err)
	}
	if indexes != 0 {
		t.Errorf("%d month keys' indexes left, want none (every write would keep them)", indexes)
	}
}
