package catalog

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dostupno/dostupno/shared/changefeed"
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
// own accessibility sheet is replaced whole; a venue's facts are replaced when the event's
// venue states them, and then every other event at that venue inherits the new ones. The
// text vector uses the 'russian' configuration alone: it stems Cyrillic words with
// russian_stem and Latin ones with english_stem, so it serves Russian and English queries at
// half the cost of a second, 'english' vector (which added only unstemmed Cyrillic words).
// Migration 011 holds the same expression. Within one call a repeated id keeps its last
// occurrence. It returns the ids it changed. Run it inside the applier's transaction.
func UpsertEvents(ctx context.Context, db pgdb.DBTX, vocab *Vocabulary, version int64, at time.Time, events []Event) ([]int64, error) {
	w, err := upsertEvents(ctx, db, vocab, version, at, events)
	return w.changed, err
}

// written is what an upsert of events wrote: the ids it changed, the events' venue facts as
// they now stand, and what its venue changes reached (VenueChanges.reach).
type written struct {
	changed []int64
	facts   map[int64]Facts
	reached changefeed.Change
}

func upsertEvents(ctx context.Context, db pgdb.DBTX, vocab *Vocabulary, version int64, at time.Time, events []Event) (written, error) {
	if len(events) == 0 {
		return written{}, nil
	}
	var p PlaceSet
	p.Add(version, at, events)
	facts, err := p.VenueFacts(ctx, db)
	if err != nil {
		return written{}, err
	}
	rows := make([]Versioned, len(events))
	for i, e := range events {
		rows[i] = Versioned{Version: version, At: at, Event: e}
	}
	batch := &pgx.Batch{}
	if err := p.queue(batch); err != nil {
		return written{}, err
	}
	if err := queueRows(batch, vocab, rows, facts, p.VenueNames()); err != nil {
		return written{}, err
	}
	ch, changed, err := runUpsert(ctx, db, batch, true)
	if err != nil {
		return written{}, err
	}
	ch.documents = p.documents
	reached, err := ch.reach(ctx, db, vocab, idSet(events))
	return written{changed: changed, facts: facts, reached: reached}, err
}

// Versioned is an event as one command writes it: Version is the command's sequence, At its
// time.
type Versioned struct {
	Version int64
	At      time.Time
	Event   Event
}

// UpsertRows writes the events' own rows (events and event_accessibility), each with its own
// version, last writer wins, and returns the ids it changed; facts are the venue facts the
// events inherit and names the names their venues hold once the places are written, by venue
// id (PlaceSet.VenueFacts, PlaceSet.VenueNames). Of a repeated id only the last occurrence is
// written, so rows must be in stream order. It leaves cities, categories and venues to
// PlaceSet: the write-log applier writes those in its own transaction while other connections
// write a run's rows in parts.
func UpsertRows(ctx context.Context, db pgdb.DBTX, vocab *Vocabulary, rows []Versioned, facts map[int64]Facts, names map[int64]string) ([]int64, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	batch := &pgx.Batch{}
	if err := queueRows(batch, vocab, rows, facts, names); err != nil {
		return nil, err
	}
	_, changed, err := runUpsert(ctx, db, batch, false)
	return changed, err
}

// PlaceSet is the cities, categories and venues that commands name, gathered command by
// command in stream order and written as that order would leave them: a city or category
// keeps the name it was first stored with (a later command does not rename it), a venue takes
// its last command's values, and its facts the last ones a command stated. Within one command,
// the last event that names a city wins, as it always has.
type PlaceSet struct {
	cities, categories map[string]string
	venues             map[int64]Venue
	venueCity          map[int64]string
	stated             map[int64]statedFacts
	// documents: the venues whose events' text vectors follow a rename (venue.upsert); an
	// event's own upsert indexes the venue name it carries, as it always has.
	documents bool
}

// statedFacts are a venue's facts as a command states them, with that command's sequence and
// time.
type statedFacts struct {
	facts   Facts
	version int64
	at      time.Time
}

func (p *PlaceSet) init() {
	if p.cities == nil {
		p.cities, p.categories = map[string]string{}, map[string]string{}
		p.venues, p.venueCity = map[int64]Venue{}, map[int64]string{}
		p.stated = map[int64]statedFacts{}
	}
}

