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
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/stack"
	"github.com/dostupno/dostupno/shared/apitest"
)

var quiet = slog.New(slog.DiscardHandler)

// seen is what the echo function was handed.
type seen struct {
	Method           string      `json:"method"`
	Path             string      `json:"path"`
	EscapedPath      string      `json:"escaped_path"`
	RawQuery         string      `json:"raw_query"`
	Header           http.Header `json:"header"`
	Body             string      `json:"body"`
	ContentLength    int64       `json:"content_length"`
	TransferEncoding []string    `json:"transfer_encoding"`
	Deadline         bool        `json:"deadline"`
	RemoteAddr       string      `json:"remote_addr"`
}

func echo(calls chan<- seen) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body) // a test body: read errors show up as a wrong body
		_, dl := r.Context().Deadline()
		s := seen{Method: r.Method, Path: r.URL.Path, EscapedPath: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery,
			Header: r.Header.Clone(), Body: string(b), ContentLength: r.ContentLength, TransferEncoding: r.TransferEncoding,
			Deadline: dl, RemoteAddr: r.RemoteAddr}
		if calls != nil {
			calls <- s
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(s) // the test reads it back
	})
}

// waitCtx answers once the call's context ends, saying whether it carried a deadline.
var waitCtx = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	<-r.Context().Done()
	_, dl := r.Context().Deadline()
	w.Header().Set("X-Had-Deadline", strconv.FormatBool(dl))
	w.WriteHeader(http.StatusOK)
})

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

// do sends one request with headers (Host among them sets the Host) and returns the answer.
func do(t *testing.T, method, url, body string, h http.Header) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		if k == "Host" {
			req.Host = v[0]
			continue
		}
		req.Header[k] = v
	}
	return apitest.Send(t, req)
}

func get(t *testing.T, url string, h http.Header) (*http.Response, []byte) {
	t.Helper()
	return do(t, http.MethodGet, url, "", h)
}

// echoed calls the echo function and returns what it was handed.
func echoed(t *testing.T, method, url, body string, h http.Header) seen {
	t.Helper()
	resp, b := do(t, method, url, body, h)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("got %d %s, want 201 from the function", resp.StatusCode, b)
	}
	var s seen
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
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
		{"NamespaceAndQuery", "/function/echo.openfaas-fn?id=42", "/", "/", "id=42"},
		{"EscapedSlashKept", "/function/echo/a%2Fb", "/a/b", "/a%2Fb", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := echoed(t, http.MethodGet, srv.URL+tt.url, "", nil)
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
		id := s.Header.Get("X-Call-Id")
		if _, err := uuid.Parse(id); err != nil {
			t.Fatalf("got X-Call-Id %q, want a UUID", id)
		}
		if got := resp.Header.Get("X-Call-Id"); got != id {
			t.Fatalf("got answer X-Call-Id %q, want %q", got, id)
		}
		st, err := strconv.ParseInt(s.Header.Get("X-Start-Time"), 10, 64)
		if err != nil || st < before || st > time.Now().UnixNano() {
			t.Fatalf("got X-Start-Time %q, want unix nanoseconds of the call", s.Header.Get("X-Start-Time"))
		}
		if resp.Header.Get("X-Start-Time") != s.Header.Get("X-Start-Time") || resp.Header.Get("X-Duration-Seconds") == "" {
			t.Fatalf("got answer headers %v, want X-Start-Time and X-Duration-Seconds", resp.Header)
		}
	})
	t.Run("Kept", func(t *testing.T) {
		resp, b := get(t, srv.URL+"/function/echo", http.Header{"X-Call-Id": {"abc-123"}})
		var s seen
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatal(err)
		}
		if s.Header.Get("X-Call-Id") != "abc-123" || resp.Header.Get("X-Call-Id") != "abc-123" {
			t.Fatalf("got %q / %q, want the caller's abc-123", s.Header.Get("X-Call-Id"), resp.Header.Get("X-Call-Id"))
		}
	})
}

