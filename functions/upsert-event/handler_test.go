package function

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/dostupno/dostupno/shared/apitest"
	"github.com/dostupno/dostupno/shared/token"
	"github.com/dostupno/dostupno/shared/writelog"
)

type fixture struct {
	*apitest.Env
	admin, user string // Authorization header values
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	e := apitest.New(t, Name, New, apitest.WithNATS())
	return &fixture{Env: e, admin: apitest.Bearer(e.Admin), user: apitest.Bearer(e.User)}
}

func event(id int64, title string) string {
	return fmt.Sprintf(`{"id":%d,"title":%q,"category":"concert","city":"moscow","venue":{"id":45,"name":"Зал","lat":55.75,"lon":37.61},`+
		`"starts_at":"2026-12-01T19:00:00+03:00","timezone":"Europe/Moscow","age_rating":"12+","price":{"min":1500,"max":5000,"currency":"RUB"},`+
		`"accessibility":{"wheelchair_seating":"yes","sign_language":"no"}}`, id, title)
}

func (f *fixture) put(t *testing.T, ct, auth, body string) (int, map[string]any) {
	t.Helper()
	resp, b := f.Do(t, http.MethodPut, "/", body, "Content-Type", ct, "Authorization", auth)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("got %q, want JSON", b)
	}
	return resp.StatusCode, out
}

func (f *fixture) title(t *testing.T, id int64) (string, int64) {
	t.Helper()
	var title string
	var version int64
	if err := f.Pool.QueryRow(context.Background(), `SELECT title, version FROM events WHERE id = $1`, id).Scan(&title, &version); err != nil {
		t.Fatalf("event %d: %v", id, err)
	}
	return title, version
}

func TestUpsertOne(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	status, body := f.put(t, "application/json", f.admin, event(123, "Концерт"))
	if status != 200 || body["id"] != float64(123) || body["version"] != float64(1) {
		t.Fatalf("got %d %v, want 200 id 123 version 1", status, body)
	}
	if title, v := f.title(t, 123); title != "Концерт" || v != 1 {
		t.Fatalf("got %q v%d, want the event served at version 1 when the answer came", title, v)
	}
	// A second PUT, then the first state again: the last one wins even though its content
	// was published before.
	for i, title := range []string{"Второй", "Концерт"} {
		status, body := f.put(t, "", f.admin, event(123, title))
		if want := float64(i + 2); status != 200 || body["version"] != want {
			t.Fatalf("got %d %v, want version %v", status, body, want)
		}
	}
	if title, v := f.title(t, 123); title != "Концерт" || v != 3 {
		t.Fatalf("got %q v%d, want the last PUT (v3) to win", title, v)
	}
}

func TestUpsertNDJSON(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	body := event(1, "Один") + "\n\n" + event(2, "Два") + "\n" + event(3, "Три") + "\n"
	status, out := f.put(t, "application/x-ndjson", f.admin, body)
	if status != 200 || out["count"] != float64(3) || out["version"] != float64(1) {
		t.Fatalf("got %d %v, want 200 count 3 version 1", status, out)
	}
	for id, want := range map[int64]string{1: "Один", 2: "Два", 3: "Три"} {
		if title, _ := f.title(t, id); title != want {
			t.Fatalf("event %d: got %q, want %q", id, title, want)
		}
	}
	// Many events split across commands still answer with the last version.
	var sb strings.Builder
	for i := int64(100); i < 2100; i++ {
		sb.WriteString(event(i, strings.Repeat("т", 200)) + "\n")
	}
	status, out = f.put(t, "application/x-ndjson", f.admin, sb.String())
	if status != 200 || out["count"] != float64(2000) || out["version"].(float64) < 3 {
		t.Fatalf("got %d %v, want 2000 events in several commands", status, out)
	}
	if _, v := f.title(t, 2099); v != int64(out["version"].(float64)) {
		t.Fatalf("got version %d for the last event, want %v", v, out["version"])
	}
}

