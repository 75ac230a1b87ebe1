package function

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dostupno/dostupno/shared/apitest"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/writelog"
)

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
	primary := apitest.New(t, Name, New, apitest.WithNATS())
	second := apitest.New(t, Name, New, apitest.WithNATSOf(primary), apitest.WithConfig(func(c *config.Config) { c.Replica = "copy-2" }))
	l, err := writelog.Open(context.Background(), primary.NATS.JS, primary.NATS.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	ev := catalog.Event{ID: 7, Title: "Gig", Category: "concert", City: "kazan", Venue: catalog.Venue{ID: 1, Name: "Club"},
		StartsAt: time.Date(2026, 8, 1, 18, 0, 0, 0, time.UTC), Timezone: "Europe/Moscow"}
	for i := range 3 {
		ev.Title = strings.Repeat("x", i+1)
		if _, err := l.Publish(context.Background(), catalog.KindEventUpsert, "event:7:"+ev.Title, time.Now(), []catalog.Event{ev}); err != nil {
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
		for _, srv := range []*apitest.Env{primary, second} {
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
		for _, c := range []struct{ method, path string }{{http.MethodGet, "/"}, {http.MethodPost, "/status"}} {
			resp, b := primary.Do(t, c.method, c.path, nil)
			apitest.WantError(t, resp, b, 405, "method_not_allowed")
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		resp, b := primary.Do(t, http.MethodPost, "/nope", nil)
		apitest.WantError(t, resp, b, 404, "not_found")
	})
}
