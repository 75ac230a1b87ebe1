package search_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/search"
)

// TestTextRouteSkipsTheWindowWhenAskedAgain: the step that answered the first page of a text
// question past its window is read alone the next time the same text comes with the same
// filters and a start as far ahead (shared/search/route.go): an absent word reads the capped
// read alone, an AND of words whose intersection is sparse the weeks its page needed as one
// slice (sigma tau: two slices the first time), a word over Cap the walk; a common word, answered by its window, takes its window again, and so does the
// same text in a city or two months further ahead. A route that no longer answers (the absent
// word grew past Cap) falls back to the steps from the window, and the step that answers then
// is the route. Every answer pages through the matching events in answer order.
func TestTextRouteSkipsTheWindowWhenAskedAgain(t *testing.T) {
	search.SetTextBounds(t, search.TextBounds{Window: 10, Cap: 30, Walk: 200})
	w := newWorld(t)
	start := time.Now().UTC().Truncate(time.Hour).Add(time.Hour)
	type ev struct {
		id    int64
		at    time.Time
		city  string
		words []string
	}
	var evs []ev
	add := func(id int64, at time.Time, city string, words ...string) catalog.Event {
		evs = append(evs, ev{id, at, city, words})
		e := event(id, city, nil)
		e.StartsAt, e.Title = at, "Show "+strings.Join(words, " ")
		return e
	}
	// An event every 6 hours for 90 days: common in each, beta in every fourth, gamma in every
	// fifth (beta gamma in every twentieth), and both in every third of the 12th to the 28th,
	// after the window and within the first week (six of them: the first slice, start's week
	// and the next, holds the page), rho in every eighth (45, over Cap; one in the window, and
	// its page within the walk).
	var events []catalog.Event
	for n := int64(1); n <= 360; n++ {
		words := []string{"common"}
		for _, x := range []struct {
			every int64
			word  string
		}{{4, "beta"}, {5, "gamma"}, {8, "rho"}} {
			if n%x.every == 0 || x.word != "rho" && n >= 12 && n <= 28 && n%3 == 0 {
				words = append(words, x.word)
			}
		}
		events = append(events, add(n, start.Add(time.Duration(n)*6*time.Hour), []string{"perm", "kazan"}[n%2], words...))
	}
	// sigma tau: 3 and 4 days after start, then on each of the 20th to the 24th day and on
	// two days later: the first slice (start's week and the next, 7 to 14 days) holds two, the
	// next, sized from them to hold twice the four the page lacks (4 times the first slice, at
	// least 28 days), the rest of the page.
	for k, day := range []int{3, 4, 20, 21, 22, 23, 24, 100, 200} {
		t := start.AddDate(0, 0, day).Add(5 * time.Minute)
		events = append(events, add(int64(2000+k), t, "kazan", "sigma", "tau"))
	}
	w.upsert(events...)
	var steps []string
	search.SetStepHook(t, func(s string) { steps = append(steps, s) })
	// ask pages through a question and answers the steps its first page read.
	ask := func(t *testing.T, text, city string, from time.Time) []string {
		t.Helper()
		raw := "q=" + url.QueryEscape(text) + "&from=" + url.QueryEscape(from.Format(time.RFC3339))
		if city != "" {
			raw += "&city=" + city
		}
		steps = nil
		var first []string
		got := pageThrough(t, w, raw, 5, func(page int) {
			if page == 0 {
				first = slices.Clone(steps)
			}
		})
		slices.SortFunc(evs, func(a, b ev) int { // answer order
			if c := a.at.Compare(b.at); c != 0 {
				return c
			}
			return int(a.id - b.id)
		})
		var want []int64
		for _, e := range evs {
			has := !e.at.Before(from) && (city == "" || e.city == city)
			for _, word := range strings.Fields(text) {
				has = has && slices.Contains(e.words, word)
			}
			if has {
				want = append(want, e.id)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s: got %v, want %v", raw, got, want)
		}
		return first
	}
	for _, c := range []struct {
		text  string
		steps []string // the first page's, asked for the first time
		route string
	}{
		{"omega", []string{"window", "capped"}, "capped"},
		{"beta gamma", []string{"window", "week"}, "week"},
		{"sigma tau", []string{"window", "week", "week"}, "week"}, // the weeks the page needed, in one slice
		{"rho", []string{"window", "capped", "long"}, "long"},
		{"common", []string{"window"}, "window"},
	} {
		t.Run(c.text, func(t *testing.T) {
			if got := ask(t, c.text, "", start); !slices.Equal(got, c.steps) {
				t.Fatalf("first asked, the first page read steps %v, want %v", got, c.steps)
			}
			for _, from := range []time.Time{start, start.Add(72 * time.Hour)} {
				if got := ask(t, c.text, "", from); !slices.Equal(got, []string{c.route}) {
					t.Errorf("asked again from %s, the first page read steps %v, want [%s] alone", from, got, c.route)
				}
			}
			for _, other := range []struct {
				city string
				from time.Time
			}{{"perm", start}, {"", start.Add(61 * 24 * time.Hour)}} {
				if got := ask(t, c.text, other.city, other.from); got[0] != "window" {
					t.Errorf("in %q from %s, the first page read steps %v, want the window first", other.city, other.from, got)
				}
			}
		})
	}

	// omega, over Cap now: its route (the capped read) no longer answers, the steps run from
	// the window, and the walk that answers is the route.
	var more []catalog.Event
	for n := int64(1); n <= 40; n++ {
		more = append(more, add(1000+n, start.Add(time.Duration(n)*6*time.Hour+time.Minute), "perm", "omega"))
	}
	w.upsert(more...)
	got := ask(t, "omega", "", start)
	if len(got) < 3 || got[0] != "capped" || got[1] != "window" {
		t.Fatalf("after omega grew past Cap, the first page read steps %v, want the capped read, then the steps from the window", got)
	}
	if again := ask(t, "omega", "", start); !slices.Equal(again, got[len(got)-1:]) {
		t.Errorf("asked again, the first page read steps %v, want [%s] alone", again, got[len(got)-1])
	}
}
