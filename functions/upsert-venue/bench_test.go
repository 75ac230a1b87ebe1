package function

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dostupno/dostupno/shared/apitest"
	"github.com/dostupno/dostupno/shared/catalog"
)

// BenchmarkVenueChange: a venue with 10,000 future events (among 10,000 more elsewhere) has
// its step-free entrance flipped through HTTP (PUT /function/upsert-venue); each iteration
// measures the writer's answer and then how long after it the cached answers of
// search-events (a strict and a lenient question about step-free entrances in the city) and
// get-event (one of the venue's events) show the new state, asked through their caches:
//
//	go test -run '^$' -bench BenchmarkVenueChange -benchtime 10x ./functions/upsert-venue
func BenchmarkVenueChange(b *testing.B) {
	d := newDeployment(b)
	ctx := context.Background()
	w, err := d.Deps.Writer(ctx)
	if err != nil {
		b.Fatal(err)
	}
	const atVenue, elsewhere = 10000, 10000
	start := time.Now().UTC().Add(24 * time.Hour).Truncate(time.Hour)
	events := make([]catalog.Event, 0, atVenue+elsewhere)
	for i := range atVenue + elsewhere {
		e := catalog.Event{ID: int64(i + 1), Title: fmt.Sprintf("Спектакль %d", i+1), Category: "theatre", City: "moscow",
			Venue: catalog.Venue{ID: 45, Name: "Большой театр"}, StartsAt: start.Add(time.Duration(i) * 30 * time.Minute),
			Timezone: "Europe/Moscow", Accessibility: catalog.Facts{"sign_language": {Value: catalog.Yes, Source: "organiser"}}}
		if i%2 == 1 { // every other one elsewhere, so both kinds run through the year
			e.Venue = catalog.Venue{ID: 46 + int64(i%50), Name: "Другая сцена"}
		}
		events = append(events, e)
	}
	if _, err := catalog.SubmitEvents(ctx, w, time.Now(), events); err != nil {
		b.Fatal(err)
	}
	if _, err := d.Pool.Exec(ctx, `VACUUM ANALYZE event_accessibility`); err != nil {
		b.Fatal(err)
	}
	strict := "constraints=step_free_entrance&city=moscow"
	lenient := "constraints=step_free_entrance,sign_language&city=moscow&match=lenient"
	venueIDs := func(query string) []int64 {
		ids, _, _ := d.ids(b, query)
		return ids
	}
	// stepFree reports whether the cached answers show the venue's entrance as step-free.
	stepFree := func() (strictShows, lenientShows bool, page string) {
		s, l := venueIDs(strict), venueIDs(lenient)
		_, v, _, _ := d.sheet(b, 1, "step_free_entrance")
		return slices.Contains(s, 1), slices.Contains(l, 1), v
	}
	var writeTotal, visibleTotal time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		want := []string{catalog.No, catalog.Yes}[i%2]
		stepFree() // every answer is cached before the change
		b.StartTimer()
		t0 := time.Now()
		status, out := d.put(b, "application/json", venue(45, "Большой театр", fmt.Sprintf(`"step_free_entrance":{"value":%q,"source":"venue_survey"}`, want)))
		answered := time.Since(t0)
		if status != 200 {
			b.Fatalf("got %d %v, want 200", status, out)
		}
		apitest.Eventually(b, 10*time.Second, "the cached answers", func() (bool, string) {
			s, l, page := stepFree()
			ok := s == (want == catalog.Yes) && l == (want == catalog.Yes) && page == want
			return ok, fmt.Sprintf("strict %v lenient %v page %s, want %s", s, l, page, want)
		})
		visible := time.Since(t0) - answered
		b.StopTimer()
		writeTotal += answered
		visibleTotal += visible
		b.Logf("change %d (%s): the writer answered in %v; the cached answers showed it %v later", i+1, want, answered.Round(time.Millisecond), visible.Round(100*time.Microsecond))
	}
	b.ReportMetric(float64(writeTotal.Milliseconds())/float64(b.N), "write-ms")
	b.ReportMetric(float64(visibleTotal.Microseconds())/1000/float64(b.N), "visible-after-answer-ms")
}
