package function

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	searchevents "github.com/dostupno/dostupno/functions/search-events"
	"github.com/dostupno/dostupno/shared/account"
	"github.com/dostupno/dostupno/shared/apitest"
)

type env struct {
	*apitest.Env
	svc *account.Service
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := apitest.New(t, Name, New, apitest.WithNATS())
	svc, err := e.Deps.Accounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return &env{Env: e, svc: svc}
}

// user registers email with password "violet kettle 42" and needs, and returns its session.
func (e *env) user(t *testing.T, email string, needs ...string) account.Session {
	t.Helper()
	s, err := e.svc.Register(context.Background(), account.Registration{Email: email, Password: "violet kettle 42", Name: "Имя", Needs: needs}, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (e *env) call(t *testing.T, method, path, tok, contentType, body string, header ...string) (*http.Response, []byte) {
	t.Helper()
	return e.Do(t, method, path, body, append([]string{"Authorization", apitest.Bearer(tok), "Content-Type", contentType}, header...)...)
}

// search asks a search-events instance of the same deployment with tok and returns the
// constraints it applied.
func search(t *testing.T, url, tok string) string {
	t.Helper()
	resp, b := apitest.Do(t, http.MethodGet, url+"/", nil, "Authorization", apitest.Bearer(tok))
	if resp.StatusCode != 200 {
		t.Fatalf("search: got %d %s, want 200", resp.StatusCode, b)
	}
	var page struct {
		Applied []string `json:"applied_constraints"`
	}
	if err := json.Unmarshal(b, &page); err != nil {
		t.Fatal(err)
	}
	return strings.Join(page.Applied, ",")
}

// eventually polls search until it applies want, for at most a few seconds: far less than
// the 30 s a user's needs stay cached without the change feed.
func eventually(t *testing.T, url, tok, want string) {
	t.Helper()
	apitest.Eventually(t, 5*time.Second, fmt.Sprintf("search applying %q (the change feed)", want), func() (bool, string) {
		got := search(t, url, tok)
		return got == want, fmt.Sprintf("%q", got)
	})
}

func TestSaveNeeds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.user(t, "needs@example.ru", "braille")
	srch := apitest.New(t, searchevents.Name, searchevents.New, apitest.WithConfigOf(e.Env)).URL
	if got := search(t, srch, s.Token); got != "braille" {
		t.Fatalf("got %q before, want the needs saved at registration", got)
	}
	resp, b := e.call(t, "PUT", "/needs", s.Token, "application/json", `{"needs":["subtitles","elevator","elevator"]}`)
	if resp.StatusCode != 200 {
		t.Fatalf("got %d %s, want 200", resp.StatusCode, b)
	}
	var u account.User
	if err := json.Unmarshal(b, &u); err != nil || u.ID != s.User.ID || strings.Join(u.Needs, ",") != "elevator,subtitles" || u.Email != "needs@example.ru" {
		t.Fatalf("got %s (%v), want the user with the needs in catalog order", b, err)
	}
	// The search instance had the old needs cached: the change feed drops them at once.
	eventually(t, srch, s.Token, "elevator,subtitles")
	if resp, b := e.call(t, "PUT", "/needs", s.Token, "application/json", `{"needs":[]}`); resp.StatusCode != 200 {
		t.Fatalf("got %d %s clearing the needs, want 200", resp.StatusCode, b)
	}
	eventually(t, srch, s.Token, "")

	for _, tt := range []struct {
		name, method, path, tok, ct, body string
		status                            int
		code, field                       string
	}{
		{"ErrUnknownCode", "PUT", "/needs", s.Token, "application/json", `{"needs":["jetpack"]}`, 400, "invalid_argument", "needs"},
		{"ErrNoNeeds", "PUT", "/needs", s.Token, "application/json", `{}`, 400, "invalid_argument", "needs"},
		{"ErrUnknownField", "PUT", "/needs", s.Token, "application/json", `{"needs":[],"role":"admin"}`, 400, "invalid_argument", "role"},
		{"ErrAnonymous", "PUT", "/needs", "", "application/json", `{"needs":[]}`, 401, "unauthenticated", ""},
		{"ErrGarbageToken", "PUT", "/needs", "garbage", "application/json", `{"needs":[]}`, 401, "unauthenticated", ""},
		{"ErrMethod", "POST", "/needs", s.Token, "application/json", `{"needs":[]}`, 405, "method_not_allowed", ""},
		{"ErrTooLarge", "PUT", "/needs", s.Token, "application/json", `{"needs":["` + strings.Repeat("a", 70<<10) + `"]}`, 413, "payload_too_large", ""},
		{"ErrMediaType", "PUT", "/needs", s.Token, "text/plain", `{"needs":[]}`, 415, "unsupported_media_type", ""},
		{"ErrPath", "PUT", "/needs/more", s.Token, "application/json", `{"needs":[]}`, 404, "not_found", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := e.call(t, tt.method, tt.path, tt.tok, tt.ct, tt.body)
			if got := apitest.WantError(t, resp, b, tt.status, tt.code); got.Field != tt.field {
				t.Fatalf("got field %q, want %q", got.Field, tt.field)
			}
		})
	}
}

