package catalog

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dostupno/dostupno/migrations"
	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/httpjson"
	"github.com/dostupno/dostupno/shared/pgtest"
)

const sample = `{"id":123,"title":"Щелкунчик","description":"Балет","category":"theatre","city":"moscow",
"venue":{"id":45,"name":"Большой театр","address":"Театральная пл., 1","lat":55.76,"lon":37.62},
"starts_at":"2026-12-01T19:00:00+03:00","ends_at":"2026-12-01T22:00:00+03:00","timezone":"Europe/Moscow",
"age_rating":"12+","price":{"min":1500,"max":5000,"currency":"RUB"},
"accessibility":{"wheelchair_seating":"yes","sign_language":"no","elevator":"unknown"}}`

func parse(t *testing.T, s string) Event {
	t.Helper()
	var e Event
	if err := httpjson.DecodeBytes([]byte(s), &e); err != nil {
		t.Fatalf("decode: %v", err)
	}
	e.Normalize()
	return e
}

// wantField fails t unless err is nil (field "") or invalid_argument on field.
func wantField(t *testing.T, err error, field string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Fatalf("got %v, want nil", err)
		}
		return
	}
	wantInvalid(t, err, field)
}

// wantInvalid fails t unless err is invalid_argument on field.
func wantInvalid(t *testing.T, err error, field string) {
	t.Helper()
	if ae := apperr.As(err); ae.Code != apperr.InvalidArgument || ae.Field != field {
		t.Fatalf("got %v (field %q), want invalid_argument on %q", err, ae.Field, field)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name      string
		edit      func(*Event)
		wantField string
	}{
		{"OK", func(*Event) {}, ""},
		{"ErrID", func(e *Event) { e.ID = 0 }, "id"},
		{"ErrTitle", func(e *Event) { e.Title = "" }, "title"},
		{"ErrTitleLong", func(e *Event) { e.Title = strings.Repeat("я", MaxTitle+1) }, "title"},
		{"ErrTitleUTF8", func(e *Event) { e.Title = "a\xffb" }, "title"},
		{"ErrCitySlug", func(e *Event) { e.City = "Moscow; DROP TABLE events" }, "city"},
		{"ErrCategory", func(e *Event) { e.Category = "" }, "category"},
		{"ErrVenueID", func(e *Event) { e.Venue.ID = -1 }, "venue.id"},
		{"ErrLat", func(e *Event) { v := 91.0; e.Venue.Lat = &v }, "venue.lat"},
		{"ErrEnds", func(e *Event) { v := e.StartsAt.Add(-time.Hour); e.EndsAt = &v }, "ends_at"},
		{"ErrStarts", func(e *Event) { e.StartsAt = time.Time{} }, "starts_at"},
		{"ErrTimezone", func(e *Event) { e.Timezone = "Mars/Olympus" }, "timezone"},
		{"ErrTimezoneLocal", func(e *Event) { e.Timezone = "Local" }, "timezone"},
		{"OKTimezoneAgain", func(e *Event) { e.Timezone = "Asia/Vladivostok" }, ""},
		{"ErrAge", func(e *Event) { e.AgeRating = "21+" }, "age_rating"},
		{"ErrPrice", func(e *Event) { v := 1.0; e.Price.Max = &v }, "price.max"},
		{"ErrCurrency", func(e *Event) { e.Price.Currency = "rub" }, "price.currency"},
		{"ErrCode", func(e *Event) { e.Accessibility["teleport"] = Fact{Value: "yes"} }, "accessibility.teleport"},
		{"ErrAnswer", func(e *Event) { e.Accessibility["elevator"] = Fact{Value: "maybe"} }, "accessibility.elevator"},
		{"OKNotApplicable", func(e *Event) { e.Accessibility["elevator"] = Fact{Value: NotApplicable, Source: "organiser"} }, ""},
		{"ErrSource", func(e *Event) { e.Accessibility["elevator"] = Fact{Value: Yes, Source: "Organiser"} }, "accessibility.elevator.source"},
		{"OKVenueFacts", func(e *Event) { e.Venue.Accessibility = &Facts{"elevator": {Value: No, VerifiedAt: "2026-05-01"}} }, ""},
		{"ErrVenueFact", func(e *Event) { e.Venue.Accessibility = &Facts{"lift": {Value: Yes}} }, "venue.accessibility.lift"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := parse(t, sample)
			tt.edit(&e)
			wantField(t, e.Validate(), tt.wantField)
		})
	}
}

