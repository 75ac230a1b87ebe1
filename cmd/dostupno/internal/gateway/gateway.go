// Package gateway is the local runner's stand-in for what stands in front of a function on
// faasd: the OpenFaaS gateway, the faasd provider's proxy and each function's of-watchdog, plus
// the TLS edge of a deployment (Edge) and the two connectors (cron-connector and the NATS
// connector). It behaves as those real components do wherever a client, a function or a
// connector can tell (README, "The local runner"): the same routes (/function/<name>[.<ns>],
// /async-function/..., /system/namespaces, /system/functions, /healthz), the same listing
// fields and types, X-Forwarded-For set only when absent, bodies handed to the function
// chunked, the call cancelled after exec_timeout (or a lower X-Timeout), and connectors that
// list and invoke through the gateway's HTTP API with the requests the real ones make.
package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/httpjson"
)

// Namespace is faasd's one function namespace; GET /system/namespaces lists it alone.
const Namespace = "openfaas-fn"

// Function is one function the router serves, with what /system/functions says of it.
type Function struct {
	Name        string
	Image       string
	EnvProcess  string
	EnvVars     map[string]string
	Annotations map[string]string
	Labels      map[string]string
	Secrets     []string
	Limits      map[string]string // memory, cpu
	Requests    map[string]string // memory, cpu
	// Timeout is the function's exec_timeout: the watchdog cancels a call after it (0: never).
	Timeout time.Duration
	Handler http.Handler
}

// MaxAsyncBody bounds the body of an asynchronous call, which is held in memory until the
// call runs.
const MaxAsyncBody = 16 << 20

// deployed is a function with what the router keeps of it.
type deployed struct {
	Function
	created     time.Time
	invocations atomic.Int64
}

// Router serves functions as the gateway, the provider and the watchdog do. Build it with New.
type Router struct {
	log    *slog.Logger
	fns    map[string]*deployed
	order  []*deployed
	client *http.Client // for X-Callback-Url

	baseCtx context.Context
	cancel  context.CancelFunc
	async   sync.WaitGroup
}

// New returns a router for fns (in the order /system/functions lists them).
func New(log *slog.Logger, fns []Function) (*Router, error) {
	ctx, cancel := context.WithCancel(context.Background())
	r := &Router{log: log, fns: map[string]*deployed{}, client: &http.Client{Timeout: 30 * time.Second}, baseCtx: ctx, cancel: cancel}
	created := time.Now().UTC().Truncate(time.Second)
	for _, f := range fns {
		if f.Name == "" || f.Handler == nil || strings.Contains(f.Name, ".") {
			cancel()
			return nil, fmt.Errorf("gateway: function %q needs a name without dots and a handler", f.Name)
		}
		if _, dup := r.fns[f.Name]; dup {
			cancel()
			return nil, fmt.Errorf("gateway: function %s listed twice", f.Name)
		}
		d := &deployed{Function: f, created: created}
		r.fns[f.Name] = d
		r.order = append(r.order, d)
	}
	return r, nil
}

// Functions returns the functions in order.
func (rt *Router) Functions() []Function {
	out := make([]Function, len(rt.order))
	for i, f := range rt.order {
		out[i] = f.Function
	}
	return out
}

// ServeHTTP routes one request.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/healthz":
		if err := httpjson.Method(w, r, http.MethodGet, http.MethodHead); err != nil {
			httpjson.Error(w, r, rt.log, err)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "OK\n") // the client went away: nothing to do
	case p == "/system/namespaces":
		if err := httpjson.Method(w, r, http.MethodGet, http.MethodHead); err != nil {
			httpjson.Error(w, r, rt.log, err)
			return
		}
		httpjson.Write(w, http.StatusOK, []string{Namespace})
	case p == "/system/functions":
		if err := httpjson.Method(w, r, http.MethodGet, http.MethodHead); err != nil {
			httpjson.Error(w, r, rt.log, err)
			return
		}
		if ns := r.URL.Query().Get("namespace"); ns != "" && ns != Namespace {
			// faasd's provider refuses a namespace it does not know, in these words.
			http.Error(w, "namespace not valid", http.StatusBadRequest)
			return
		}
		httpjson.Write(w, http.StatusOK, rt.list())
	case strings.HasPrefix(p, "/function/"):
		rt.sync(w, r, strings.TrimPrefix(p, "/function/"))
	case strings.HasPrefix(p, "/async-function/"):
		rt.asyncCall(w, r, strings.TrimPrefix(p, "/async-function/"))
	default:
		httpjson.Error(w, r, rt.log, apperr.New(apperr.NotFound, "no route %s; functions are at /function/<name>", p))
	}
}

