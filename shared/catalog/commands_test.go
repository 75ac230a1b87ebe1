package catalog_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/changefeed"
	"github.com/dostupno/dostupno/shared/userkeys"
	"github.com/dostupno/dostupno/shared/writelog"
	"github.com/dostupno/dostupno/shared/writelog/writelogtest"
)

// kinds are the catalog's kinds, as writelogtest.New takes a domain's kinds.
func kinds(v *catalog.Vocabulary, _ *userkeys.Store) []writelog.Kind { return catalog.Kinds(v) }

func TestEventUpsert(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := writelogtest.New(t, kinds)
	n, l, pool, r := e.NATS, e.Log, e.Pool, e.Writer.Replica
	sub, err := n.Conn.SubscribeSync(changefeed.Subject(n.Namespace))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Conn.Flush(); err != nil {
		t.Fatal(err)
	}
	ev := func(id int64, city string, acc map[string]string) catalog.Event {
		return catalog.Event{ID: id, Title: "T", Category: "theatre", City: city, Venue: catalog.Venue{ID: 3, Name: "V"},
			StartsAt: time.Date(2027, 1, 2, 18, 0, 0, 0, time.UTC), Timezone: "Europe/Moscow", Accessibility: catalog.Answers(acc)}
	}
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

	t.Run("LastOccurrenceWinsAndIsAnnounced", func(t *testing.T) {
		seq, err := l.Publish(ctx, catalog.KindEventUpsert, "t:1", at, []catalog.Event{
			ev(1, "moscow", map[string]string{"elevator": "yes"}),
			ev(1, "kazan", map[string]string{"subtitles": "yes", "braille": "no"}),
		})
		if err != nil {
			t.Fatal(err)
		}
		o, err := r.WaitApplied(ctx, seq)
		if err != nil || o.Status != writelog.Applied {
			t.Fatalf("got %+v, %v; want applied", o, err)
		}
		var city string
		var updated time.Time
		if err := pool.QueryRow(ctx, `SELECT city, updated_at FROM events WHERE id = 1`).Scan(&city, &updated); err != nil {
			t.Fatal(err)
		}
		if city != "kazan" || !updated.Equal(at) {
			t.Errorf("got city %q updated %v, want kazan and the command's time %v", city, updated, at)
		}
		m, err := sub.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var c changefeed.Change
		if err := json.Unmarshal(m.Data, &c); err != nil {
			t.Fatal(err)
		}
		if len(c.Events) != 1 || c.Events[0].City != "kazan" || len(c.Events[0].Constraints) != 1 || c.Events[0].Constraints[0] != "subtitles" {
			t.Errorf("got change %+v, want event 1 in kazan with [subtitles]", c)
		}
	})

	t.Run("SchemaRefusalFailed", func(t *testing.T) {
		seq, err := l.Publish(ctx, catalog.KindEventUpsert, "t:2", at, []catalog.Event{ev(-7, "moscow", nil)})
		if err != nil {
			t.Fatal(err)
		}
		o, err := r.WaitApplied(ctx, seq)
		if err != nil || o.Status != writelog.Failed || o.Code != "invalid_argument" || !strings.Contains(o.Message, "SQLSTATE 23514") {
			t.Errorf("got %+v, %v; want failed invalid_argument with SQLSTATE 23514", o, err)
		}
	})

	t.Run("MalformedPayloadFailed", func(t *testing.T) {
		seq, err := l.Publish(ctx, catalog.KindEventUpsert, "t:3", at, map[string]int{"id": 1})
		if err != nil {
			t.Fatal(err)
		}
		o, err := r.WaitApplied(ctx, seq)
		if err != nil || o.Status != writelog.Failed {
			t.Errorf("got %+v, %v; want failed", o, err)
		}
	})

	t.Run("UnknownFieldFailed", func(t *testing.T) {
		b, err := json.Marshal([]catalog.Event{ev(9, "moscow", nil)})
		if err != nil {
			t.Fatal(err)
		}
		payload := json.RawMessage(strings.Replace(string(b), `{"id":9,`, `{"id":9,"secret":1,`, 1))
		seq, err := l.Publish(ctx, catalog.KindEventUpsert, "t:4", at, payload)
		if err != nil {
			t.Fatal(err)
		}
		o, err := r.WaitApplied(ctx, seq)
		if err != nil || o.Status != writelog.Failed || !strings.Contains(o.Message, `unknown field "secret"`) {
			t.Errorf("got %+v, %v; want failed for the unknown field", o, err)
		}
	})

	t.Run("SubmitEventsSplitsALargeWrite", func(t *testing.T) {
		w := e.Writer
		events := make([]catalog.Event, 2000)
		for i := range events {
			events[i] = ev(int64(1000+i), "kazan", map[string]string{"elevator": "yes"})
			events[i].Title = strings.Repeat("т", 200)
		}
		before, err := l.LastSeq(ctx)
		if err != nil {
			t.Fatal(err)
		}
		version, err := catalog.SubmitEvents(ctx, w, at, events)
		if err != nil {
			t.Fatal(err)
		}
		if version < before+2 {
			t.Fatalf("got version %d after sequence %d, want the events in several commands", version, before)
		}
		var n, v int64
		if err := pool.QueryRow(ctx, `SELECT count(*), max(version) FROM events WHERE id >= 1000`).Scan(&n, &v); err != nil {
			t.Fatal(err)
		}
		if n != 2000 || v != int64(version) {
			t.Fatalf("got %d events up to version %d, want 2000 up to %d", n, v, version)
		}
	})
}
