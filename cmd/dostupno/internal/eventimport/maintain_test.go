package eventimport_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/eventimport"
	"github.com/dostupno/dostupno/cmd/dostupno/internal/seed"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/pgtest"
	"github.com/dostupno/dostupno/shared/search"
)

// When an import returns, the copy is ready to search fast with no operator step, on a
// server whose autovacuum is off (the test server's is): events and event_accessibility are
// analysed and vacuumed, and a search for two common codes walks one code's index in answer
// order, from the index alone, instead of a bitmap scan of every match and a sort. 20,000
// seeded events are enough for the difference: without the maintenance that search is a
// bitmap heap scan and sort of about 3,300 rows (10 ms here), with it an index-only walk of a
// few dozen (0.3 ms).
func TestImportLeavesTheCopyReadyToSearch(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var file bytes.Buffer
	if err := writeSeeded(&file, 20000, time.Now().UTC().Truncate(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := eventimport.Run(ctx, &file, e.w, eventimport.Options{Log: quiet()}); err != nil {
		t.Fatal(err)
	}

	for _, table := range []string{"events", "event_accessibility"} {
		var analyzed, vacuumed *time.Time
		var pages, visible, onDisk int64
		if err := e.pool.QueryRow(ctx, `SELECT s.last_analyze, s.last_vacuum, c.relpages, c.relallvisible, pg_relation_size(c.oid) / 8192
			FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid WHERE s.relname = $1`, table).
			Scan(&analyzed, &vacuumed, &pages, &visible, &onDisk); err != nil {
			t.Fatal(err)
		}
		holding := int64(pgtest.PagesHoldingRows(t, e.pool, table))
		if analyzed == nil || vacuumed == nil || pages != onDisk || visible < holding*9/10 {
			t.Errorf("%s: got analysed %v, vacuumed %v, %d of %d pages recorded, %d all-visible of the %d that hold rows; want analysed, vacuumed, every page recorded and all-visible",
				table, analyzed, vacuumed, pages, onDisk, visible, holding)
		}
	}

	vocab, err := catalog.LoadVocabulary(ctx, e.pool)
	if err != nil {
		t.Fatal(err)
	}
	q, err := search.ParseQuery("constraints=step_free_entrance,accessible_toilet", vocab, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	sql, args := search.PageSQL(&q)
	rows, err := e.pool.Query(ctx, "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) "+sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	plan := strings.Join(lines, "\n")
	if !strings.Contains(plan, "Index Only Scan using event_accessibility_c") || strings.Contains(plan, "Bitmap Heap Scan") ||
		sortsByStart(plan) || !strings.Contains(plan, "Heap Fetches: 0") {
		t.Errorf("got the plan\n%s\nwant an index-only walk of one code's index, no heap fetched, no bitmap scan, no sort", plan)
	}

	// Codes with a city and a category: the page's generic plan (the one Search runs) walks a
	// code's index led by the city and the category (migration 023), whose tuples are that
	// city's and category's alone, not one led by the city alone, which passes over every
	// category's; and it reads each row's details by key, without hashing a table.
	q, err = search.ParseQuery("constraints=braille,hearing_loop&city=moscow&category=theatre", vocab, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	sql, args = search.PageSQL(&q)
	plan = pgtest.GenericPlan(t, e.pool, "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF)", sql, args)
	if !strings.Contains(plan, "_city_category_starts") || !strings.Contains(plan, "Index Only Scan") || strings.Contains(plan, "Bitmap") ||
		strings.Contains(plan, "Hash") || sortsByStart(plan) {
		t.Errorf("got the generic plan\n%s\nwant an index-only walk of a code's index led by city and category, each row's details by key, no bitmap, hash or sort", plan)
	}

	// A code that belongs to some kinds of event with a category and no city: the generic plan
	// walks the code's index led by the category (migration 030), not the code's index in
	// answer order, which passes over every other category's tuples.
	for _, code := range []string{"wheelchair_seating", "tactile_exhibits", "subtitles", "relaxed_performance"} {
		q, err = search.ParseQuery("constraints="+code+"&category=theatre", vocab, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		sql, args = search.PageSQL(&q)
		plan = pgtest.GenericPlan(t, e.pool, "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF)", sql, args)
		c, _ := vocab.Constraint(code)
		if want := fmt.Sprintf("Index Only Scan using event_accessibility_c%d_category_starts", c.ID); !strings.Contains(plan, want) ||
			strings.Contains(plan, "Bitmap") || sortsByStart(plan) {
			t.Errorf("%s at the theatre: got the generic plan\n%s\nwant %q, no bitmap or sort", code, plan, want)
		}
	}
}

// sortsByStart says whether a page's plan sorts its rows by start, where a walk would read them
// in answer order.
func sortsByStart(plan string) bool {
	return strings.Contains(plan, "Sort Key: a.starts_at") || strings.Contains(plan, "Sort Key: p.starts_at")
}

// writeSeeded writes the seeded demo catalog of n events from day start (seed 1, as dostupno
// bench loads it) as NDJSON.
func writeSeeded(w io.Writer, n int, start time.Time) error {
	g, err := seed.New(seed.Options{Events: n, Seed: 1, Start: start})
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	enc := json.NewEncoder(bw)
	if err := g.Each(func(e catalog.Event) error { return enc.Encode(e) }); err != nil {
		return err
	}
	return bw.Flush()
}
