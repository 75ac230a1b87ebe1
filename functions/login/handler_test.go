package function

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/dostupno/dostupno/shared/account"
	"github.com/dostupno/dostupno/shared/apitest"
)

// newEnv serves login on a fresh database and namespace, with one registered user
// (vera@example.ru, "amber lantern 9").
func newEnv(t *testing.T) *apitest.Env {
	t.Helper()
	e := apitest.New(t, Name, New, apitest.WithNATS())
	svc, err := e.Deps.Accounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Register(context.Background(), account.Registration{Email: "vera@example.ru", Password: "amber lantern 9", Name: "Вера", Needs: []string{"braille"}}, "192.0.2.100"); err != nil {
		t.Fatal(err)
	}
	return e
}

func post(t *testing.T, url, body string, header ...string) (*http.Response, string) {
	t.Helper()
	resp, b := apitest.Do(t, http.MethodPost, url, strings.NewReader(body), append([]string{"Content-Type", "application/json"}, header...)...)
	return resp, string(b)
}

func TestLogin(t *testing.T) {
	t.Parallel()
	srv := newEnv(t)
	resp, b := post(t, srv.URL, `{"email":"VERA@example.ru","password":"amber lantern 9"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("got %d %s, want 200", resp.StatusCode, b)
	}
	var s struct {
		User struct {
			Email, Role string
			Needs       []string
		}
		Token     string `json:"token"`
		TokenType string `json:"token_type"`
	}
	if err := json.Unmarshal([]byte(b), &s); err != nil {
		t.Fatal(err)
	}
	if s.User.Email != "vera@example.ru" || s.User.Role != "user" || len(s.User.Needs) != 1 || s.TokenType != "Bearer" || s.Token == "" {
		t.Fatalf("got %s, want the user, role user and a Bearer token", b)
	}

	tests := []struct {
		name, body string
		header     []string
		wantStatus int
		wantCode   string
	}{
		{"ErrUnknownField", `{"email":"vera@example.ru","password":"amber lantern 9","admin":true}`, nil, 400, "invalid_argument"},
		{"ErrBrokenJSON", `{"email":`, nil, 400, "invalid_argument"},
		{"ErrTwoMiB", `{"email":"vera@example.ru","password":"` + strings.Repeat("x", 2<<20) + `"}`, nil, 413, "payload_too_large"},
		{"ErrAlgNoneToken", `{"email":"vera@example.ru","password":"amber lantern 9"}`, []string{"Authorization", "Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4Iiwicm9sZSI6ImFkbWluIn0."}, 401, "unauthenticated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := post(t, srv.URL, tt.body, tt.header...)
			apitest.WantError(t, resp, []byte(b), tt.wantStatus, tt.wantCode)
		})
	}
}

// An unknown email and a wrong password get byte-identical answers, wrong passwords from one
// address end in 429 with Retry-After, and the throttled answer does not tell a registered
// email from an unknown one.
func TestLoginAsAttacker(t *testing.T) {
	t.Parallel()
	srv := newEnv(t)
	_, unknown := post(t, srv.URL, `{"email":"nobody@example.ru","password":"amber lantern 9"}`, "X-Forwarded-For", "203.0.113.1")
	_, wrong := post(t, srv.URL, `{"email":"vera@example.ru","password":"amber lantern 8"}`, "X-Forwarded-For", "203.0.113.1")
	if unknown != wrong || apitest.ErrorOf(t, []byte(wrong)).Code != "unauthenticated" {
		t.Fatalf("got %q for an unknown email and %q for a wrong password, want the same 401 body", unknown, wrong)
	}
	var statuses []string
	var last *http.Response
	var lastBody string
	for i := 0; i < 8; i++ {
		resp, b := post(t, srv.URL, `{"email":"vera@example.ru","password":"guess `+strconv.Itoa(i)+`"}`, "X-Forwarded-For", "203.0.113.2")
		statuses = append(statuses, strconv.Itoa(resp.StatusCode))
		last, lastBody = resp, b
	}
	if got, want := strings.Join(statuses, ","), "401,401,401,401,401,429,429,429"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	ra, err := strconv.Atoi(last.Header.Get("Retry-After"))
	if err != nil || ra < 1 || ra > 15*60 {
		t.Fatalf("got Retry-After %q, want 1..900 seconds", last.Header.Get("Retry-After"))
	}
	// Throttled, an unregistered email looks like a registered one.
	var ghost string
	for i := 0; i < 6; i++ {
		_, ghost = post(t, srv.URL, `{"email":"ghost@example.ru","password":"guess"}`, "X-Forwarded-For", "203.0.113.2")
	}
	if ghost != lastBody || apitest.ErrorOf(t, []byte(ghost)).Code != "rate_limited" {
		t.Fatalf("got %q for an unknown email and %q for a registered one, want the same 429", ghost, lastBody)
	}
}

// The attacker's failures from one address do not lock the owner out from another; an
// attacker rotating addresses is throttled per account, and the owner's known address is not.
func TestLoginCannotLockTheOwnerOut(t *testing.T) {
	t.Parallel()
	srv := newEnv(t)
	const owner = `{"email":"vera@example.ru","password":"amber lantern 9"}`
	if resp, b := post(t, srv.URL, owner, "X-Forwarded-For", "198.51.100.1"); resp.StatusCode != 200 {
		t.Fatalf("got %d %s for the owner at home, want 200", resp.StatusCode, b)
	}
	for i := 0; i < 6; i++ {
		post(t, srv.URL, `{"email":"vera@example.ru","password":"guess"}`, "X-Forwarded-For", "203.0.113.20")
	}
	if resp, b := post(t, srv.URL, owner, "X-Forwarded-For", "198.51.100.2"); resp.StatusCode != 200 {
		t.Fatalf("got %d %s for the owner from another address after 5 failures elsewhere, want 200", resp.StatusCode, b)
	}
	// Rotating addresses, five guesses each, until the account refuses new addresses.
	refused := false
	for i := 0; i < 10 && !refused; i++ {
		for j := 0; j < 5; j++ {
			resp, _ := post(t, srv.URL, `{"email":"vera@example.ru","password":"guess"}`, "X-Forwarded-For", "203.0.113."+strconv.Itoa(30+i))
			if resp.StatusCode == 429 && j == 0 {
				refused = true
				break
			}
		}
	}
	if !refused {
		t.Fatal("got guesses from every new address, want the account throttled")
	}
	for addr, want := range map[string]int{"198.51.100.1": 200, "198.51.100.9": 429} {
		if resp, b := post(t, srv.URL, owner, "X-Forwarded-For", addr); resp.StatusCode != want {
			t.Fatalf("got %d %s for the owner from %s, want %d (a known address is exempt, a new one waits)", resp.StatusCode, b, addr, want)
		}
	}
}
