package throttle

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/dostupno/dostupno/shared/natstest"
)

func open(t *testing.T) (*Throttle, *natstest.Env) {
	t.Helper()
	env := natstest.New(t)
	th, err := Open(context.Background(), env.JS, env.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	return th, env
}

func TestSlidingWindow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	th, _ := open(t)
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	th.SetClock(func() time.Time { return now })
	key := Key("email", "anna@example.ru")
	check := func(want time.Duration) {
		t.Helper()
		got, err := th.Check(ctx, key, 5)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("at %s: got retry after %v, want %v", now.Format("15:04:05"), got, want)
		}
	}
	for i := 0; i < 4; i++ {
		check(0)
		if err := th.Fail(ctx, key, 5); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Minute)
	}
	check(0)
	if err := th.Fail(ctx, key, 5); err != nil { // fifth failure at 12:04
		t.Fatal(err)
	}
	check(11 * time.Minute) // the first (12:00) leaves the window at 12:15
	now = now.Add(11*time.Minute - time.Second)
	check(time.Second)
	now = now.Add(time.Second) // 12:15: only four failures in the window
	check(0)
	if err := th.Fail(ctx, key, 5); err != nil {
		t.Fatal(err)
	}
	check(time.Minute) // the 12:01 one leaves at 12:16
	if err := th.Reset(ctx, key); err != nil {
		t.Fatal(err)
	}
	check(0)
	if err := th.Fail(ctx, key, 5); err != nil {
		t.Fatal(err)
	}
	if got, _ := th.Check(ctx, key, 1); got != Window {
		t.Fatalf("after reset and one failure: got %v with limit 1, want %v", got, Window)
	}
	if got, _ := th.Check(ctx, Key("email", "other@example.ru"), 1); got != 0 {
		t.Fatalf("got %v for another key, want 0", got)
	}
}

// Failures recorded at once by many instances are all counted.
func TestConcurrentFailuresCounted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, env := open(t)
	b, err := Open(ctx, env.JS, env.Namespace) // a second instance on the same bucket
	if err != nil {
		t.Fatal(err)
	}
	key := Key("addr", "192.0.2.7")
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		th := a
		if i%2 == 1 {
			th = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- th.Fail(ctx, key, 50)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := a.Check(ctx, key, 20); got <= 0 {
		t.Fatalf("got not throttled at limit 20, want all 20 failures counted")
	}
	if got, _ := a.Check(ctx, key, 21); got != 0 {
		t.Fatalf("got throttled at limit 21 (%v), want exactly 20 counted", got)
	}
}

// A burst of parallel attempts through Take lets exactly the limit through.
func TestTakeAtomic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, env := open(t)
	b, err := Open(ctx, env.JS, env.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	key := Key("email", "burst@example.ru")
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		through int
	)
	for i := 0; i < 20; i++ {
		th := a
		if i%2 == 1 {
			th = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			wait, err := th.Take(ctx, key, 5)
			if err != nil {
				t.Error(err)
				return
			}
			if wait == 0 {
				mu.Lock()
				through++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if through != 5 {
		t.Fatalf("got %d attempts through, want 5", through)
	}
	if wait, _ := a.Check(ctx, key, 5); wait <= 0 || wait > Window {
		t.Fatalf("got wait %v, want throttled within the window", wait)
	}
	if err := a.Reset(ctx, key); err != nil {
		t.Fatal(err)
	}
	if wait, err := a.Take(ctx, key, 5); err != nil || wait != 0 {
		t.Fatalf("after reset: got %v %v, want through", wait, err)
	}
}
