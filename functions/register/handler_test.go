package function

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dostupno/dostupno/shared/apitest"
	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/natstest"
	"github.com/dostupno/dostupno/shared/pgtest"
	"github.com/dostupno/dostupno/shared/token"
)

func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv, _ := newServerConfig(t)
	return srv
}

func newServerConfig(t *testing.T) (*httptest.Server, config.Config) {
	t.Helper()
	ns := natstest.New(t)
	secrets := t.TempDir()
	if err := os.WriteFile(filepath.Join(secrets, token.SecretFile), []byte(strings.Repeat("r", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.Config{DatabaseURL: pgtest.NewURL(t), NatsURL: ns.URL, Namespace: ns.Namespace, SecretsDir: secrets, Replica: "primary"}
	d := instance.New(Name, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(d.Close)
	h, err := New(d)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, cfg
}

type errorBody struct {
	Error struct {
		Code, Message, Field string
	} `json:"error"`
}

func do(t *testing.T, method, url, ct, auth, body string) (*http.Response, []byte) {
	t.Helper()
	return apitest.Do(t, method, url, strings.NewReader(body), "Content-Type", ct, "Authorization", auth)
}

func TestRegister(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	resp, b := do(t, "POST", srv.URL, "application/json", "", `{"email":" Maria@Example.ru ","password":"winter orchard 7","name":"Мария","needs":["elevator","step_free_entrance"]}`)
	if resp.StatusCode != 201 {
		t.Fatalf("got %d %s, want 201", resp.StatusCode, b)
	}
	var s struct {
		User struct {
			ID, Email, Name, Role string
			Needs                 []string
		}
		Token     string `json:"token"`
		TokenType string `json:"token_type"`
		ExpiresAt string `json:"expires_at"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if s.User.ID == "" || s.User.Email != "Maria@Example.ru" || s.User.Name != "Мария" || s.User.Role != "user" ||
		strings.Join(s.User.Needs, ",") != "step_free_entrance,elevator" || s.TokenType != "Bearer" || s.Token == "" || s.ExpiresAt == "" {
		t.Fatalf("got %s, want the contract's 201 body", b)
	}
	if strings.Contains(string(b), "argon2") || strings.Contains(string(b), "password") {
		t.Fatalf("got %s, want no password or hash in the answer", b)
	}

	valid := `{"email":"new@example.ru","password":"winter orchard 7","name":"N","needs":[]}`
	tests := []struct {
		name, method, ct, auth, body string
		wantStatus                   int
		wantCode, wantField          string
	}{
		{"ErrTakenEmailOtherCase", "POST", "application/json", "", `{"email":"maria@example.RU","password":"another phrase 8","name":"M2","needs":[]}`, 409, "conflict", ""},
		{"ErrShortPassword", "POST", "application/json", "", `{"email":"a@example.ru","password":"1234567","name":"A","needs":[]}`, 400, "invalid_argument", "password"},
		{"ErrCommonPassword", "POST", "application/json", "", `{"email":"a@example.ru","password":"Qwerty123","name":"A","needs":[]}`, 400, "invalid_argument", "password"},
		{"ErrLongPassword", "POST", "application/json", "", `{"email":"a@example.ru","password":"` + strings.Repeat("z", 129) + `","name":"A","needs":[]}`, 400, "invalid_argument", "password"},
		{"ErrBadEmail", "POST", "application/json", "", `{"email":"a@","password":"winter orchard 7","name":"A"}`, 400, "invalid_argument", "email"},
		{"ErrNoName", "POST", "application/json", "", `{"email":"a@example.ru","password":"winter orchard 7","name":""}`, 400, "invalid_argument", "name"},
		{"ErrUnknownNeed", "POST", "application/json", "", `{"email":"a@example.ru","password":"winter orchard 7","name":"A","needs":["jetpack"]}`, 400, "invalid_argument", "needs"},
		{"ErrUnknownField", "POST", "application/json", "", `{"email":"a@example.ru","password":"winter orchard 7","name":"A","role":"admin"}`, 400, "invalid_argument", "role"},
		{"ErrBrokenJSON", "POST", "application/json", "", `{"email":"a@example.ru",`, 400, "invalid_argument", ""},
		{"ErrNotJSON", "POST", "application/json", "", `email=a@example.ru`, 400, "invalid_argument", ""},
		{"ErrTwoMiB", "POST", "application/json", "", `{"email":"a@example.ru","name":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "payload_too_large", ""},
		{"ErrMediaType", "POST", "text/plain", "", valid, 415, "unsupported_media_type", ""},
		{"ErrMethod", "GET", "", "", "", 405, "method_not_allowed", ""},
		{"ErrGarbageToken", "POST", "application/json", "Bearer garbage", valid, 401, "unauthenticated", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := do(t, tt.method, srv.URL, tt.ct, tt.auth, tt.body)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("got %d %s, want %d", resp.StatusCode, b, tt.wantStatus)
			}
			var e errorBody
			if err := json.Unmarshal(b, &e); err != nil {
				t.Fatalf("got %q, want the error envelope", b)
			}
			if e.Error.Code != tt.wantCode || e.Error.Field != tt.wantField {
				t.Fatalf("got %+v, want code %s field %q", e.Error, tt.wantCode, tt.wantField)
			}
		})
	}
}

func TestRefusedWithoutSecret(t *testing.T) {
	t.Parallel()
	for name, secret := range map[string]string{"ErrMissing": "", "ErrShort": strings.Repeat("s", 31)} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if secret != "" {
				if err := os.WriteFile(filepath.Join(dir, token.SecretFile), []byte(secret), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			cfg := config.Config{DatabaseURL: "postgres://unused", NatsURL: "nats://unused", SecretsDir: dir}
			d := instance.New(Name, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if _, err := New(d); err == nil {
				t.Fatal("got a handler, want New to refuse a missing or short jwt-secret")
			}
		})
	}
}
