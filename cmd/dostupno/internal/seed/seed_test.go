package seed

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/dostupno/dostupno/shared/catalog"
)

var start = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func TestGenerateIsDeterministic(t *testing.T) {
	a, err := Generate(Options{Events: 500, Seed: 7, Start: start})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Generate(Options{Events: 500, Seed: 7, Start: start})
	c, _ := Generate(Options{Events: 500, Seed: 8, Start: start})
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	jc, _ := json.Marshal(c)
	if string(ja) != string(jb) {
		t.Fatal("got different catalogs for the same seed, want the same")
	}
	if string(ja) == string(jc) {
		t.Fatal("got the same catalog for different seeds, want different")
	}
}

func TestGenerateIsValidAndPlausible(t *testing.T) {
	const n = 20000
	o := Options{Events: n, Seed: 1, Start: start, FirstID: 1000}
	events, err := Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	venueFacts := g.VenueFacts()
	yes, notApplicable := map[string]int{}, map[string]int{}
	stated, withProvenance, carried := 0, 0, map[int64]int{}
	cities, categories := map[string]bool{}, map[string]bool{}
	for i, e := range events {
		e.Normalize()
		if err := e.Validate(); err != nil {
			t.Fatalf("event %d: got %v, want valid", e.ID, err)
		}
		if e.ID != int64(1000+i) {
			t.Fatalf("got id %d, want %d", e.ID, 1000+i)
		}
		if e.StartsAt.Before(start.Add(-12*time.Hour)) || e.StartsAt.After(start.AddDate(0, 0, 366)) {
			t.Fatalf("got starts_at %v, want within a year from %v", e.StartsAt, start)
		}
		if e.Venue.Accessibility != nil {
			carried[e.Venue.ID]++
			if len(*e.Venue.Accessibility) != len(venueFacts[e.Venue.ID]) {
				t.Fatalf("event %d carries %d facts of venue %d, want its %d", e.ID, len(*e.Venue.Accessibility), e.Venue.ID, len(venueFacts[e.Venue.ID]))
			}
		}
		y, x := catalog.EffectiveSets(e.Accessibility, venueFacts[e.Venue.ID])
		for _, c := range y {
			yes[c]++
		}
		for _, c := range x {
			if f, _ := catalog.Effective(c, e.Accessibility, venueFacts[e.Venue.ID]); f.Value == catalog.NotApplicable {
				notApplicable[c]++
			}
		}
		for _, f := range e.Accessibility {
			stated++
			if f.Source != "" {
				withProvenance++
			}
		}
		cities[e.City], categories[e.Category] = true, true
	}
	for id, n := range carried {
		if n != 1 {
			t.Fatalf("venue %d: got its facts carried by %d events, want the first one", id, n)
		}
	}
	if len(carried) < 500 {
		t.Fatalf("got %d venues stating facts, want about a thousand", len(carried))
	}
	if share := float64(withProvenance) / float64(stated); share < 0.3 || share > 0.7 {
		t.Errorf("got provenance on %.2f of the events' own facts, want about half", share)
	}
	if len(cities) < 10 || len(categories) < 8 {
		t.Fatalf("got %d cities and %d categories, want at least 10 and 8", len(cities), len(categories))
	}
	// The share of the events that answer each code so.
	counts := map[string]map[string]int{"yes": yes, "not_applicable": notApplicable}
	for _, tt := range []struct {
		answer, code string
		min, max     float64
	}{
		{"not_applicable", "accessible_parking", 0.08, 0.30},
		{"not_applicable", "elevator", 0.06, 0.30},
		{"not_applicable", "tactile_exhibits", 0.10, 0.35},
		{"not_applicable", "accessible_toilet", 0.001, 0.05},
		{"yes", "step_free_entrance", 0.30, 0.55},
		{"yes", "wheelchair_seating", 0.15, 0.40},
		{"yes", "sign_language", 0.02, 0.08},
		{"yes", "hearing_loop", 0.01, 0.06},
		{"yes", "braille", 0.01, 0.04},
	} {
		if share := float64(counts[tt.answer][tt.code]) / n; share < tt.min || share > tt.max {
			t.Errorf("got %s %s for %.3f of events, want %.2f..%.2f", tt.code, tt.answer, share, tt.min, tt.max)
		}
	}
	for _, c := range catalog.Codes {
		if yes[c] == 0 {
			t.Errorf("got no event with %s, want every code present", c)
		}
	}
}
