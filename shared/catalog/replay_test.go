package catalog_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dostupno/dostupno/migrations"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/pgdb"
	"github.com/dostupno/dostupno/shared/pgtest"
	"github.com/dostupno/dostupno/shared/writelog"
	"github.com/dostupno/dostupno/shared/writelog/writelogtest"
)

// oldCommand is an event.upsert payload as the log holds it from before four-valued facts:
// three values, no provenance, no venue facts.
type oldEvent struct {
	ID            int64             `json:"id"`
	Title         string            `json:"title"`
	Description   string            `json:"description,omitempty"`
	Category      string            `json:"category"`
	City          string            `json:"city"`
	CityName      string            `json:"city_name,omitempty"`
	Venue         oldVenue          `json:"venue"`
	StartsAt      time.Time         `json:"starts_at"`
	Timezone      string            `json:"timezone"`
	Accessibility map[string]string `json:"accessibility,omitempty"`
}

type oldVenue struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

func oldEv(id, venue int64, venueName string, acc map[string]string) oldEvent {
	return oldEvent{ID: id, Title: fmt.Sprintf("Концерт %d", id), Category: "concert", City: "moscow",
		Venue: oldVenue{ID: venue, Name: venueName}, StartsAt: time.Date(2027, 2, 1, 17, 0, 0, 0, time.UTC).Add(time.Duration(id) * time.Hour),
		Timezone: "Europe/Moscow", Accessibility: acc}
}

// oldCommands are commands of every shape the old writer met: repeated ids, an older
// answer replaced, a venue renamed through an event, a new city.
var oldCommands = [][]oldEvent{
	{oldEv(1, 10, "Зал", map[string]string{"elevator": "yes", "braille": "no"}), oldEv(2, 10, "Зал", nil),
		oldEv(3, 11, "Клуб", map[string]string{"sign_language": "yes", "subtitles": "no", "hearing_loop": "no"})},
	{oldEv(1, 10, "Зал", map[string]string{"step_free_entrance": "no"}), oldEv(4, 11, "Клуб", map[string]string{"quiet_space": "yes"}),
		oldEv(1, 10, "Зал", map[string]string{"step_free_entrance": "yes", "elevator": "no"})},
	{oldEv(5, 10, "Большой зал", map[string]string{"braille": "yes"})},
	{func() oldEvent {
		e := oldEv(6, 12, "Арена", nil)
		e.City, e.CityName = "tver", "Тверь"
		return e
	}()},
}

// Commands already in the log (three values, no provenance) apply as they always did: a copy
// whose rows the old writer wrote, then migrated, holds exactly the rows of a new copy that
// replays the same commands.
func TestOldCommandsReplayToTheSameRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	old := oldCopy(t)
	for i, c := range oldCommands {
		if err := pgx.BeginFunc(ctx, old, func(tx pgx.Tx) error { return oldUpsert(ctx, tx, int64(i+1), at, c) }); err != nil {
			t.Fatalf("old writer, command %d: %v", i+1, err)
		}
	}
	if _, err := migrations.Apply(ctx, old); err != nil {
		t.Fatal(err)
	}

	replayed := pgtest.New(t)
	vocab, err := catalog.LoadVocabulary(ctx, replayed)
	if err != nil {
		t.Fatal(err)
	}
	apply := catalog.EventUpsert(vocab)
	for i, c := range oldCommands {
		payload, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		err = pgx.BeginFunc(ctx, replayed, func(tx pgx.Tx) error {
			o, err := apply(ctx, tx, uint64(i+1), writelog.Command{Kind: catalog.KindEventUpsert, At: at, Payload: payload})
			if err == nil && o.Status != writelog.Applied {
				err = fmt.Errorf("got %s: %s", o.Status, o.Message)
			}
			return err
		})
		if err != nil {
			t.Fatalf("replay, command %d: %v", i+1, err)
		}
	}
	writelogtest.Equal(t, old, replayed)
	if n := pgtest.Count(t, old, `SELECT count(*) FROM event_accessibility WHERE excluded_ids <> '{}'`); n != 2 {
		t.Errorf("got %d events with no answers after the migration, want 2 (events 1 and 3)", n)
	}
}

