package catalog_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"

	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/changefeed"
	"github.com/dostupno/dostupno/shared/pgdb"
	"github.com/dostupno/dostupno/shared/pgtest"
	"github.com/dostupno/dostupno/shared/userkeys"
	"github.com/dostupno/dostupno/shared/writelog"
	"github.com/dostupno/dostupno/shared/writelog/writelogtest"
)

var at = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// at10 is an event at venue 10 with its own answers.
func at10(id int64, own map[string]string) catalog.Event {
	return catalog.Event{ID: id, Title: fmt.Sprintf("Вечер %d", id), Category: "theatre", City: "moscow",
		Venue: catalog.Venue{ID: 10, Name: "Зал"}, StartsAt: time.Date(2027, 1, 2, 18, 0, 0, 0, time.UTC).Add(time.Duration(id) * time.Hour),
		Timezone: "Europe/Moscow", Accessibility: catalog.Answers(own)}
}

// sets reads an event's effective yes and excluded ids.
func sets(t *testing.T, db pgdb.DBTX, id int64) (yes, excluded []int16) {
	t.Helper()
	if err := db.QueryRow(context.Background(), `SELECT constraint_ids, excluded_ids FROM event_accessibility WHERE event_id = $1`, id).
		Scan(&yes, &excluded); err != nil {
		t.Fatalf("event %d: %v", id, err)
	}
	return yes, excluded
}

func wantSets(t *testing.T, db pgdb.DBTX, id int64, yes, excluded []int16) {
	t.Helper()
	y, x := sets(t, db, id)
	if !slices.Equal(y, yes) || !slices.Equal(x, excluded) {
		t.Errorf("event %d: got yes %v excluded %v, want %v and %v", id, y, x, yes, excluded)
	}
}

