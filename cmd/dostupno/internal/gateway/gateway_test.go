package gateway

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/stack"
	"github.com/dostupno/dostupno/shared/natstest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// seen is what the echo function was handed.
type seen struct {
	Method      string `json:"method"`
	Path        string `json:"path"`
	EscapedPath string `json:"escaped_path"`
	RawQuery    string `json:"raw_query"`
	CallID      string `json:"call_id"`
	StartTime   string `json:"start_time"`
	Topic       string `json:"topic"`
	Connector   string `json:"connector"`
	Body        string `json:"body"`
	Deadline    bool   `json:"deadline"`
	Forwarded   string `json:"forwarded"`
}

func echo(calls chan<- seen) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body) // a test body: read errors show up as a wrong body
		_, dl := r.Context().Deadline()
		s := seen{Method: r.Method, Path: r.URL.Path, EscapedPath: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery,
			CallID: r.Header.Get("X-Call-Id"), StartTime: r.Header.Get("X-Start-Time"),
			Topic: r.Header.Get("X-Topic"), Connector: r.Header.Get("X-Connector"), Body: string(b), Deadline: dl,
			Forwarded: r.Header.Get("X-Forwarded-For")}
		if calls != nil {
			calls <- s
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(s) // the test reads it back
	})
}

func newRouter(t *testing.T, fns ...Function) (*Router, *httptest.Server) {
	t.Helper()
	if len(fns) == 0 {
		fns = []Function{{Name: "echo", Image: "dostupno/echo:1", Handler: echo(nil)}}
	}
	rt, err := New(quiet, fns)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rt)
	t.Cleanup(func() {
		srv.Close()
		if err := rt.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return rt, srv
}

func get(t *testing.T, url string, h http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestRouterHandsTheWatchdogPath(t *testing.T) {
	_, srv := newRouter(t)
	tests := []struct {
		name, url, path, escaped, query string
	}{
		{"Bare", "/function/echo", "/", "/", ""},
		{"TrailingSlash", "/function/echo/", "/", "/", ""},
		{"Rest", "/function/echo/constraints", "/constraints", "/constraints", ""},
		{"DeepRestAndQuery", "/function/echo/a/b?x=1&y=%D0%B0", "/a/b", "/a/b", "x=1&y=%D0%B0"},
		{"QueryOnly", "/function/echo?constraints=elevator,braille", "/", "/", "constraints=elevator,braille"},
		{"Namespace", "/function/echo.openfaas-fn/42", "/42", "/42", ""},
		{"EscapedSlashKept", "/function/echo/a%2Fb", "/a/b", "/a%2Fb", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := get(t, srv.URL+tt.url, nil)
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("got %d %s, want 201 from the function", resp.StatusCode, b)
			}
			var s seen
			if err := json.Unmarshal(b, &s); err != nil {
				t.Fatal(err)
			}
			if s.Path != tt.path || s.EscapedPath != tt.escaped || s.RawQuery != tt.query {
				t.Fatalf("got path %q (escaped %q) query %q, want %q (%q) %q", s.Path, s.EscapedPath, s.RawQuery, tt.path, tt.escaped, tt.query)
			}
		})
	}
}

func TestRouterAddsCallIDAndStartTime(t *testing.T) {
	_, srv := newRouter(t)
	t.Run("New", func(t *testing.T) {
		before := time.Now().UnixNano()
		resp, b := get(t, srv.URL+"/function/echo", nil)
		var s seen
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatal(err)
		}
		if _, err := uuid.Parse(s.CallID); err != nil {
			t.Fatalf("got X-Call-Id %q, want a UUID", s.CallID)
		}
		if got := resp.Header.Get("X-Call-Id"); got != s.CallID {
			t.Fatalf("got answer X-Call-Id %q, want %q", got, s.CallID)
		}
		st, err := strconv.ParseInt(s.StartTime, 10, 64)
		if err != nil || st < before || st > time.Now().UnixNano() {
			t.Fatalf("got X-Start-Time %q, want unix nanoseconds of the call", s.StartTime)
		}
		if resp.Header.Get("X-Start-Time") != s.StartTime || resp.Header.Get("X-Duration-Seconds") == "" {
			t.Fatalf("got answer headers %v, want X-Start-Time and X-Duration-Seconds", resp.Header)
		}
	})
	t.Run("ForwardedFor", func(t *testing.T) {
		for prior, want := range map[string]string{"": "127.0.0.1", "203.0.113.7": "203.0.113.7, 127.0.0.1"} {
			h := http.Header{}
			if prior != "" {
				h.Set("X-Forwarded-For", prior)
			}
			_, b := get(t, srv.URL+"/function/echo", h)
			var s seen
			if err := json.Unmarshal(b, &s); err != nil {
				t.Fatal(err)
			}
			if s.Forwarded != want {
				t.Fatalf("got X-Forwarded-For %q, want %q", s.Forwarded, want)
			}
		}
	})
	t.Run("Kept", func(t *testing.T) {
		resp, b := get(t, srv.URL+"/function/echo", http.Header{"X-Call-Id": {"abc-123"}})
		var s seen
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatal(err)
		}
		if s.CallID != "abc-123" || resp.Header.Get("X-Call-Id") != "abc-123" {
			t.Fatalf("got %q / %q, want the caller's abc-123", s.CallID, resp.Header.Get("X-Call-Id"))
		}
	})
}