func TestUpsertRefuses(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	bad := strings.Replace(event(2, "Два"), `"lat":55.75`, `"lat":95`, 1)
	f.WantRefusals(t, map[string]string{"admin": f.admin, "user": f.user, "ticketing": apitest.Bearer(f.Ticketing(t))}, []apitest.Refusal{
		{Name: "ErrAnonymous", Method: "PUT", ContentType: "application/json", Body: event(1, "A"), Status: 401, Code: "unauthenticated"},
		{Name: "ErrUser", Method: "PUT", ContentType: "application/json", Auth: "user", Body: event(1, "A"), Status: 403, Code: "forbidden"},
		{Name: "ErrTicketing", Method: "PUT", ContentType: "application/json", Auth: "ticketing", Body: event(1, "A"), Status: 403, Code: "forbidden"},
		{Name: "ErrGarbageToken", Method: "PUT", ContentType: "application/json", Auth: "Bearer garbage", Body: event(1, "A"), Status: 401, Code: "unauthenticated"},
		{Name: "ErrForgedAdmin", Method: "PUT", ContentType: "application/json", Auth: "Bearer eyJhbGciOiJIUzI1NiIsImtpZCI6IngiLCJ0eXAiOiJKV1QifQ.eyJyb2xlIjoiYWRtaW4ifQ.c2ln", Body: event(1, "A"), Status: 401, Code: "unauthenticated"},
		{Name: "ErrMethod", Method: "POST", ContentType: "application/json", Auth: "admin", Body: event(1, "A"), Status: 405, Code: "method_not_allowed"},
		{Name: "ErrMediaType", Method: "PUT", ContentType: "text/csv", Auth: "admin", Body: "1,2", Status: 415, Code: "unsupported_media_type"},
		{Name: "ErrUnknownField", Method: "PUT", ContentType: "application/json", Auth: "admin", Body: strings.Replace(event(1, "A"), `{"id"`, `{"secret":1,"id"`, 1), Status: 400, Code: "invalid_argument", Field: "secret"},
		{Name: "ErrBrokenJSON", Method: "PUT", ContentType: "application/json", Auth: "admin", Body: `{"id":1,`, Status: 400, Code: "invalid_argument"},
		{Name: "ErrField", Method: "PUT", ContentType: "application/json", Auth: "admin", Body: bad, Status: 400, Code: "invalid_argument", Field: "venue.lat"},
		{Name: "ErrTwoMiB", Method: "PUT", ContentType: "application/json", Auth: "admin", Body: `{"title":"` + strings.Repeat("a", 2<<20) + `"}`, Status: 413, Code: "payload_too_large"},
		{Name: "ErrNDJSONLine", Method: "PUT", ContentType: "application/x-ndjson", Auth: "admin", Body: event(1, "A") + "\n" + bad + "\n" + event(3, "C") + "\n", Status: 400, Code: "invalid_argument", Field: "venue.lat", Message: "line 2: "},
		{Name: "ErrNDJSONBrokenLine", Method: "PUT", ContentType: "application/x-ndjson", Auth: "admin", Body: event(1, "A") + "\n{\n", Status: 400, Code: "invalid_argument", Message: "line 2: "},
		{Name: "ErrNDJSONEmpty", Method: "PUT", ContentType: "application/x-ndjson", Auth: "admin", Body: "\n\n", Status: 400, Code: "invalid_argument"},
	})
	if n := f.LastSeq(t); n != 0 {
		t.Fatalf("got %d commands published, want none for refused requests", n)
	}
}