// wantVenueNamesHeld checks that every event carries its venue's name as the venue's row holds
// it (events.venue_name, migration 028), which a search answer shows.
func wantVenueNamesHeld(t *testing.T, db pgdb.DBTX) {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT e.id, e.venue_name, v.name FROM events e JOIN venues v ON v.id = e.venue_id
		WHERE e.venue_name IS DISTINCT FROM v.name ORDER BY e.id LIMIT 5`)
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	var got, want string
	if _, err := pgx.ForEachRow(rows, []any{&id, &got, &want}, func() error {
		t.Errorf("event %d carries venue name %q, its venue's row holds %q", id, got, want)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// feed follows the change feed of e's namespace.
type feed struct{ sub *nats.Subscription }

func follow(t *testing.T, e *writelogtest.Env) feed {
	t.Helper()
	sub, err := e.NATS.Conn.SubscribeSync(changefeed.Subject(e.NATS.Namespace))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.NATS.Conn.Flush(); err != nil {
		t.Fatal(err)
	}
	return feed{sub}
}

// next is the next announced change's events, by id.
func (f feed) next(t *testing.T) map[int64]changefeed.Event {
	t.Helper()
	out, _ := f.nextWithVenues(t)
	return out
}

// nextWithVenues is next with the change's venues.
func (f feed) nextWithVenues(t *testing.T) (map[int64]changefeed.Event, []int64) {
	t.Helper()
	m, err := f.sub.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatalf("no change announced: %v", err)
	}
	var c changefeed.Change
	if err := json.Unmarshal(m.Data, &c); err != nil {
		t.Fatal(err)
	}
	out := map[int64]changefeed.Event{}
	for _, ev := range c.Events {
		out[ev.ID] = ev
	}
	return out, c.Venues
}

func venue10(facts catalog.Facts) catalog.VenueInput {
	v := catalog.VenueInput{Venue: catalog.Venue{ID: 10, Name: "Зал"}, City: "moscow"}
	if facts != nil {
		v.Accessibility = &facts
	}
	return v
}

func submitVenues(t *testing.T, e *writelogtest.Env, venues ...catalog.VenueInput) catalog.VenueUpsertResult {
	t.Helper()
	seq, err := catalog.SubmitVenues(context.Background(), e.Writer, at, venues)
	if err != nil {
		t.Fatal(err)
	}
	o, ok, err := e.Writer.Replica.Outcome(context.Background(), seq)
	if err != nil || !ok {
		t.Fatalf("got outcome %v, %v; want the applied one", ok, err)
	}
	var r catalog.VenueUpsertResult
	if err := o.DecodeResult(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

func submitEvents(t *testing.T, e *writelogtest.Env, events ...catalog.Event) {
	t.Helper()
	if _, err := catalog.SubmitEvents(context.Background(), e.Writer, at, events); err != nil {
		t.Fatal(err)
	}
}

// Ids of the vocabulary (migration 001).
const (
	stepFree, elevator, wheelchairSeating, toilet, parking = 1, 2, 3, 4, 5
	signLanguage                                           = 12
)

func TestVenueFacts(t *testing.T) {
	t.Parallel()
	e := writelogtest.New(t, kinds)
	other := at10(4, nil)
	other.Venue = catalog.Venue{ID: 11, Name: "Другой зал"}
	submitEvents(t, e, at10(1, nil), at10(2, map[string]string{"step_free_entrance": "no"}),
		at10(3, map[string]string{"elevator": "yes", "sign_language": "yes"}), other)
	f := follow(t, e)

	t.Run("ReachEveryEventAtTheVenue", func(t *testing.T) {
		r := submitVenues(t, e, venue10(catalog.Facts{
			"step_free_entrance": {Value: catalog.Yes, Source: "venue_survey", VerifiedAt: "2026-05-01"},
			"elevator":           {Value: catalog.No}, "accessible_toilet": {Value: catalog.NotApplicable}}))
		if r != (catalog.VenueUpsertResult{Venues: 1, Changed: 1, Events: 3}) {
			t.Errorf("got result %+v, want 1 venue changed reaching 3 events", r)
		}
		wantSets(t, e.Pool, 1, []int16{stepFree}, []int16{elevator, toilet})
		wantSets(t, e.Pool, 2, nil, []int16{stepFree, elevator, toilet}) // its own no wins
		wantSets(t, e.Pool, 3, []int16{stepFree, elevator, signLanguage}, []int16{toilet})
		wantSets(t, e.Pool, 4, nil, nil) // another venue
		got := f.next(t)
		if len(got) != 3 {
			t.Fatalf("got %d events announced, want the 3 at the venue", len(got))
		}
		if ev := got[3]; !slices.Equal(ev.Constraints, []string{"step_free_entrance", "elevator", "sign_language"}) ||
			!slices.Equal(ev.Excluded, []string{"accessible_toilet"}) || ev.City != "moscow" || ev.Category != "theatre" {
			t.Errorf("got event 3 announced as %+v, want its new state", ev)
		}
		var version int64
		var sheet string
		if err := e.Pool.QueryRow(context.Background(), `SELECT version, sheet::text FROM venue_accessibility WHERE venue_id = 10`).Scan(&version, &sheet); err != nil {
			t.Fatal(err)
		}
		if want := `{"elevator": "no", "accessible_toilet": "not_applicable", "step_free_entrance": {"value": "yes", "source": "venue_survey", "verified_at": "2026-05-01"}}`; sheet != want {
			t.Errorf("got venue sheet %s, want %s", sheet, want)
		}
	})

	t.Run("SameFactsChangeNothing", func(t *testing.T) {
		r := submitVenues(t, e, venue10(catalog.Facts{
			"step_free_entrance": {Value: catalog.Yes, Source: "venue_survey", VerifiedAt: "2026-05-01"},
			"elevator":           {Value: catalog.No}, "accessible_toilet": {Value: catalog.NotApplicable}}))
		if r != (catalog.VenueUpsertResult{Venues: 1}) {
			t.Errorf("got result %+v, want nothing changed", r)
		}
		// Without facts the stored ones stay.
		if r := submitVenues(t, e, venue10(nil)); r != (catalog.VenueUpsertResult{Venues: 1}) {
			t.Errorf("got result %+v for a venue without facts, want nothing changed", r)
		}
		wantSets(t, e.Pool, 1, []int16{stepFree}, []int16{elevator, toilet})
	})

	t.Run("AnEventCarriesItsVenuesFacts", func(t *testing.T) {
		ev := at10(5, map[string]string{"wheelchair_seating": "yes"})
		ev.Venue.Accessibility = &catalog.Facts{"step_free_entrance": {Value: catalog.No, Source: "visitor_report"}}
		submitEvents(t, e, ev)
		wantSets(t, e.Pool, 5, []int16{wheelchairSeating}, []int16{stepFree})
		wantSets(t, e.Pool, 1, nil, []int16{stepFree}) // the venue's facts were replaced whole
		wantSets(t, e.Pool, 3, []int16{elevator, signLanguage}, []int16{stepFree})
		got := f.next(t)
		if len(got) != 4 || got[5].Excluded[0] != "step_free_entrance" || !slices.Equal(got[1].Excluded, []string{"step_free_entrance"}) {
			t.Errorf("got %v announced, want event 5 and the 3 others at its venue", got)
		}
	})

	t.Run("RenameThroughAnEventAnnouncesTheVenue", func(t *testing.T) {
		ev := at10(6, nil)
		ev.Venue.Name = "Новый зал"
		submitEvents(t, e, ev)
		got, venues := f.nextWithVenues(t)
		if len(got) != 1 || !slices.Equal(venues, []int64{10}) {
			t.Errorf("got events %v and venues %v announced, want event 6 and venue 10 (every answer showing it)", keys(got), venues)
		}
		// The other events' text vectors stay as their own upserts wrote them (old commands
		// apply as they always did).
		if n := pgtest.Count(t, e.Pool, `SELECT count(*) FROM event_accessibility WHERE document @@ websearch_to_tsquery('russian', 'новый')`); n != 1 {
			t.Errorf("got %d events found by the new name, want the renaming event alone", n)
		}
		// But every event at the venue carries its new name, which answers show.
		wantVenueNamesHeld(t, e.Pool)
	})

	t.Run("RenameThroughTheVenueReindexesItsEvents", func(t *testing.T) {
		v := venue10(nil)
		v.Name = "Сцена на Неглинной"
		if r := submitVenues(t, e, v); r.Changed != 1 || r.Events != 0 {
			t.Errorf("got result %+v, want the venue changed and no event's answers", r)
		}
		if n := pgtest.Count(t, e.Pool, `SELECT count(*) FROM event_accessibility WHERE document @@ websearch_to_tsquery('russian', 'Неглинная')`); n != 5 {
			t.Errorf("got %d events found by the venue's new name, want 5", n)
		}
		wantVenueNamesHeld(t, e.Pool)
		if got, venues := f.nextWithVenues(t); len(got) != 0 || !slices.Equal(venues, []int64{10}) {
			t.Errorf("got events %v and venues %v announced, want venue 10 alone", keys(got), venues)
		}
	})
}

func keys(m map[int64]changefeed.Event) []int64 {
	var out []int64
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// A run of event upserts spread over several connections (an import) leaves the same rows as
// the same commands applied one by one, venue facts included: events written before the run
// inherit the facts a run states (the applier's transaction reaches them), the run's own
// events inherit the last statement of their venue in the run, and applying the run again
// after a crash between the parts' commits and the applier's leaves the same rows and
// outcomes.
func TestSpreadRunWithVenueFacts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	spreadDB, serialDB := pgtest.New(t), pgtest.New(t)
	vocab, err := catalog.LoadVocabulary(ctx, spreadDB)
	if err != nil {
		t.Fatal(err)
	}
	earlier := []catalog.Event{at10(1, nil), at10(2, map[string]string{"elevator": "no"})}
	for _, db := range []*pgxpool.Pool{spreadDB, serialDB} {
		if _, err := catalog.UpsertEvents(ctx, db, vocab, 1, at, earlier); err != nil {
			t.Fatal(err)
		}
	}
	command := func(first int64, facts catalog.Facts, name string) []catalog.Event {
		var out []catalog.Event
		for id := first; id < first+150; id++ {
			ev := at10(id, map[string]string{"sign_language": "yes"})
			ev.Venue.ID = 10 + id%3 // venues 10, 11, 12
			ev.Description = strings.Repeat("Описание вечера. ", 20)
			if ev.Venue.ID == 10 && facts != nil && id < first+3 {
				f := facts
				ev.Venue.Accessibility = &f
				ev.Venue.Name = name
			}
			out = append(out, ev)
		}
		return out
	}
	var run []writelog.Numbered
	for i, c := range [][]catalog.Event{
		command(100, catalog.Facts{"elevator": {Value: catalog.Yes, Source: "venue_survey"}}, "Зал"),
		command(200, nil, ""),
		command(300, catalog.Facts{"elevator": {Value: catalog.No}, "step_free_entrance": {Value: catalog.Yes}}, "Зал на Арбате"),
	} {
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		run = append(run, writelog.Numbered{Seq: uint64(2 + i), Cmd: writelog.Command{Kind: catalog.KindEventUpsert, At: at, Payload: b}})
	}

	// One by one, as a copy applies a run it does not spread.
	apply := catalog.EventUpsert(vocab)
	var serialOuts []writelog.Outcome
	if err := pgx.BeginFunc(ctx, serialDB, func(tx pgx.Tx) error {
		for _, c := range run {
			o, err := apply(ctx, tx, c.Seq, c.Cmd)
			if err != nil {
				return err
			}
			serialOuts = append(serialOuts, o)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// Spread, crashing once between the parts' commits and the applier's.
	spread := catalog.EventUpsertSpread(vocab)
	attempt := func(commit bool) []writelog.Outcome {
		t.Helper()
		tx, err := spreadDB.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
		parts := make([]pgx.Tx, 2)
		for i := range parts {
			if parts[i], err = spreadDB.Begin(ctx); err != nil {
				t.Fatal(err)
			}
		}
		outs, err := spread(ctx, tx, parts, run)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range parts {
			if err := p.Commit(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if commit {
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
		}
		return outs
	}
	attempt(false)
	outs := attempt(true)
	writelogtest.Equal(t, spreadDB, serialDB)
	// Event 300 names venue 10 "Зал на Арбате", and a later event of its command "Зал" again:
	// the venue keeps "Зал", and so does every event at it.
	wantVenueNamesHeld(t, spreadDB)
	wantVenueNamesHeld(t, serialDB)
	wantSets(t, spreadDB, 1, []int16{stepFree}, []int16{elevator})                 // written before the run
	wantSets(t, spreadDB, 102, []int16{stepFree, signLanguage}, []int16{elevator}) // at venue 10
	if len(outs) != len(serialOuts) {
		t.Fatalf("got %d outcomes, want %d", len(outs), len(serialOuts))
	}
	for i := range outs {
		if string(outs[i].Result) != string(serialOuts[i].Result) {
			t.Errorf("command %d: got result %s spread, %s one by one; want the same", i, outs[i].Result, serialOuts[i].Result)
		}
	}
	announced := map[int64]bool{}
	for _, o := range outs {
		for _, ev := range o.Change.Events {
			announced[ev.ID] = true
		}
	}
	if !announced[1] || !announced[2] || !announced[449] {
		t.Errorf("got %d events announced, want the run's and those earlier at the changed venue", len(announced))
	}
}

// A venue change rewrites the index rows of every event at the venue; venue.upsert declares
// the tables it grows, so that a copy whose applier reads the stream to its end analyses and
// vacuums them (writelog.Replica.Maintain) without waiting for autovacuum. Here the copy
// applies venue.upsert alone: the events are written beside the log.
func TestVenueChangeMaintainsWhatItRewrote(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := writelogtest.New(t, func(v *catalog.Vocabulary, _ *userkeys.Store) []writelog.Kind {
		return slices.DeleteFunc(catalog.Kinds(v), func(k writelog.Kind) bool { return k.Name != catalog.KindVenueUpsert })
	})
	events := make([]catalog.Event, 4000)
	for i := range events {
		events[i] = at10(int64(i+1), map[string]string{"sign_language": "yes"})
	}
	if _, err := catalog.UpsertEvents(ctx, e.Pool, e.Vocab, 1, at, events); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Pool.Exec(ctx, `VACUUM (ANALYZE) event_accessibility`); err != nil {
		t.Fatal(err)
	}
	// pages recorded by the last VACUUM or ANALYZE, and on disk.
	pages := func() (recorded, onDisk int64) {
		t.Helper()
		if err := e.Pool.QueryRow(ctx, `SELECT relpages, pg_relation_size(oid) / 8192 FROM pg_class WHERE relname = 'event_accessibility'`).
			Scan(&recorded, &onDisk); err != nil {
			t.Fatal(err)
		}
		return recorded, onDisk
	}
	_, before := pages()

	if r := submitVenues(t, e, venue10(catalog.Facts{"step_free_entrance": {Value: catalog.Yes}})); r.Events != len(events) {
		t.Fatalf("got %+v, want the venue's change to reach its %d events", r, len(events))
	}
	recorded, grown := pages()
	if grown < before+pgdb.MaintainMinPages || recorded != before {
		t.Fatalf("got event_accessibility at %d pages (%d recorded) after the change, from %d: want it grown past the threshold, unmaintained by the writer", grown, recorded, before)
	}
	if _, err := e.Writer.Replica.ApplyPending(ctx); err != nil {
		t.Fatal(err)
	}
	if recorded, onDisk := pages(); recorded != onDisk {
		t.Fatalf("got %d pages recorded of %d on disk, want event_accessibility maintained after the venue's change", recorded, onDisk)
	}
}