func TestRouterNotFoundIsTheEnvelope(t *testing.T) {
	_, srv := newRouter(t)
	for _, path := range []string{"/function/nope", "/function/nope/x?y=1", "/function/", "/async-function/nope", "/", "/system/function/echo"} {
		t.Run(path, func(t *testing.T) {
			var resp *http.Response
			var b []byte
			if strings.HasPrefix(path, "/async") {
				r, err := http.Post(srv.URL+path, "application/json", strings.NewReader("{}"))
				if err != nil {
					t.Fatal(err)
				}
				defer r.Body.Close()
				resp = r
				b, _ = io.ReadAll(r.Body) // a short read fails the decoding below
			} else {
				resp, b = get(t, srv.URL+path, nil)
			}
			var env struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.Unmarshal(b, &env); err != nil {
				t.Fatalf("got %q, want the JSON envelope: %v", b, err)
			}
			if resp.StatusCode != http.StatusNotFound || env.Error.Code != "not_found" || env.Error.Message == "" {
				t.Fatalf("got %d %s, want 404 not_found", resp.StatusCode, b)
			}
		})
	}
}

const testStack = `
version: 1.0
provider: {name: openfaas, gateway: http://127.0.0.1:8080}
functions:
  search-events:
    lang: dostupno-go
    handler: ./functions/search-events
    image: dostupno/search-events:0.1.0
    labels: {com.openfaas.scale.min: "1"}
  cache-snapshot:
    lang: dostupno-go
    handler: ./functions/cache-snapshot
    image: dostupno/cache-snapshot:0.1.0
    annotations: {topic: cron-function, schedule: "*/5 * * * *"}
`