// Resources are a function's limits or requests.
type Resources struct {
	Memory string `json:"memory,omitempty"`
	CPU    string `json:"cpu,omitempty"`
}

// FunctionStatus is one entry of GET /system/functions, with the fields and Go types of
// faas-provider's, which the connectors decode strictly: one bad field fails the whole list.
type FunctionStatus struct {
	Name              string             `json:"name"`
	Image             string             `json:"image"`
	Namespace         string             `json:"namespace"`
	EnvProcess        string             `json:"envProcess"`
	EnvVars           map[string]string  `json:"envVars"`
	Labels            *map[string]string `json:"labels"`
	Annotations       *map[string]string `json:"annotations"`
	Secrets           []string           `json:"secrets"`
	Limits            *Resources         `json:"limits,omitempty"`
	Requests          *Resources         `json:"requests,omitempty"`
	InvocationCount   float64            `json:"invocationCount"`
	Replicas          uint64             `json:"replicas"`
	AvailableReplicas uint64             `json:"availableReplicas"`
	CreatedAt         time.Time          `json:"createdAt"`
}

func (rt *Router) list() []FunctionStatus {
	out := make([]FunctionStatus, 0, len(rt.order))
	for _, f := range rt.order {
		labels, annotations := orEmpty(f.Labels), orEmpty(f.Annotations)
		out = append(out, FunctionStatus{Name: f.Name, Image: f.Image, Namespace: Namespace, EnvProcess: f.EnvProcess,
			EnvVars: f.EnvVars, Labels: &labels, Annotations: &annotations, Secrets: f.Secrets,
			Limits: resources(f.Limits), Requests: resources(f.Requests),
			InvocationCount: float64(f.invocations.Load()), Replicas: 1, AvailableReplicas: 1, CreatedAt: f.created})
	}
	return out
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func resources(m map[string]string) *Resources {
	if m["memory"] == "" && m["cpu"] == "" {
		return nil
	}
	return &Resources{Memory: m["memory"], CPU: m["cpu"]}
}

// split takes "<name>[.<namespace>][/<rest>]" apart into the function and the path the
// watchdog hands it ("/" or "/<rest>").
func (rt *Router) split(tail string) (*deployed, string, string, bool) {
	name, rest, _ := strings.Cut(tail, "/")
	if n, ns, ok := strings.Cut(name, "."); ok && ns == Namespace {
		name = n
	}
	f, ok := rt.fns[name]
	return f, name, "/" + rest, ok
}

func (rt *Router) notFound(w http.ResponseWriter, r *http.Request, name string) {
	httpjson.Error(w, r, rt.log, apperr.New(apperr.NotFound, "no function named %q; GET /system/functions lists them", name))
}

// watchdogPeer is the address a function sees its caller at: the of-watchdog in its own
// container, on loopback (never the client).
const watchdogPeer = "127.0.0.1:0"

// prepare turns r into the request the function sees. As the gateway and the provider do:
// X-Call-Id added (kept when the caller sent one), X-Start-Time, X-Forwarded-For set to the
// connection's ip:port and X-Forwarded-Host to Host only when the request has none (a value
// the client sent passes through; nothing is appended). As the of-watchdog does: the path
// after the function's name and the query, the headers as they are, the body chunked without
// Content-Length, and its own loopback address as the peer. w (when not nil) gets the
// gateway's answer headers.
func prepare(w http.ResponseWriter, r *http.Request, path string, start time.Time) *http.Request {
	r2 := r.Clone(r.Context())
	u := *r.URL
	u.Path, u.RawPath = path, ""
	if raw := rawRest(r.URL.RawPath); raw != "" { // keep escapes such as %2F as sent
		if un, err := url.PathUnescape(raw); err == nil && un == path {
			u.RawPath = raw
		}
	}
	r2.URL = &u
	r2.RequestURI = u.RequestURI()
	id := r.Header.Get("X-Call-Id")
	if id == "" {
		id = uuid.NewString()
		r2.Header.Set("X-Call-Id", id)
	}
	if r.Header.Get("X-Forwarded-For") == "" {
		r2.Header.Set("X-Forwarded-For", r.RemoteAddr)
	}
	if r.Header.Get("X-Forwarded-Host") == "" {
		r2.Header.Set("X-Forwarded-Host", r.Host)
	}
	started := strconv.FormatInt(start.UnixNano(), 10)
	r2.Header.Set("X-Start-Time", started)
	r2.RemoteAddr = watchdogPeer
	watchdogBody(r2)
	if w != nil {
		w.Header().Set("X-Call-Id", id)
		w.Header().Set("X-Start-Time", started)
	}
	return r2
}

// watchdogBody gives r the body as of-watchdog forwards it: a request with a body arrives
// chunked, without Content-Length; one without arrives empty, with Content-Length: 0 for the
// methods Go's client sends it for.
func watchdogBody(r *http.Request) {
	if r.Body != nil && r.Body != http.NoBody {
		r.ContentLength = -1
		r.TransferEncoding = []string{"chunked"}
		r.Header.Del("Content-Length")
		return
	}
	r.Body, r.ContentLength, r.TransferEncoding = http.NoBody, 0, nil
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		r.Header.Set("Content-Length", "0")
	default:
		r.Header.Del("Content-Length")
	}
}

