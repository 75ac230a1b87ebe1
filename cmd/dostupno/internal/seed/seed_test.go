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
	events, err := Generate(Options{Events: n, Seed: 1, Start: start, FirstID: 1000})
	if err != nil {
		t.Fatal(err)
	}
	yes := map[string]int{}
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
		for _, c := range e.YesCodes() {
			yes[c]++
		}
		cities[e.City], categories[e.Category] = true, true
	}
	if len(cities) < 10 || len(categories) < 8 {
		t.Fatalf("got %d cities and %d categories, want at least 10 and 8", len(cities), len(categories))
	}
	for _, tt := range []struct {
		code     string
		min, max float64
	}{
		{"step_free_entrance", 0.30, 0.55},
		{"wheelchair_seating", 0.15, 0.40},
		{"sign_language", 0.02, 0.08},
		{"hearing_loop", 0.01, 0.06},
		{"braille", 0.01, 0.04},
	} {
		share := float64(yes[tt.code]) / n
		if share < tt.min || share > tt.max {
			t.Errorf("got %s yes for %.3f of events, want %.2f..%.2f", tt.code, share, tt.min, tt.max)
		}
	}
	for _, c := range catalog.Codes {
		if yes[c] == 0 {
			t.Errorf("got no event with %s, want every code present", c)
		}
	}
}
