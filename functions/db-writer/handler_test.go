package function

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dostupno/dostupno/shared/apitest"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/commands"
	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/natstest"
	"github.com/dostupno/dostupno/shared/pgtest"
	"github.com/dostupno/dostupno/shared/writelog"
)

func newServer(t *testing.T, n *natstest.Env, replica string) *httptest.Server {
	t.Helper()
	cfg := config.Config{DatabaseURL: pgtest.NewURL(t), NatsURL: n.URL, Namespace: n.Namespace, Replica: replica}
	d := instance.New(Name, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(d.Close)
	h, err := New(d)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func call(t *testing.T, method, url string, want int, out any) {
	t.Helper()
	resp, b := apitest.Do(t, method, url, nil)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: got %d %s, want %d", method, url, resp.StatusCode, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, url, err, b)
		}
	}
}

func TestDBWriter(t *testing.T) {
	n := natstest.New(t)
	primary := newServer(t, n, "primary")
	second := newServer(t, n, "copy-2")
	l, err := writelog.Open(context.Background(), n.JS, n.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	ev := catalog.Event{ID: 7, Title: "Gig", Category: "concert", City: "kazan", Venue: catalog.Venue{ID: 1, Name: "Club"},
		StartsAt: time.Date(2026, 8, 1, 18, 0, 0, 0, time.UTC), Timezone: "Europe/Moscow"}
	for i := range 3 {
		ev.Title = strings.Repeat("x", i+1)
		if _, err := l.Publish(context.Background(), commands.KindEventUpsert, "event:7:"+ev.Title, time.Now(), []catalog.Event{ev}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("StatusShowsLag", func(t *testing.T) {
		var st map[string]any
		call(t, http.MethodGet, second.URL+"/status", 200, &st)
		if st["replica"] != "copy-2" || st["applied_seq"] != 0.0 || st["stream_seq"] != 3.0 || st["lag"] != 3.0 {
			t.Errorf("got %v, want replica copy-2, applied 0, stream 3, lag 3", st)
		}
	})
	t.Run("PostApplies", func(t *testing.T) {
		for _, srv := range []*httptest.Server{primary, second} {
			var got applyResponse
			call(t, http.MethodPost, srv.URL+"/", 200, &got)
			if got.Applied != 3 || got.Lag != 0 || got.AppliedSeq != 3 || got.More {
				t.Errorf("got %+v, want applied 3, lag 0", got)
			}
			call(t, http.MethodPost, srv.URL+"/", 200, &got)
			if got.Applied != 0 {
				t.Errorf("got applied %d on a second call, want 0", got.Applied)
			}
		}
	})
	t.Run("ErrMethodNotAllowed", func(t *testing.T) {
		call(t, http.MethodGet, primary.URL+"/", 405, nil)
		call(t, http.MethodPost, primary.URL+"/status", 405, nil)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		call(t, http.MethodPost, primary.URL+"/nope", 404, nil)
	})
}