// oldCopy is a database migrated to the version before four-valued facts (017), as the
// owner role migrates it in a deployment; the connection is the owner's.
func oldCopy(t *testing.T) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	url := pgtest.NewEmptyURL(t)
	conn, err := pgx.Connect(ctx, pgtest.RoleURL(url, migrations.OwnerRole))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	if _, err := migrations.ApplyTo(ctx, conn, 17); err != nil {
		t.Fatal(err)
	}
	return conn
}

// oldUpsert writes a command's events as catalog.UpsertEvents did before migration 018 (a
// frozen copy of its statements): places, then the events and their three-valued index rows.
func oldUpsert(ctx context.Context, db pgdb.DBTX, version int64, at time.Time, events []oldEvent) error {
	cities, venues, venueCity := map[string]string{}, map[int64]oldVenue{}, map[int64]string{}
	last := map[int64]oldEvent{}
	for _, e := range events {
		if _, ok := cities[e.City]; !ok || e.CityName != "" {
			cities[e.City] = catalog.DisplayName(e.City, e.CityName)
		}
		venues[e.Venue.ID], venueCity[e.Venue.ID] = e.Venue, e.City
		last[e.ID] = e
	}
	for slug, name := range cities {
		if _, err := db.Exec(ctx, `INSERT INTO cities (slug, name) VALUES ($1, $2) ON CONFLICT (slug) DO NOTHING`, slug, name); err != nil {
			return err
		}
	}
	if _, err := db.Exec(ctx, `INSERT INTO categories (slug, name) VALUES ('concert', 'Концерты') ON CONFLICT (slug) DO NOTHING`); err != nil {
		return err
	}
	for id, v := range venues {
		if _, err := db.Exec(ctx, `INSERT INTO venues (id, name, address, city) VALUES ($1, $2, '', $3)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, address = excluded.address, lat = excluded.lat, lon = excluded.lon, city = excluded.city
			WHERE (venues.name, venues.address, venues.lat, venues.lon, venues.city)
				IS DISTINCT FROM (excluded.name, excluded.address, excluded.lat, excluded.lon, excluded.city)`, id, v.Name, venueCity[id]); err != nil {
			return err
		}
	}
	for _, id := range slices.Sorted(maps.Keys(last)) {
		e := last[id]
		sheet := e.Accessibility
		if sheet == nil {
			sheet = map[string]string{}
		}
		var yes []string
		for _, c := range catalog.Codes {
			if sheet[c] == "yes" {
				yes = append(yes, c)
			}
		}
		if _, err := db.Exec(ctx, `
			WITH written AS (
				INSERT INTO events AS e (id, title, description, category, city, venue_id, starts_at, timezone, age_rating, version, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '', $9, $10)
				ON CONFLICT (id) DO UPDATE SET title = excluded.title, description = excluded.description, category = excluded.category,
					city = excluded.city, venue_id = excluded.venue_id, starts_at = excluded.starts_at, timezone = excluded.timezone,
					version = excluded.version, updated_at = excluded.updated_at
				WHERE e.version < excluded.version
				RETURNING e.id)
			INSERT INTO event_accessibility AS a (event_id, sheet, constraint_ids, starts_at, city, category, document)
			SELECT w.id, $11::jsonb, (SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM accessibility_constraints WHERE code = ANY($12)),
				$7, $5, $4,
				setweight(to_tsvector('russian', $2), 'A') || setweight(to_tsvector('russian', $13::text), 'B') ||
				setweight(to_tsvector('russian', left($3, 4000)), 'C')
			FROM written w
			ON CONFLICT (event_id) DO UPDATE SET sheet = excluded.sheet, constraint_ids = excluded.constraint_ids,
				starts_at = excluded.starts_at, city = excluded.city, category = excluded.category, document = excluded.document`,
			e.ID, e.Title, e.Description, e.Category, e.City, e.Venue.ID, e.StartsAt, e.Timezone, version, at.UTC(),
			sheet, yes, e.Venue.Name); err != nil {
			return err
		}
	}
	return nil
}
