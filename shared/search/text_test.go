package search_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/pgtest"
	"github.com/dostupno/dostupno/shared/search"
)

// TestTextSearchEveryStepIsExact: with bounds small enough that a few events reach every step
// of a text search (window, capped read, long walk, all matches), every question pages
// through exactly the matching events in answer order: dense words (the window), words in a
// share of the events (the walk after two matches in the window, or the capped read first),
// rare words (the capped read), dense words short of a page in the window (the walk first),
// words bunched at the end (the walk fails, then all matches), absent words, slices of the
// answer order, the first sized from the window and the next from what the slices held (iota),
// ending at the question's end (to), a city with fewer events than the window, with a city
// filter too; and each with a filter on the seat counts, which
// every step leaves to its text's matches (shared/search/store.go, pageSQL): a word over
// Cap whose first matches read have no seat count still pages through its seated matches.
// Questions without text and with seats go through their own two steps (searchSeats). Each
// question is asked twice, the second time through its route.
func TestTextSearchEveryStepIsExact(t *testing.T) {
	search.SetTextBounds(t, search.TextBounds{Window: 10, Cap: 5, Walk: 20})
	search.ForgetRoutes(t)
	w := newWorld(t)
	start := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	var evs []wordEvent
	var events []catalog.Event
	for i := int64(1); i <= 90; i++ {
		words := []string{"alpha"}
		if i%7 == 0 {
			words = append(words, "beta")
		}
		if i%3 == 0 {
			words = append(words, "kappa")
		} else {
			words = append(words, "eta") // dense, yet fewer than 8 in 10 rows: the walk first
		}
		if i < 15 {
			words = append(words, "gamma")
		}
		if i == 89 || i == 87 || i < 20 {
			words = append(words, "zeta") // two early, then none until many late
		}
		if i%5 == 0 && i >= 20 && i <= 55 || i == 82 {
			words = append(words, "theta") // over Cap, and the first read have no seat count
		}
		if i == 13 || i == 44 || i == 71 {
			words = append(words, "delta")
		}
		if i == 88 || i == 82 || i == 67 || i == 43 || i == 10 || i == 4 || i == 1 {
			// Two in the window, then one in the first slice sized from them and one in the
			// next (limit 3), more than Cap in all.
			words = append(words, "iota")
		}
		city := []string{"moscow", "kazan"}[i%2]
		if i%10 == 0 {
			city = "omsk" // fewer events than the window
		}
		evs = append(evs, wordEvent{i, city, words})
		e := event(i, city, nil)
		e.Title = "Show " + strings.Join(words, " ")
		// Pairs share a start, so the order falls back to the id; the ids run against time (gamma
		// is in the latest events).
		e.StartsAt = start.Add(time.Duration(45-i/2) * time.Hour)
		events = append(events, e)
	}
	w.upsert(events...)
	// Seat counts: none for every fifth event; a wheelchair space for two thirds of the others,
	// a companion seat too for half of those (the seats questions below).
	seats := func(id int64) (ws, cs int) { return int(id % 3 % 2), int(id / 3 % 2) }
	for _, e := range evs {
		if e.id%5 == 0 {
			continue
		}
		ws, cs := seats(e.id)
		w.seats(e.id, ws, cs)
	}
	startOf := func(id int64) time.Time { return start.Add(time.Duration(45-id/2) * time.Hour) }
	want := func(word, city string, ws, cs int, to time.Time) []int64 {
		var ids []int64
		for _, e := range evs {
			hasWS, hasCS := seats(e.id)
			seated := ws == 0 && cs == 0 || e.id%5 != 0 && hasWS >= ws && hasCS >= cs
			before := to.IsZero() || startOf(e.id).Before(to)
			if (word == "" || slices.Contains(e.words, word)) && (city == "" || e.city == city) && seated && before {
				ids = append(ids, e.id)
			}
		}
		slices.SortFunc(ids, func(a, b int64) int {
			if c := startOf(a).Compare(startOf(b)); c != 0 {
				return c
			}
			return int(a - b)
		})
		return ids
	}
	// No word: a question without text, whose seats take steps of their own (the window's
	// rows, then the events whose counts pass).
	// A question with an end (to) as well, whose slices stop there (limit 3).
	end := start.Add(30 * time.Hour)
	for _, word := range []string{"", "alpha", "beta", "kappa", "eta", "gamma", "delta", "zeta", "theta", "iota", "omega"} {
		for _, city := range []string{"", "kazan", "omsk"} {
			for _, limit := range []int{1, 3, 8, 40, -3} {
				for _, seat := range [][2]int{{0, 0}, {1, 0}, {1, 1}} {
					to := time.Time{}
					if limit < 0 {
						limit, to = -limit, end
					}
					t.Run(fmt.Sprintf("%s/%s/%d/seats%d%d/to%v", word, city, limit, seat[0], seat[1], !to.IsZero()), func(t *testing.T) {
						raw := "from=" + url.QueryEscape(start.Format(time.RFC3339))
						if !to.IsZero() {
							raw += "&to=" + url.QueryEscape(to.Format(time.RFC3339))
						}
						if word != "" {
							raw += "&q=" + word
						}
						if city != "" {
							raw += "&city=" + city
						}
						if seat[0] > 0 {
							raw += fmt.Sprintf("&wheelchair_spaces=%d&companion_seats=%d", seat[0], seat[1])
						}
						// Twice: the second time, the first page through the route the first
						// learned (shared/search/route.go).
						for range 2 {
							got := pageThrough(t, w, raw, limit, nil)
							if w := want(word, city, seat[0], seat[1], to); !slices.Equal(got, w) && !(len(got) == 0 && len(w) == 0) {
								t.Fatalf("got %v, want %v", got, w)
							}
						}
					})
				}
			}
		}
	}
}

