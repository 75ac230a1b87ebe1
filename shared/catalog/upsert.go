package catalog

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dostupno/dostupno/shared/jsoncodec"
	"github.com/dostupno/dostupno/shared/pgdb"
)

// knownNames are display names for the slugs a catalog is most likely to bring; any other slug
// takes the name sent with it (city_name, category_name) or the slug itself.
var knownNames = map[string]string{
	"moscow": "Москва", "saint-petersburg": "Санкт-Петербург", "kazan": "Казань",
	"novosibirsk": "Новосибирск", "yekaterinburg": "Екатеринбург", "nizhny-novgorod": "Нижний Новгород",
	"samara": "Самара", "krasnodar": "Краснодар", "vladivostok": "Владивосток", "perm": "Пермь",
	"concert": "Концерты", "theatre": "Театр", "exhibition": "Выставки", "show": "Шоу",
	"cinema": "Кино", "lecture": "Лекции", "festival": "Фестивали", "kids": "Детям",
	"opera": "Опера", "ballet": "Балет", "standup": "Стендап", "excursion": "Экскурсии",
}

// DisplayName is the name stored for a new slug.
func DisplayName(slug, given string) string {
	if given != "" {
		return given
	}
	if n, ok := knownNames[slug]; ok {
		return n
	}
	return slug
}

// UpsertEvents writes events as version (the write-log sequence of their command) at time at,
// last writer wins: an event already stored with a higher version is left alone. Each event's
// accessibility sheet is replaced whole. The text vector uses the 'russian' configuration
// alone: it stems Cyrillic words with russian_stem and Latin ones with english_stem, so it
// serves Russian and English queries at half the cost of a second, 'english' vector (which
// added only unstemmed Cyrillic words). Migration 011 holds the same expression. Within one
// call a repeated id keeps its last occurrence. It returns the ids it changed. Run it inside
// the applier's transaction.
func UpsertEvents(ctx context.Context, db pgdb.DBTX, vocab *Vocabulary, version int64, at time.Time, events []Event) ([]int64, error) {
	if len(events) == 0 {
		return nil, nil
	}
	var p PlaceSet
	p.Add(events)
	rows := make([]Versioned, len(events))
	for i, e := range events {
		rows[i] = Versioned{Version: version, At: at, Event: e}
	}
	batch := &pgx.Batch{}
	p.queue(batch)
	if err := queueRows(batch, vocab, rows); err != nil {
		return nil, err
	}
	return runUpsert(ctx, db, batch, 3)
}

// Versioned is an event as one command writes it: Version is the command's sequence, At its
// time.
type Versioned struct {
	Version int64
	At      time.Time
	Event   Event
}

// UpsertRows writes the events' own rows (events and event_accessibility), each with its own
// version, last writer wins, and returns the ids it changed. Of a repeated id only the last
// occurrence is written, so rows must be in stream order. It leaves cities, categories and
// venues to PlaceSet: the write-log applier writes those in its own transaction while other
// connections write a run's rows in parts.
func UpsertRows(ctx context.Context, db pgdb.DBTX, vocab *Vocabulary, rows []Versioned) ([]int64, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	batch := &pgx.Batch{}
	if err := queueRows(batch, vocab, rows); err != nil {
		return nil, err
	}
	return runUpsert(ctx, db, batch, 0)
}

// PlaceSet is the cities, categories and venues that commands name, gathered command by
// command in stream order and written as that order would leave them: a city or category
// keeps the name it was first stored with (a later command does not rename it), a venue takes
// its last command's values. Within one command, the last event that names a city wins, as it
// always has.
type PlaceSet struct {
	cities, categories map[string]string
	venues             map[int64]Venue
	venueCity          map[int64]string
}

// Add gathers the places of one command's events.
func (p *PlaceSet) Add(events []Event) {
	if p.cities == nil {
		p.cities, p.categories = map[string]string{}, map[string]string{}
		p.venues, p.venueCity = map[int64]Venue{}, map[int64]string{}
	}
	cities, categories := map[string]string{}, map[string]string{}
	for _, e := range events {
		if _, ok := cities[e.City]; !ok || e.CityName != "" {
			cities[e.City] = DisplayName(e.City, e.CityName)
		}
		if _, ok := categories[e.Category]; !ok || e.CategoryName != "" {
			categories[e.Category] = DisplayName(e.Category, e.CategoryName)
		}
		p.venues[e.Venue.ID] = e.Venue
		p.venueCity[e.Venue.ID] = e.City
	}
	for k, v := range cities {
		if _, ok := p.cities[k]; !ok {
			p.cities[k] = v
		}
	}
	for k, v := range categories {
		if _, ok := p.categories[k]; !ok {
			p.categories[k] = v
		}
	}
}

