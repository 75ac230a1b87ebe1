package function

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dostupno/dostupno/shared/apitest"
	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/token"
)

func newEnv(t *testing.T) *apitest.Env {
	t.Helper()
	return apitest.New(t, Name, New, apitest.WithNATS())
}

func do(t *testing.T, method, url, ct, auth, body string) (*http.Response, []byte) {
	t.Helper()
	return apitest.Do(t, method, url, strings.NewReader(body), "Content-Type", ct, "Authorization", auth)
}

// register posts body to srv and returns the answer, failing t unless it is 201.
func register(t *testing.T, srv *apitest.Env, body string) []byte {
	t.Helper()
	resp, b := do(t, "POST", srv.URL, "application/json", "", body)
	if resp.StatusCode != 201 {
		t.Fatalf("got %d %s, want 201", resp.StatusCode, b)
	}
	return b
}

func TestRegister(t *testing.T) {
	t.Parallel()
	srv := newEnv(t)
	b := register(t, srv, `{"email":" Maria@Example.ru ","password":"winter orchard 7","name":"Мария","needs":["elevator","step_free_entrance"]}`)
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
			if e := apitest.WantError(t, resp, b, tt.wantStatus, tt.wantCode); e.Field != tt.wantField {
				t.Fatalf("got %+v, want field %q", e, tt.wantField)
			}
		})
	}
}

func TestRefusedWithoutSecret(t *testing.T) {
	t.Parallel()
	_, public, err := token.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	for name, files := range map[string]map[string]string{
		"ErrMissing":        nil,
		"ErrOldSecret":      {"jwt-secret": strings.Repeat("s", 32)},
		"ErrPublicKeyOnly":  {token.PublicKeyFile: string(public)}, // a verifier's secrets: it cannot issue
		"ErrNotAPrivateKey": {token.PrivateKeyFile: strings.Repeat("s", 31)},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := apitest.Build(t, Name, New, apitest.WithoutSecret(), apitest.WithoutDatabase(), apitest.WithConfig(func(c *config.Config) {
				c.DatabaseURL, c.NatsURL = "postgres://unused", "nats://unused"
				for n, v := range files {
					if err := os.WriteFile(filepath.Join(c.SecretsDir, n), []byte(v), 0o600); err != nil {
						t.Fatal(err)
					}
				}
			}))
			if err == nil {
				t.Fatal("got a handler, want New to refuse to start without the private key")
			}
		})
	}
}
