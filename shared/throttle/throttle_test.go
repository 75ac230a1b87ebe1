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

// twoInstances opens two throttles on one bucket, as two instances of a function have.
func twoInstances(t *testing.T) (a, b *Throttle) {
	t.Helper()
	a, env := open(t)
	b, err := Open(context.Background(), env.JS, env.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

// atOnce calls f n times at once, on a and b in turn, and waits for every call.
func atOnce(n int, a, b *Throttle, f func(th *Throttle)) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		th := a
		if i%2 == 1 {
			th = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(th)
		}()
	}
	wg.Wait()
}

const window = 15 * time.Minute

// per15 is n events per 15 minutes.
func per15(n int) Limit { return Limit{Count: n, Window: window} }

func TestSlidingWindow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	th, _ := open(t)
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	th.SetClock(func() time.Time { return now })
	key := "account.anna"
	check := func(want time.Duration) {
		t.Helper()
		got, err := th.Check(ctx, key, per15(5))
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("at %s: got retry after %v, want %v", now.Format("15:04:05"), got, want)
		}
	}
	for i := 0; i < 4; i++ {
		check(0)
		if err := th.Fail(ctx, key, per15(5)); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Minute)
	}
	check(0)
	if err := th.Fail(ctx, key, per15(5)); err != nil { // fifth failure at 12:04
		t.Fatal(err)
	}
	check(11 * time.Minute) // the first (12:00) leaves the window at 12:15
	now = now.Add(11*time.Minute - time.Second)
	check(time.Second)
	now = now.Add(time.Second) // 12:15: only four failures in the window
	check(0)
	if err := th.Fail(ctx, key, per15(5)); err != nil {
		t.Fatal(err)
	}
	check(time.Minute) // the 12:01 one leaves at 12:16
	if err := th.Reset(ctx, key); err != nil {
		t.Fatal(err)
	}
	check(0)
	if err := th.Fail(ctx, key, per15(5)); err != nil {
		t.Fatal(err)
	}
	if got, _ := th.Check(ctx, key, per15(1)); got != window {
		t.Fatalf("after reset and one failure: got %v with limit 1, want %v", got, window)
	}
	if got, _ := th.Check(ctx, "account.other", per15(1)); got != 0 {
		t.Fatalf("got %v for another key, want 0", got)
	}
}

// Failures recorded at once by many instances are all counted.
func TestConcurrentFailuresCounted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := twoInstances(t)
	key := "addr.7"
	errs := make(chan error, 20)
	atOnce(20, a, b, func(th *Throttle) { errs <- th.Fail(ctx, key, per15(50)) })
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := a.Check(ctx, key, per15(20)); got <= 0 {
		t.Fatalf("got not throttled at limit 20, want all 20 failures counted")
	}
	if got, _ := a.Check(ctx, key, per15(21)); got != 0 {
		t.Fatalf("got throttled at limit 21 (%v), want exactly 20 counted", got)
	}
}

// A burst of parallel attempts through Take lets exactly the limit through.
func TestTakeAtomic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := twoInstances(t)
	key := "account.burst"
	var (
		mu      sync.Mutex
		through int
	)
	atOnce(20, a, b, func(th *Throttle) {
		wait, err := th.Take(ctx, key, per15(5))
		if err != nil {
			t.Error(err)
			return
		}
		if wait == 0 {
			mu.Lock()
			through++
			mu.Unlock()
		}
	})
	if through != 5 {
		t.Fatalf("got %d attempts through, want 5", through)
	}
	if wait, _ := a.Check(ctx, key, per15(5)); wait <= 0 || wait > window {
		t.Fatalf("got wait %v, want throttled within the window", wait)
	}
	if err := a.Reset(ctx, key); err != nil {
		t.Fatal(err)
	}
	if wait, err := a.Take(ctx, key, per15(5)); err != nil || wait != 0 {
		t.Fatalf("after reset: got %v %v, want through", wait, err)
	}
}

