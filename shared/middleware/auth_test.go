package middleware

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/httpjson"
	"github.com/dostupno/dostupno/shared/token"
)

// secretsDir writes files (name -> content) to a secrets directory of their own.
func secretsDir(t *testing.T, files map[string]string) config.Config {
	t.Helper()
	dir := t.TempDir()
	for name, v := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return config.Config{SecretsDir: dir}
}

func TestAuthenticate(t *testing.T) {
	private, public, err := token.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	// The function verifies only: it has the public key, as every function but the issuers.
	cfg := secretsDir(t, map[string]string{token.PublicKeyFile: string(public)})
	issuer, err := token.Load(secretsDir(t, map[string]string{token.PrivateKeyFile: string(private)}))
	if err != nil {
		t.Fatal(err)
	}
	otherPrivate, _, err := token.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	other, err := token.Load(secretsDir(t, map[string]string{token.PrivateKeyFile: string(otherPrivate)}))
	if err != nil {
		t.Fatal(err)
	}
	const uid = "0b7f6c1e-3a52-4d0f-9c1e-5e2d7a8b9c0d"
	userTok, _, _ := issuer.Issue(uid, token.RoleUser, 0)
	adminTok, _, _ := issuer.Issue(uid, token.RoleAdmin, 0)
	forged, _, _ := other.Issue(uid, token.RoleAdmin, 0)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	// The handler needs admin on /admin, a user on /me and nothing elsewhere.
	h := Authenticate(log, cfg, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var err error
		switch r.URL.Path {
		case "/admin":
			_, err = RequireRole(r, token.RoleAdmin)
		case "/me":
			_, err = RequireUser(r)
		}
		if err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		p, _ := Principal(r.Context())
		w.Write([]byte(p.Role))
	}))
	tests := []struct {
		name, path, auth string
		wantStatus       int
		wantBody         string
	}{
		{"AnonymousOpen", "/", "", 200, ""},
		{"UserOpen", "/", "Bearer " + userTok, 200, "user"},
		{"AdminOpen", "/", "Bearer " + adminTok, 200, "admin"},
		{"ErrGarbageOnOpen", "/", "Bearer garbage", 401, ""},
		{"ErrBasicOnOpen", "/", "Basic YTpi", 401, ""},
		{"ErrForgedAdmin", "/admin", "Bearer " + forged, 401, ""},
		{"ErrAnonymousAdmin", "/admin", "", 401, ""},
		{"ErrUserAdmin", "/admin", "Bearer " + userTok, 403, ""},
		{"AdminAdmin", "/admin", "Bearer " + adminTok, 200, "admin"},
		{"ErrAnonymousMe", "/me", "", 401, ""},
		{"AdminIsUser", "/me", "Bearer " + adminTok, 200, "admin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tt.path, nil)
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.wantStatus {
				t.Fatalf("got %d %s, want %d", w.Code, w.Body, tt.wantStatus)
			}
			if tt.wantStatus == 200 {
				if w.Body.String() != tt.wantBody {
					t.Fatalf("got body %q, want %q", w.Body, tt.wantBody)
				}
				return
			}
			var env struct {
				Error struct{ Code string } `json:"error"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil {
				t.Fatalf("got body %q, want the error envelope", w.Body)
			}
			want := map[int]string{401: "unauthenticated", 403: "forbidden"}[tt.wantStatus]
			if env.Error.Code != want {
				t.Fatalf("got code %q, want %q", env.Error.Code, want)
			}
		})
	}
}

func TestAuthenticateWithoutSecret(t *testing.T) {
	cfg := secretsDir(t, nil)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := Authenticate(log, cfg, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for _, tt := range []struct {
		name string
		auth string
		want int
	}{
		{"AnonymousServed", "", 200},
		{"TokenUnavailable", "Bearer x.y.z", 503},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Fatalf("got %d, want %d", w.Code, tt.want)
			}
		})
	}
	if _, err := Keys(secretsDir(t, map[string]string{token.PublicKeyFile: "a 32-byte HS256 secret of old..."})); err == nil {
		t.Fatal("got keys from a shared secret, want an error")
	}
}