// rawRest is the escaped path after /function/<name> (or /async-function/<name>).
func rawRest(raw string) string {
	parts := strings.SplitN(raw, "/", 4) // "", "function", name, rest
	if len(parts) < 4 {
		return ""
	}
	return "/" + parts[3]
}

// execTimeout is the watchdog's limit for one call: exec_timeout, lowered by an X-Timeout
// header (a Go duration) that is not above it; as of-watchdog reads it, a value of 0 or less
// leaves the call without a limit.
func execTimeout(f *deployed, r *http.Request) time.Duration {
	t := f.Timeout
	if v := r.Header.Get("X-Timeout"); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d <= t {
			t = d
		}
	}
	return t
}

// watch cancels ctx after t (never for t <= 0), as the watchdog cancels its call to the
// function: the function sees its request's context end, without a deadline on it. fired
// reports whether the limit was reached.
func watch(ctx context.Context, t time.Duration) (context.Context, func() bool, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	if t <= 0 {
		return ctx, func() bool { return false }, cancel
	}
	var hit atomic.Bool
	timer := time.AfterFunc(t, func() { hit.Store(true); cancel() })
	return ctx, hit.Load, func() { timer.Stop(); cancel() }
}

// callWriter is the answer as the gateway relays it: X-Duration-Seconds added, and the
// watchdog's bare 504 (X-OpenFaaS-Internal: of-watchdog) in place of an answer the function
// starts only after its time ran out.
type callWriter struct {
	http.ResponseWriter
	start       time.Time
	timedOut    func() bool
	wroteHeader bool
	discard     bool
}

// kept are the headers the gateway adds to the watchdog's own answer.
var kept = map[string]bool{"X-Call-Id": true, "X-Start-Time": true}

func (c *callWriter) WriteHeader(code int) {
	if c.wroteHeader {
		return
	}
	c.wroteHeader = true
	h := c.Header()
	if c.timedOut() {
		for k := range h {
			if !kept[k] {
				delete(h, k)
			}
		}
		h.Set("X-OpenFaaS-Internal", "of-watchdog")
		code, c.discard = http.StatusGatewayTimeout, true
	}
	h.Set("X-Duration-Seconds", strconv.FormatFloat(time.Since(c.start).Seconds(), 'f', 6, 64))
	c.ResponseWriter.WriteHeader(code)
}

func (c *callWriter) Write(b []byte) (int, error) {
	if !c.wroteHeader {
		c.WriteHeader(http.StatusOK)
	}
	if c.discard {
		return len(b), nil
	}
	return c.ResponseWriter.Write(b)
}

