package search_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/pgdb"
	"github.com/dostupno/dostupno/shared/search"
)

// TestAllWords: a text whose every word is required (websearch_to_tsquery's AND) is told apart
// from one with a phrase, an OR, a negation or any other character, and Postgres agrees: for
// each text taken as all words, its query holds no OR and no negation, and every lexeme of
// the query is one of to_tsvector's for the same text, from which the month keys are made
// (migration 026).
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
		var missing []string
		if err := w.pool.QueryRow(w.ctx, `SELECT querytree(websearch_to_tsquery('russian', $1)),
			ARRAY(SELECT l FROM unnest(tsvector_to_array(strip(to_tsvector('russian', $1)))) l
				WHERE NOT to_tsvector('russian', $1) @@ l::tsquery)`, c.text).Scan(&tree, &missing); err != nil {
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

// TestTextSearchByMonths: a text that requires every word reads its matches month by month
// through the month keys (searchMonths, migration 026) and pages exactly, over months whose
// boundaries fall between its pages: an AND of two words whose intersection is sparse (the
// months first), a word the window holds twice or more (the months instead of slices), a word
// whose months hold more than Cap candidates (then the walk or the capped read), words met
// only late (the months end, the capped read answers), words only of stop words, each in the
// whole catalog and in a city, with seats and with an end. A text with a negation or an OR
// takes the other steps (no month slice), as exactly. The month read's plan reads the keys'
// index.
func TestTextSearchByMonths(t *testing.T) {
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
		words := []string{"alpha"}
		for _, x := range []struct {
			word string
			in   bool
		}{
			{"mu", i%4 == 0}, {"nu", i%5 == 0}, {"omicron", i%3 == 0}, {"rho", i%2 == 0}, {"pi", i > 200 && i%3 == 1},
		} {
			if x.in {
				words = append(words, x.word)
			}
		}
		city := []string{"moscow", "kazan"}[i%2]
		e := event(i, city, nil)
		e.Title = "Show " + strings.Join(words, " ")
		e.StartsAt = start.Add(time.Duration(i-1) * 18 * time.Hour)
		evs = append(evs, ev{i, city, e.StartsAt, words, i%3 != 2})
		events = append(events, e)
	}
	// Events of the question's first month before its start, with every word: the month's
	// candidates, which its start rules out.
	for i := int64(1001); i <= 1006; i++ {
		e := event(i, []string{"moscow", "kazan"}[i%2], nil)
		e.Title = "Show alpha mu nu omicron rho pi"
		e.StartsAt = start.AddDate(0, 0, -int(i-1000)*3)
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
		month string // "yes": some page reads a month slice; "no": none does; "": either
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
							if read := slices.Contains(steps, "month"); c.month != "" && read != (c.month == "yes") {
								t.Errorf("its pages read steps %v, want a month slice: %s", steps, c.month)
							}
						})
					}
				}
			}
		}
	}

	// The month read's plan, as it runs (a generic plan, no sequential scan), reads the keys'
	// indexes after ANALYZE has seen the catalog, in the whole catalog and in a city.
	if _, err := w.pool.Exec(w.ctx, `ANALYZE event_accessibility`); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ raw, index string }{
		{"q=mu+nu", "event_accessibility_text_months"},
		{"q=mu+nu&city=kazan", "event_accessibility_text_city_months"},
	} {
		q, err := search.ParseQuery(c.raw+"&from="+url.QueryEscape(start.Format(time.RFC3339)), w.vocab, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		until := start.AddDate(0, 3, 0)
		q.To = &until
		sql, args := search.MonthSQL(&q)
		rows, br, err := pgdb.QueryGenericIndexed(w.ctx, w.pool, "EXPLAIN "+sql, args...)
		var lines []string
		if err == nil {
			lines, err = pgx.CollectRows(rows, pgx.RowTo[string])
		}
		if err := br.Close(); err != nil { // it holds a connection until closed
			t.Fatal(err)
		}
		if err != nil {
			t.Fatal(err)
		}
		plan := strings.Join(lines, "\n")
		if !strings.Contains(plan, "Bitmap Index Scan on "+c.index+" ") || strings.Contains(plan, "Seq Scan on event_accessibility") {
			t.Errorf("%s: the month read's plan does not read %s alone:\n%s", c.raw, c.index, plan)
		}
	}
}