func TestValidateVenueInput(t *testing.T) {
	lat, lon := 55.76, 37.62
	for _, tt := range []struct {
		name  string
		edit  func(*VenueInput)
		field string
	}{
		{"OK", func(*VenueInput) {}, ""},
		{"ErrID", func(v *VenueInput) { v.ID = 0 }, "id"},
		{"ErrName", func(v *VenueInput) { v.Name = " " }, "name"},
		{"ErrCity", func(v *VenueInput) { v.City = "Москва" }, "city"},
		{"ErrLon", func(v *VenueInput) { v.Lon = nil }, "lat"},
		{"ErrFact", func(v *VenueInput) { v.Accessibility = &Facts{"elevator": {Value: "maybe"}} }, "accessibility.elevator"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := VenueInput{Venue: Venue{ID: 45, Name: "Дом музыки", Lat: &lat, Lon: &lon,
				Accessibility: &Facts{"elevator": {Value: Unknown}, "step_free_entrance": {Value: Yes}}}, City: "moscow"}
			tt.edit(&v)
			v.Normalize()
			err := v.Validate()
			if tt.field == "" {
				if err != nil || len(*v.Accessibility) != 1 {
					t.Fatalf("got %v with facts %v, want valid without the unknown one", err, *v.Accessibility)
				}
				return
			}
			wantInvalid(t, err, tt.field)
		})
	}
}

func TestNormalize(t *testing.T) {
	e := parse(t, sample)
	if _, ok := e.Accessibility["elevator"]; ok {
		t.Fatal("got elevator kept, want unknown dropped")
	}
	if e.StartsAt.Location() != time.UTC || e.StartsAt.Hour() != 16 {
		t.Fatalf("got %v, want 16:00 UTC", e.StartsAt)
	}
}

