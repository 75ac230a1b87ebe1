package middleware

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestCORS(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })
	h := CORS([]string{"https://app.dostupno.ru"}, ok)
	tests := []struct {
		name       string
		method     string
		origin     string
		preflight  bool
		wantStatus int
		wantACAO   string
	}{
		{"AllowedSimple", "GET", "https://app.dostupno.ru", false, 200, "https://app.dostupno.ru"},
		{"AllowedPreflight", "OPTIONS", "https://app.dostupno.ru", true, 204, "https://app.dostupno.ru"},
		{"OtherOriginNoHeaders", "GET", "https://evil.example", false, 200, ""},
		{"OtherOriginPreflightRefused", "OPTIONS", "https://evil.example", true, 403, ""},
		{"NoOrigin", "GET", "", false, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "/", nil)
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			if tt.preflight {
				r.Header.Set("Access-Control-Request-Method", "GET")
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.wantStatus {
				t.Fatalf("got %d, want %d", w.Code, tt.wantStatus)
			}
			if got := w.Header().Get("Access-Control-Allow-Origin"); got != tt.wantACAO {
				t.Fatalf("got ACAO %q, want %q", got, tt.wantACAO)
			}
			if tt.origin != "" && w.Header().Get("Vary") != "Origin" {
				t.Fatalf("got Vary %q, want Origin", w.Header().Get("Vary"))
			}
			if tt.wantStatus == 204 && (w.Header().Get("Access-Control-Allow-Headers") == "" || w.Header().Get("Access-Control-Max-Age") == "") {
				t.Fatalf("got preflight headers %v, want allowed headers and max age", w.Header())
			}
		})
	}
}

func TestRecoverAndCallID(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := CallID(Recover(log, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-Call-Id", "call-1")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 500 || w.Header().Get("X-Call-Id") != "call-1" {
		t.Fatalf("got %d / %q, want 500 with the call id", w.Code, w.Header().Get("X-Call-Id"))
	}
}

func TestNoCache(t *testing.T) {
	for v, want := range map[string]bool{"no-cache": true, "max-age=0, No-Cache": true, "max-age=60": false, "": false} {
		r := httptest.NewRequest("GET", "/", nil)
		if v != "" {
			r.Header.Set("Cache-Control", v)
		}
		if got := NoCache(r); got != want {
			t.Errorf("Cache-Control %q: got %v, want %v", v, got, want)
		}
	}
}