// Each limit slides its own window: an hour's limit outlives the bucket's entries of a
// quarter's, and a window over MaxWindow is refused.
func TestLimitsOwnWindows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	th, _ := open(t)
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	th.SetClock(func() time.Time { return now })
	hourly := Limit{Count: 3, Window: time.Hour}
	for i := range 3 {
		if wait, err := th.Take(ctx, "register.a", hourly); err != nil || wait != 0 {
			t.Fatalf("take %d: got %v, %v; want through", i+1, wait, err)
		}
		now = now.Add(20 * time.Minute) // 12:00, 12:20, 12:40
	}
	// 13:00: the first leaves the hour just now; at 12:59 the three were all in it.
	now = now.Add(-time.Minute)
	if wait, _ := th.Take(ctx, "register.a", hourly); wait != time.Minute {
		t.Fatalf("got wait %v at 12:59, want 1m (until the 12:00 one is an hour old)", wait)
	}
	if wait, _ := th.Check(ctx, "register.a", per15(3)); wait != 0 {
		t.Fatalf("got wait %v under a quarter's limit, want none (one event in the last 15 minutes)", wait)
	}
	now = now.Add(time.Minute)
	if wait, _ := th.Take(ctx, "register.a", hourly); wait != 0 {
		t.Fatalf("got wait %v at 13:00, want through", wait)
	}
	if _, err := th.Take(ctx, "register.a", Limit{Count: 1, Window: 2 * MaxWindow}); err == nil {
		t.Fatal("got a window longer than the bucket keeps entries accepted")
	}
}

func TestKnownAddresses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := natstest.New(t)
	k, err := OpenKnown(ctx, env.JS, env.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	k.SetClock(func() time.Time { return now })
	has := func(account, addr string) bool {
		t.Helper()
		ok, err := k.Has(ctx, account, addr)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if has("acc", "home") {
		t.Fatal("got an address known before it logged in")
	}
	if err := k.Add(ctx, "acc", "home"); err != nil {
		t.Fatal(err)
	}
	if !has("acc", "home") || has("acc", "work") || has("other", "home") {
		t.Fatal("got the wrong addresses known, want home for acc only")
	}
	for i := range MaxKnown {
		now = now.Add(time.Minute)
		if err := k.Add(ctx, "acc", string(rune('a'+i))); err != nil {
			t.Fatal(err)
		}
	}
	if has("acc", "home") || !has("acc", "a") {
		t.Fatalf("got the oldest of %d addresses kept, want the latest %d", MaxKnown+1, MaxKnown)
	}
	now = now.Add(KnownFor)
	if has("acc", "a") {
		t.Fatal("got an address known after a month without logging in")
	}
	if err := k.Forget(ctx, "acc"); err != nil {
		t.Fatal(err)
	}
	now = now.Add(-KnownFor)
	if has("acc", "p") {
		t.Fatal("got an address known after Forget")
	}
}

// Provision brings both buckets to their configuration; Open and OpenKnown bind a bucket as
// it is and never change it (a function's credential may not).
func TestProvision(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := natstest.New(t)
	old := bucketConfig(env.Namespace)
	old.TTL = 15 * time.Minute // an earlier version's
	if _, err := env.JS.CreateKeyValue(ctx, old); err != nil {
		t.Fatal(err)
	}
	ttl := func(bucket string) time.Duration {
		t.Helper()
		kv, err := env.JS.KeyValue(ctx, bucket)
		if err != nil {
			t.Fatal(err)
		}
		st, err := kv.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st.TTL()
	}
	if _, err := Open(ctx, env.JS, env.Namespace); err != nil {
		t.Fatal(err)
	}
	if got := ttl(Bucket(env.Namespace)); got != 15*time.Minute {
		t.Fatalf("got TTL %v after Open, want the bucket as it was", got)
	}
	if err := Provision(ctx, env.JS, env.Namespace); err != nil {
		t.Fatal(err)
	}
	if got, known := ttl(Bucket(env.Namespace)), ttl(KnownBucket(env.Namespace)); got != MaxWindow || known != KnownFor {
		t.Fatalf("got TTLs %v and %v after Provision, want %v and %v", got, known, MaxWindow, KnownFor)
	}
}