// Add gathers the places of one command's events, written at version and time at.
func (p *PlaceSet) Add(version int64, at time.Time, events []Event) {
	p.init()
	cities, categories := map[string]string{}, map[string]string{}
	for _, e := range events {
		if _, ok := cities[e.City]; !ok || e.CityName != "" {
			cities[e.City] = DisplayName(e.City, e.CityName)
		}
		if _, ok := categories[e.Category]; !ok || e.CategoryName != "" {
			categories[e.Category] = DisplayName(e.Category, e.CategoryName)
		}
		p.addVenue(version, at, e.Venue, e.City)
	}
	p.keepFirst(cities, categories)
}

// AddVenues gathers the venues of one venue.upsert command, written at version and time at:
// a venue's rename also renews the text vectors of its events.
func (p *PlaceSet) AddVenues(version int64, at time.Time, venues []VenueInput) {
	p.init()
	p.documents = true
	cities := map[string]string{}
	for _, v := range venues {
		cities[v.City] = DisplayName(v.City, "")
		p.addVenue(version, at, v.Venue, v.City)
	}
	p.keepFirst(cities, nil)
}

func (p *PlaceSet) addVenue(version int64, at time.Time, v Venue, city string) {
	if v.Accessibility != nil {
		p.stated[v.ID] = statedFacts{facts: *v.Accessibility, version: version, at: at}
	}
	v.Accessibility = nil
	p.venues[v.ID] = v
	p.venueCity[v.ID] = city
}

