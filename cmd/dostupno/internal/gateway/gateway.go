// Package gateway is the gateway-shaped router of the local runner and its connectors: it
// serves functions in this process at the OpenFaaS gateway's paths (/function/<name>,
// /async-function/<name>, /system/functions, /healthz), handing each function the path,
// query and headers the gateway and the of-watchdog would, and it plays cron-connector and
// the NATS connector from the functions' annotations.
package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/httpjson"
)

// Function is one function the router serves.
type Function struct {
	Name        string
	Image       string
	EnvProcess  string
	Annotations map[string]string
	Labels      map[string]string
	// Timeout is the function's exec_timeout: each call's context ends after it (0: none).
	Timeout time.Duration
	Handler http.Handler
}

// MaxAsyncBody bounds the body of an asynchronous call, which is held in memory until the
// call runs.
const MaxAsyncBody = 16 << 20

// Router serves functions as the gateway does. Build it with New.
type Router struct {
	log    *slog.Logger
	fns    map[string]*Function
	order  []*Function
	client *http.Client // for X-Callback-Url

	baseCtx context.Context
	cancel  context.CancelFunc
	async   sync.WaitGroup
}

// New returns a router for fns (in the order /system/functions lists them).
func New(log *slog.Logger, fns []Function) (*Router, error) {
	ctx, cancel := context.WithCancel(context.Background())
	r := &Router{log: log, fns: map[string]*Function{}, client: &http.Client{Timeout: 30 * time.Second}, baseCtx: ctx, cancel: cancel}
	for i := range fns {
		f := fns[i]
		if f.Name == "" || f.Handler == nil {
			cancel()
			return nil, fmt.Errorf("gateway: function %q needs a name and a handler", f.Name)
		}
		if _, dup := r.fns[f.Name]; dup {
			cancel()
			return nil, fmt.Errorf("gateway: function %s listed twice", f.Name)
		}
		r.fns[f.Name] = &f
		r.order = append(r.order, &f)
	}
	return r, nil
}