func TestErase(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.user(t, "erase.me@example.ru", "hearing_loop")
	other := e.user(t, "stays@example.ru")
	srch := apitest.New(t, searchevents.Name, searchevents.New, apitest.WithConfigOf(e.Env)).URL
	if got := search(t, srch, s.Token); got != "hearing_loop" {
		t.Fatalf("got %q, want the saved needs cached", got)
	}
	users := func() int { // beside the harness's admin
		t.Helper()
		var n int
		if err := e.Pool.QueryRow(context.Background(), `SELECT count(*) FROM users WHERE id <> $1`, apitest.AdminID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	for _, tt := range []struct {
		name, method, path, tok, ct, body string
		status                            int
		code, field                       string
	}{
		{"ErrAnonymous", "DELETE", "/", "", "application/json", `{"password":"violet kettle 42"}`, 401, "unauthenticated", ""},
		{"ErrGarbageToken", "DELETE", "/", "garbage", "application/json", `{"password":"violet kettle 42"}`, 401, "unauthenticated", ""},
		{"ErrWrongPassword", "DELETE", "/", s.Token, "application/json", `{"password":"violet kettle 43"}`, 401, "unauthenticated", ""},
		{"ErrNoPassword", "DELETE", "/", s.Token, "application/json", `{}`, 400, "invalid_argument", "password"},
		{"ErrBrokenJSON", "DELETE", "/", s.Token, "application/json", `{"password":`, 400, "invalid_argument", ""},
		{"ErrUnknownField", "DELETE", "/", s.Token, "application/json", `{"password":"violet kettle 42","all":true}`, 400, "invalid_argument", "all"},
		{"ErrTooLarge", "DELETE", "/", s.Token, "application/json", `{"password":"` + strings.Repeat("a", 70<<10) + `"}`, 413, "payload_too_large", ""},
		{"ErrMediaType", "DELETE", "/", s.Token, "text/plain", `{"password":"violet kettle 42"}`, 415, "unsupported_media_type", ""},
		{"ErrMethod", "POST", "/", s.Token, "application/json", `{"password":"violet kettle 42"}`, 405, "method_not_allowed", ""},
		{"ErrPath", "DELETE", "/me", s.Token, "application/json", `{"password":"violet kettle 42"}`, 404, "not_found", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := e.call(t, tt.method, tt.path, tt.tok, tt.ct, tt.body)
			if got := apitest.WantError(t, resp, b, tt.status, tt.code); got.Field != tt.field {
				t.Fatalf("got field %q, want %q", got.Field, tt.field)
			}
			if n := users(); n != 2 {
				t.Fatalf("got %d users after a refused erasure, want 2", n)
			}
		})
	}

	t.Run("ErrBusyHashing", func(t *testing.T) {
		release := apitest.FillHasher(t, e.Deps.Hasher())
		resp, b := e.call(t, "DELETE", "/", s.Token, "application/json", `{"password":"violet kettle 42"}`)
		release()
		apitest.WantError(t, resp, b, 503, "unavailable")
		if resp.Header.Get("Retry-After") == "" || users() != 2 {
			t.Fatalf("got Retry-After %q and %d users, want a Retry-After and nothing erased", resp.Header.Get("Retry-After"), users())
		}
	})

	resp, b := e.call(t, "DELETE", "/", s.Token, "application/json", `{"password":"violet kettle 42"}`)
	if resp.StatusCode != 204 || len(b) != 0 {
		t.Fatalf("got %d %s, want 204 with no body", resp.StatusCode, b)
	}
	if n := users(); n != 1 {
		t.Fatalf("got %d users, want the other one alone", n)
	}
	// Every cache: the search instance drops the erased user's needs at once.
	eventually(t, srch, s.Token, "")
	if got := search(t, srch, other.Token); got != "" {
		t.Fatalf("got %q for the other user, want none saved", got)
	}
	if _, err := e.svc.Login(context.Background(), "erase.me@example.ru", "violet kettle 42", "192.0.2.9"); err == nil {
		t.Fatal("got a login for the erased user, want unauthenticated")
	}
	// The erased user's token is refused where a user is needed.
	for _, c := range []struct{ method, path, body string }{{"DELETE", "/", `{"password":"violet kettle 42"}`}, {"PUT", "/needs", `{"needs":[]}`}} {
		resp, b := e.call(t, c.method, c.path, s.Token, "application/json", c.body)
		apitest.WantError(t, resp, b, 401, "unauthenticated")
		if resp.Header.Get("WWW-Authenticate") == "" {
			t.Fatalf("%s %s: got no WWW-Authenticate with the 401", c.method, c.path)
		}
	}
}

// Wrong passwords on the erasure count as logins do.
func TestEraseThrottled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.user(t, "guarded@example.ru")
	var statuses []string
	var last *http.Response
	for i := 0; i < 7; i++ {
		resp, _ := e.call(t, "DELETE", "/", s.Token, "application/json", `{"password":"guess `+strconv.Itoa(i)+`"}`, "X-Forwarded-For", "203.0.113.9")
		statuses, last = append(statuses, strconv.Itoa(resp.StatusCode)), resp
	}
	if got := strings.Join(statuses, ","); got != "401,401,401,401,401,429,429" {
		t.Fatalf("got %s, want five 401s then 429", got)
	}
	if ra, err := strconv.Atoi(last.Header.Get("Retry-After")); err != nil || ra < 1 {
		t.Fatalf("got Retry-After %q, want seconds", last.Header.Get("Retry-After"))
	}
}