func (p *PlaceSet) keepFirst(cities, categories map[string]string) {
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

// VenueNames returns the name of every venue gathered as the set writes it (the last command's):
// the name an event at the venue carries (events.venue_name, migration 028), whichever of the
// commands named the event.
func (p *PlaceSet) VenueNames() map[int64]string {
	out := make(map[int64]string, len(p.venues))
	for id, v := range p.venues {
		out[id] = v.Name
	}
	return out
}

// VenueFacts returns the facts of every venue gathered as they stand once the set is written: the
// ones the commands stated, the others as db holds them.
func (p *PlaceSet) VenueFacts(ctx context.Context, db pgdb.DBTX) (map[int64]Facts, error) {
	out := make(map[int64]Facts, len(p.venues))
	var ask []int64
	for id := range p.venues {
		if s, ok := p.stated[id]; ok {
			out[id] = s.facts
		} else {
			ask = append(ask, id)
		}
	}
	if len(ask) == 0 {
		return out, nil
	}
	stored, err := loadFacts(ctx, db, ask)
	maps.Copy(out, stored)
	return out, err
}

// loadFacts reads the stored facts of venues ids (those without facts are left out).
func loadFacts(ctx context.Context, db pgdb.DBTX, ids []int64) (map[int64]Facts, error) {
	rows, err := db.Query(ctx, `SELECT venue_id, sheet FROM venue_accessibility WHERE venue_id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("load venue facts: %w", err)
	}
	out := map[int64]Facts{}
	var (
		id int64
		fs Facts
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &fs}, func() error {
		out[id], fs = fs, nil
		return nil
	}); err != nil {
		return nil, fmt.Errorf("load venue facts: %w", err)
	}
	return out, nil
}

// Write stores the places gathered and returns what changed.
func (p *PlaceSet) Write(ctx context.Context, db pgdb.DBTX) (VenueChanges, error) {
	if len(p.venues) == 0 {
		return VenueChanges{}, nil
	}
	batch := &pgx.Batch{}
	if err := p.queue(batch); err != nil {
		return VenueChanges{}, err
	}
	ch, _, err := runUpsert(ctx, db, batch, true)
	ch.documents = p.documents
	return ch, err
}

// VenueChanges are the venues a PlaceSet's write changed.
type VenueChanges struct {
	Rows  []int64 // name, address, place or city changed
	Facts []int64 // facts changed
	// documents: the text vectors of the events at the venues of Rows follow their names.
	documents bool
}

// queue queues the statements that write the places: cities, categories, venues (returning
// the ones changed) and venue facts (likewise).
func (p *PlaceSet) queue(batch *pgx.Batch) error {
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
			IS DISTINCT FROM (excluded.name, excluded.address, excluded.lat, excluded.lon, excluded.city)
		RETURNING id`,
		vids, vnames, vaddrs, vlats, vlons, vcities)
	var (
		fids, fvers []int64
		fsheets     []string
		fats        []time.Time
	)
	for _, id := range slices.Sorted(maps.Keys(p.stated)) {
		s := p.stated[id]
		sheet, err := appendSheet(nil, s.facts)
		if err != nil {
			return fmt.Errorf("facts of venue %d: %w", id, err)
		}
		fids, fvers = append(fids, id), append(fvers, s.version)
		fsheets, fats = append(fsheets, string(sheet)), append(fats, s.at.UTC())
	}
	// A venue's facts are replaced whole; the version moves only when they differ.
	batch.Queue(`INSERT INTO venue_accessibility AS v (venue_id, sheet, version, updated_at)
		SELECT * FROM unnest($1::bigint[], $2::jsonb[], $3::bigint[], $4::timestamptz[])
		ON CONFLICT (venue_id) DO UPDATE SET sheet = excluded.sheet, version = excluded.version, updated_at = excluded.updated_at
		WHERE v.sheet IS DISTINCT FROM excluded.sheet
		RETURNING v.venue_id`, fids, fsheets, fvers, fats)
	return nil
}

// placeStatements is how many statements PlaceSet.queue queues.
const placeStatements = 4

// queueRows queues the statement that writes the rows' events and their accessibility index,
// the effective sets of each computed from its own facts and its venue's (facts), each event
// with the name its venue holds once the places are written (names); its text vector indexes
// the name its own venue object gave, as it always has.
func queueRows(batch *pgx.Batch, vocab *Vocabulary, rows []Versioned, facts map[int64]Facts, names map[int64]string) error {
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
		excluded     = make([]string, 0, n)
		venueNames   = make([]string, 0, n)
		heldNames    = make([]string, 0, n)
		versions     = make([]int64, 0, n)
		ats          = make([]time.Time, 0, n)
		buf          []byte
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
		held, ok := names[e.Venue.ID]
		if !ok {
			held = e.Venue.Name // every event's venue is among the places gathered; this is a guard
		}
		heldNames = append(heldNames, held)
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
		var err error
		if buf, err = appendSheet(buf[:0], e.Accessibility); err != nil {
			return fmt.Errorf("sheet of event %d: %w", e.ID, err)
		}
		sheets = append(sheets, string(buf))
		y, x := vocab.effectiveIDs(e.Accessibility, facts[e.Venue.ID])
		yes, excluded = append(yes, IDsLiteral(y)), append(excluded, IDsLiteral(x))
	}
	batch.Queue(`
		WITH input AS (
			SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[],
				$7::timestamptz[], $8::timestamptz[], $9::text[], $10::text[], $11::float8[], $12::float8[], $13::text[],
				$14::jsonb[], $15::text[], $16::text[], $17::bigint[], $18::timestamptz[], $19::text[], $20::text[])
				AS t (id, title, description, category, city, venue_id, starts_at, ends_at, timezone, age_rating,
				      price_min, price_max, currency, sheet, yes_text, venue_name, version, updated_at, excluded_text,
				      held_name)
		), written AS (
			INSERT INTO events AS e (id, title, description, category, city, venue_id, venue_name, starts_at, ends_at,
				timezone, age_rating, price_min, price_max, currency, version, updated_at)
			SELECT id, title, description, category, city, venue_id, held_name, starts_at, ends_at, timezone, age_rating,
				price_min, price_max, currency, version, updated_at FROM input
			ON CONFLICT (id) DO UPDATE SET title = excluded.title, description = excluded.description,
				category = excluded.category, city = excluded.city, venue_id = excluded.venue_id,
				venue_name = excluded.venue_name,
				starts_at = excluded.starts_at, ends_at = excluded.ends_at, timezone = excluded.timezone,
				age_rating = excluded.age_rating, price_min = excluded.price_min, price_max = excluded.price_max,
				currency = excluded.currency, version = excluded.version, updated_at = excluded.updated_at
			WHERE e.version < excluded.version
			RETURNING e.id
		)
		INSERT INTO event_accessibility AS a (event_id, sheet, constraint_ids, excluded_ids, starts_at, city, category, document)
		SELECT i.id, i.sheet, i.yes_text::smallint[], i.excluded_text::smallint[], i.starts_at, i.city, i.category,
			setweight(to_tsvector('russian', i.title), 'A') || setweight(to_tsvector('russian', i.venue_name), 'B') ||
			setweight(to_tsvector('russian', left(i.description, 4000)), 'C')
		FROM input i JOIN written w ON w.id = i.id
		ON CONFLICT (event_id) DO UPDATE SET sheet = excluded.sheet, constraint_ids = excluded.constraint_ids,
			excluded_ids = excluded.excluded_ids, starts_at = excluded.starts_at, city = excluded.city,
			category = excluded.category, document = excluded.document
		RETURNING a.event_id`,
		ids, titles, descs, cats, citys, venueIDs, starts, ends, tzs, ages, pmins, pmaxs, currs,
		sheets, yes, venueNames, versions, ats, excluded, heldNames)
	return nil
}

