// Package searchbench measures search-events against the hackathon's schema on the same
// data and questions in the same run: it loads a seeded catalog into a fresh database with
// COPY, builds the hackathon tables beside it, asks a fixed mix of questions of both over
// HTTP (the cache bypassed) and reports latency percentiles.
package searchbench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/seed"
	"github.com/dostupno/dostupno/shared/catalog"
)

// Load writes the catalog of o into db (migrated, empty) the fast way: COPY with the
// secondary indexes dropped and rebuilt afterwards, foreign keys not checked row by row, the
// text vector built from per-title, per-venue and per-description parts. The rows are the
// ones catalog.UpsertEvents would write (version 1), so the search sees a normal catalog;
// only the path differs from the write log, which a benchmark does not measure.
func Load(ctx context.Context, pool *pgxpool.Pool, o seed.Options, log io.Writer) error {
	vocab, err := catalog.LoadVocabulary(ctx, pool)
	if err != nil {
		return err
	}
	step := func(what string, f func() error) error {
		start := time.Now()
		if err := f(); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		fmt.Fprintf(log, "  %-44s %6.1fs\n", what, time.Since(start).Seconds())
		return nil
	}
	var indexes []string
	if err := step("drop secondary indexes", func() error {
		indexes, err = dropIndexes(ctx, pool)
		return err
	}); err != nil {
		return err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	// Rows are written in dependency order and come from one generator, so the foreign keys
	// hold; replica mode skips their per-row triggers (a superuser's right; without it the
	// checks simply run).
	if _, err := conn.Exec(ctx, `SET session_replication_role = replica`); err != nil {
		fmt.Fprintf(log, "  (foreign keys checked row by row: %v)\n", err)
	}
	defer conn.Exec(context.Background(), `RESET session_replication_role`) //nolint:errcheck // the connection is released anyway

	if err := step("cities, categories, venues", func() error { return loadPlaces(ctx, conn.Conn(), o, time.Now().UTC()) }); err != nil {
		return err
	}
	at := time.Now().UTC()
	if err := step(fmt.Sprintf("COPY %d events", o.Events), func() error { return copyEvents(ctx, conn.Conn(), o, at) }); err != nil {
		return err
	}
	if err := step("COPY accessibility sheets", func() error { return copySheets(ctx, conn.Conn(), o, vocab) }); err != nil {
		return err
	}
	if err := step("event_accessibility with text vectors", func() error { return fillIndexTable(ctx, conn.Conn()) }); err != nil {
		return err
	}
	if err := step(fmt.Sprintf("rebuild %d indexes", len(indexes)), func() error { return rebuild(ctx, pool, indexes) }); err != nil {
		return err
	}
	// VACUUM as well as ANALYZE: it marks the pages all-visible, as autovacuum does in time
	// on a live copy, so the planner can use index-only walks (migration 009). The tables are
	// those an import through the write log leaves analysed and vacuumed (maintained tables:
	// event.upsert's Grows), with the cities and categories. Without venue_accessibility's
	// statistics, a warm start's "what changed since the snapshot" (hotcache) took a third of
	// the venues' events for changed, and planned and sized its hash for them: 13 ms a start
	// against 2.7.
	return step("VACUUM ANALYZE", func() error {
		_, err := pool.Exec(ctx, `VACUUM (ANALYZE) `+strings.Join(LoadedTables(vocab), ", "))
		return err
	})
}

// LoadedTables are the tables Load writes: the cities and categories, and those event.upsert
// grows (writelog.Kind.Grows).
func LoadedTables(vocab *catalog.Vocabulary) []string {
	tables := []string{"cities", "categories"}
	for _, k := range catalog.Kinds(vocab) {
		if k.Name == catalog.KindEventUpsert {
			tables = append(tables, k.Grows...)
		}
	}
	return tables
}

// dropIndexes drops every index of events and event_accessibility but the primary keys and
// returns their definitions.
func dropIndexes(ctx context.Context, pool *pgxpool.Pool) ([]string, error) {
	rows, err := pool.Query(ctx, `
		SELECT c.relname, pg_get_indexdef(i.indexrelid)
		FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
		JOIN pg_namespace n ON n.oid = t.relnamespace
		WHERE n.nspname = 'public' AND t.relname IN ('events', 'event_accessibility') AND NOT i.indisprimary`)
	if err != nil {
		return nil, err
	}
	type index struct{ Name, Def string }
	idx, err := pgx.CollectRows(rows, pgx.RowToStructByPos[index])
	if err != nil {
		return nil, err
	}
	var defs []string
	for _, i := range idx {
		if _, err := pool.Exec(ctx, `DROP INDEX `+pgx.Identifier{i.Name}.Sanitize()); err != nil {
			return nil, err
		}
		defs = append(defs, i.Def)
	}
	return defs, nil
}

// rebuild creates the indexes again, two at a time.
func rebuild(ctx context.Context, pool *pgxpool.Pool, defs []string) error {
	next := make(chan string)
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			var first error
			for def := range next {
				if first == nil {
					_, first = pool.Exec(ctx, def)
				}
			}
			errs <- first
		}()
	}
	for _, def := range defs {
		next <- def
	}
	close(next)
	return errors.Join(<-errs, <-errs)
}