// Functions returns the functions in order.
func (rt *Router) Functions() []Function {
	out := make([]Function, len(rt.order))
	for i, f := range rt.order {
		out[i] = *f
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
	case p == "/system/functions":
		if err := httpjson.Method(w, r, http.MethodGet, http.MethodHead); err != nil {
			httpjson.Error(w, r, rt.log, err)
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

// functionStatus is one entry of GET /system/functions, as the gateway gives it.
type functionStatus struct {
	Name              string            `json:"name"`
	Image             string            `json:"image"`
	Namespace         string            `json:"namespace"`
	EnvProcess        string            `json:"envProcess"`
	Labels            map[string]string `json:"labels"`
	Annotations       map[string]string `json:"annotations"`
	InvocationCount   float64           `json:"invocationCount"`
	Replicas          uint64            `json:"replicas"`
	AvailableReplicas uint64            `json:"availableReplicas"`
}

func (rt *Router) list() []functionStatus {
	out := make([]functionStatus, 0, len(rt.order))
	for _, f := range rt.order {
		out = append(out, functionStatus{Name: f.Name, Image: f.Image, Namespace: "openfaas-fn", EnvProcess: f.EnvProcess,
			Labels: orEmpty(f.Labels), Annotations: orEmpty(f.Annotations), Replicas: 1, AvailableReplicas: 1})
	}
	return out
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// split takes "<name>[.<namespace>][/<rest>]" apart into the function and the path the
// watchdog hands it ("/" or "/<rest>").
func (rt *Router) split(tail string) (*Function, string, string, bool) {
	name, rest, _ := strings.Cut(tail, "/")
	name = strings.TrimSuffix(name, ".openfaas-fn")
	f, ok := rt.fns[name]
	return f, name, "/" + rest, ok
}

func (rt *Router) notFound(w http.ResponseWriter, r *http.Request, name string) {
	httpjson.Error(w, r, rt.log, apperr.New(apperr.NotFound, "no function named %q; GET /system/functions lists them", name))
}

// prepare turns r into the request the function sees: path rewritten, query kept, the
// gateway's X-Call-Id (kept when the caller sent one), X-Start-Time and X-Forwarded-For added;
// w gets the first two.
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
	// As the gateway's reverse proxy does: the client's address appended to X-Forwarded-For,
	// the host it asked for in X-Forwarded-Host.
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		if prior := r.Header.Values("X-Forwarded-For"); len(prior) > 0 {
			host = strings.Join(prior, ", ") + ", " + host
		}
		r2.Header.Set("X-Forwarded-For", host)
	}
	if r2.Header.Get("X-Forwarded-Host") == "" && r.Host != "" {
		r2.Header.Set("X-Forwarded-Host", r.Host)
	}
	started := strconv.FormatInt(start.UnixNano(), 10)
	r2.Header.Set("X-Start-Time", started)
	if w != nil {
		w.Header().Set("X-Call-Id", id)
		w.Header().Set("X-Start-Time", started)
	}
	return r2
}

// rawRest is the escaped path after /function/<name> (or /async-function/<name>).
func rawRest(raw string) string {
	parts := strings.SplitN(raw, "/", 4) // "", "function", name, rest
	if len(parts) < 4 {
		return ""
	}
	return "/" + parts[3]
}

// durationWriter adds the gateway's X-Duration-Seconds before the status goes out.
type durationWriter struct {
	http.ResponseWriter
	start       time.Time
	wroteHeader bool
}

func (d *durationWriter) WriteHeader(code int) {
	if !d.wroteHeader {
		d.wroteHeader = true
		d.Header().Set("X-Duration-Seconds", strconv.FormatFloat(time.Since(d.start).Seconds(), 'f', 6, 64))
	}
	d.ResponseWriter.WriteHeader(code)
}

func (d *durationWriter) Write(b []byte) (int, error) {
	if !d.wroteHeader {
		d.WriteHeader(http.StatusOK)
	}
	return d.ResponseWriter.Write(b)
}

func (d *durationWriter) Unwrap() http.ResponseWriter { return d.ResponseWriter }

func (rt *Router) sync(w http.ResponseWriter, r *http.Request, tail string) {
	f, name, path, ok := rt.split(tail)
	if !ok {
		rt.notFound(w, r, name)
		return
	}
	start := time.Now()
	r2 := prepare(w, r, path, start)
	if f.Timeout > 0 {
		ctx, cancel := context.WithTimeout(r2.Context(), f.Timeout)
		defer cancel()
		r2 = r2.WithContext(ctx)
	}
	f.Handler.ServeHTTP(&durationWriter{ResponseWriter: w, start: start}, r2)
}

func (rt *Router) asyncCall(w http.ResponseWriter, r *http.Request, tail string) {
	f, name, path, ok := rt.split(tail)
	if !ok {
		rt.notFound(w, r, name)
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
	// request's headers and body.
	r2 := prepare(w, r.WithContext(rt.baseCtx), path, start)
	r2.Body = io.NopCloser(bytes.NewReader(body))
	r2.ContentLength = int64(len(body))
	callback := r.Header.Get("X-Callback-Url")
	rt.async.Add(1)
	go func() {
		defer rt.async.Done()
		ctx := rt.baseCtx
		if f.Timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, f.Timeout)
			defer cancel()
		}
		rec := httptest.NewRecorder()
		f.Handler.ServeHTTP(rec, r2.WithContext(ctx))
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

// Invoke calls function fn in process as a connector does through the gateway: POST to
// /function/<fn> with body and headers. It returns the status and the answer's body.
func (rt *Router) Invoke(ctx context.Context, fn string, body []byte, h http.Header) (int, []byte, error) {
	f, ok := rt.fns[fn]
	if !ok {
		return 0, nil, fmt.Errorf("no function named %q", fn)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://gateway/function/"+fn, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	for k, vs := range h {
		req.Header[k] = append([]string(nil), vs...)
	}
	rec := httptest.NewRecorder()
	start := time.Now()
	r2 := prepare(nil, req, "/", start)
	if f.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.Timeout)
		defer cancel()
		r2 = r2.WithContext(ctx)
	}
	f.Handler.ServeHTTP(rec, r2)
	return rec.Code, rec.Body.Bytes(), nil
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
