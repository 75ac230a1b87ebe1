package apitest

import (
	"context"
	"testing"
	"time"

	"github.com/dostupno/dostupno/shared/account"
)

// FillHasher takes every place of a password hashing queue (running and waiting; a
// function's is Deps.Hasher()), so that the next password is refused as the queue is full,
// and returns what frees them.
func FillHasher(t testing.TB, h *account.Hasher) (release func()) {
	t.Helper()
	running, waiting := h.Size()
	ctx, cancel := context.WithCancel(context.Background())
	var releases []func()
	for range running {
		r, err := h.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, r)
	}
	for range waiting {
		go func() { // waits until cancelled, then gives its place back
			if r, err := h.Acquire(ctx); err == nil {
				r()
			}
		}()
	}
	for deadline := time.Now().Add(10 * time.Second); h.Queued() < running+waiting; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("got %d places of the hashing queue taken, want %d", h.Queued(), running+waiting)
		}
	}
	return func() {
		cancel()
		for _, r := range releases {
			r()
		}
	}
}
