package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/eventimport"
	"github.com/dostupno/dostupno/shared/catalog"
)

// An A11yJSON file updates the venues it names by their ids (merged with what else is known
// of them), which every event there then inherits; other places are reported and skipped, or
// created with --create.
func TestImportVenues(t *testing.T) {
	t.Parallel()
	cfg, pool := primaryCopy(t)
	ctx := context.Background()
	events := strings.Join([]string{
		`{"id":1,"title":"Органный вечер","category":"concert","city":"moscow","venue":{"id":45,"name":"Дом музыки",` +
			`"accessibility":{"quiet_space":{"value":"yes","source":"venue_survey"},"relaxed_performance":{"value":"yes","source":"venue_survey"},` +
			`"hearing_loop":"no"}},"starts_at":"2030-12-01T19:00:00+03:00","timezone":"Europe/Moscow","accessibility":{"elevator":"yes"}}`,
		`{"id":2,"title":"Рок","category":"concert","city":"moscow","venue":{"id":46,"name":"Клуб"},"starts_at":"2030-12-02T19:00:00+03:00","timezone":"Europe/Moscow"}`,
		`{"id":3,"title":"Лекция","category":"lecture","city":"moscow","venue":{"id":47,"name":"Библиотека"},"starts_at":"2030-12-03T19:00:00+03:00","timezone":"Europe/Moscow"}`,
	}, "\n")
	if err := importFrom(ctx, cfg, strings.NewReader(events), -1, true, eventimport.DefaultBatch, eventimport.DefaultInFlight); err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join("internal", "a11yjson", "testdata", "places.geojson"))
	if err != nil {
		t.Fatal(err)
	}
	venueFacts := func(id int64) catalog.Facts {
		t.Helper()
		var fs catalog.Facts
		if err := pool.QueryRow(ctx, `SELECT coalesce((SELECT sheet FROM venue_accessibility WHERE venue_id = $1), '{}')`, id).Scan(&fs); err != nil {
			t.Fatal(err)
		}
		return fs
	}
	codes := func(id int64, column string) string {
		t.Helper()
		var s string
		if err := pool.QueryRow(ctx, `SELECT coalesce(string_agg(c.code, ',' ORDER BY c.position), '') FROM event_accessibility a
			JOIN accessibility_constraints c ON c.id = ANY (a.`+column+`) WHERE a.event_id = $1`, id).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}

	var out bytes.Buffer
	if err := importVenues(ctx, cfg, doc, venueImport{VerifiedAt: "2026-05-01"}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	report := out.String()
	for _, want := range []string{
		`feature 1 (originalId "45"): updated venue 45 "Дом музыки": yes [step_free_entrance`,
		`feature 2 (originalId "46"): updated venue 46 "Клуб": no [step_free_entrance hearing_loop]; not_applicable [elevator wheelchair_seating`,
		`feature 3 (originalId "osm:node/123456"): not one of our venue ids (a positive integer): skipped`,
		`feature 4 (originalId "9001"): venue 9001 is not in the catalog: skipped (--create adds it)`,
		`feature 5 (originalId "47"): updated venue 47 "Библиотека": no fact stated`,
		"import-venues: 6 features; venues updated 3, created 0; features skipped 3, refused 0; applied to primary at sequence",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("got report\n%s\nwant a line with %q", report, want)
		}
	}
	fs := venueFacts(45)
	for code, want := range map[string]catalog.Fact{
		"hearing_loop":        {Value: "yes", Source: "import_a11yjson", VerifiedAt: "2026-05-01"}, // the document wins over the old answer
		"quiet_space":         {Value: "no", Source: "import_a11yjson", VerifiedAt: "2026-05-01"},
		"relaxed_performance": {Value: "yes", Source: "venue_survey"}, // the document does not say: kept
		"elevator":            {Value: "no", Source: "import_a11yjson", VerifiedAt: "2026-05-01"},
	} {
		if fs[code] != want {
			t.Errorf("venue 45 %s: got %+v, want %+v", code, fs[code], want)
		}
	}
	// Event 1 inherits the venue's facts but keeps its own answer (elevator yes).
	if got := codes(1, "constraint_ids"); got != "step_free_entrance,elevator,wheelchair_seating,accessible_toilet,accessible_parking,companion_seat,braille,guide_dog_allowed,sign_language,subtitles,hearing_loop,relaxed_performance,photosensitivity_safe" {
		t.Errorf("event 1: got yes %s", got)
	}
	if got := codes(2, "excluded_ids"); !strings.Contains(got, "accessible_toilet") || !strings.Contains(got, "hearing_loop") {
		t.Errorf("event 2: got excluded %s, want the club's not_applicable and no answers", got)
	}

	// Again with --create: the numeric id the catalog lacks is created in the given city; a
	// document that no longer says something drops what its previous import said.
	out.Reset()
	smaller := bytes.Replace(doc, []byte(`"hasInductionLoop": true,`), nil, 1)
	if err := importVenues(ctx, cfg, smaller, venueImport{Create: true, City: "moscow"}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), `feature 4 (originalId "9001"): created venue 9001 "Новая сцена"`) {
		t.Errorf("got report\n%s\nwant venue 9001 created", out.String())
	}
	var name, city, address string
	if err := pool.QueryRow(ctx, `SELECT name, city, address FROM venues WHERE id = 9001`).Scan(&name, &city, &address); err != nil || name != "Новая сцена" || city != "moscow" || address != "ул. Тверская, 7" {
		t.Errorf("venue 9001: got %q %q %q, %v; want Новая сцена in moscow at ул. Тверская, 7", name, city, address, err)
	}
	if f, ok := venueFacts(45)["hearing_loop"]; ok {
		t.Errorf("venue 45 hearing_loop: got %+v, want the previous import's answer gone with the document's", f)
	}
	if f := venueFacts(9001)["tactile_exhibits"]; f.Value != "yes" || f.VerifiedAt != "" {
		t.Errorf("venue 9001 tactile_exhibits: got %+v, want yes without a verification date", f)
	}
}
