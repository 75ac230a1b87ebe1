package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/devservices"
	"github.com/dostupno/dostupno/cmd/dostupno/internal/natsauth"
	"github.com/dostupno/dostupno/migrations"
	"github.com/dostupno/dostupno/shared/apitest"
	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/pgtest"
	"github.com/dostupno/dostupno/shared/photo/phototest"
	"github.com/dostupno/dostupno/shared/s3test"
)

// violations collects what the NATS server logs about refused publishes and subscriptions.
type violations struct {
	mu    sync.Mutex
	lines []string
}

func (v *violations) add(format string, a ...any) {
	if line := fmt.Sprintf(format, a...); strings.Contains(strings.ToLower(line), "violation") {
		v.mu.Lock()
		v.lines = append(v.lines, line)
		v.mu.Unlock()
	}
}

func (v *violations) Noticef(format string, a ...any) { v.add(format, a...) }
func (v *violations) Warnf(format string, a ...any)   { v.add(format, a...) }
func (v *violations) Fatalf(format string, a ...any)  { v.add(format, a...) }
func (v *violations) Errorf(format string, a ...any)  { v.add(format, a...) }
func (v *violations) Debugf(format string, a ...any)  { v.add(format, a...) }
func (v *violations) Tracef(format string, a ...any)  { v.add(format, a...) }

func (v *violations) all() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.lines...)
}

// securedRunner serves every function of stack.yml as up does against a NATS server that
// requires the table's credentials (each function given its own) and a database each function
// reaches as its role, with a second copy for db-writer-2 and the doorbell rung through a
// connector that holds no credential. The NATS server is the test's own, so the namespace is
// the default one stack.yml's doorbell topic names.
func securedRunner(t *testing.T) (base string, cfg config.Config, seen *violations) {
	t.Helper()
	s3 := s3test.New(t)
	secrets := secretsDir(t, s3)
	cfg, err := config.Load(testEnv{"DATABASE_URL": pgtest.NewURL(t), "DATABASE_REPLICA_URLS": pgtest.NewURL(t),
		"S3_ENDPOINT": s3.Endpoint, "S3_BUCKET": s3.Bucket, "SECRETS_DIR": secrets}.lookup)
	if err != nil {
		t.Fatal(err)
	}
	st := repoStack(t)
	keys, _, err := natsauth.EnsureSeeds(secrets, natsIdentities(st, cfg))
	if err != nil {
		t.Fatal(err)
	}
	n, err := devservices.StartNATS(t.TempDir(), 0, func(o *server.Options) error { return natsauth.Configure(o, cfg.Namespace, keys) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Stop)
	seen = &violations{}
	n.SetLogger(seen)
	cfg.NatsURL = n.URL

	ops, err := opsNATS(cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ops.Close)
	if err := natsauth.Provision(context.Background(), ops, cfg.Namespace, cfg.WritelogReplicas); err != nil {
		t.Fatal(err)
	}
	bell, err := nats.Connect(cfg.NatsURL) // no credential: the doorbell listener
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bell.Close)
	tr := serveRunner(t, st, cfg, runnerOptions{Runtime: runtime{Secrets: t.TempDir(), NATSCreds: true, Roles: true}, Edge: true, NATS: bell})
	return tr.URL, cfg, seen
}