// finish writes the watchdog's 504 for a function that wrote nothing before its time ran out.
func (c *callWriter) finish() {
	if !c.wroteHeader && c.timedOut() {
		c.WriteHeader(http.StatusGatewayTimeout)
	}
}

func (c *callWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// call runs f's handler for r2 (already prepared) within the watchdog's limit, writing to w.
func (f *deployed) call(w http.ResponseWriter, r2 *http.Request, start time.Time) {
	f.invocations.Add(1)
	ctx, timedOut, stop := watch(r2.Context(), execTimeout(f, r2))
	defer stop()
	cw := &callWriter{ResponseWriter: w, start: start, timedOut: timedOut}
	f.Handler.ServeHTTP(cw, r2.WithContext(ctx))
	cw.finish()
}

func (rt *Router) sync(w http.ResponseWriter, r *http.Request, tail string) {
	f, name, path, ok := rt.split(tail)
	if !ok {
		rt.notFound(w, r, name)
		return
	}
	start := time.Now()
	f.call(w, prepare(w, r, path, start), start)
}

func (rt *Router) asyncCall(w http.ResponseWriter, r *http.Request, tail string) {
	f, name, path, ok := rt.split(tail)
	if !ok {
		rt.notFound(w, r, name)
		return
	}
	// The gateway queues only POSTs.
	if err := httpjson.Method(w, r, http.MethodPost); err != nil {
		httpjson.Error(w, r, rt.log, err)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxAsyncBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			httpjson.Error(w, r, rt.log, apperr.New(apperr.PayloadTooLarge, "an asynchronous call's body is limited to %d bytes", MaxAsyncBody))
			return
		}
		httpjson.Error(w, r, rt.log, apperr.New(apperr.InvalidArgument, "read the body: %v", err))
		return
	}
	start := time.Now()
	// The call outlives this request: it runs on the router's context, with a copy of the
	// request's headers and body, as the queue worker replays it.
	r1 := r.WithContext(rt.baseCtx)
	r1.Body = http.NoBody
	if len(body) > 0 {
		r1.Body = io.NopCloser(bytes.NewReader(body))
	}
	r2 := prepare(w, r1, path, start)
	callback := r.Header.Get("X-Callback-Url")
	rt.async.Add(1)
	go func() {
		defer rt.async.Done()
		rec := httptest.NewRecorder()
		f.call(rec, r2, start)
		res := rec.Result()
		rt.log.Info("async call done", "function", f.Name, "status", res.StatusCode, "call_id", r2.Header.Get("X-Call-Id"))
		if callback != "" {
			rt.callback(callback, f.Name, r2.Header.Get("X-Call-Id"), start, res, rec.Body.Bytes())
		}
	}()
	w.WriteHeader(http.StatusAccepted)
}

// callback POSTs an asynchronous call's result to url with the queue worker's headers.
func (rt *Router) callback(target, fn, callID string, start time.Time, res *http.Response, body []byte) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		rt.log.Warn("async callback: not an http(s) URL", "function", fn, "url", target)
		return
	}
	req, err := http.NewRequestWithContext(rt.baseCtx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		rt.log.Warn("async callback", "function", fn, "err", err)
		return
	}
	if ct := res.Header.Get("Content-Type"); ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("X-Call-Id", callID)
	req.Header.Set("X-Function-Name", fn)
	req.Header.Set("X-Function-Status", strconv.Itoa(res.StatusCode))
	req.Header.Set("X-Duration-Seconds", strconv.FormatFloat(time.Since(start).Seconds(), 'f', 6, 64))
	resp, err := rt.client.Do(req)
	if err != nil {
		rt.log.Warn("async callback", "function", fn, "url", target, "err", err)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body) // drain to reuse the connection; its content is not ours
	resp.Body.Close()
}

// Close waits for asynchronous calls in flight until ctx ends, then cancels them.
func (rt *Router) Close(ctx context.Context) error {
	done := make(chan struct{})
	go func() { rt.async.Wait(); close(done) }()
	select {
	case <-done:
		rt.cancel()
		return nil
	case <-ctx.Done():
		rt.cancel()
		<-done
		return fmt.Errorf("asynchronous calls still running at shutdown were cancelled: %w", ctx.Err())
	}
}