func loadPlaces(ctx context.Context, conn *pgx.Conn, o seed.Options, at time.Time) error {
	g, err := seed.New(o)
	if err != nil {
		return err
	}
	facts := g.VenueFacts()
	cities, categories := map[string]string{}, map[string]string{}
	venues := map[int64]catalog.Venue{}
	venueCity := map[int64]string{}
	if err := g.Each(func(e catalog.Event) error {
		cities[e.City] = catalog.DisplayName(e.City, e.CityName)
		categories[e.Category] = catalog.DisplayName(e.Category, e.CategoryName)
		venues[e.Venue.ID], venueCity[e.Venue.ID] = e.Venue, e.City
		return nil
	}); err != nil {
		return err
	}
	for table, m := range map[string]map[string]string{"cities": cities, "categories": categories} {
		var rows [][]any
		for slug, name := range m {
			rows = append(rows, []any{slug, name})
		}
		if _, err := conn.CopyFrom(ctx, pgx.Identifier{table}, []string{"slug", "name"}, pgx.CopyFromRows(rows)); err != nil {
			return err
		}
	}
	var rows, factRows [][]any
	for id, v := range venues {
		rows = append(rows, []any{id, v.Name, v.Address, v.Lat, v.Lon, venueCity[id]})
		if fs := facts[id]; len(fs) > 0 {
			factRows = append(factRows, []any{id, fs, int64(1), at})
		}
	}
	if _, err = conn.CopyFrom(ctx, pgx.Identifier{"venues"}, []string{"id", "name", "address", "lat", "lon", "city"}, pgx.CopyFromRows(rows)); err != nil {
		return err
	}
	_, err = conn.CopyFrom(ctx, pgx.Identifier{"venue_accessibility"}, []string{"venue_id", "sheet", "version", "updated_at"}, pgx.CopyFromRows(factRows))
	return err
}

// eventSource streams a generator's events into COPY.
type eventSource struct {
	events chan catalog.Event
	errc   chan error
	cur    catalog.Event
	row    func(catalog.Event) ([]any, error)
	err    error
}