// Write stores the places gathered.
func (p *PlaceSet) Write(ctx context.Context, db pgdb.DBTX) error {
	if len(p.venues) == 0 {
		return nil
	}
	batch := &pgx.Batch{}
	p.queue(batch)
	_, err := runUpsert(ctx, db, batch, 3)
	return err
}

func (p *PlaceSet) queue(batch *pgx.Batch) {
	cs, cn := keysVals(p.cities)
	batch.Queue(`INSERT INTO cities (slug, name) SELECT * FROM unnest($1::text[], $2::text[])
		ON CONFLICT (slug) DO NOTHING`, cs, cn)
	gs, gn := keysVals(p.categories)
	batch.Queue(`INSERT INTO categories (slug, name) SELECT * FROM unnest($1::text[], $2::text[])
		ON CONFLICT (slug) DO NOTHING`, gs, gn)
	var (
		vids           []int64
		vnames, vaddrs []string
		vlats, vlons   []*float64
		vcities        []string
	)
	for _, id := range slices.Sorted(maps.Keys(p.venues)) {
		v := p.venues[id]
		vids, vnames, vaddrs = append(vids, id), append(vnames, v.Name), append(vaddrs, v.Address)
		vlats, vlons, vcities = append(vlats, v.Lat), append(vlons, v.Lon), append(vcities, p.venueCity[id])
	}
	batch.Queue(`INSERT INTO venues (id, name, address, lat, lon, city)
		SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::float8[], $5::float8[], $6::text[])
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, address = excluded.address,
			lat = excluded.lat, lon = excluded.lon, city = excluded.city
		WHERE (venues.name, venues.address, venues.lat, venues.lon, venues.city)
			IS DISTINCT FROM (excluded.name, excluded.address, excluded.lat, excluded.lon, excluded.city)`,
		vids, vnames, vaddrs, vlats, vlons, vcities)
}

