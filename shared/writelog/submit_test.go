package writelog_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/photo"
	"github.com/dostupno/dostupno/shared/writelog"
)

func upsert(key string, events ...catalog.Event) writelog.Write {
	return writelog.Write{Kind: catalog.KindEventUpsert, Key: key, Payload: events}
}

func TestSubmit(t *testing.T) {
	t.Run("OKReadsItsWrites", func(t *testing.T) {
		e := newEnv(t)
		pool, r := e.copy(t, "primary", nil)
		w := writelog.NewWriter(e.log, r, quiet())
		s, err := w.Submit(context.Background(), at, upsert("event:1", event(1, "One")), upsert("event:2", event(2, "Two")))
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Outcomes) != 2 || s.Outcomes[0].Status != writelog.Applied || s.Outcomes[1].Status != writelog.Applied || s.Seq != 2 {
			t.Fatalf("got %+v, want two applied outcomes and sequence 2", s)
		}
		if got, v := title(t, pool, 2); got != "Two" || v != 2 {
			t.Fatalf("got %q version %d, want the write applied when Submit returned", got, v)
		}
	})

	t.Run("ErrRejectedKeepsItsCode", func(t *testing.T) {
		e := newEnv(t)
		_, r := e.copy(t, "primary", nil)
		w := writelog.NewWriter(e.log, r, quiet())
		// A photo of an event the copy does not hold is rejected with not_found.
		noEvent := writelog.Write{Kind: photo.Kind, Key: "photo:x", Payload: photo.Added{EventID: 404, Key: "events/404/x.png",
			ContentType: "image/png", Width: 1, Height: 1, Bytes: 1}}
		s, err := w.Submit(context.Background(), at, upsert("event:1", event(1, "Good")), noEvent)
		if apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("got %v, want the rejection's not_found", err)
		}
		if len(s.Outcomes) != 2 || s.Outcomes[0].Status != writelog.Applied || s.Outcomes[1].Status != writelog.Rejected {
			t.Fatalf("got %+v, want applied then rejected", s.Outcomes)
		}
	})

	t.Run("ErrUnavailableWhenTheCopyIsGone", func(t *testing.T) {
		e := newEnv(t)
		pool, r := e.copy(t, "primary", nil)
		w := writelog.NewWriter(e.log, r, quiet())
		pool.Close()
		_, err := w.Submit(context.Background(), at, upsert("event:1", event(1, "One")))
		wantUnavailable(t, err)
		if last, lerr := e.log.LastSeq(context.Background()); lerr != nil || last != 1 {
			t.Fatalf("got last sequence %d, %v; want the write published all the same", last, lerr)
		}
	})

	t.Run("ErrUnavailableWhenTheLogIsGone", func(t *testing.T) {
		e := newEnv(t)
		_, r := e.copy(t, "primary", nil)
		w := writelog.NewWriter(e.log, r, quiet())
		if err := e.nats.JS.DeleteStream(context.Background(), writelog.StreamName(e.nats.Namespace)); err != nil {
			t.Fatal(err)
		}
		_, err := w.Submit(context.Background(), at, upsert("event:1", event(1, "One")))
		wantUnavailable(t, err)
	})

	t.Run("ErrUnavailablePastTheRequestsDeadline", func(t *testing.T) {
		e := newEnv(t)
		_, r := e.copy(t, "primary", nil)
		w := writelog.NewWriter(e.log, r, quiet())
		// Less than AnswerMargin left: nothing is even published.
		ctx, cancel := context.WithTimeout(context.Background(), writelog.AnswerMargin/2)
		defer cancel()
		_, err := w.Submit(ctx, at, upsert("event:1", event(1, "One")))
		wantUnavailable(t, err)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want the deadline as the cause", err)
		}
	})
}

// wantUnavailable fails t unless err is the writer's one contract error.
func wantUnavailable(t *testing.T, err error) {
	t.Helper()
	e := apperr.As(err)
	if e.Code != apperr.Unavailable || e.Code.Status() != http.StatusServiceUnavailable || e.RetryAfter != writelog.RetryAfter ||
		e.Message != "the write could not be completed now; try again shortly" {
		t.Fatalf("got %v (retry after %v), want the writer's unavailable error", err, e.RetryAfter)
	}
}