func newSource(ctx context.Context, o seed.Options, row func(catalog.Event) ([]any, error)) (*eventSource, error) {
	g, err := seed.New(o)
	if err != nil {
		return nil, err
	}
	s := &eventSource{events: make(chan catalog.Event, 4096), errc: make(chan error, 1), row: row}
	go func() {
		defer close(s.events)
		s.errc <- g.Each(func(e catalog.Event) error {
			select {
			case s.events <- e:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	return s, nil
}

func (s *eventSource) Next() bool {
	e, ok := <-s.events
	if !ok {
		if err := <-s.errc; err != nil {
			s.err = err
		}
		return false
	}
	s.cur = e
	return true
}

func (s *eventSource) Values() ([]any, error) { return s.row(s.cur) }
func (s *eventSource) Err() error             { return s.err }

func copyEvents(ctx context.Context, conn *pgx.Conn, o seed.Options, at time.Time) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the generator if COPY fails
	src, err := newSource(ctx, o, func(e catalog.Event) ([]any, error) {
		var pmin, pmax *float64
		var cur *string
		if e.Price != nil {
			pmin, pmax = e.Price.Min, e.Price.Max
			if e.Price.Currency != "" {
				cur = &e.Price.Currency
			}
		}
		return []any{e.ID, e.Title, e.Description, e.Category, e.City, e.Venue.ID, e.Venue.Name, e.StartsAt, e.EndsAt, e.Timezone,
			e.AgeRating, pmin, pmax, cur, int64(1), at}, nil
	})
	if err != nil {
		return err
	}
	_, err = conn.CopyFrom(ctx, pgx.Identifier{"events"}, []string{"id", "title", "description", "category", "city",
		"venue_id", "venue_name", "starts_at", "ends_at", "timezone", "age_rating", "price_min", "price_max", "currency", "version",
		"updated_at"}, src)
	return err
}

// copySheets copies each event's own sheet and its effective sets (with its venue's facts), as
// catalog.UpsertEvents computes them.
func copySheets(ctx context.Context, conn *pgx.Conn, o seed.Options, vocab *catalog.Vocabulary) error {
	if _, err := conn.Exec(ctx, `CREATE TEMP TABLE bench_sheets (event_id bigint, sheet jsonb, constraint_ids smallint[], excluded_ids smallint[])`); err != nil {
		return err
	}
	g, err := seed.New(o)
	if err != nil {
		return err
	}
	facts := g.VenueFacts()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	src, err := newSource(ctx, o, func(e catalog.Event) ([]any, error) {
		e.Normalize()
		sheet := e.Accessibility
		if sheet == nil {
			sheet = catalog.Facts{}
		}
		yes, excluded := catalog.EffectiveSets(e.Accessibility, facts[e.Venue.ID])
		// NOT NULL: an empty set, not a missing one.
		return []any{e.ID, sheet, append([]int16{}, vocab.IDs(yes)...), append([]int16{}, vocab.IDs(excluded)...)}, nil
	})
	if err != nil {
		return err
	}
	_, err = conn.CopyFrom(ctx, pgx.Identifier{"bench_sheets"}, []string{"event_id", "sheet", "constraint_ids", "excluded_ids"}, src)
	return err
}

// fillIndexTable writes event_accessibility from the copied events and sheets. The text
// vector is the same expression as catalog.UpsertEvents' (title A, venue B, description C,
// Russian and English), computed once per distinct title, venue and description and joined:
// tsvector concatenation is associative, so the result is identical and much cheaper.
func fillIndexTable(ctx context.Context, conn *pgx.Conn) error {
	for _, q := range []string{
		`CREATE TEMP TABLE bench_tv_title AS SELECT title,
			setweight(to_tsvector('russian', title), 'A') AS v
			FROM (SELECT DISTINCT title FROM events) t`,
		`CREATE TEMP TABLE bench_tv_venue AS SELECT id,
			setweight(to_tsvector('russian', name), 'B') AS v
			FROM venues`,
		`CREATE TEMP TABLE bench_tv_desc AS SELECT description,
			setweight(to_tsvector('russian', left(description, 4000)), 'C') AS v
			FROM (SELECT DISTINCT description FROM events) t`,
		`INSERT INTO event_accessibility (event_id, sheet, constraint_ids, excluded_ids, starts_at, city, category, document)
			SELECT e.id, s.sheet, s.constraint_ids, s.excluded_ids, e.starts_at, e.city, e.category, tt.v || tv.v || td.v
			FROM events e
			JOIN bench_sheets s ON s.event_id = e.id
			JOIN bench_tv_title tt ON tt.title = e.title
			JOIN bench_tv_venue tv ON tv.id = e.venue_id
			JOIN bench_tv_desc td ON td.description = e.description`,
		`DROP TABLE bench_sheets, bench_tv_title, bench_tv_venue, bench_tv_desc`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", strings.Fields(q)[0], err)
		}
	}
	return nil
}

// Hackathon builds the hackathon's schema beside ours in schema "hackathon", from the same
// rows: events, a constraints catalog, and event_constraints(event_id, constraint_ids
// smallint[]) with B-tree indexes on starts_at and on the array. For lenient questions it
// also gets possible_ids (the codes that are yes or unknown), indexed alike, so both schemas
// answer every question of the mix.
func Hackathon(ctx context.Context, pool *pgxpool.Pool) error {
	for _, q := range []string{
		`DROP SCHEMA IF EXISTS hackathon CASCADE`,
		`CREATE SCHEMA hackathon`,
		`CREATE TABLE hackathon.events AS SELECT id, title, description, category, city, venue_id, starts_at, ends_at,
			timezone FROM events`,
		`CREATE TABLE hackathon.constraints AS SELECT id, code, title_ru, title_en FROM accessibility_constraints`,
		`CREATE TABLE hackathon.event_constraints AS SELECT event_id, constraint_ids,
			ARRAY(SELECT c.id FROM accessibility_constraints c WHERE c.id <> ALL (excluded_ids) ORDER BY c.id) AS possible_ids
			FROM event_accessibility`,
		`ALTER TABLE hackathon.events ADD PRIMARY KEY (id)`,
		`ALTER TABLE hackathon.constraints ADD PRIMARY KEY (id)`,
		`ALTER TABLE hackathon.event_constraints ADD PRIMARY KEY (event_id)`,
		`CREATE INDEX ON hackathon.events (starts_at)`,
		`CREATE INDEX ON hackathon.event_constraints (constraint_ids)`,
		`CREATE INDEX ON hackathon.event_constraints (possible_ids)`,
		`VACUUM (ANALYZE) hackathon.events, hackathon.constraints, hackathon.event_constraints`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			return fmt.Errorf("hackathon schema: %w", err)
		}
	}
	return nil
}
