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
	"github.com/dostupno/dostupno/shared/search"
)

// TestProbeWords: an AND's word is left out of the text index's read when its list costs more
// than the candidates it rules out (the frequencies are those of the bench's catalog).
func TestProbeWords(t *testing.T) {
	for _, c := range []struct {
		words []string
		freq  []float64
		want  []string
	}{
		// Rare words and one in a third of the events: the common one is tested instead.
		{[]string{"гамлет", "космос", "антракт"}, []float64{0.0051, 0.0376, 0.3104}, []string{"гамлет", "космос"}},
		{[]string{"вечер", "щелкунчик", "гамлет"}, []float64{0.3492, 0.0076, 0.0051}, []string{"гамлет", "щелкунчик"}},
		// Two words each in a few percent: their candidates would be too many to test.
		{[]string{"выставка", "победа", "вступительное"}, []float64{0.0503, 0.0372, 0.3020}, nil},
		{[]string{"гамлет", "вечер"}, []float64{0.0051, 0.3492}, nil},
		// A stop word has no list; a word every event holds is never read.
		{[]string{"и", "гамлет", "щелкунчик", "шоу"}, []float64{-1, 0.0051, 0.0076, 1}, []string{"гамлет", "щелкунчик"}},
		{[]string{"и", "шоу"}, []float64{-1, 1}, nil},
		{[]string{"гамлет"}, []float64{0.0051}, nil},
	} {
		if got := search.ProbeWords(c.words, c.freq); !slices.Equal(got, c.want) {
			t.Errorf("%v %v: probe %v, want %v", c.words, c.freq, got, c.want)
		}
	}
}

// TestANDReadsItsRareWordsThroughTheIndex: once ANALYZE has counted the catalog's words (the
// question's events and fillCatalog's rows), an AND that holds a common word reads the text index and the week keys with its rare words alone
// and tests the common one on their candidates; every page is still exact, in the whole catalog
// and in a city, whichever step answers.
func TestANDReadsItsRareWordsThroughTheIndex(t *testing.T) {
	search.SetTextBounds(t, search.TextBounds{Window: 10, Cap: 30, Walk: 40})
	w := newWorld(t)
	now := time.Now().UTC()
	start := time.Date(now.Year(), now.Month()+1, 3, 6, 0, 0, 0, time.UTC)
	var evs []wordEvent
	var events []catalog.Event
	for i := int64(1); i <= 300; i++ {
		words := wordsIn([]wordIn{{"alpha", i%3 != 0}, {"gamma", i%20 == 0}, {"delta", i%20 == 0 || i%30 == 0}})
		city := []string{"moscow", "kazan"}[i%2]
		evs = append(evs, wordEvent{i, city, words})
		events = append(events, show(i, city, start.Add(time.Duration(i-1)*12*time.Hour), words))
	}
	w.upsert(events...)
	// The catalog's other rows hold alpha too, never gamma or delta: alpha is common.
	fillCatalog(t, w, "alpha вечер")
	from := url.QueryEscape(start.Format(time.RFC3339))

	probe := func(raw string) (*search.Query, string) {
		t.Helper()
		q, err := search.ParseQuery(raw+"&from="+from, w.vocab, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		p, words, err := search.WithProbe(w.ctx, w.pool, &q)
		if err != nil {
			t.Fatal(err)
		}
		return p, words
	}
	search.ForgetRoutes(t)
	if _, words := probe("q=gamma+delta"); words != "" {
		t.Errorf("gamma delta, both rare: probe %q, want none", words)
	}
	if _, words := probe("q=alpha"); words != "" {
		t.Errorf("one word: probe %q, want none", words)
	}
	for _, raw := range []string{"q=alpha+delta+gamma", "q=alpha+delta+gamma&city=kazan"} {
		q, words := probe(raw)
		if words != "gamma delta" {
			t.Fatalf("%s: probe %q, want the rare words, rarest first", raw, words)
		}
		// The reads of the text index and of the week keys test the whole text on the probe's
		// candidates (the week keys those of the probe's lexemes alone), and read the indexes
		// they read without a probe.
		sql, args := search.CappedSQL(q)
		if !strings.Contains(sql, "ts_match_vq") || !slices.Contains(args, any("gamma delta")) {
			t.Fatalf("%s: the capped read does not read the probe:\n%s", raw, sql)
		}
		checkIndexedPlan(t, w, "the probed capped read of "+raw, "event_accessibility_city_document", sql, args)
		until := start.AddDate(0, 2, 0)
		q.To = &until
		sql, args, err := search.WeekSQL(w.ctx, w.pool, q)
		if err != nil {
			t.Fatal(err)
		}
		keys, err := search.WeekKeys(w.ctx, w.pool, q)
		if err != nil {
			t.Fatal(err)
		}
		var lexemes []string
		for _, ks := range keys {
			l, _, _ := strings.Cut(ks[0], "|")
			lexemes = append(lexemes, l)
		}
		if !strings.Contains(sql, "ts_match_vq") || !slices.Equal(lexemes, []string{"delta", "gamma"}) {
			t.Fatalf("%s: the week read does not read the probe (its keys' lexemes %v):\n%s", raw, lexemes, sql)
		}
		index := "event_accessibility_text_weeks"
		if strings.Contains(raw, "city") {
			index = "event_accessibility_text_city_weeks"
		}
		checkIndexedPlan(t, w, "the probed week read of "+raw, index, sql, args)
	}

	// A search reads with the probe: the statements it prepared on its connection test the
	// whole text on the probe's candidates.
	search.ForgetRoutes(t)
	q, err := search.ParseQuery("q=alpha+delta+gamma&from="+from, w.vocab, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	searchOnOneConn(t, w, &q, func(conn *pgxpool.Conn) {
		var probed int
		if err := conn.QueryRow(w.ctx, `SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%ts_match_vq%'`).Scan(&probed); err != nil {
			t.Fatal(err)
		}
		if probed == 0 {
			t.Error("the search of alpha delta gamma prepared no statement that reads the probe")
		}
	})

	// Every page exact, through the steps the bounds reach.
	for _, city := range []string{"", "kazan"} {
		for _, text := range []string{"alpha delta gamma", "gamma alpha", "delta alpha"} {
			t.Run(fmt.Sprintf("%s/%s", text, city), func(t *testing.T) {
				search.ForgetRoutes(t)
				raw := "q=" + url.QueryEscape(text) + "&from=" + from
				if city != "" {
					raw += "&city=" + city
				}
				var want []int64
				for _, e := range evs {
					if !slices.ContainsFunc(strings.Fields(text), func(x string) bool { return !slices.Contains(e.words, x) }) &&
						(city == "" || e.city == city) {
						want = append(want, e.id)
					}
				}
				for _, limit := range []int{2, 5, 11} {
					if got := pageThrough(t, w, raw, limit, nil); !slices.Equal(got, want) {
						t.Fatalf("limit %d: got %v, want %v", limit, got, want)
					}
				}
			})
		}
	}
}