// A value the checks let through but the database refuses (a NUL character in a title,
// SQLSTATE 22021) is the contract's 400 with what the copy recorded, never a 500; nothing of
// the command is stored, and the next write goes on.
func TestUpsertRefusedByTheDatabase(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	nul := func(id int64) string {
		return strings.Replace(event(id, "before-after"), "before-after", `before\u0000after`, 1)
	}
	for _, tt := range []struct{ name, ct, body string }{
		{"JSON", "application/json", nul(7)},
		{"NDJSON", "application/x-ndjson", event(8, "fine") + "\n" + nul(9) + "\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := f.Do(t, http.MethodPut, "/", tt.body, "Content-Type", tt.ct, "Authorization", f.admin)
			e := apitest.WantError(t, resp, b, 400, "invalid_argument")
			if !strings.Contains(e.Message, "SQLSTATE 22021") || !strings.Contains(e.Message, "NUL") {
				t.Fatalf("got %q, want the refusal the copy recorded", e.Message)
			}
		})
	}
	var n int
	if err := f.Pool.QueryRow(context.Background(), `SELECT count(*) FROM events`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("got %d events (%v), want none of the refused commands", n, err)
	}
	if status, body := f.put(t, "application/json", f.admin, event(10, "После")); status != 200 {
		t.Fatalf("got %d %v after the refusals, want 200", status, body)
	}
}

// A write the log cannot take is the contract's 503 with Retry-After, and nothing is written.
func TestUpsertUnavailable(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if status, body := f.put(t, "application/json", f.admin, event(1, "Один")); status != 200 {
		t.Fatalf("got %d %v, want 200", status, body)
	}
	if err := f.NATS.JS.DeleteStream(context.Background(), writelog.StreamName(f.NATS.Namespace)); err != nil {
		t.Fatal(err)
	}
	resp, b := f.Do(t, http.MethodPut, "/", event(1, "Два"), "Content-Type", "application/json", "Authorization", f.admin)
	apitest.WantError(t, resp, b, 503, "unavailable")
	if got := resp.Header.Get("Retry-After"); got != "2" {
		t.Fatalf("got Retry-After %q, want 2", got)
	}
	if title, _ := f.title(t, 1); title != "Один" {
		t.Fatalf("got %q, want the event unchanged", title)
	}
}

// Tokens only the issuers can sign: an HS256 token keyed with the public key every function
// holds is refused, and so is an admin token issued before the admin's password changed.
func TestUpsertRefusesForgedAndStaleAdminTokens(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	public, err := f.Config.Secret(token.PublicKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := token.ParsePublicKeys(public)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	forged := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": token.Issuer, "aud": token.Audience,
		"sub": apitest.AdminID, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "role": "admin", "tv": 0})
	forged.Header["kid"] = token.KeyID(pub[0])
	for _, key := range [][]byte{public, pub[0]} {
		s, err := forged.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		resp, b := f.Do(t, http.MethodPut, "/", event(1, "A"), "Content-Type", "application/json", "Authorization", apitest.Bearer(s))
		apitest.WantError(t, resp, b, 401, "unauthenticated")
	}

	svc, err := f.Deps.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	login := func(password string) string {
		t.Helper()
		s, err := svc.Login(ctx, "boss@example.ru", password, "192.0.2.40")
		if err != nil {
			t.Fatal(err)
		}
		return apitest.Bearer(s.Token)
	}
	if _, err := svc.CreateAdmin(ctx, "boss@example.ru", "first admin phrase"); err != nil {
		t.Fatal(err)
	}
	before := login("first admin phrase")
	if status, body := f.put(t, "application/json", before, event(1, "Один")); status != 200 {
		t.Fatalf("got %d %v, want 200", status, body)
	}
	if _, err := svc.CreateAdmin(ctx, "boss@example.ru", "second admin phrase"); err != nil {
		t.Fatal(err)
	}
	resp, b := f.Do(t, http.MethodPut, "/", event(1, "Два"), "Content-Type", "application/json", "Authorization", before)
	if e := apitest.WantError(t, resp, b, 401, "unauthenticated"); !strings.Contains(e.Message, "log in again") {
		t.Fatalf("got %q, want the client told to log in again", e.Message)
	}
	if status, body := f.put(t, "application/json", login("second admin phrase"), event(1, "Два")); status != 200 {
		t.Fatalf("got %d %v, want 200 with a token issued after the change", status, body)
	}
	if title, _ := f.title(t, 1); title != "Два" {
		t.Fatalf("got %q, want the write of the fresh token only", title)
	}
}