// runUpsert sends the batch: the places' statements first when it holds them (withPlaces;
// their changes are returned), then, when it holds the rows' statement, returns the ids of the
// events written. The code sets travel as text literals ("{1,5}") because a ragged
// smallint[][] cannot be bound.
func runUpsert(ctx context.Context, db pgdb.DBTX, batch *pgx.Batch, withPlaces bool) (VenueChanges, []int64, error) {
	br := db.SendBatch(ctx, batch)
	defer br.Close()
	var ch VenueChanges
	rest := batch.Len()
	if withPlaces {
		for range 2 { // cities and categories
			if _, err := br.Exec(); err != nil {
				return ch, nil, fmt.Errorf("upsert cities and categories: %w", err)
			}
		}
		var err error
		if ch.Rows, err = collectIDs(br); err != nil {
			return ch, nil, fmt.Errorf("upsert venues: %w", err)
		}
		if ch.Facts, err = collectIDs(br); err != nil {
			return ch, nil, fmt.Errorf("upsert venue facts: %w", err)
		}
		rest -= placeStatements
	}
	if rest == 0 {
		return ch, nil, br.Close()
	}
	changed, err := collectIDs(br)
	if err != nil {
		return ch, nil, fmt.Errorf("upsert events: %w", err)
	}
	return ch, changed, br.Close()
}

