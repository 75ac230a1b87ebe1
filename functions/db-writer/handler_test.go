package function

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dostupno/dostupno/shared/apitest"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/token"
	"github.com/dostupno/dostupno/shared/writelog"
)

// call sends method to url with the bearer token tok ("" for none), wants status and decodes
// the answer into out (nil: none).
func call(t *testing.T, method, url, tok string, want int, out any) []byte {
	t.Helper()
	resp, b := apitest.Do(t, method, url, nil, "Authorization", apitest.Bearer(tok))
	if resp.StatusCode != want {
		t.Fatalf("%s %s: got %d %s, want %d", method, url, resp.StatusCode, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, url, err, b)
		}
	}
	return b
}

// publish puts n event upserts on the log of e's namespace.
func publish(t *testing.T, e *apitest.Env, n int) {
	t.Helper()
	l, err := writelog.Open(context.Background(), e.NATS.JS, e.NATS.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	ev := catalog.Event{ID: 7, Title: "Gig", Category: "concert", City: "kazan", Venue: catalog.Venue{ID: 1, Name: "Club"},
		StartsAt: time.Date(2026, 8, 1, 18, 0, 0, 0, time.UTC), Timezone: "Europe/Moscow"}
	for i := range n {
		ev.Title = strings.Repeat("x", i+1)
		if _, err := l.Publish(context.Background(), catalog.KindEventUpsert, "event:7:"+ev.Title, time.Now(), []catalog.Event{ev}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDBWriter(t *testing.T) {
	primary := apitest.New(t, Name, New, apitest.WithNATS())
	second := apitest.New(t, Name, New, apitest.WithNATSOf(primary), apitest.WithConfig(func(c *config.Config) { c.Replica = "copy-2" }))
	publish(t, primary, 3)

	t.Run("StatusShowsLagToAnAdmin", func(t *testing.T) {
		var st writelog.Status
		call(t, http.MethodGet, second.URL+"/status", second.Admin, 200, &st)
		if st != (writelog.Status{Replica: "copy-2", AppliedSeq: 0, StreamSeq: 3, Lag: 3}) {
			t.Errorf("got %+v, want replica copy-2, applied 0, stream 3, lag 3", st)
		}
	})
	t.Run("PostAppliesAndTellsNothing", func(t *testing.T) {
		for _, srv := range []*apitest.Env{primary, second} {
			if b := call(t, http.MethodPost, srv.URL+"/", "", 204, nil); len(b) != 0 {
				t.Errorf("got body %q, want none", b)
			}
			var st writelog.Status
			call(t, http.MethodGet, srv.URL+"/status", srv.Admin, 200, &st)
			if st.AppliedSeq != 3 || st.Lag != 0 {
				t.Errorf("got %+v after POST, want applied 3, lag 0", st)
			}
			call(t, http.MethodPost, srv.URL+"/", "", 204, nil)
		}
	})
	t.Run("StatusToAnAdminTheCopyDoesNotHoldYet", func(t *testing.T) {
		// A copy that lags may not have applied the admin's account: its status is a read,
		// and the admin role of a well-signed token suffices.
		tok := second.Token(t, "3c9f1d2e-4b5a-4c6d-8e7f-9a0b1c2d3e4f", token.RoleAdmin)
		var st writelog.Status
		call(t, http.MethodGet, second.URL+"/status", tok, 200, &st)
	})
	t.Run("ErrStatusWithoutAdmin", func(t *testing.T) {
		for _, c := range []struct {
			tok    string
			status int
			code   string
		}{{"", 401, "unauthenticated"}, {primary.User, 403, "forbidden"}, {"garbage", 401, "unauthenticated"}} {
			resp, b := primary.Do(t, http.MethodGet, "/status", nil, "Authorization", apitest.Bearer(c.tok))
			apitest.WantError(t, resp, b, c.status, c.code)
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

// A POST while another runs on the same instance answers at once without applying, and has
// the running one go round once more.
func TestOneRunAtATime(t *testing.T) {
	e := apitest.New(t, Name, New, apitest.WithNATS())
	publish(t, e, 2)
	s := &server{deps: e.Deps}
	s.running = true // a run in progress
	rec := httptest.NewRecorder()
	s.apply(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	if rec.Code != 204 || !s.again {
		t.Fatalf("got %d, again %v while a run was in progress, want 204 at once and another round asked", rec.Code, s.again)
	}
	var st writelog.Status
	call(t, http.MethodGet, e.URL+"/status", e.Admin, 200, &st)
	if st.AppliedSeq != 0 {
		t.Fatalf("got %+v, want nothing applied by the call that found a run in progress", st)
	}
	s.running, s.again = false, false
	rec = httptest.NewRecorder()
	s.apply(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	call(t, http.MethodGet, e.URL+"/status", e.Admin, 200, &st)
	if rec.Code != 204 || st.AppliedSeq != 2 || s.running {
		t.Fatalf("got %d, %+v, running %v; want 204, everything applied and the run over", rec.Code, st, s.running)
	}
}
