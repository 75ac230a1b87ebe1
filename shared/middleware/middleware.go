// Package middleware is the chain every function's handler runs behind: call id, access log,
// panic recovery, CORS (shared/apidoc/openapi.yaml) and bearer token checks.
package middleware

import (
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/httpjson"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/logging"
)

// Methods allowed by CORS preflight; the handler still checks its own.
const corsMethods = "GET, HEAD, POST, PUT, DELETE, OPTIONS"

// Wrap puts h behind the common chain for function d.Name: call id, access log, recovery,
// CORS, the client's address (ClientAddresses), then the bearer token check (Authenticate). A
// function that cannot read its jwt-public-key still serves anonymous requests (and says so in
// its log); functions that need tokens refuse to start instead (CheckWriter in their New). A
// function configured without an edge says so at start.
func Wrap(d *instance.Deps, h http.Handler) http.Handler {
	if _, err := Keys(d.Config); err != nil {
		d.Log.Warn("access tokens cannot be verified: requests carrying one get 503", "err", err)
	}
	warnNoEdge(d.Log, d.Config.ClientAddrHeader)
	return CallID(AccessLog(d.Log, Recover(d.Log, CORS(d.Config.CORSOrigins, ClientAddresses(d.Config.ClientAddrHeader, Authenticate(d.Log, d.Config, h))))))
}

// WrapRead is Wrap for the read functions, whose every answer says X-Cache (shared/apidoc/openapi.yaml): "miss"
// unless the handler serves from its cache, including answers the chain gives before the
// handler runs (a refused token, a CORS preflight).
func WrapRead(d *instance.Deps, h http.Handler) http.Handler {
	inner := Wrap(d, h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Cache", "miss")
		inner.ServeHTTP(w, r)
	})
}

// CallID puts the gateway's X-Call-Id (or a new one) in the request context and the answer.
func CallID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Call-Id")
		if id == "" || len(id) > 128 {
			id = uuid.NewString()
		}
		w.Header().Set("X-Call-Id", id)
		next.ServeHTTP(w, r.WithContext(logging.WithCallID(r.Context(), id)))
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// AccessLog logs one line per request: method, path, status, bytes, duration; 5xx at error
// level, the rest at debug (info would drown a busy instance).
func AccessLog(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		level := slog.LevelDebug
		if sw.status >= 500 {
			level = slog.LevelError
		}
		if !log.Enabled(r.Context(), level) {
			return // a request's line is debug: its fields are not even built
		}
		log.Log(r.Context(), level, "request", "method", r.Method, "path", r.URL.Path,
			"status", sw.status, "bytes", sw.bytes, "ms", float64(time.Since(start).Microseconds())/1000)
	})
}

// Recover turns a panic into a logged internal error instead of a dropped connection.
func Recover(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.ErrorContext(r.Context(), "panic", "value", v, "stack", string(debug.Stack()))
				httpjson.Error(w, r, log, apperr.New(apperr.Internal, "internal error"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// CORS answers allowed origins with Access-Control-Allow-Origin and Vary: Origin, and answers
// their preflight with 204; other origins get no CORS headers (and a preflight from them is
// 403, so a browser stops there).
func CORS(allowed []string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Add("Vary", "Origin")
		ok := slices.Contains(allowed, origin) || slices.Contains(allowed, "*")
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if ok {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Expose-Headers", "ETag, X-Cache, X-Call-Id, Retry-After")
		}
		if preflight {
			if !ok {
				httpjson.Error(w, r, slog.Default(), apperr.New(apperr.Forbidden, "origin %s is not allowed", origin))
				return
			}
			w.Header().Set("Access-Control-Allow-Methods", corsMethods)
			w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Cache-Control, If-None-Match")
			w.Header().Set("Access-Control-Max-Age", strconv.Itoa(int((10 * time.Minute).Seconds())))
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// NoCache reports whether the request asks to bypass the per-instance cache.
func NoCache(r *http.Request) bool {
	for _, v := range r.Header.Values("Cache-Control") {
		for _, d := range strings.Split(v, ",") {
			if d := strings.ToLower(strings.TrimSpace(d)); d == "no-cache" || d == "no-store" {
				return true
			}
		}
	}
	return strings.EqualFold(r.Header.Get("Pragma"), "no-cache")
}