func TestUpsertEventsLastWriterWins(t *testing.T) {
	t.Parallel()
	ctx, pool, vocab := freshCatalog(t)
	e := parse(t, sample)
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	changed, err := UpsertEvents(ctx, pool, vocab, 5, at, []Event{e, e})
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != 1 || changed[0] != 123 {
		t.Fatalf("got changed %v, want [123]", changed)
	}
	older := e
	older.Title = "Old"
	if changed, err = UpsertEvents(ctx, pool, vocab, 4, at, []Event{older}); err != nil || len(changed) != 0 {
		t.Fatalf("got %v, %v for an older version, want nothing changed", changed, err)
	}
	newer := e
	newer.Accessibility = Answers(map[string]string{"elevator": "yes"})
	if changed, err = UpsertEvents(ctx, pool, vocab, 6, at, []Event{newer}); err != nil || len(changed) != 1 {
		t.Fatalf("got %v, %v for a newer version, want it changed", changed, err)
	}
	var title string
	var ids []int16
	var sheet map[string]string
	if err := pool.QueryRow(ctx, `SELECT e.title, a.constraint_ids, a.sheet FROM events e JOIN event_accessibility a ON a.event_id = e.id WHERE e.id = 123`).Scan(&title, &ids, &sheet); err != nil {
		t.Fatal(err)
	}
	if title != "Щелкунчик" || len(ids) != 1 || ids[0] != 2 || len(sheet) != 1 || sheet["elevator"] != "yes" {
		t.Fatalf("got %q %v %v, want the newest title and the sheet replaced whole", title, ids, sheet)
	}
	// Events and venues carry no foreign keys (migration 010): the upsert itself must write
	// what they refer to.
	other := e
	other.ID, other.City, other.Category, other.Venue.ID = 124, "tver", "circus", 46
	if _, err := UpsertEvents(ctx, pool, vocab, 7, at, []Event{other}); err != nil {
		t.Fatal(err)
	}
	var dangling int
	if err := pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM cities c WHERE c.slug = e.city)
			OR NOT EXISTS (SELECT 1 FROM categories g WHERE g.slug = e.category)
			OR NOT EXISTS (SELECT 1 FROM venues v WHERE v.id = e.venue_id)) +
		(SELECT count(*) FROM venues v WHERE NOT EXISTS (SELECT 1 FROM cities c WHERE c.slug = v.city))`).Scan(&dangling); err != nil {
		t.Fatal(err)
	}
	if dangling != 0 {
		t.Fatalf("got %d rows referring to missing cities, categories or venues, want 0", dangling)
	}
	places, err := Places(ctx, pool, "cities")
	names := map[string]string{}
	for _, p := range places {
		names[p.Slug] = p.Name
	}
	if err != nil || len(places) != 2 || names["moscow"] != "Москва" || names["tver"] != "tver" {
		t.Fatalf("got %v, %v; want Москва and tver", places, err)
	}
}

func TestLoadVocabulary(t *testing.T) {
	t.Parallel()
	v, err := LoadVocabulary(context.Background(), pgtest.New(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Constraints) != 18 || len(v.Profiles) != 5 {
		t.Fatalf("got %d constraints and %d profiles, want 18 and 5", len(v.Constraints), len(v.Profiles))
	}
	p, ok := v.Profile("wheelchair")
	if !ok || p.MGN != "К" || len(p.Constraints) == 0 {
		t.Fatalf("got %+v, want the wheelchair profile with constraints", p)
	}
	if ids := v.IDs([]string{"elevator", "step_free_entrance", "elevator", "nope"}); len(ids) != 2 || ids[0] != 1 || ids[1] != 2 {
		t.Fatalf("got %v, want [1 2]", ids)
	}
}

// Migration 011 rebuilds stored text vectors with the expression UpsertEvents uses; a copy
// migrated from old rows and a copy replayed from the start must hold the same vectors.
func TestTextVectorMigrationMatchesUpsert(t *testing.T) {
	t.Parallel()
	ctx, pool, vocab := freshCatalog(t)
	e := parse(t, sample)
	e.Description = "Running concerts for the hearing impaired — концерты в больших залах"
	if _, err := UpsertEvents(ctx, pool, vocab, 1, time.Now(), []Event{e}); err != nil {
		t.Fatal(err)
	}
	var want string
	if err := pool.QueryRow(ctx, `SELECT document::text FROM event_accessibility WHERE event_id = 123`).Scan(&want); err != nil {
		t.Fatal(err)
	}
	all, err := migrations.All()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE event_accessibility SET document = to_tsvector('simple', 'stale')`); err != nil {
		t.Fatal(err)
	}
	var rebuild migrations.Migration
	for _, m := range all {
		if m.Version == 11 {
			rebuild = m
		}
	}
	if _, err := pool.Exec(ctx, rebuild.SQL); err != nil {
		t.Fatalf("migration %03d_%s: %v", rebuild.Version, rebuild.Name, err)
	}
	var got string
	if err := pool.QueryRow(ctx, `SELECT document::text FROM event_accessibility WHERE event_id = 123`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != want || !strings.Contains(got, "'концерт'") || !strings.Contains(got, "'hear'") {
		t.Fatalf("got %s after the migration, want %s (Russian and English stems)", got, want)
	}
}

// Deleting an event (by hand: no command does) removes its accessibility row, as the foreign
// key's cascade did before migration 013.
func TestDeletedEventLeavesNoAccessibilityRow(t *testing.T) {
	t.Parallel()
	ctx, pool, vocab := freshCatalog(t)
	e := parse(t, sample)
	other := e
	other.ID = 124
	if _, err := UpsertEvents(ctx, pool, vocab, 1, time.Now(), []Event{e, other}); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `DELETE FROM events WHERE id = 123`); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	rows, err := pool.Query(ctx, `SELECT event_id FROM event_accessibility ORDER BY event_id`)
	if err != nil {
		t.Fatal(err)
	}
	if ids, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || ids[0] != 124 {
		t.Fatalf("got accessibility rows %v after deleting event 123, want [124]", ids)
	}
}

// freshCatalog is a migrated database of its own and its vocabulary.
func freshCatalog(t *testing.T) (context.Context, *pgxpool.Pool, *Vocabulary) {
	t.Helper()
	pool := pgtest.New(t)
	ctx := context.Background()
	vocab, err := LoadVocabulary(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	return ctx, pool, vocab
}
