package function

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dostupno/dostupno/shared/apitest"
	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/middleware"
	"github.com/dostupno/dostupno/shared/natstest"
	"github.com/dostupno/dostupno/shared/pgdb"
	"github.com/dostupno/dostupno/shared/pgtest"
	"github.com/dostupno/dostupno/shared/token"
	"github.com/dostupno/dostupno/shared/writelog"
)

type fixture struct {
	srv          *httptest.Server
	pool         *pgxpool.Pool
	admin, user  string
	streamLastFn func() uint64
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	ns := natstest.New(t)
	secrets := t.TempDir()
	if err := os.WriteFile(filepath.Join(secrets, token.SecretFile), []byte(strings.Repeat("u", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	url := pgtest.NewURL(t)
	cfg := config.Config{DatabaseURL: url, NatsURL: ns.URL, Namespace: ns.Namespace, SecretsDir: secrets, Replica: "primary"}
	d := instance.New(Name, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(d.Close)
	h, err := New(d)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	keys, err := middleware.Keys(cfg)
	if err != nil {
		t.Fatal(err)
	}
	admin, _, err := keys.Issue("6f1e0c2a-1b3d-4e5f-8a9b-0c1d2e3f4a5b", token.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	user, _, err := keys.Issue("7a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c8d", token.RoleUser)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgdb.Connect(ctx, url, pgdb.Options{AppName: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	l, err := writelog.Open(ctx, ns.JS, ns.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	last := func() uint64 {
		n, err := l.LastSeq(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	return &fixture{srv: srv, pool: pool, admin: "Bearer " + admin, user: "Bearer " + user, streamLastFn: last}
}

func event(id int64, title string) string {
	return fmt.Sprintf(`{"id":%d,"title":%q,"category":"concert","city":"moscow","venue":{"id":45,"name":"Зал","lat":55.75,"lon":37.61},`+
		`"starts_at":"2026-12-01T19:00:00+03:00","timezone":"Europe/Moscow","age_rating":"12+","price":{"min":1500,"max":5000,"currency":"RUB"},`+
		`"accessibility":{"wheelchair_seating":"yes","sign_language":"no"}}`, id, title)
}

func (f *fixture) put(t *testing.T, ct, auth, body string) (int, map[string]any) {
	t.Helper()
	resp, b := apitest.Do(t, http.MethodPut, f.srv.URL, strings.NewReader(body), "Content-Type", ct, "Authorization", auth)
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
	if err := f.pool.QueryRow(context.Background(), `SELECT title, version FROM events WHERE id = $1`, id).Scan(&title, &version); err != nil {
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
	tests := []struct {
		name, method, ct, auth, body string
		wantStatus                   int
		wantCode, wantField, wantMsg string
	}{
		{"ErrAnonymous", "PUT", "application/json", "", event(1, "A"), 401, "unauthenticated", "", ""},
		{"ErrUser", "PUT", "application/json", "user", event(1, "A"), 403, "forbidden", "", ""},
		{"ErrGarbageToken", "PUT", "application/json", "Bearer garbage", event(1, "A"), 401, "unauthenticated", "", ""},
		{"ErrForgedAdmin", "PUT", "application/json", "Bearer eyJhbGciOiJIUzI1NiIsImtpZCI6IngiLCJ0eXAiOiJKV1QifQ.eyJyb2xlIjoiYWRtaW4ifQ.c2ln", event(1, "A"), 401, "unauthenticated", "", ""},
		{"ErrMethod", "POST", "application/json", "admin", event(1, "A"), 405, "method_not_allowed", "", ""},
		{"ErrMediaType", "PUT", "text/csv", "admin", "1,2", 415, "unsupported_media_type", "", ""},
		{"ErrUnknownField", "PUT", "application/json", "admin", strings.Replace(event(1, "A"), `{"id"`, `{"secret":1,"id"`, 1), 400, "invalid_argument", "secret", ""},
		{"ErrBrokenJSON", "PUT", "application/json", "admin", `{"id":1,`, 400, "invalid_argument", "", ""},
		{"ErrField", "PUT", "application/json", "admin", bad, 400, "invalid_argument", "venue.lat", ""},
		{"ErrTwoMiB", "PUT", "application/json", "admin", `{"title":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "payload_too_large", "", ""},
		{"ErrNDJSONLine", "PUT", "application/x-ndjson", "admin", event(1, "A") + "\n" + bad + "\n" + event(3, "C") + "\n", 400, "invalid_argument", "venue.lat", "line 2: "},
		{"ErrNDJSONBrokenLine", "PUT", "application/x-ndjson", "admin", event(1, "A") + "\n{\n", 400, "invalid_argument", "", "line 2: "},
		{"ErrNDJSONEmpty", "PUT", "application/x-ndjson", "admin", "\n\n", 400, "invalid_argument", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			auth := map[string]string{"admin": f.admin, "user": f.user}[tt.auth]
			if auth == "" {
				auth = tt.auth
			}
			resp, b := apitest.Do(t, tt.method, f.srv.URL, strings.NewReader(tt.body), "Content-Type", tt.ct, "Authorization", auth)
			var e struct {
				Error struct{ Code, Field, Message string }
			}
			if err := json.Unmarshal(b, &e); err != nil {
				t.Fatalf("got %q, want JSON", b)
			}
			if resp.StatusCode != tt.wantStatus || e.Error.Code != tt.wantCode || e.Error.Field != tt.wantField || !strings.HasPrefix(e.Error.Message, tt.wantMsg) {
				t.Fatalf("got %d %+v, want %d %s field %q message %q...", resp.StatusCode, e.Error, tt.wantStatus, tt.wantCode, tt.wantField, tt.wantMsg)
			}
		})
	}
	if n := f.streamLastFn(); n != 0 {
		t.Fatalf("got %d commands published, want none for refused requests", n)
	}
}
