package catalog_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/writelog"
	"github.com/dostupno/dostupno/shared/writelog/writelogtest"
)

// TestSeatsUpdateReadsFiltersOnlyToAnnounce: a copy that announces its changes (the primary)
// announces each written count of an event the catalog holds with the event's filters; another
// copy writes the same rows with the same outcome and announces nothing, so it need not read
// the events' filters.
func TestSeatsUpdateReadsFiltersOnlyToAnnounce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := writelogtest.New(t, kinds)
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	seq, err := e.Log.Publish(ctx, catalog.KindEventUpsert, "t:1", at, []catalog.Event{{ID: 1, Title: "T", Category: "theatre",
		City: "kazan", Venue: catalog.Venue{ID: 3, Name: "V"}, StartsAt: time.Date(2027, 1, 2, 18, 0, 0, 0, time.UTC),
		Timezone: "Europe/Moscow", Accessibility: catalog.Answers(map[string]string{"elevator": "yes"})}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Writer.Replica.WaitApplied(ctx, seq); err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal([]catalog.Seats{{EventID: 1, WheelchairSpaces: 2, CompanionSeats: 1, AsOf: at},
		{EventID: 99, WheelchairSpaces: 1, CompanionSeats: 0, AsOf: at}}) // 99: not in the catalog yet
	if err != nil {
		t.Fatal(err)
	}
	cmd := writelog.Command{V: writelog.Version, Kind: catalog.KindSeatsUpdate, Key: "seats:t", At: at, Payload: payload}
	for _, announces := range []bool{false, true} {
		tx, err := e.Pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		o, err := catalog.SeatsUpdate(e.Vocab)(writelog.WithAnnounces(ctx, announces), tx, seq+1, cmd)
		if err != nil {
			t.Fatal(err)
		}
		var res catalog.SeatsResult
		if err := o.DecodeResult(&res); err != nil || res.Count != 2 || res.Ignored != 0 {
			t.Errorf("announces %v: got %+v (%v), want count 2, ignored 0", announces, res, err)
		}
		var rows int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM event_availability WHERE event_id IN (1, 99) AND version = $1`, int64(seq+1)).Scan(&rows); err != nil || rows != 2 {
			t.Errorf("announces %v: got %d rows written (%v), want 2", announces, rows, err)
		}
		switch ev := o.Change.Events; {
		case !announces && len(ev) != 0:
			t.Errorf("a copy that does not announce: got %d events in its change, want none", len(ev))
		case announces && (len(ev) != 1 || ev[0].ID != 1 || ev[0].City != "kazan" || ev[0].Seats == nil || ev[0].Seats.WheelchairSpaces != 2):
			t.Errorf("the primary: got %+v, want event 1 in kazan with its 2 spaces", ev)
		}
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if !writelog.Announces(writelog.WithAnnounces(ctx, true)) || writelog.Announces(ctx) {
		t.Error("Announces: want true when set, false when never set")
	}
}