// TestBehavesAsTheRealComponents pins, one row each, what the real gateway 0.27, faasd's
// provider and of-watchdog 0.11 do that a client or a function can tell (README, "The local
// runner"); the connectors' requests are pinned in TestConnectorsMakeTheRealRequests.
func TestBehavesAsTheRealComponents(t *testing.T) {
	calls := make(chan seen, 1)
	_, srv := newRouter(t,
		Function{Name: "echo", Image: "dostupno/echo:1", Handler: echo(nil), Timeout: time.Minute},
		Function{Name: "queued", Handler: echo(calls)},
		Function{Name: "wait", Handler: waitCtx, Timeout: time.Minute},
		Function{Name: "short", Handler: waitCtx, Timeout: 50 * time.Millisecond},
		Function{Name: "late", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"error":{"code":"unavailable"}}`)
		}), Timeout: 50 * time.Millisecond},
	)
	host := strings.TrimPrefix(srv.URL, "http://")
	tests := []struct {
		behaviour string
		check     func(t *testing.T)
	}{
		{"gateway: X-Forwarded-For absent is set to the connection's ip:port", func(t *testing.T) {
			s := echoed(t, "GET", srv.URL+"/function/echo", "", nil)
			if got := s.Header.Values("X-Forwarded-For"); len(got) != 1 || !strings.HasPrefix(got[0], "127.0.0.1:") || got[0] == "127.0.0.1:" {
				t.Fatalf("got X-Forwarded-For %q, want 127.0.0.1:<port>", got)
			}
		}},
		{"gateway: a client's X-Forwarded-For of one hop passes unchanged, nothing appended", func(t *testing.T) {
			s := echoed(t, "GET", srv.URL+"/function/echo", "", http.Header{"X-Forwarded-For": {"203.0.113.7"}})
			if got := s.Header.Values("X-Forwarded-For"); !reflect.DeepEqual(got, []string{"203.0.113.7"}) {
				t.Fatalf("got %q, want [203.0.113.7]", got)
			}
		}},
		{"gateway: a client's X-Forwarded-For of several hops passes unchanged", func(t *testing.T) {
			s := echoed(t, "GET", srv.URL+"/function/echo", "", http.Header{"X-Forwarded-For": {"6.6.6.6, 198.51.100.1:9", "203.0.113.7"}})
			if got := s.Header.Values("X-Forwarded-For"); !reflect.DeepEqual(got, []string{"6.6.6.6, 198.51.100.1:9", "203.0.113.7"}) {
				t.Fatalf("got %q, want both values as sent", got)
			}
		}},
		{"gateway: X-Forwarded-Host absent is set to Host", func(t *testing.T) {
			s := echoed(t, "GET", srv.URL+"/function/echo", "", nil)
			if got := s.Header.Get("X-Forwarded-Host"); got != host {
				t.Fatalf("got %q, want %q", got, host)
			}
		}},
		{"gateway: a client's X-Forwarded-Host passes unchanged", func(t *testing.T) {
			s := echoed(t, "GET", srv.URL+"/function/echo", "", http.Header{"X-Forwarded-Host": {"api.example.ru"}})
			if got := s.Header.Values("X-Forwarded-Host"); !reflect.DeepEqual(got, []string{"api.example.ru"}) {
				t.Fatalf("got %q, want [api.example.ru]", got)
			}
		}},
		{"gateway: GET /system/namespaces is a non-empty JSON array of strings", func(t *testing.T) {
			resp, b := get(t, srv.URL+"/system/namespaces", nil)
			var ns []string
			if err := json.Unmarshal(b, &ns); resp.StatusCode != 200 || err != nil || !reflect.DeepEqual(ns, []string{"openfaas-fn"}) {
				t.Fatalf("got %d %s (%v), want 200 [\"openfaas-fn\"]", resp.StatusCode, b, err)
			}
		}},
		{"gateway: /function/<name>.openfaas-fn routes with path and query", func(t *testing.T) {
			if s := echoed(t, "POST", srv.URL+"/function/echo.openfaas-fn/a?b=1", "x", nil); s.Path != "/a" || s.RawQuery != "b=1" || s.Body != "x" {
				t.Fatalf("got %+v, want POST /a?b=1 with body x", s)
			}
		}},
		{"gateway: /function/<name>.<other namespace> is not found", func(t *testing.T) {
			if resp, b := get(t, srv.URL+"/function/echo.elsewhere", nil); resp.StatusCode != 404 {
				t.Fatalf("got %d %s, want 404", resp.StatusCode, b)
			}
		}},
		{"gateway: /async-function/<name>.openfaas-fn answers 202 and invokes with path, query and body", func(t *testing.T) {
			resp, b := do(t, "POST", srv.URL+"/async-function/queued.openfaas-fn/run?n=1", "ding", nil)
			if resp.StatusCode != http.StatusAccepted || resp.Header.Get("X-Call-Id") == "" {
				t.Fatalf("got %d %s %v, want 202 with X-Call-Id", resp.StatusCode, b, resp.Header)
			}
			s := <-calls
			if s.Method != "POST" || s.Path != "/run" || s.RawQuery != "n=1" || s.Body != "ding" || s.Header.Get("X-Call-Id") != resp.Header.Get("X-Call-Id") {
				t.Fatalf("got %+v, want POST /run?n=1 with body ding and the call id", s)
			}
		}},
		{"gateway: /async-function queues POST only", func(t *testing.T) {
			if resp, b := do(t, "PUT", srv.URL+"/async-function/queued", "x", nil); resp.StatusCode != 405 {
				t.Fatalf("got %d %s, want 405", resp.StatusCode, b)
			}
		}},
		{"provider: /system/functions?namespace=<unknown> is 400 namespace not valid", func(t *testing.T) {
			resp, b := get(t, srv.URL+"/system/functions?namespace=elsewhere", nil)
			if resp.StatusCode != 400 || strings.TrimSpace(string(b)) != "namespace not valid" {
				t.Fatalf("got %d %q, want 400 namespace not valid", resp.StatusCode, b)
			}
		}},
		{"watchdog: a body reaches the function chunked, without Content-Length", func(t *testing.T) {
			s := echoed(t, "POST", srv.URL+"/function/echo", `{"a":1}`, http.Header{"Content-Type": {"application/json"}})
			if s.ContentLength != -1 || !reflect.DeepEqual(s.TransferEncoding, []string{"chunked"}) || s.Header.Get("Content-Length") != "" || s.Body != `{"a":1}` {
				t.Fatalf("got length %d, encoding %v, Content-Length %q, body %q; want chunked, no length, the body", s.ContentLength, s.TransferEncoding, s.Header.Get("Content-Length"), s.Body)
			}
		}},
		{"watchdog: no body reaches the function empty, Content-Length: 0 on a POST", func(t *testing.T) {
			s := echoed(t, "POST", srv.URL+"/function/echo", "", nil)
			if s.ContentLength != 0 || s.TransferEncoding != nil || s.Header.Get("Content-Length") != "0" || s.Body != "" {
				t.Fatalf("got length %d, encoding %v, Content-Length %q, body %q; want an empty body of length 0", s.ContentLength, s.TransferEncoding, s.Header.Get("Content-Length"), s.Body)
			}
		}},
		{"watchdog: headers are copied unchanged, every value", func(t *testing.T) {
			s := echoed(t, "GET", srv.URL+"/function/echo", "", http.Header{"X-Thing": {"a", "b"}, "Authorization": {"Bearer t"}})
			if !reflect.DeepEqual(s.Header.Values("X-Thing"), []string{"a", "b"}) || s.Header.Get("Authorization") != "Bearer t" {
				t.Fatalf("got %v, want X-Thing a and b and the Authorization", s.Header)
			}
		}},
		{"watchdog: the function's peer is the watchdog on loopback, never the client", func(t *testing.T) {
			if s := echoed(t, "GET", srv.URL+"/function/echo", "", nil); s.RemoteAddr != watchdogPeer {
				t.Fatalf("got %q, want %q", s.RemoteAddr, watchdogPeer)
			}
		}},
		{"watchdog: an X-Timeout below exec_timeout ends the call sooner", func(t *testing.T) {
			resp, b := get(t, srv.URL+"/function/wait", http.Header{"X-Timeout": {"50ms"}})
			if resp.StatusCode != http.StatusGatewayTimeout || resp.Header.Get("X-OpenFaaS-Internal") != "of-watchdog" {
				t.Fatalf("got %d %s %v, want the watchdog's 504", resp.StatusCode, b, resp.Header)
			}
		}},
		{"watchdog: an X-Timeout above exec_timeout is ignored", func(t *testing.T) {
			if resp, b := get(t, srv.URL+"/function/short", http.Header{"X-Timeout": {"1h"}}); resp.StatusCode != http.StatusGatewayTimeout {
				t.Fatalf("got %d %s, want 504 after exec_timeout", resp.StatusCode, b)
			}
		}},
		{"watchdog: exec_timeout ends the call with 504 and X-OpenFaaS-Internal, whatever the function answers later", func(t *testing.T) {
			resp, b := get(t, srv.URL+"/function/late", nil)
			if resp.StatusCode != http.StatusGatewayTimeout || resp.Header.Get("X-OpenFaaS-Internal") != "of-watchdog" || len(b) != 0 || resp.Header.Get("Content-Type") != "" || resp.Header.Get("X-Call-Id") == "" {
				t.Fatalf("got %d %q %v, want a bare 504 with X-OpenFaaS-Internal: of-watchdog and the call id", resp.StatusCode, b, resp.Header)
			}
		}},
		{"watchdog: the function sees no deadline on its context (only its end)", func(t *testing.T) {
			if s := echoed(t, "GET", srv.URL+"/function/echo", "", nil); s.Deadline {
				t.Fatal("got a deadline on the call's context, want none")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.behaviour, tt.check)
	}
}

func TestRouterNotFoundIsTheEnvelope(t *testing.T) {
	_, srv := newRouter(t)
	for _, path := range []string{"/function/nope", "/function/nope/x?y=1", "/function/", "/async-function/nope", "/", "/system/function/echo"} {
		t.Run(path, func(t *testing.T) {
			method := "GET"
			if strings.HasPrefix(path, "/async") {
				method = "POST"
			}
			resp, b := do(t, method, srv.URL+path, "{}", nil)
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
    environment: {DATABASE_URL: "postgres://db/x", exec_timeout: 15s}
    secrets: [jwt-secret]
    limits: {memory: 256Mi}
    requests: {memory: 64Mi, cpu: 100m}
    labels: {com.openfaas.scale.min: "1"}
  cache-snapshot:
    lang: dostupno-go
    handler: ./functions/cache-snapshot
    image: dostupno/cache-snapshot:0.1.0
    annotations: {topic: cron-function, schedule: "*/5 * * * *"}
`

// TestSystemFunctionsHasTheRealTypes: every entry has the fields of the real listing with
// their JSON types (string maps or null, non-negative integers, RFC 3339 with a zone), decodes
// into faas-provider's types, and says what stack.yml says.
func TestSystemFunctionsHasTheRealTypes(t *testing.T) {
	st, err := stack.Parse([]byte(testStack))
	if err != nil {
		t.Fatal(err)
	}
	var fns []Function
	for _, f := range st.Functions {
		fns = append(fns, Function{Name: f.Name, Image: f.Image, Annotations: f.Annotations, Labels: f.Labels, EnvVars: f.Environment,
			Secrets: f.Secrets, Limits: f.Limits, Requests: f.Requests, Handler: echo(nil)})
	}
	_, srv := newRouter(t, fns...)
	echoed(t, "GET", srv.URL+"/function/search-events", "", nil) // counted
	for _, target := range []string{"/system/functions", "/system/functions?namespace=openfaas-fn"} {
		resp, b := get(t, srv.URL+target, nil)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("%s: got %d %s, want 200 JSON", target, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		var raw []map[string]any
		if err := json.Unmarshal(b, &raw); err != nil || len(raw) != len(st.Functions) {
			t.Fatalf("%s: got %s (%v), want %d entries", target, b, err, len(st.Functions))
		}
		for _, e := range raw {
			for _, k := range []string{"name", "image", "namespace", "envProcess"} {
				if _, ok := e[k].(string); !ok {
					t.Errorf("%s: %s: got %T, want a string", e["name"], k, e[k])
				}
			}
			for _, k := range []string{"annotations", "labels", "envVars"} {
				switch m := e[k].(type) {
				case nil:
				case map[string]any:
					for mk, v := range m {
						if _, ok := v.(string); !ok {
							t.Errorf("%s: %s[%s]: got %T, want a string", e["name"], k, mk, v)
						}
					}
				default:
					t.Errorf("%s: %s: got %T, want an object of strings or null", e["name"], k, e[k])
				}
			}
			for _, k := range []string{"replicas", "availableReplicas", "invocationCount"} {
				n, ok := e[k].(float64)
				if !ok || n < 0 || (k != "invocationCount" && n != float64(int64(n))) {
					t.Errorf("%s: %s: got %v, want a non-negative number (an integer for replicas)", e["name"], k, e[k])
				}
			}
			if c, ok := e["createdAt"].(string); !ok {
				t.Errorf("%s: createdAt: got %T, want an RFC 3339 string", e["name"], e["createdAt"])
			} else if _, err := time.Parse(time.RFC3339, c); err != nil || !(strings.HasSuffix(c, "Z") || strings.ContainsAny(c[len(c)-6:], "+-")) {
				t.Errorf("%s: createdAt %q: want RFC 3339 with a zone (%v)", e["name"], c, err)
			}
			if s, ok := e["secrets"]; ok && s != nil {
				if _, ok := s.([]any); !ok {
					t.Errorf("%s: secrets: got %T, want an array", e["name"], s)
				}
			}
		}
		var got []FunctionStatus
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s: got %v decoding into faas-provider's types", target, err)
		}
		se := got[0]
		if se.Name != "search-events" || se.Namespace != Namespace || se.Replicas != 1 || se.AvailableReplicas != 1 || se.InvocationCount != 1 ||
			(*se.Labels)["com.openfaas.scale.min"] != "1" || len(*se.Annotations) != 0 || se.EnvVars["exec_timeout"] != "15s" ||
			!reflect.DeepEqual(se.Secrets, []string{"jwt-secret"}) || *se.Limits != (Resources{Memory: "256Mi"}) || *se.Requests != (Resources{Memory: "64Mi", CPU: "100m"}) {
			t.Errorf("%s: got %+v, want stack.yml's search-events, invoked once", target, se)
		}
		if cs := got[1]; (*cs.Annotations)["topic"] != CronTopic || cs.Limits != nil || cs.EnvVars != nil {
			t.Errorf("%s: got %+v, want cache-snapshot's annotations and no limits", target, cs)
		}
	}
	if resp, _ := do(t, "POST", srv.URL+"/system/functions", "", nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("got %d for POST, want 405", resp.StatusCode)
	}
}

func TestHealthzAnswers200(t *testing.T) {
	_, srv := newRouter(t)
	resp, _ := get(t, srv.URL+"/healthz", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("got %d, want 200", resp.StatusCode)
	}
}

func TestAsyncCallsBack(t *testing.T) {
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

	resp, _ := do(t, "POST", srv.URL+"/async-function/echo/run?n=1", `{"a":1}`, http.Header{"X-Callback-Url": {cb.URL + "/done"}})
	id := resp.Header.Get("X-Call-Id")
	if resp.StatusCode != http.StatusAccepted || id == "" {
		t.Fatalf("got %d with call id %q, want 202 and one", resp.StatusCode, id)
	}
	<-calls
	r := <-results
	if r.header.Get("X-Function-Status") != "201" || r.header.Get("X-Call-Id") != id || r.header.Get("X-Function-Name") != "echo" {
		t.Fatalf("got callback headers %v, want status 201, call id %s, function echo", r.header, id)
	}
	var s seen
	if err := json.Unmarshal([]byte(r.body), &s); err != nil || s.Body != `{"a":1}` {
		t.Fatalf("got callback body %q, want the function's answer", r.body)
	}
}

// TestEdgeWritesTheClientAddress: the edge writes X-Real-IP and X-Forwarded-For from the TCP
// peer, replacing what the client sent, and the gateway behind it passes them on.
func TestEdgeWritesTheClientAddress(t *testing.T) {
	rt, err := New(quiet, []Function{{Name: "echo", Handler: echo(nil)}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(Edge(rt))
	defer srv.Close()
	for name, h := range map[string]http.Header{
		"NoHeaders":     nil,
		"ClientWrote":   {"X-Forwarded-For": {"6.6.6.6"}, "X-Real-Ip": {"7.7.7.7"}, "X-Forwarded-Proto": {"gopher"}},
		"SeveralValues": {"X-Forwarded-For": {"6.6.6.6", "8.8.8.8, 9.9.9.9"}, "X-Real-Ip": {"7.7.7.7", "1.1.1.1"}},
	} {
		t.Run(name, func(t *testing.T) {
			s := echoed(t, "GET", srv.URL+"/function/echo", "", h)
			want := []string{"127.0.0.1"}
			if !reflect.DeepEqual(s.Header.Values("X-Real-Ip"), want) || !reflect.DeepEqual(s.Header.Values("X-Forwarded-For"), want) ||
				s.Header.Get("X-Forwarded-Proto") != "http" || s.Header.Get("X-Forwarded-Host") != strings.TrimPrefix(srv.URL, "http://") {
				t.Fatalf("got %v, want X-Real-Ip and X-Forwarded-For [127.0.0.1] alone, proto http, the host", s.Header)
			}
		})
	}
}
