package function

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/dostupno/dostupno/shared/account"
	"github.com/dostupno/dostupno/shared/apitest"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/commands"
	"github.com/dostupno/dostupno/shared/pgtest"
	"github.com/dostupno/dostupno/shared/writelog"
	"github.com/dostupno/dostupno/shared/writelog/writelogtest"
)

// Commands crafted straight onto the stream that the database refuses (a NUL character in a
// name, a price out of range) do not stop the log: a registration through HTTP right after
// them succeeds within seconds, and a second copy applying the same log agrees row by row.
func TestPoisonCommandsDoNotStopTheLog(t *testing.T) {
	t.Parallel()
	srv := newEnv(t)
	ctx := context.Background()
	l, keys := writelogtest.Streams(t, srv.NATS)
	id := uuid.NewString()
	k, err := keys.Create(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := account.Seal(k, account.KindRegister, id, account.Personal{Email: "nul@example.ru", EmailKey: "nul@example.ru",
		Name: "before\x00after", PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaA"})
	if err != nil {
		t.Fatal(err)
	}
	nulSeq, err := l.Publish(ctx, account.KindRegister, account.CommandKey(id), time.Now(), account.Payload{ID: id, EmailHash: "nul", Sealed: sealed})
	if err != nil {
		t.Fatal(err)
	}
	price := 1e11 // numeric(12, 2) holds less
	ev := catalog.Event{ID: 5, Title: "Дорого", Category: "concert", City: "moscow", Venue: catalog.Venue{ID: 1, Name: "Зал"},
		StartsAt: time.Date(2027, 1, 1, 18, 0, 0, 0, time.UTC), Timezone: "Europe/Moscow", Price: &catalog.Price{Min: &price}}
	rangeSeq, err := l.Publish(ctx, catalog.KindEventUpsert, "event:crafted", time.Now(), []catalog.Event{ev})
	if err != nil {
		t.Fatal(err)
	}

	client := &http.Client{Timeout: 10 * time.Second} // "within seconds"
	req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(`{"email":"after@example.ru","password":"winter orchard 7","name":"После"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("got %v registering after the poison, want an answer within seconds", err)
	}
	b, _ := io.ReadAll(resp.Body) // the status says enough when the body cannot be read
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("got %d %s, want 201", resp.StatusCode, b)
	}

	copy2 := pgtest.New(t)
	vocab, err := catalog.LoadVocabulary(ctx, copy2)
	if err != nil {
		t.Fatal(err)
	}
	r2 := commands.NewReplica(l, copy2, "copy-2", vocab, keys, slog.New(slog.NewTextHandler(io.Discard, nil)))
	writelogtest.CatchUp(t, l, r2)
	w, err := srv.Deps.Writer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*writelog.Replica{w.Replica, r2} {
		for seq, state := range map[uint64]string{nulSeq: "22021", rangeSeq: "22003"} {
			o, ok, err := r.Outcome(ctx, seq)
			if err != nil || !ok || o.Status != writelog.Failed || !strings.Contains(o.Message, "SQLSTATE "+state) {
				t.Errorf("%s seq %d: got %+v, %v, %v; want failed with SQLSTATE %s", r.Name(), seq, o, ok, err, state)
			}
		}
	}
	// The harness's admin was written into the primary copy directly, not through the log.
	if _, err := srv.Pool.Exec(ctx, `DELETE FROM users WHERE id = $1`, apitest.AdminID); err != nil {
		t.Fatal(err)
	}
	writelogtest.Equal(t, srv.Pool, copy2)
}

// At most 20 registrations an hour from one client address: the 21st is 429 with Retry-After,
// and another address goes on.
func TestRegisterLimitPerAddress(t *testing.T) {
	t.Parallel()
	srv := newEnv(t)
	body := func(i int) string {
		return `{"email":"r` + strings.Repeat("x", i) + `@example.ru","password":"winter orchard 7","name":"R"}`
	}
	for i := 1; i <= 20; i++ {
		resp, b := apitest.Do(t, "POST", srv.URL, strings.NewReader(body(i)), "Content-Type", "application/json", "X-Forwarded-For", "203.0.113.60")
		if resp.StatusCode != 201 {
			t.Fatalf("registration %d: got %d %s, want 201", i, resp.StatusCode, b)
		}
	}
	resp, b := apitest.Do(t, "POST", srv.URL, strings.NewReader(body(21)), "Content-Type", "application/json", "X-Forwarded-For", "203.0.113.60")
	apitest.WantError(t, resp, b, 429, "rate_limited")
	if resp.Header.Get("Retry-After") == "" {
		t.Fatal("got a 429 without Retry-After")
	}
	resp, b = apitest.Do(t, "POST", srv.URL, strings.NewReader(body(21)), "Content-Type", "application/json", "X-Forwarded-For", "203.0.113.61")
	if resp.StatusCode != 201 {
		t.Fatalf("got %d %s from another address, want 201", resp.StatusCode, b)
	}
}