// Every function does its real work with its own NATS credential, allowed only what it does,
// and connected to the database as its role: a registration, logins, an admin made by the ops
// CLI, an upsert, searches and event reads served and then invalidated through the change
// feed, a venue's facts reaching its event's cached answers, a photo, a cache snapshot that asks the instances for their hot keys, saved needs, an
// erasure, and both copies' db-writers applying. The server refuses nothing on the way.
func TestFunctionsWorkWithTheirOwnCredentials(t *testing.T) {
	t.Parallel()
	base, cfg, seen := securedRunner(t)
	call := func(method, path, body string, want int, header ...string) []byte {
		t.Helper()
		resp, b := apitest.Do(t, method, base+path, strings.NewReader(body), header...)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: got %d %s, want %d", method, path, resp.StatusCode, b, want)
		}
		return b
	}
	token := func(b []byte) string {
		t.Helper()
		var s struct{ Token string }
		if err := json.Unmarshal(b, &s); err != nil || s.Token == "" {
			t.Fatalf("got %s, want a session", b)
		}
		return "Bearer " + s.Token
	}
	js := "application/json"

	user := token(call("POST", "/function/register", `{"email":"vera@example.ru","password":"quiet harbour 5","name":"Вера","needs":["subtitles"]}`, 201, "Content-Type", js))
	call("POST", "/function/login", `{"email":"vera@example.ru","password":"quiet harbour 5"}`, 200, "Content-Type", js)
	call("POST", "/function/login", `{"email":"vera@example.ru","password":"wrong guess"}`, 401, "Content-Type", js)

	cli := cfg // the ops CLI, as the writer role
	cli.DatabaseURL = migrations.RoleURL(cfg.DatabaseURL, migrations.WriterRole)
	admin := "Bearer " + adminToken(t, cli, base, "chief@example.ru")

	event := func(title string) string {
		return `{"id":77,"title":"` + title + `","category":"concert","city":"moscow","venue":{"id":5,"name":"Зал"},` +
			`"starts_at":"2031-03-01T19:00:00+03:00","timezone":"Europe/Moscow","accessibility":{"subtitles":"yes"}}`
	}
	call("PUT", "/function/upsert-event", event("Первый"), 200, "Authorization", admin, "Content-Type", js)
	call("PUT", "/function/upsert-event", event("Нет"), 403, "Authorization", user, "Content-Type", js)
	for range 2 { // the second answer comes from the caches
		if b := call("GET", "/function/search-events", "", 200, "Authorization", user); !strings.Contains(string(b), "Первый") {
			t.Fatalf("got %s, want the event in the user's saved-needs search", b)
		}
		call("GET", "/function/get-event/77", "", 200)
	}
	call("PUT", "/function/upsert-event", event("Второй"), 200, "Authorization", admin, "Content-Type", js)
	// The writer announced the change before it answered, and the announcement is in flight to
	// the caches (shared/writelog/announce.go): no instance serves the old title once it lands.
	shows := func(path, want, what string) {
		t.Helper()
		apitest.Eventually(t, 10*time.Second, what, func() (bool, string) {
			b := call("GET", path, "", 200)
			return strings.Contains(string(b), want), string(b)
		})
	}
	shows("/function/get-event/77", "Второй", "the new title once the change is announced")
	// A venue's facts reach its event's cached answers: the search for a step-free entrance
	// (cached empty) and the event's page both show the venue's answer once upsert-venue answers.
	stepFree := "/function/search-events?constraints=step_free_entrance"
	if b := call("GET", stepFree, "", 200); strings.Contains(string(b), "Второй") {
		t.Fatalf("got %s, want no event with a step-free entrance yet", b)
	}
	venue := `{"id":5,"name":"Зал","city":"moscow","accessibility":{"step_free_entrance":{"value":"yes","source":"venue_survey"}}}`
	call("PUT", "/function/upsert-venue", venue, 403, "Authorization", user, "Content-Type", js)
	call("PUT", "/function/upsert-venue", venue, 200, "Authorization", admin, "Content-Type", js)
	shows(stepFree, "Второй", "the event at the venue found by the venue's fact")
	shows("/function/get-event/77", `"step_free_entrance":{"value":"yes","from":"venue"`, "the venue's answer in the event's details")
	// Seat availability with seat-availability's own credential: the event's cached page shows it.
	seats := fmt.Sprintf(`{"event_id":77,"wheelchair_spaces":2,"companion_seats":1,"as_of":%q}`, time.Now().UTC().Format(time.RFC3339))
	call("PUT", "/function/seat-availability", seats, 403, "Authorization", user, "Content-Type", js)
	call("PUT", "/function/seat-availability", seats, 200, "Authorization", admin, "Content-Type", js)
	shows("/function/get-event/77", `"availability":{"wheelchair_spaces":2,"companion_seats":1`, "the event's seats")
	call("POST", "/function/upload-photo/77", string(phototest.PNG(t, 64, 48)), 201, "Authorization", admin, "Content-Type", "image/png")
	for range 3 { // hot answers, for the snapshot to ask about
		call("GET", "/function/get-event/77", "", 200)
		call("GET", "/function/search-events?constraints=subtitles", "", 200)
	}
	call("POST", "/function/cache-snapshot", "", 204)
	ctx := context.Background()
	db, err := pgx.Connect(ctx, cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	var entries int
	if err := db.QueryRow(ctx, `SELECT coalesce(max(entries), 0) FROM cache_snapshots`).Scan(&entries); err != nil || entries == 0 {
		t.Fatalf("got a snapshot of %d entries (%v), want the hot answers the instances reported", entries, err)
	}

	// The user saves needs, then erases the account with the password; the erased user can no
	// longer log in, and its token is refused where a user is needed.
	if b := call("PUT", "/function/account/needs", `{"needs":["elevator"]}`, 200, "Authorization", user, "Content-Type", js); !strings.Contains(string(b), `"elevator"`) {
		t.Fatalf("got %s, want the saved needs", b)
	}
	call("DELETE", "/function/account", `{"password":"quiet harbour 5"}`, 204, "Authorization", user, "Content-Type", js)
	call("POST", "/function/login", `{"email":"vera@example.ru","password":"quiet harbour 5"}`, 401, "Content-Type", js)
	call("PUT", "/function/account/needs", `{"needs":[]}`, 401, "Authorization", user, "Content-Type", js)

	call("POST", "/function/db-writer", "", 204)
	var st struct {
		Lag     uint64 `json:"lag"`
		Replica string `json:"replica"`
	}
	if err := json.Unmarshal(call("GET", "/function/db-writer/status", "", 200, "Authorization", admin), &st); err != nil || st.Lag != 0 {
		t.Fatalf("got %+v (%v), want the primary caught up", st, err)
	}
	// The doorbell, heard without credentials, rings db-writer-2, which applies to its copy
	// (the erasure among the rest).
	deadline := time.Now().Add(20 * time.Second)
	for {
		if err := json.Unmarshal(call("GET", "/function/db-writer-2/status", "", 200, "Authorization", admin), &st); err != nil {
			t.Fatal(err)
		}
		if st.Lag == 0 && st.Replica == "copy-2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %+v after 20 s, want copy-2 caught up through the doorbell", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	copy2, err := pgx.Connect(ctx, cfg.ReplicaURLs[0])
	if err != nil {
		t.Fatal(err)
	}
	defer copy2.Close(ctx)
	var users int
	if err := copy2.QueryRow(ctx, `SELECT count(*) FROM users WHERE email_key = 'vera@example.ru'`).Scan(&users); err != nil || users != 0 {
		t.Fatalf("got %d erased users in copy-2 (%v), want none", users, err)
	}
	var facts int
	if err := copy2.QueryRow(ctx, `SELECT count(*) FROM venue_accessibility WHERE venue_id = 5`).Scan(&facts); err != nil || facts != 1 {
		t.Fatalf("got %d facts of venue 5 in copy-2 (%v), want its upsert applied", facts, err)
	}
	if v := seen.all(); len(v) > 0 {
		t.Fatalf("got permission violations, want none:\n%s", strings.Join(v, "\n"))
	}
}
