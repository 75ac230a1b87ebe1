package photo

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/changefeed"
	"github.com/dostupno/dostupno/shared/userkeys"
	"github.com/dostupno/dostupno/shared/writelog"
	"github.com/dostupno/dostupno/shared/writelog/writelogtest"
)

type logEnv struct {
	*writelogtest.Env
	changes chan changefeed.Change
}

func newLogEnv(t *testing.T) *logEnv {
	t.Helper()
	w := writelogtest.New(t, func(*catalog.Vocabulary, *userkeys.Store) []writelog.Kind { return Kinds() })
	changes := make(chan changefeed.Change, 16)
	sub, err := w.NATS.Conn.Subscribe(changefeed.Subject(w.NATS.Namespace), func(m *nats.Msg) {
		var c changefeed.Change
		if json.Unmarshal(m.Data, &c) == nil {
			changes <- c
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() }) // the connection closes with the test anyway
	return &logEnv{Env: w, changes: changes}
}

// addEvent writes event id straight into the copy (the event.upsert command is not this
// package's business).
func (e *logEnv) addEvent(t *testing.T, id int64, accessible map[string]string) {
	t.Helper()
	ctx := context.Background()
	ev := catalog.Event{ID: id, Title: "Концерт", Category: "concert", City: "moscow",
		Venue: catalog.Venue{ID: 1, Name: "Зал"}, StartsAt: time.Date(2027, 1, 2, 16, 0, 0, 0, time.UTC),
		Timezone: "Europe/Moscow", Accessibility: catalog.Answers(accessible)}
	if _, err := catalog.UpsertEvents(ctx, e.Pool, e.Vocab, 1, time.Now(), []catalog.Event{ev}); err != nil {
		t.Fatal(err)
	}
}

// add submits a and returns its sequence and outcome (a rejected or failed one too).
func (e *logEnv) add(t *testing.T, a Added) (uint64, writelog.Outcome) {
	t.Helper()
	s, err := e.Writer.Submit(context.Background(), time.Now(), writelog.Write{Kind: Kind, Key: CommandKey(a.Key), Payload: a})
	if len(s.Outcomes) != 1 {
		t.Fatalf("got %v, want the outcome of the write", err)
	}
	return s.Seq, s.Outcomes[0]
}

type photoRow struct {
	Key      string
	Position int
	Version  int64
}

func (e *logEnv) rows(t *testing.T, eventID int64) []photoRow {
	t.Helper()
	rows, err := e.Pool.Query(context.Background(), `SELECT object_key, position, version FROM event_photos WHERE event_id = $1 ORDER BY position`, eventID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []photoRow
	for rows.Next() {
		var r photoRow
		if err := rows.Scan(&r.Key, &r.Position, &r.Version); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func added(eventID int64, key string) Added {
	return Added{EventID: eventID, Key: key, ContentType: "image/png", Width: 10, Height: 20, Bytes: 300}
}

func TestApply(t *testing.T) {
	t.Parallel()
	e := newLogEnv(t)
	e.addEvent(t, 5, map[string]string{"elevator": "yes", "braille": "no"})

	seq1, out := e.add(t, added(5, "events/5/a.png"))
	if out.Status != writelog.Applied {
		t.Fatalf("got %+v, want applied", out)
	}
	var res AddResult
	if err := json.Unmarshal(out.Result, &res); err != nil || res.Position != 1 || res.Key != "events/5/a.png" {
		t.Fatalf("got result %s (%v), want position 1 of events/5/a.png", out.Result, err)
	}
	select {
	case c := <-e.changes:
		if len(c.Events) != 1 || c.Events[0].ID != 5 || c.Events[0].City != "moscow" || len(c.Events[0].Constraints) != 1 || c.Events[0].Constraints[0] != "elevator" {
			t.Fatalf("got change %+v, want event 5 in moscow with [elevator]", c)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("got no change announced, want one naming event 5")
	}

	seq2, _ := e.add(t, added(5, "events/5/b.png"))
	// The same key again (another command: the payload differs) keeps its first place.
	again := added(5, "events/5/a.png")
	again.Bytes = 301
	_, out = e.add(t, again)
	if err := json.Unmarshal(out.Result, &res); err != nil || out.Status != writelog.Applied || res.Position != 1 {
		t.Fatalf("got %+v %s, want applied at position 1", out, out.Result)
	}
	got := e.rows(t, 5)
	want := []photoRow{{"events/5/a.png", 1, int64(seq1)}, {"events/5/b.png", 2, int64(seq2)}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("got rows %+v, want %+v", got, want)
	}

	t.Run("ErrUnknownEventRejected", func(t *testing.T) {
		_, out := e.add(t, added(999, "events/999/c.png"))
		if out.Status != writelog.Rejected || out.Code != apperr.NotFound || apperr.CodeOf(out.Err()) != apperr.NotFound {
			t.Fatalf("got %+v, want rejected not_found", out)
		}
		if rows := e.rows(t, 999); len(rows) != 0 {
			t.Fatalf("got rows %+v, want none", rows)
		}
	})
	t.Run("AddAnswersWithThePosition", func(t *testing.T) {
		res, err := Add(context.Background(), e.Writer, time.Now(), added(5, "events/5/e.png"))
		if err != nil || res != (AddResult{EventID: 5, Key: "events/5/e.png", Position: 3}) {
			t.Fatalf("got %+v, %v; want position 3 of events/5/e.png", res, err)
		}
		if _, err := Add(context.Background(), e.Writer, time.Now(), added(998, "events/998/e.png")); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("got %v, want not_found for an unknown event", err)
		}
	})
	t.Run("ErrIncompletePayloadFailed", func(t *testing.T) {
		bad := added(5, "events/5/d.png")
		bad.Width = 0
		_, out := e.add(t, bad)
		if out.Status != writelog.Failed {
			t.Fatalf("got %+v, want failed", out)
		}
	})
}
