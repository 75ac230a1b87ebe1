package account

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dostupno/dostupno/shared/apperr"
)

func TestHashSlots(t *testing.T) {
	for _, tt := range []struct {
		name           string
		limit          int64
		procs          int
		running, waits int
	}{
		{"StackLimitTwoCores", 256 << 20, 2, 2, 16},
		{"StackLimitManyCores", 256 << 20, 16, 5, 40},
		{"Small", 128 << 20, 4, 1, 8},
		{"Large", 1 << 30, 8, 8, 64},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if r, w := HashSlots(tt.limit, tt.procs); r != tt.running || w != tt.waits {
				t.Fatalf("got %d running, %d waiting; want %d and %d", r, w, tt.running, tt.waits)
			}
		})
	}
}

// A full queue answers at once; a waiting hash gives up before its deadline; a freed turn is
// taken by the next in line.
func TestHasherQueue(t *testing.T) {
	h := NewHasher(1, 1)
	ctx := context.Background()
	release, err := h.Acquire(ctx) // the one running hash
	if err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() {
		r, err := h.Acquire(ctx) // waits for its turn
		if err == nil {
			r()
		}
		waited <- err
	}()
	for deadline := time.Now().Add(10 * time.Second); len(h.admit) != 2; time.Sleep(time.Millisecond) { // the second queues
		if time.Now().After(deadline) {
			t.Fatal("the second hash never queued")
		}
	}
	start := time.Now()
	_, err = h.Hash(ctx, "queue full")
	if ae := apperr.As(err); apperr.CodeOf(err) != apperr.Unavailable || ae.RetryAfter <= 0 || !strings.Contains(ae.Message, "try again") {
		t.Fatalf("got %v with a full queue, want unavailable with Retry-After", err)
	}
	t.Logf("a full queue answered in %v", time.Since(start))
	release()
	if err := <-waited; err != nil {
		t.Fatalf("got %v for the waiting hash once the turn was free, want its turn", err)
	}

	release, err = h.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	near, cancel := context.WithTimeout(ctx, hashMargin+50*time.Millisecond)
	defer cancel()
	_, err = h.Hash(near, "deadline")
	if apperr.CodeOf(err) != apperr.Unavailable {
		t.Fatalf("got %v waiting past the deadline's margin, want unavailable", err)
	}
	if near.Err() != nil {
		t.Fatalf("got the answer after the deadline, want it before")
	}
	if len(h.admit) != 1 {
		t.Fatalf("got %d places taken after the waiter gave up, want the running one alone", len(h.admit))
	}
}