// TestSearchKeepsTheConnectionsPlanMode: a page's details run with generic plans (set_config
// local to their pipeline), and the connection goes back to force_custom_plan, which the
// page's own query needs (shared/pgdb), also inside a caller's transaction; the details
// (venue's name, times) are the event's.
func TestSearchKeepsTheConnectionsPlanMode(t *testing.T) {
	w := newWorld(t)
	e := event(7, "kazan", nil)
	w.upsert(e)
	conn, err := w.pool.Acquire(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	q, err := search.ParseQuery("city=kazan", w.vocab, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for range 7 { // past the five custom plans after which Postgres may choose a generic one
		p, err := search.Search(w.ctx, conn, w.vocab, &q, func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) != 1 || p.Items[0].ID != 7 || p.Items[0].Venue.Name != "Hall" || !p.Items[0].StartsAt.Equal(e.StartsAt) {
			t.Fatalf("got %+v, want event 7 at venue Hall", p.Items)
		}
		var mode string
		if err := conn.QueryRow(w.ctx, "SHOW plan_cache_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if mode != "force_custom_plan" {
			t.Fatalf("after a search the connection's plan_cache_mode is %s, want force_custom_plan", mode)
		}
	}
	// In a caller's transaction (a cache snapshot's recompute), the page queries that follow
	// keep custom plans too.
	tx, err := w.pool.Begin(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(w.ctx) //nolint:errcheck // read only
	for range 2 {
		if p, err := search.Search(w.ctx, tx, w.vocab, &q, func(string) string { return "" }); err != nil || len(p.Items) != 1 {
			t.Fatalf("in a transaction: got %+v, %v, want event 7", p, err)
		}
		var mode string
		if err := tx.QueryRow(w.ctx, "SHOW plan_cache_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if mode != "force_custom_plan" {
			t.Fatalf("in a transaction after a search plan_cache_mode is %s, want force_custom_plan", mode)
		}
	}
}

// TestTextSeatSearchReadsAFewMatchesFirst: a text dense among the filters' rows whose matches
// few seats pass walks the answer order first, unless the text index holds fewer matches within
// the filters (a small city) than the walk is expected to read rows: then the capped read comes
// first (shared/search/text.go, searchText). Both page exactly.
func TestTextSeatSearchReadsAFewMatchesFirst(t *testing.T) {
	search.SetTextBounds(t, search.TextBounds{Window: 10, Cap: 40, Walk: 1000})
	w := newWorld(t)
	start := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Hour)
	type ev struct {
		id     int64
		city   string
		rho    bool // the text, in 6 of each 10 rows
		seated bool
	}
	var evs []ev
	var events []catalog.Event
	add := func(id int64, city string, at time.Time, n int64, seated bool) {
		e := event(id, city, nil)
		e.StartsAt = at
		e.Title = "Show"
		rho := n%5 < 3
		if rho {
			e.Title += " rho"
		}
		evs = append(evs, ev{id, city, rho, seated})
		events = append(events, e)
	}
	// Moscow: 300 events an hour apart, a wheelchair space at every 17th. Tver: 30 events
	// over the same time, one seated, late.
	for i := int64(1); i <= 300; i++ {
		add(i, "moscow", start.Add(time.Duration(i)*time.Hour), i, i%17 == 0)
	}
	for j := int64(1); j <= 30; j++ {
		add(1000+j, "tver", start.Add(time.Duration(10*j)*time.Hour-5*time.Minute), j, j == 25)
	}
	w.upsert(events...)
	for _, e := range evs {
		if e.seated {
			w.seats(e.id, 1, 0)
		}
	}
	for _, c := range []struct {
		city  string
		first []string // the steps of the first page
	}{
		{"tver", []string{"textSeatWindow", "capped"}}, // 18 matches in Tver, the page ~27 rows away
		{"moscow", []string{"textSeatWindow", "long"}}, // 180 matches in Moscow
	} {
		t.Run(c.city, func(t *testing.T) {
			var want []int64
			for _, e := range evs {
				if e.city == c.city && e.rho && e.seated {
					want = append(want, e.id) // evs are in answer order within a city
				}
			}
			raw := fmt.Sprintf("city=%s&q=rho&wheelchair_spaces=1&from=%s", c.city, url.QueryEscape(start.Format(time.RFC3339)))
			got, steps := pageThroughSteps(t, w, raw, 1)
			if !slices.Equal(steps, c.first) {
				t.Fatalf("first page read steps %v, want %v", steps, c.first)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("got %v, want %v", got, want)
			}
		})
	}
}

// pageThrough asks the question raw with limit, following its cursors to the end, and answers
// the events' ids in the order of its pages; after, when set, is called after each page.
func pageThrough(t *testing.T, w *world, raw string, limit int, after func(page int)) []int64 {
	t.Helper()
	raw += fmt.Sprintf("&limit=%d", limit)
	var got []int64
	cursor := ""
	for page := 0; ; page++ {
		if page > 100 {
			t.Fatal("got more than 100 pages, want the walk to end")
		}
		q, err := search.ParseQuery(raw+cursor, w.vocab, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		p, err := search.Search(w.ctx, w.pool, w.vocab, &q, func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) > limit {
			t.Fatalf("got %d items, want at most %d", len(p.Items), limit)
		}
		for _, s := range p.Items {
			got = append(got, s.ID)
		}
		if after != nil {
			after(page)
		}
		if p.NextCursor == nil {
			return got
		}
		cursor = "&cursor=" + *p.NextCursor
	}
}

// TestCoverIsTheFirstPhotoReadInOrder: a summary's cover is its event's first photo by position,
// then key, and the page's statement reads it in that order from an index, without a sort per
// row (migration 027).
func TestCoverIsTheFirstPhotoReadInOrder(t *testing.T) {
	w := newWorld(t)
	w.upsert(event(1, "kazan", nil), event(2, "kazan", nil))
	for _, p := range []struct {
		key      string
		position int
	}{{"b.jpg", 1}, {"a.jpg", 1}, {"0.jpg", 2}} {
		if _, err := w.pool.Exec(w.ctx, `INSERT INTO event_photos (event_id, object_key, content_type, width, height, bytes, position, version)
			VALUES (1, $1, 'image/jpeg', 10, 10, 100, $2, 1)`, p.key, p.position); err != nil {
			t.Fatal(err)
		}
	}
	q, err := search.ParseQuery("city=kazan", w.vocab, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p, err := search.Search(w.ctx, w.pool, w.vocab, &q, func(key string) string { return "/photos/" + key })
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Items) != 2 || p.Items[0].CoverURL == nil || *p.Items[0].CoverURL != "/photos/a.jpg" || p.Items[1].CoverURL != nil {
		t.Fatalf("got %+v, want event 1 with cover a.jpg, event 2 without", p.Items)
	}
	sql, args := search.PageSQL(&q)
	plan := pgtest.GenericPlan(t, w.pool, "EXPLAIN (COSTS OFF)", sql, args, "enable_seqscan = off")
	if !strings.Contains(plan, "event_photos_in_cover_order") || strings.Contains(plan, "Sort") {
		t.Errorf("the page's cover is not read in order from event_photos_in_cover_order:\n%s", plan)
	}
}

// pageThroughSteps is pageThrough, with the steps the first page read (SetStepHook).
func pageThroughSteps(t *testing.T, w *world, raw string, limit int) (got []int64, first []string) {
	t.Helper()
	var steps []string
	search.SetStepHook(t, func(s string) { steps = append(steps, s) })
	got = pageThrough(t, w, raw, limit, func(page int) {
		if page == 0 {
			first = slices.Clone(steps)
		}
	})
	return got, first
}