// queueRows queues the statement that writes the rows' events and their accessibility index.
func queueRows(batch *pgx.Batch, vocab *Vocabulary, rows []Versioned) error {
	last := make(map[int64]int, len(rows))
	for i, r := range rows {
		last[r.Event.ID] = i
	}
	var (
		n            = len(last)
		ids          = make([]int64, 0, n)
		titles       = make([]string, 0, n)
		descs        = make([]string, 0, n)
		cats         = make([]string, 0, n)
		citys        = make([]string, 0, n)
		venueIDs     = make([]int64, 0, n)
		starts       = make([]time.Time, 0, n)
		ends         = make([]*time.Time, 0, n)
		tzs          = make([]string, 0, n)
		ages         = make([]string, 0, n)
		pmins, pmaxs = make([]*float64, 0, n), make([]*float64, 0, n)
		currs        = make([]*string, 0, n)
		sheets       = make([]string, 0, n)
		yes          = make([]string, 0, n)
		venueNames   = make([]string, 0, n)
		versions     = make([]int64, 0, n)
		ats          = make([]time.Time, 0, n)
	)
	for i, r := range rows {
		e := r.Event
		if last[e.ID] != i {
			continue
		}
		ids = append(ids, e.ID)
		titles = append(titles, e.Title)
		descs = append(descs, e.Description)
		cats = append(cats, e.Category)
		citys = append(citys, e.City)
		venueIDs = append(venueIDs, e.Venue.ID)
		venueNames = append(venueNames, e.Venue.Name)
		starts = append(starts, e.StartsAt)
		ends = append(ends, e.EndsAt)
		tzs = append(tzs, e.Timezone)
		ages = append(ages, e.AgeRating)
		versions = append(versions, r.Version)
		ats = append(ats, r.At.UTC())
		var pmin, pmax *float64
		var cur *string
		if e.Price != nil {
			pmin, pmax = e.Price.Min, e.Price.Max
			if e.Price.Currency != "" {
				c := e.Price.Currency
				cur = &c
			}
		}
		pmins, pmaxs, currs = append(pmins, pmin), append(pmaxs, pmax), append(currs, cur)
		sheet := e.Accessibility
		if sheet == nil {
			sheet = map[string]string{}
		}
		b, err := jsoncodec.Marshal(sheet) // map keys are sorted: equal sheets encode alike
		if err != nil {
			return fmt.Errorf("encode sheet of event %d: %w", e.ID, err)
		}
		sheets = append(sheets, string(b))
		yes = append(yes, idsLiteral(vocab.IDs(e.YesCodes())))
	}
	batch.Queue(`
		WITH input AS (
			SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[],
				$7::timestamptz[], $8::timestamptz[], $9::text[], $10::text[], $11::float8[], $12::float8[], $13::text[],
				$14::jsonb[], $15::text[], $16::text[], $17::bigint[], $18::timestamptz[])
				AS t (id, title, description, category, city, venue_id, starts_at, ends_at, timezone, age_rating,
				      price_min, price_max, currency, sheet, yes_text, venue_name, version, updated_at)
		), written AS (
			INSERT INTO events AS e (id, title, description, category, city, venue_id, starts_at, ends_at, timezone,
				age_rating, price_min, price_max, currency, version, updated_at)
			SELECT id, title, description, category, city, venue_id, starts_at, ends_at, timezone, age_rating,
				price_min, price_max, currency, version, updated_at FROM input
			ON CONFLICT (id) DO UPDATE SET title = excluded.title, description = excluded.description,
				category = excluded.category, city = excluded.city, venue_id = excluded.venue_id,
				starts_at = excluded.starts_at, ends_at = excluded.ends_at, timezone = excluded.timezone,
				age_rating = excluded.age_rating, price_min = excluded.price_min, price_max = excluded.price_max,
				currency = excluded.currency, version = excluded.version, updated_at = excluded.updated_at
			WHERE e.version < excluded.version
			RETURNING e.id
		)
		INSERT INTO event_accessibility AS a (event_id, sheet, constraint_ids, starts_at, city, category, document)
		SELECT i.id, i.sheet, i.yes_text::smallint[], i.starts_at, i.city, i.category,
			setweight(to_tsvector('russian', i.title), 'A') || setweight(to_tsvector('russian', i.venue_name), 'B') ||
			setweight(to_tsvector('russian', left(i.description, 4000)), 'C')
		FROM input i JOIN written w ON w.id = i.id
		ON CONFLICT (event_id) DO UPDATE SET sheet = excluded.sheet, constraint_ids = excluded.constraint_ids,
			starts_at = excluded.starts_at, city = excluded.city, category = excluded.category, document = excluded.document
		RETURNING a.event_id`,
		ids, titles, descs, cats, citys, venueIDs, starts, ends, tzs, ages, pmins, pmaxs, currs,
		sheets, yes, venueNames, versions, ats)
	return nil
}

// runUpsert sends the batch: execs statements of places, then, when the batch holds the rows'
// statement, returns the ids of the events written. The yes-sets travel as text literals
// ("{1,5}") because a ragged smallint[][] cannot be bound.
func runUpsert(ctx context.Context, db pgdb.DBTX, batch *pgx.Batch, execs int) ([]int64, error) {
	br := db.SendBatch(ctx, batch)
	defer br.Close()
	for range execs {
		if _, err := br.Exec(); err != nil {
			return nil, fmt.Errorf("upsert places and venues: %w", err)
		}
	}
	if batch.Len() == execs {
		return nil, br.Close()
	}
	rows, err := br.Query()
	if err != nil {
		return nil, fmt.Errorf("upsert events: %w", err)
	}
	changed, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("upsert events: %w", err)
	}
	return changed, br.Close()
}

func idsLiteral(ids []int16) string {
	b := make([]byte, 0, 2+4*len(ids))
	b = append(b, '{')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(id), 10)
	}
	return string(append(b, '}'))
}

func keysVals(m map[string]string) (ks, vs []string) {
	for k, v := range m {
		ks, vs = append(ks, k), append(vs, v)
	}
	return ks, vs
}
