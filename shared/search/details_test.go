package search_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/pgdb"
	"github.com/dostupno/dostupno/shared/pgtest"
	"github.com/dostupno/dostupno/shared/search"
)

// TestKeptDetailsAreWhatPostgresAnswers: a page that takes its rows' details from those kept
// (search.KeptDetails), or reads them with its rows and keeps them, is the page read without
// a keep, to the byte of its answer (SearchEntry: a page of kept details is written from their
// encoded heads, one read without a keep encoded whole), right after every way a detail changes (the event's row, its venue's name, a cover
// photo given or taken, seat counts given or changed, an event deleted and written again; text
// questions and seat questions among them; walks through a pgdb.Batcher), with no wait; and
// once lean, a page takes every row's details from the keep. Without lean pages (Full), a
// page reads them with its rows where its plan does, else takes them from the keep.
func TestKeptDetailsAreWhatPostgresAnswers(t *testing.T) {
	t.Run("Lean", func(t *testing.T) {
		search.SetLeanAfter(t, 1)
		keptDetailsAreWhatPostgresAnswers(t, true)
	})
	t.Run("Full", func(t *testing.T) {
		search.SetLeanAfter(t, 1<<40)
		keptDetailsAreWhatPostgresAnswers(t, false)
	})
}

func keptDetailsAreWhatPostgresAnswers(t *testing.T, lean bool) {
	w := newWorld(t)
	titled := func(id int64, title string) catalog.Event {
		e := event(id, "kazan", map[string]string{"step_free_entrance": "yes"})
		e.Title = title
		e.StartsAt = e.StartsAt.Add(time.Duration(id) * time.Hour)
		return e
	}
	w.upsert(titled(1, "Hamlet"), titled(2, "Carmen"), titled(3, "Hamlet again"))
	kept, batch := search.NewKeptDetails(0), pgdb.NewBatcher(w.pool, 0)
	questions := []string{"city=kazan", "constraints=step_free_entrance", "q=hamlet", "city=kazan&wheelchair_spaces=1", "city=kazan&limit=2"}
	answer := func(raw string, with *search.KeptDetails) string {
		t.Helper()
		q, err := search.ParseQuery(raw, w.vocab, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		shared := search.Shared{}
		if with != nil {
			shared = search.Shared{Kept: with, Batch: batch}
		}
		e, err := search.SearchEntry(w.ctx, w.pool, shared, w.vocab, &q, func(key string) string { return "/photos/" + key })
		if err != nil {
			t.Fatal(err)
		}
		return string(e.Body)
	}
	// check asks each question three times after a write: full, full, then lean (a keep turns
	// lean once it held half the rows it saw), each the page read without a keep; a write that
	// keeps the keep (a seat count's) leaves every page lean and every row's details kept.
	check := func(step, want string, keeps bool) {
		t.Helper()
		for _, raw := range questions {
			fresh := answer(raw, nil)
			rows := int64(strings.Count(fresh, `"id":`) - strings.Count(fresh, `"venue":{"id":`))
			for i := range 3 {
				before := kept.Stats()
				if got := answer(raw, kept); got != fresh {
					t.Errorf("%s, %s, asked %d times: with the details kept\n%s\nwant, as read without them,\n%s", step, raw, i+1, got, fresh)
				}
				hits := kept.Stats().Hits - before.Hits
				if lean && (i == 2 || keeps) && hits != rows {
					t.Errorf("%s, %s, asked %d times: %d of %d rows' details taken from those kept", step, raw, i+1, hits, rows)
				}
			}
		}
		if want != "" && !strings.Contains(answer("city=kazan", kept), want) {
			t.Errorf("%s: the page does not show %q", step, want)
		}
	}
	check("first", "Hamlet again", false)
	for _, c := range []struct {
		step, sql, want string
		keeps           bool
	}{
		{"title", `UPDATE events SET title = 'Hamlet, renamed' WHERE id = 1`, "Hamlet, renamed", false},
		{"venue name", `UPDATE events SET venue_name = 'New Hall' WHERE id = 2`, "New Hall", false},
		{"cover given", `INSERT INTO event_photos (event_id, object_key, content_type, width, height, bytes, position, version)
			VALUES (3, 'c.jpg', 'image/jpeg', 10, 10, 100, 1, 1)`, "/photos/c.jpg", false},
		{"cover before it", `INSERT INTO event_photos (event_id, object_key, content_type, width, height, bytes, position, version)
			VALUES (3, 'b.jpg', 'image/jpeg', 10, 10, 100, 0, 1)`, "/photos/b.jpg", false},
		{"covers taken", `DELETE FROM event_photos WHERE event_id = 3`, "", false},
		{"seats given", `INSERT INTO event_availability (event_id, wheelchair_spaces, companion_seats, as_of, version)
			VALUES (1, 4, 2, now(), 1)`, `"wheelchair_spaces":4`, false},
		{"seats changed", `UPDATE event_availability SET wheelchair_spaces = 7 WHERE event_id = 1`, `"wheelchair_spaces":7`, true},
		{"seats upserted", `INSERT INTO event_availability (event_id, wheelchair_spaces, companion_seats, as_of, version)
			VALUES (1, 5, 2, now(), 2) ON CONFLICT (event_id) DO UPDATE SET wheelchair_spaces = excluded.wheelchair_spaces`, `"wheelchair_spaces":5`, true},
		{"seats given to another", `INSERT INTO event_availability (event_id, wheelchair_spaces, companion_seats, as_of, version)
			VALUES (3, 6, 1, now(), 1)`, `"wheelchair_spaces":6`, false},
		{"seats taken", `DELETE FROM event_availability WHERE event_id = 3`, "", false},
		{"deleted", `DELETE FROM events WHERE id = 2`, "", false},
	} {
		w.exec(c.sql)
		check(c.step, c.want, c.keeps)
	}
	w.upsert(titled(2, "Carmen, written again"))
	check("written again", "Carmen, written again", false)
	if batch.Stats().Reads == 0 {
		t.Error("no walk went through the Batcher")
	}
}

// TestKeptDetailsStayOutOfTransactions: a search in a transaction sees the transaction's own
// writes and neither uses nor fills the details kept, which the other readers keep reading as
// committed.
func TestKeptDetailsStayOutOfTransactions(t *testing.T) {
	w := newWorld(t)
	w.upsert(event(1, "kazan", nil))
	kept := search.NewKeptDetails(0)
	title := func(db pgdb.DBTX, with *search.KeptDetails) string {
		t.Helper()
		q, err := search.ParseQuery("city=kazan", w.vocab, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		p, err := search.SearchWith(w.ctx, db, search.Shared{Kept: with}, w.vocab, &q, func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) != 1 {
			t.Fatalf("got %d items, want 1", len(p.Items))
		}
		return p.Items[0].Title
	}
	if got := title(w.pool, kept); got != "Concert" {
		t.Fatalf("got %q, want Concert", got)
	}
	tx, err := w.pool.Begin(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(w.ctx) //nolint:errcheck // rolled back below
	if _, err := tx.Exec(w.ctx, `UPDATE events SET title = 'Uncommitted' WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	before := kept.Stats()
	if got := title(tx, kept); got != "Uncommitted" {
		t.Errorf("in the transaction: got %q, want its own write", got)
	}
	if s := kept.Stats(); s != before {
		t.Errorf("a transaction's search used the details kept: %+v, then %+v", before, s)
	}
	if got := title(w.pool, kept); got != "Concert" {
		t.Errorf("outside the transaction: got %q, want Concert", got)
	}
	if err := tx.Rollback(w.ctx); err != nil {
		t.Fatal(err)
	}
	if got := title(w.pool, kept); got != "Concert" {
		t.Errorf("after the rollback: got %q, want Concert", got)
	}
}

// TestDetailsGenerationNeverWaits: writers of the catalog in open transactions, more of them
// than the generation has rows, never wait on each other for it (migration 032), and each
// commit moves the generation on.
func TestDetailsGenerationNeverWaits(t *testing.T) {
	w := newWorld(t)
	var evs []catalog.Event
	for id := int64(1); id <= 12; id++ {
		evs = append(evs, event(id, "kazan", nil))
	}
	w.upsert(evs...)
	sum := func() int64 {
		t.Helper()
		var n int64
		if err := w.pool.QueryRow(w.ctx, `SELECT sum(n)::bigint FROM details_generation`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	start := sum()
	var txs []pgx.Tx
	for id := int64(1); id <= 12; id++ {
		c, err := pgx.Connect(w.ctx, w.url) // a writer's own session, beside the pool's few
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(w.ctx) //nolint:errcheck // a test's session
		tx, err := c.Begin(w.ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(w.ctx) //nolint:errcheck // committed below
		// Each writes its own event and photos; a wait for another's lock fails at once.
		if _, err := tx.Exec(w.ctx, `SET LOCAL lock_timeout = '2s'`); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(w.ctx, `UPDATE events SET title = 'Written' WHERE id = $1`, id); err != nil {
			t.Fatalf("writer %d: %v", id, err)
		}
		if _, err := tx.Exec(w.ctx, `DELETE FROM event_photos WHERE event_id = $1`, id); err != nil {
			t.Fatalf("writer %d, a second statement: %v", id, err)
		}
		txs = append(txs, tx)
	}
	if got := sum(); got != start {
		t.Errorf("uncommitted writes moved the generation from %d to %d", start, got)
	}
	for i, tx := range txs {
		before := sum()
		if err := tx.Commit(w.ctx); err != nil {
			t.Fatal(err)
		}
		if got := sum(); got <= before {
			t.Errorf("commit %d: the generation stayed at %d", i+1, got)
		}
	}
}

// TestKeptDetailsAfterConcurrentWrites: pages asked by several clients while titles, covers
// and seat counts are written, their walks sharing round trips (pgdb.Batcher), leave no stale
// detail behind: once the writes stop, every page taken from the keep is the page read
// without it.
func TestKeptDetailsAfterConcurrentWrites(t *testing.T) {
	search.SetLeanAfter(t, 1)
	w := newWorld(t)
	var evs []catalog.Event
	for id := int64(1); id <= 30; id++ {
		e := event(id, "kazan", map[string]string{"step_free_entrance": "yes"})
		e.StartsAt = e.StartsAt.Add(time.Duration(id) * time.Minute)
		evs = append(evs, e)
	}
	w.upsert(evs...)
	kept, batch := search.NewKeptDetails(0), pgdb.NewBatcher(w.pool, 0)
	questions := []string{"city=kazan", "city=kazan&limit=5", "constraints=step_free_entrance&limit=7", "q=concert"}
	answer := func(raw string, with *search.KeptDetails) (string, error) {
		q, err := search.ParseQuery(raw, w.vocab, time.Now())
		if err != nil {
			return "", err
		}
		shared := search.Shared{}
		if with != nil {
			shared = search.Shared{Kept: with, Batch: batch}
		}
		p, err := search.SearchWith(w.ctx, w.pool, shared, w.vocab, &q, func(key string) string { return "/photos/" + key })
		if err != nil {
			return "", err
		}
		b, err := json.Marshal(p)
		return string(b), err
	}
	stop := make(chan struct{})
	errs := make(chan error, 4)
	for c := range 3 {
		go func() {
			for i := c; ; i++ {
				select {
				case <-stop:
					errs <- nil
					return
				default:
				}
				if _, err := answer(questions[i%len(questions)], kept); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := range 150 {
		id := 1 + i%30
		var sql string
		switch i % 3 {
		case 0:
			sql = fmt.Sprintf(`UPDATE events SET title = 'Concert %d' WHERE id = %d`, i, id)
		case 1:
			sql = fmt.Sprintf(`INSERT INTO event_photos (event_id, object_key, content_type, width, height, bytes, position, version)
				VALUES (%d, 'p%d.jpg', 'image/jpeg', 10, 10, 100, %d, 1)`, id, i, 100-i)
		default:
			sql = fmt.Sprintf(`INSERT INTO event_availability (event_id, wheelchair_spaces, companion_seats, as_of, version)
				VALUES (%d, %d, 1, now(), 1) ON CONFLICT (event_id) DO UPDATE SET wheelchair_spaces = excluded.wheelchair_spaces`, id, i)
		}
		w.exec(sql)
	}
	close(stop)
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if s := kept.Stats(); s.Hits == 0 {
		t.Fatalf("no page took details from the keep during the writes: %+v", s)
	}
	compare := func(when string) {
		t.Helper()
		for _, raw := range questions {
			for range 3 {
				got, err := answer(raw, kept)
				if err != nil {
					t.Fatal(err)
				}
				fresh, err := answer(raw, nil)
				if err != nil {
					t.Fatal(err)
				}
				if got != fresh {
					t.Errorf("%s, %s: with the details kept\n%s\nwant\n%s", when, raw, got, fresh)
				}
			}
		}
	}
	compare("after the writes")
	w.exec(`UPDATE events SET title = title || ', last'`)
	compare("after one more write")
}

// TestPageDetailsReadInAnswerOrder: a page's details are read by city, start and id from the
// index of the events' details in answer order within their city (migration 037), from the
// index alone, both with the rows of a walk (withDetails) and after them (detailsSQL); an
// event that moved to another time or city after its page's rows were read is still shown,
// as it now is, and one deleted is left out.
func TestPageDetailsReadInAnswerOrder(t *testing.T) {
	w := newWorld(t)
	var events []catalog.Event
	for id := int64(1); id <= 4; id++ {
		e := event(id, "kazan", nil)
		e.StartsAt = e.StartsAt.Add(time.Duration(id) * time.Hour)
		events = append(events, e)
	}
	events = append(events, event(5, "samara", nil))
	w.upsert(events...)
	w.exec(`VACUUM (ANALYZE) events`) // all visible, as after an import (migration 034); few rows: no sequential scan below

	byKey := regexp.MustCompile(`Index Only Scan using events_city_starts on events \w+ \(actual rows=1 loops=\d+\)`)
	notByID := regexp.MustCompile(`Index Scan using events_pkey on events \w+ \(never executed\)`)
	q, err := search.ParseQuery("city=kazan", w.vocab, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	sql, args := search.PageSQL(&q)
	plan := pgtest.GenericPlan(t, w.pool, "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)", sql, args, "enable_seqscan = off")
	if !byKey.MatchString(plan) || !notByID.MatchString(plan) || !strings.Contains(plan, "Heap Fetches: 0") {
		t.Errorf("a walk's details: got the generic plan\n%s\nwant them from events_city_starts alone, none by id", plan)
	}

	var (
		cities []string
		starts []time.Time
		ids    []int64
	)
	for _, e := range events {
		cities, starts, ids = append(cities, e.City), append(starts, e.StartsAt), append(ids, e.ID)
	}
	plan = pgtest.GenericPlan(t, w.pool, "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)", search.DetailsSQL,
		[]any{cities, starts, ids}, "enable_seqscan = off")
	if !byKey.MatchString(plan) || !notByID.MatchString(plan) || !strings.Contains(plan, "Heap Fetches: 0") {
		t.Errorf("the details after a page's rows: got the generic plan\n%s\nwant them from events_city_starts alone, none by id", plan)
	}

	moved, away := events[1], events[2]
	moved.StartsAt = moved.StartsAt.Add(30 * time.Minute)
	away.City = "samara"
	w.upsert(moved, away)
	w.exec(`DELETE FROM events WHERE id = 4`)
	got, err := search.PageDetails(w.ctx, w.pool, cities, starts, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || !got[2].StartsAt.Equal(moved.StartsAt) || got[3].City != "samara" || got[1].Title != "Concert" {
		t.Errorf("got %+v, want events 1, 2 (moved to %s), 3 (now in samara) and 5, not 4 (deleted)", got, moved.StartsAt)
	}
	if _, ok := got[4]; ok {
		t.Error("a deleted event's details were read")
	}
}
