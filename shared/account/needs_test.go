package account

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/dostupno/dostupno/shared/changefeed"
)

func TestNeeds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	s := e.register(t, "needs@example.ru")
	n := NewNeeds(e.pool)
	if err := n.Follow(e.nats.Conn, e.nats.Namespace, quiet); err != nil {
		t.Fatal(err)
	}
	req := func(userID string) ([]string, bool) {
		t.Helper()
		codes, ok, err := n.Needs(ctx, userID)
		if err != nil {
			t.Fatal(err)
		}
		return codes, ok
	}
	if codes, ok := req(""); ok || codes != nil {
		t.Fatalf("anonymous: got %v %v, want no needs", codes, ok)
	}
	user := s.User.ID
	if codes, ok := req(user); !ok || strings.Join(codes, ",") != "subtitles,hearing_loop" {
		t.Fatalf("got %v %v, want the saved needs", codes, ok)
	}
	unknown := "00000000-0000-4000-8000-000000000000"
	if codes, ok := req(unknown); ok {
		t.Fatalf("unknown user: got %v, want ok=false", codes)
	}
	// Changed behind the cache: still served from it until the change is announced.
	if _, err := e.pool.Exec(ctx, `UPDATE users SET needs = '{braille}' WHERE id = $1`, s.User.ID); err != nil {
		t.Fatal(err)
	}
	if codes, _ := req(user); strings.Join(codes, ",") != "subtitles,hearing_loop" {
		t.Fatalf("got %v, want the cached needs before any announcement", codes)
	}
	b, _ := json.Marshal(changefeed.Change{Seq: 9, Users: []string{s.User.ID}})
	if err := e.nats.Conn.Publish(changefeed.Subject(e.nats.Namespace), b); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		codes, _ := req(user)
		if strings.Join(codes, ",") == "braille" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %v 5 s after the announcement, want braille", codes)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
