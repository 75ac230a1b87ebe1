package search_test

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/pgtest"
	"github.com/dostupno/dostupno/shared/search"
)

// signatureWords are word forms whose lexemes the 'russian' configuration makes alike or
// apart: inflections, ё and е, case, hyphenated words (a phrase of their parts), numbers,
// Latin words, stop words.
var signatureWords = []string{
	"концерт", "Концерты", "концертов", "ёлка", "Елки", "ёлочный", "кто-то", "2-й", "XX", "xx", "80",
	"1812", "Гамлет", "гамлета", "и", "на", "orchestra", "Orchestras", "космос-2", "Космос", "вечер",
	"вечера", "программа", "выставка", "щелкунчик", "Маяк", "маяка",
}

// TestTextSignatureHoldsEveryMatch: every event whose text matches a text that requires all its
// words (Query.allWords) has a text signature holding the signature of those words (migration
// 033), as the walks in answer order test it before the text itself (shared/search/store.go,
// pageSQL): the signature read from the event's row, made from its text vector as the catalog
// writes it (title, venue, description). Most events the text does not match fail the
// signature test, or the walk would read their text all the same.
func TestTextSignatureHoldsEveryMatch(t *testing.T) {
	w := newWorld(t)
	r := rand.New(rand.NewPCG(33, 3))
	some := func(n int) string {
		ws := make([]string, n)
		for i := range ws {
			ws[i] = signatureWords[r.IntN(len(signatureWords))]
		}
		return strings.Join(ws, " ")
	}
	var events []catalog.Event
	for i := int64(1); i <= 300; i++ {
		e := event(i, "moscow", nil)
		e.Title, e.Venue.Name, e.Description = some(1+r.IntN(3)), some(1), some(r.IntN(6))
		events = append(events, e)
	}
	w.upsert(events...)

	texts := append([]string{}, signatureWords...)
	for range 60 {
		texts = append(texts, some(2+r.IntN(2)))
	}
	for _, text := range texts {
		q, err := search.ParseQuery("q="+url.QueryEscape(text), w.vocab, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, all := q.AllWords(); !all {
			t.Fatalf("%q: not taken as all words", text)
		}
	}
	var matches, lost, others, passed int
	if err := w.pool.QueryRow(w.ctx, `
		WITH q AS (SELECT websearch_to_tsquery('russian', x) AS query, search_text_sig(to_tsvector('russian', x)) AS sig
			FROM unnest($1::text[]) x)
		SELECT count(*) FILTER (WHERE a.document @@ q.query),
			count(*) FILTER (WHERE a.document @@ q.query AND (a.text_sig & q.sig) <> q.sig),
			count(*) FILTER (WHERE NOT a.document @@ q.query),
			count(*) FILTER (WHERE NOT a.document @@ q.query AND (a.text_sig & q.sig) = q.sig)
		FROM event_accessibility a, q`, texts).Scan(&matches, &lost, &others, &passed); err != nil {
		t.Fatal(err)
	}
	if lost > 0 {
		t.Errorf("%d of %d matches fail their text's signature", lost, matches)
	}
	if matches < 1000 || others < 1000 {
		t.Fatalf("%d matches and %d others: the catalog does not test the signature", matches, others)
	}
	if passed*10 > others {
		t.Errorf("%d of %d events the text does not match pass its signature, want under a tenth", passed, others)
	}
}

// TestTextWindowReadsSignaturesFromTheIndex: the window of a text that requires all its words,
// without a code or leniently, reads the rows of the filters from an index in answer order alone
// (their codes and text signatures, migration 033), and each text it tests by the event's
// primary key; a text with an OR, or a question with a code, reads each row's text vector from
// the table as before (signed).
func TestTextWindowReadsSignaturesFromTheIndex(t *testing.T) {
	w := newWorld(t)
	var events []catalog.Event
	for i := int64(1); i <= 2000; i++ {
		e := event(i, []string{"moscow", "kazan"}[i%2], map[string]string{"step_free_entrance": "yes"})
		e.Title = fmt.Sprintf("Show %d", i)
		e.StartsAt = e.StartsAt.Add(time.Duration(i) * time.Minute)
		events = append(events, e)
	}
	w.upsert(events...)
	// With statistics, as the copies keep them: on a table Postgres takes for empty, a generic
	// plan sorts the rows of a bitmap scan rather than walk an index.
	if _, err := w.pool.Exec(w.ctx, `VACUUM (ANALYZE) event_accessibility`); err != nil {
		t.Fatal(err)
	}
	walkAlone := regexp.MustCompile(`Index Only Scan using event_accessibility_(city_|category_)?starts on event_accessibility a\b`)
	for _, c := range []struct {
		raw    string
		signed bool
	}{
		{"q=80", true},
		{"q=80&city=kazan", true},
		{"q=кто-то+80&category=concert", true},
		{"q=80&city=kazan&category=concert,theatre", true},
		{"q=80&constraints=step_free_entrance&match=lenient", true},
		{"q=80+or+show", false},
		{"q=80&constraints=step_free_entrance", false},
	} {
		q, err := search.ParseQuery(c.raw+"&from="+url.QueryEscape(time.Now().UTC().Format(time.RFC3339)), w.vocab, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		sql, args := search.WindowSQL(&q)
		plan := pgtest.GenericPlan(t, w.pool, "EXPLAIN (COSTS OFF)", sql, args, "enable_seqscan = off")
		byKey := strings.Contains(plan, "Index Scan using event_accessibility_pkey on event_accessibility t")
		if got := walkAlone.MatchString(plan) && byKey; got != c.signed {
			t.Errorf("%s: the window reads the index alone and the text by key: %v, want %v:\n%s", c.raw, got, c.signed, plan)
		}
	}
}

// TestDenseTextWindowTestsEachRowsText: a text whose window filled its page from few of the
// rows it walked (a word in every event, or in a third of them) is asked the next time through
// the window that tests each row's text (its route, route.dense), not the signatures; a text
// whose page needed many rows (a word in a tenth) keeps the signatures; each answer exact.
func TestDenseTextWindowTestsEachRowsText(t *testing.T) {
	search.ForgetRoutes(t)
	w := newWorld(t)
	start := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	var events []catalog.Event
	for i := int64(1); i <= 300; i++ {
		e := event(i, "moscow", nil)
		e.Title = "alpha"
		if i%3 == 0 {
			e.Title += " gamma"
		}
		if i%10 == 0 {
			e.Title += " beta"
		}
		e.StartsAt = start.Add(time.Duration(i) * time.Minute)
		events = append(events, e)
	}
	w.upsert(events...)
	for _, c := range []struct {
		word  string
		every int64
		dense bool
	}{{"alpha", 1, true}, {"gamma", 3, true}, {"beta", 10, false}} {
		q, err := search.ParseQuery("q="+c.word+"&from="+url.QueryEscape(start.Format(time.RFC3339)), w.vocab, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		var want []int64
		for i := c.every; len(want) < q.Limit; i += c.every {
			want = append(want, i)
		}
		conn, err := w.pool.Acquire(w.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := conn.Conn().DeallocateAll(w.ctx); err != nil { // the statements of this text's asks alone
			t.Fatal(err)
		}
		for ask := range 2 {
			page, err := search.Search(w.ctx, conn, w.vocab, &q, func(string) string { return "" })
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, s := range page.Items {
				got = append(got, s.ID)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s, ask %d: got %v, want %v", c.word, ask, got, want)
			}
		}
		var signed, rowByRow int
		if err := conn.QueryRow(w.ctx, `SELECT count(*) FILTER (WHERE statement LIKE '%row_number()%'),
			count(*) FILTER (WHERE statement LIKE '%WHERE w.document @@%')
			FROM pg_prepared_statements WHERE statement NOT LIKE '%pg_prepared_statements%'`).Scan(&signed, &rowByRow); err != nil {
			t.Fatal(err)
		}
		conn.Release()
		if signed != 1 || (rowByRow == 1) != c.dense {
			t.Errorf("%s: %d signed windows and %d testing each row's text prepared, want 1 and dense %v", c.word, signed, rowByRow, c.dense)
		}
	}
}

// TestSignedWalkComesBeforeTheWeeks: a word the window holds twice, short of denseMatches,
// whose page the walk expects within a fifth of its rows, walks first (its walk reads the
// index alone, signed) instead of reading week slices whose candidates are many (each a
// table page): the walk answers; the page is exact throughout.
func TestSignedWalkComesBeforeTheWeeks(t *testing.T) {
	search.SetTextBounds(t, search.TextBounds{Window: 10, Cap: 60, Walk: 300})
	w := newWorld(t)
	start := mondayAhead()
	type ev struct {
		id    int64
		sigma bool
	}
	var (
		evs    []ev
		events []catalog.Event
	)
	// Every 6 hours, sigma in 2 of each 10: the window holds 2 matches over 2.5 days (about 11
	// in the first week slice, 78 rows' worth) and a page of 11 is expected within 60 rows of
	// walk.
	for n := int64(1); n <= 400; n++ {
		e := event(n, "moscow", nil)
		e.StartsAt, e.Title = start.Add(time.Duration(n)*6*time.Hour-time.Hour), "Show"
		x := ev{n, n%5 == 0}
		if x.sigma {
			e.Title += " sigma"
		}
		evs, events = append(evs, x), append(events, e)
	}
	w.upsert(events...)
	checkPagesAndSteps(t, w, "q=sigma", start, evs, func(e ev) int64 { return e.id }, func(e ev) bool { return e.sigma },
		[]string{"window", "long"})
}

// TestQuestionSidesAreTheFunctions: the question's side of a signature test, as the statements
// write it out (search.TextSigSQL), equals the SQL function that makes the rows' side
// (search_text_sig), and the week keys a week read asks for (search.WeekKeys) are those
// search_text_weeks and search_text_city_weeks make for an event of the same text in the same
// week, for texts of words, numbers, hyphens, stop words alone and no word at all, at times on
// either side of a week's start, a year's end and the first week's, given in UTC and in another
// zone, in a city or none; and a slice of three weeks asks for three: a function changed by a
// migration without the statements fails here.
func TestQuestionSidesAreTheFunctions(t *testing.T) {
	ctx := t.Context()
	pool := pgtest.New(t)
	texts := append([]string{"", "и на", "!!!", "концерт ёлка 80", "кто-то Гамлет", "космос-2 xx"}, signatureWords...)
	times := []time.Time{
		time.Date(2026, 12, 31, 23, 59, 0, 0, time.UTC),
		time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2027, 1, 3, 23, 59, 59, 0, time.UTC),                 // a Sunday
		time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC),                    // the Monday after
		time.Date(2027, 1, 4, 5, 0, 0, 0, time.FixedZone("", 10*3600)), // Sunday in UTC
		time.Date(2027, 6, 15, 12, 0, 0, 0, time.FixedZone("", -7*3600)),
		time.Date(1970, 1, 4, 23, 0, 0, 0, time.UTC), // the week before the first
		time.Date(1970, 1, 5, 0, 0, 0, 0, time.UTC),
	}
	var sigs int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM unnest($1::text[]) x
		WHERE search_text_sig(to_tsvector('russian', x)) IS DISTINCT FROM `+search.TextSigSQL("x"), texts).Scan(&sigs); err != nil {
		t.Fatal(err)
	}
	if sigs > 0 {
		t.Errorf("%d of %d texts: the written-out signature differs from search_text_sig", sigs, len(texts))
	}
	keys := func(q *search.Query) []string {
		t.Helper()
		ks, err := search.WeekKeys(ctx, pool, q)
		if err != nil {
			t.Fatal(err)
		}
		return slices.Sorted(slices.Values(slices.Concat(ks...)))
	}
	for _, text := range texts {
		for _, city := range []string{"", "kazan", "nizhny-novgorod"} {
			for _, at := range times {
				until := at.Add(time.Nanosecond)
				got := keys(&search.Query{Text: text, City: city, From: at, To: &until})
				var want []string
				if err := pool.QueryRow(ctx, `SELECT coalesce(array_agg(k ORDER BY k), '{}') FROM unnest(CASE WHEN $3 = ''
						THEN search_text_weeks(to_tsvector('russian', $1), $2)
						ELSE search_text_city_weeks(to_tsvector('russian', $1), $2, $3) END) k`,
					text, at, city).Scan(&want); err != nil {
					t.Fatal(err)
				}
				if len(want) == 0 {
					want = []string{""} // no lexeme: a key no event has
				}
				if !slices.Equal(got, want) {
					t.Errorf("%q at %s in %q: the week read asks for %q, the rows' keys are %q", text, at, city, got, want)
				}
			}
		}
	}
	// Three weeks from a Monday: each lexeme's key in each of them.
	from := time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC)
	until := from.AddDate(0, 0, 21)
	got := keys(&search.Query{Text: "концерт ёлка", City: "kazan", From: from, To: &until})
	var want []string
	if err := pool.QueryRow(ctx, `SELECT array_agg(k ORDER BY k) FROM unnest(
			search_text_city_weeks(to_tsvector('russian', 'концерт ёлка'), $1, 'kazan') ||
			search_text_city_weeks(to_tsvector('russian', 'концерт ёлка'), $1 + interval '7 days', 'kazan') ||
			search_text_city_weeks(to_tsvector('russian', 'концерт ёлка'), $1 + interval '20 days', 'kazan')) k`,
		from).Scan(&want); err != nil {
		t.Fatal(err)
	}
	if len(want) != 6 || !slices.Equal(got, want) {
		t.Errorf("three weeks of two words: the week read asks for %q, want %q", got, want)
	}
}