func collectIDs(br pgx.BatchResults) ([]int64, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// reach brings the changes of venues to their events, but those of skip (written by the same
// command with what they inherit): the events at a venue whose facts changed get their
// effective sets recomputed from their own sheets, and the text vectors of the events at a
// renamed venue follow its name when ch says so. It returns what to announce: the new state of
// every event at a venue whose facts changed (but skip's), and the venues whose row changed
// (every answer showing one is affected; their events' answers are not).
func (ch VenueChanges) reach(ctx context.Context, db pgdb.DBTX, vocab *Vocabulary, skip map[int64]bool) (changefeed.Change, error) {
	out := changefeed.Change{Venues: ch.Rows}
	if len(ch.Rows) > 0 {
		// The name every event carries (migration 028) follows its venue's row; skip's rows
		// are written with it (queueRows), by other connections in a spread run, whose
		// uncommitted rows this statement must not wait for.
		own := make([]int64, 0, len(skip)) // not nil: <> ALL(NULL) would be true of no row
		for id := range skip {
			own = append(own, id)
		}
		if _, err := db.Exec(ctx, `
			UPDATE events e SET venue_name = v.name FROM venues v
			WHERE v.id = ANY($1) AND e.venue_id = v.id AND e.venue_name IS DISTINCT FROM v.name AND e.id <> ALL($2)`,
			ch.Rows, own); err != nil {
			return out, fmt.Errorf("follow venue names in events: %w", err)
		}
	}
	if ch.documents && len(ch.Rows) > 0 {
		if _, err := db.Exec(ctx, `
			UPDATE event_accessibility a SET document = d.document
			FROM (SELECT e.id, setweight(to_tsvector('russian', e.title), 'A') || setweight(to_tsvector('russian', v.name), 'B') ||
					setweight(to_tsvector('russian', left(e.description, 4000)), 'C') AS document
				FROM events e JOIN venues v ON v.id = e.venue_id WHERE e.venue_id = ANY($1)) d
			WHERE a.event_id = d.id AND a.document IS DISTINCT FROM d.document`, ch.Rows); err != nil {
			return out, fmt.Errorf("follow venue names in text vectors: %w", err)
		}
	}
	if len(ch.Facts) == 0 {
		return out, nil
	}
	rows, err := db.Query(ctx, `
		SELECT e.id, e.venue_id, e.city, e.category, e.starts_at, a.constraint_ids, a.excluded_ids, a.sheet, v.sheet
		FROM events e JOIN event_accessibility a ON a.event_id = e.id
		LEFT JOIN venue_accessibility v ON v.venue_id = e.venue_id
		WHERE e.venue_id = ANY($1)
		ORDER BY e.id`, ch.Facts)
	if err != nil {
		return out, fmt.Errorf("events at changed venues: %w", err)
	}
	var (
		upIDs                []int64
		upYes, upExcl        []string
		id, venue            int64
		city, category       string
		starts               time.Time
		ownRaw, venueRaw     []byte
		storedYes, storedOut []int16
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &venue, &city, &category, &starts, &storedYes, &storedOut, &ownRaw, &venueRaw}, func() error {
		if skip[id] {
			return nil
		}
		own, err := decodeSheet(ownRaw)
		if err != nil {
			return fmt.Errorf("event %d: %w", id, err)
		}
		inherited, err := decodeSheet(venueRaw)
		if err != nil {
			return fmt.Errorf("venue %d: %w", venue, err)
		}
		y, x := vocab.effectiveIDs(own, inherited)
		if !slices.Equal(y, storedYes) || !slices.Equal(x, storedOut) {
			upIDs, upYes, upExcl = append(upIDs, id), append(upYes, IDsLiteral(y)), append(upExcl, IDsLiteral(x))
		}
		out.Events = append(out.Events, changefeed.Event{ID: id, City: city, Category: category, StartsAt: starts.UTC(),
			Constraints: vocab.CodesOf(y), Excluded: vocab.CodesOf(x)})
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("events at changed venues: %w", err)
	}
	if len(upIDs) > 0 {
		if _, err := db.Exec(ctx, `
			UPDATE event_accessibility a SET constraint_ids = u.yes::smallint[], excluded_ids = u.excluded::smallint[]
			FROM unnest($1::bigint[], $2::text[], $3::text[]) AS u (id, yes, excluded)
			WHERE a.event_id = u.id`, upIDs, upYes, upExcl); err != nil {
			return out, fmt.Errorf("events at changed venues inherit their facts: %w", err)
		}
	}
	return out, nil
}

// decodeSheet decodes a stored sheet (JSON text; none is an empty sheet).
func decodeSheet(raw []byte) (Facts, error) {
	var fs Facts
	if len(raw) == 0 {
		return fs, nil
	}
	if err := jsoncodec.Unmarshal(raw, &fs); err != nil {
		return nil, fmt.Errorf("decode a stored sheet: %w", err)
	}
	return fs, nil
}

// idSet is the set of the events' ids.
func idSet(events []Event) map[int64]bool {
	s := make(map[int64]bool, len(events))
	for _, e := range events {
		s[e.ID] = true
	}
	return s
}

// appendSheet appends fs as a JSON object with its keys sorted, each fact as Fact.MarshalJSON
// writes it: exactly what encoding/json writes for the map, without its reflection on an
// import's hot path. A fact with a character that would need escaping (none that Validate
// lets through) is encoded by jsoncodec instead.
func appendSheet(b []byte, fs Facts) ([]byte, error) {
	var stack [24]string
	keys := stack[:0]
	for k, f := range fs {
		if !plain(k) || !plain(f.Value) || !plain(f.Source) || !plain(f.VerifiedAt) {
			enc, err := jsoncodec.Marshal(map[string]Fact(fs))
			return append(b, enc...), err
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		f := fs[k]
		b = append(append(append(b, '"'), k...), `":`...)
		if f.Source == "" && f.VerifiedAt == "" {
			b = append(append(append(b, '"'), f.Value...), '"')
			continue
		}
		b = append(append(append(b, `{"value":"`...), f.Value...), '"')
		if f.Source != "" {
			b = append(append(append(b, `,"source":"`...), f.Source...), '"')
		}
		if f.VerifiedAt != "" {
			b = append(append(append(b, `,"verified_at":"`...), f.VerifiedAt...), '"')
		}
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

// plain reports whether s needs no escaping in JSON (as jsoncodec escapes, HTML-safe).
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// IDsLiteral is ids as a Postgres array literal ("{1,5}").
func IDsLiteral(ids []int16) string {
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
