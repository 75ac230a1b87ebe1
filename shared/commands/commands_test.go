package commands_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/changefeed"
	"github.com/dostupno/dostupno/shared/commands"
	"github.com/dostupno/dostupno/shared/natstest"
	"github.com/dostupno/dostupno/shared/pgtest"
	"github.com/dostupno/dostupno/shared/writelog"
)

func TestEventUpsert(t *testing.T) {
	ctx := context.Background()
	n := natstest.New(t)
	pool := pgtest.New(t)
	l, err := writelog.Open(ctx, n.JS, n.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	vocab, err := catalog.LoadVocabulary(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	r := writelog.NewReplica(l, pool, writelog.PrimaryName, commands.Handlers(vocab), slog.New(slog.NewTextHandler(io.Discard, nil)))
	sub, err := n.Conn.SubscribeSync(changefeed.Subject(n.Namespace))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Conn.Flush(); err != nil {
		t.Fatal(err)
	}
	ev := func(id int64, city string, acc map[string]string) catalog.Event {
		return catalog.Event{ID: id, Title: "T", Category: "theatre", City: city, Venue: catalog.Venue{ID: 3, Name: "V"},
			StartsAt: time.Date(2027, 1, 2, 18, 0, 0, 0, time.UTC), Timezone: "Europe/Moscow", Accessibility: acc}
	}
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

	t.Run("LastOccurrenceWinsAndIsAnnounced", func(t *testing.T) {
		seq, err := l.Publish(ctx, commands.KindEventUpsert, "t:1", at, []catalog.Event{
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
		m, err := sub.NextMsg(2 * time.Second)
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

	t.Run("SchemaRefusalRejected", func(t *testing.T) {
		seq, err := l.Publish(ctx, commands.KindEventUpsert, "t:2", at, []catalog.Event{ev(-7, "moscow", nil)})
		if err != nil {
			t.Fatal(err)
		}
		o, err := r.WaitApplied(ctx, seq)
		if err != nil || o.Status != writelog.Rejected || o.Code != "invalid_argument" {
			t.Errorf("got %+v, %v; want rejected invalid_argument", o, err)
		}
	})

	t.Run("MalformedPayloadFailed", func(t *testing.T) {
		seq, err := l.Publish(ctx, commands.KindEventUpsert, "t:3", at, map[string]int{"id": 1})
		if err != nil {
			t.Fatal(err)
		}
		o, err := r.WaitApplied(ctx, seq)
		if err != nil || o.Status != writelog.Failed {
			t.Errorf("got %+v, %v; want failed", o, err)
		}
	})
}
