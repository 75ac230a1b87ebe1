package function

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/dostupno/dostupno/shared/apitest"
	"github.com/dostupno/dostupno/shared/config"
)

// call is one request the stub gateway received.
type call struct {
	Method, Path string
	Body         string
}

// stubGateway answers /function/<writer> as db-writers would: db-writer applies (204, no
// body), db-writer-2 is unavailable; any other function does not exist.
func stubGateway(t *testing.T) (*httptest.Server, func() []call) {
	t.Helper()
	var mu sync.Mutex
	var calls []call
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body) // a short read shows up as a wrong body
		mu.Lock()
		calls = append(calls, call{r.Method, r.URL.Path, string(b)})
		mu.Unlock()
		if r.URL.Path == "/function/db-writer" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/function/db-writer-2":
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"error":{"code":"unavailable","message":"pending commands cannot be applied now; try again later"}}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":{"code":"not_found","message":"no function named"}}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func() []call { mu.Lock(); defer mu.Unlock(); return append([]call(nil), calls...) }
}

func TestCatchUpCallsEveryWriter(t *testing.T) {
	gw, calls := stubGateway(t)
	e := apitest.New(t, Name, New, apitest.WithoutDatabase(), apitest.WithConfig(func(c *config.Config) {
		c.GatewayURL, c.DBWriters = gw.URL, []string{"db-writer", "db-writer-2", "db-writer-3"}
	}))
	// As cron-connector calls it: no body, the connector's headers. It tells the caller
	// nothing of the copies.
	resp, b := e.Do(t, http.MethodPost, "/", nil, "X-Topic", "cron-function", "X-Connector", "cron-connector")
	if resp.StatusCode != http.StatusNoContent || len(b) != 0 {
		t.Fatalf("got %d %q, want 204 with no body", resp.StatusCode, b)
	}
	// What each writer answered, which the function logs.
	s := &server{deps: e.Deps, client: http.DefaultClient}
	got := s.callAll(context.Background())
	want := []Writer{
		{Function: "db-writer", Status: 204},
		{Function: "db-writer-2", Status: 503, Error: "pending commands cannot be applied now; try again later"},
		{Function: "db-writer-3", Status: 404, Error: "no function named"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("writer %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	seen := map[string]bool{}
	for _, c := range calls() {
		if c.Method != http.MethodPost || c.Body != "" {
			t.Errorf("got %+v, want a POST with no body", c)
		}
		seen[c.Path] = true
	}
	if len(calls()) != 6 || len(seen) != 3 || !seen["/function/db-writer"] || !seen["/function/db-writer-2"] || !seen["/function/db-writer-3"] {
		t.Fatalf("got calls %v, want each writer once per run", calls())
	}
}

func TestCatchUpUnreachableGateway(t *testing.T) {
	gw, _ := stubGateway(t)
	gw.Close()
	e := apitest.New(t, Name, New, apitest.WithoutDatabase(), apitest.WithConfig(func(c *config.Config) {
		c.GatewayURL, c.DBWriters = gw.URL, []string{"db-writer"}
	}))
	if resp, b := e.Do(t, http.MethodPost, "/", nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("got %d %s, want 204 whatever the writers did", resp.StatusCode, b)
	}
	s := &server{deps: e.Deps, client: http.DefaultClient}
	if got := s.callAll(context.Background()); len(got) != 1 || got[0].Status != 0 || !strings.Contains(got[0].Error, "call db-writer") {
		t.Fatalf("got %+v, want db-writer unreachable", got)
	}
}

func TestCatchUpRefusals(t *testing.T) {
	gw, calls := stubGateway(t)
	e := apitest.New(t, Name, New, apitest.WithoutDatabase(), apitest.WithConfig(func(c *config.Config) {
		c.GatewayURL, c.DBWriters = gw.URL, []string{"db-writer"}
	}))
	for _, tt := range []struct {
		method, path string
		want         int
	}{{"GET", "/", 405}, {"POST", "/deeper", 404}} {
		if resp, b := e.Do(t, tt.method, tt.path, nil); resp.StatusCode != tt.want {
			t.Errorf("%s %s: got %d %s, want %d", tt.method, tt.path, resp.StatusCode, b, tt.want)
		}
	}
	if n := len(calls()); n != 0 {
		t.Errorf("got %d calls to the gateway, want none", n)
	}
	for name, f := range map[string]func(*config.Config){
		"NoGateway":     func(c *config.Config) { c.DBWriters = []string{"db-writer"} },
		"NoWriters":     func(c *config.Config) { c.GatewayURL = gw.URL },
		"GatewayNoHTTP": func(c *config.Config) { c.GatewayURL, c.DBWriters = "10.62.0.1:8080", []string{"db-writer"} },
		"WriterPath":    func(c *config.Config) { c.GatewayURL, c.DBWriters = gw.URL, []string{"db-writer/../x"} },
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := apitest.Build(t, Name, New, apitest.WithoutDatabase(), apitest.WithConfig(f)); err == nil {
				t.Fatal("got a function, want New to refuse the configuration")
			}
		})
	}
}