func TestSystemFunctionsListsTheStack(t *testing.T) {
	st, err := stack.Parse([]byte(testStack))
	if err != nil {
		t.Fatal(err)
	}
	var fns []Function
	for _, f := range st.Functions {
		fns = append(fns, Function{Name: f.Name, Image: f.Image, Annotations: f.Annotations, Labels: f.Labels, Handler: echo(nil)})
	}
	_, srv := newRouter(t, fns...)
	resp, b := get(t, srv.URL+"/system/functions", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("got %d %s, want 200 JSON", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var got []struct {
		Name        string            `json:"name"`
		Image       string            `json:"image"`
		Annotations map[string]string `json:"annotations"`
		Labels      map[string]string `json:"labels"`
		Replicas    int               `json:"replicas"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(st.Functions) {
		t.Fatalf("got %d functions, want %d", len(got), len(st.Functions))
	}
	for i, f := range st.Functions {
		g := got[i]
		if g.Name != f.Name || g.Image != f.Image || g.Replicas != 1 {
			t.Fatalf("got %+v at %d, want %s %s with 1 replica", g, i, f.Name, f.Image)
		}
		want := func(m map[string]string) map[string]string {
			if m == nil {
				return map[string]string{}
			}
			return m
		}
		if !reflect.DeepEqual(g.Annotations, want(f.Annotations)) || !reflect.DeepEqual(g.Labels, want(f.Labels)) {
			t.Fatalf("got %v %v for %s, want %v %v", g.Annotations, g.Labels, f.Name, f.Annotations, f.Labels)
		}
	}
	r, err := http.Post(srv.URL+"/system/functions", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("got %d for POST, want 405", r.StatusCode)
	}
}

func TestHealthzAnswers200(t *testing.T) {
	_, srv := newRouter(t)
	resp, _ := get(t, srv.URL+"/healthz", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("got %d, want 200", resp.StatusCode)
	}
}

func TestTimeoutBecomesTheCallDeadline(t *testing.T) {
	_, srv := newRouter(t, Function{Name: "echo", Timeout: time.Minute, Handler: echo(nil)}, Function{Name: "plain", Handler: echo(nil)})
	for name, want := range map[string]bool{"echo": true, "plain": false} {
		_, b := get(t, srv.URL+"/function/"+name, nil)
		var s seen
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatal(err)
		}
		if s.Deadline != want {
			t.Fatalf("got deadline %v for %s, want %v", s.Deadline, name, want)
		}
	}
}

func TestAsyncAnswers202AndCallsBack(t *testing.T) {
	calls := make(chan seen, 1)
	_, srv := newRouter(t, Function{Name: "echo", Handler: echo(calls)})
	type result struct {
		header http.Header
		body   string
	}
	results := make(chan result, 1)
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body) // a short read shows up as a wrong body
		results <- result{r.Header.Clone(), string(b)}
	}))
	defer cb.Close()

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/async-function/echo/run?n=1", strings.NewReader(`{"a":1}`)) // a fixed, valid request
	req.Header.Set("X-Callback-Url", cb.URL+"/done")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("got %d, want 202", resp.StatusCode)
	}
	id := resp.Header.Get("X-Call-Id")
	if id == "" {
		t.Fatal("got no X-Call-Id on the 202, want one")
	}
	select {
	case s := <-calls:
		if s.Method != http.MethodPost || s.Path != "/run" || s.RawQuery != "n=1" || s.Body != `{"a":1}` || s.CallID != id {
			t.Fatalf("got %+v, want POST /run?n=1 with the body and call id %s", s, id)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("function not called within 5s")
	}
	select {
	case r := <-results:
		if r.header.Get("X-Function-Status") != "201" || r.header.Get("X-Call-Id") != id || r.header.Get("X-Function-Name") != "echo" {
			t.Fatalf("got callback headers %v, want status 201, call id %s, function echo", r.header, id)
		}
		var s seen
		if err := json.Unmarshal([]byte(r.body), &s); err != nil || s.Body != `{"a":1}` {
			t.Fatalf("got callback body %q, want the function's answer", r.body)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no callback within 5s")
	}
}

func TestCronInvokesOnSchedule(t *testing.T) {
	calls := make(chan seen, 10)
	rt, _ := newRouter(t, Function{Name: "tick", Annotations: map[string]string{"topic": CronTopic, "schedule": "@every 1s"}, Handler: echo(calls)},
		Function{Name: "other", Handler: echo(calls)})
	c, err := NewCron(quiet, rt, rt.Functions())
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Scheduled) != 1 {
		t.Fatalf("got %v scheduled, want tick alone", c.Scheduled)
	}
	c.Start()
	defer c.Stop(time.Second)
	select {
	case s := <-calls:
		if s.Method != http.MethodPost || s.Path != "/" || s.Topic != CronTopic || s.CallID == "" {
			t.Fatalf("got %+v, want POST / with X-Topic %s and a call id", s, CronTopic)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("tick not invoked within 3s of an @every 1s schedule")
	}
}

func TestCronRefusesBadSchedules(t *testing.T) {
	for name, spec := range map[string]string{"Missing": "", "FourFields": "*/5 * * *", "SecondsField": "0 */5 * * * *", "Garbage": "every five minutes"} {
		t.Run(name, func(t *testing.T) {
			_, err := NewCron(quiet, nil, []Function{{Name: "f", Annotations: map[string]string{"topic": CronTopic, "schedule": spec}}})
			if err == nil || !strings.Contains(err.Error(), "function f") {
				t.Fatalf("got %v, want an error naming function f", err)
			}
		})
	}
	for _, ok := range []string{"*/5 * * * *", "0 3 * * MON-FRI", "@hourly", "@every 30s"} {
		if err := ParseSchedule(ok); err != nil {
			t.Fatalf("got %v for %q, want it accepted", err, ok)
		}
	}
}

func TestNATSConnectorInvokesWithTopic(t *testing.T) {
	env := natstest.New(t)
	calls := make(chan seen, 10)
	subject := env.Namespace + ".doorbell"
	ann := map[string]string{"topic": subject}
	rt, _ := newRouter(t,
		Function{Name: "db-writer", Annotations: ann, Handler: echo(calls)},
		Function{Name: "db-writer-2", Annotations: ann, Handler: echo(calls)},
		Function{Name: "tick", Annotations: map[string]string{"topic": CronTopic, "schedule": "@hourly"}, Handler: echo(calls)},
	)
	n, err := StartNATS(env.Conn, quiet, rt, rt.Functions())
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop(time.Second)
	if !reflect.DeepEqual(n.Topics, map[string][]string{subject: {"db-writer", "db-writer-2"}}) {
		t.Fatalf("got topics %v, want %s -> both writers", n.Topics, subject)
	}
	if err := env.Conn.Publish(subject, []byte("ding")); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	got := map[string]bool{}
	for range 2 {
		select {
		case s := <-calls:
			if s.Method != http.MethodPost || s.Body != "ding" || s.Topic != subject || s.Connector != "connector-sdk" {
				t.Fatalf("got %+v, want POST with body ding, X-Topic %s, X-Connector connector-sdk", s, subject)
			}
			mu.Lock()
			got[s.CallID] = true
			mu.Unlock()
		case <-time.After(5 * time.Second):
			t.Fatalf("got %d invocations within 5s, want 2", len(got))
		}
	}
	if len(got) != 2 {
		t.Fatalf("got call ids %v, want two distinct calls", got)
	}
}
