// Package throttle counts failures per key (an email, a client address) in a sliding window,
// in a JetStream key-value bucket shared by every instance of every function, so that a
// limit holds however many instances serve the requests.
//
// Each key holds the times of its latest failures (at most the limit's count). A key is
// throttled while it has that many failures within the window; the oldest of them leaving the
// window lifts it, so no key is locked for longer than the window after its last counted
// failure. Failures refused while throttled are not counted. The bucket's age limit equals the
// window: a key nobody touched for a window disappears by itself.
package throttle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Window is the sliding window of every limit.
const Window = 15 * time.Minute

// Bucket is the bucket's name under namespace ns.
func Bucket(ns string) string { return ns + "_throttle" }

// Throttle is a handle on the shared bucket.
type Throttle struct {
	kv     jetstream.KeyValue
	window time.Duration
	now    func() time.Time
}

// bucketConfig is the bucket of namespace ns.
func bucketConfig(ns string) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:      Bucket(ns),
		Description: "login failures per email and per client address (sliding window)",
		History:     1,
		TTL:         Window,
		Storage:     jetstream.FileStorage,
	}
}

// Open returns a handle on the bucket "<namespace>_throttle", creating it when it does not
// exist yet (it never changes an existing one: Provision does).
func Open(ctx context.Context, js jetstream.JetStream, namespace string) (*Throttle, error) {
	cfg := bucketConfig(namespace)
	kv, err := js.KeyValue(ctx, cfg.Bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		if kv, err = js.CreateKeyValue(ctx, cfg); errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = js.KeyValue(ctx, cfg.Bucket) // another instance created it meanwhile
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open throttle bucket %s: %w", cfg.Bucket, err)
	}
	return &Throttle{kv: kv, window: Window, now: time.Now}, nil
}

// Provision creates the bucket of namespace or brings it to its configuration (the ops
// CLI's credential).
func Provision(ctx context.Context, js jetstream.JetStream, namespace string) error {
	cfg := bucketConfig(namespace)
	if _, err := js.CreateOrUpdateKeyValue(ctx, cfg); err != nil {
		return fmt.Errorf("provision throttle bucket %s: %w", cfg.Bucket, err)
	}
	return nil
}

// SetClock replaces the clock (tests).
func (t *Throttle) SetClock(now func() time.Time) { t.now = now }

// Key names a counter: kind ("email", "addr") and the hash of value, so that no email or
// address is stored and any value is a valid key.
func Key(kind, value string) string {
	sum := sha256.Sum256([]byte(value))
	return kind + "." + hex.EncodeToString(sum[:16])
}

type state struct {
	times []int64 // unix milliseconds, oldest first
	rev   uint64  // 0: the key does not exist
}

func (t *Throttle) load(ctx context.Context, key string) (state, error) {
	e, err := t.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return state{}, nil
	}
	if err != nil {
		return state{}, fmt.Errorf("throttle get %s: %w", key, err)
	}
	var s state
	if err := json.Unmarshal(e.Value(), &s.times); err != nil {
		// A value we cannot read counts as no failures; the next write replaces it.
		s.times = nil
	}
	s.rev = e.Revision()
	return s, nil
}

// recent is the failures of s within the window ending now.
func (t *Throttle) recent(s state, now time.Time) []int64 {
	from := now.Add(-t.window).UnixMilli()
	i := 0
	for i < len(s.times) && s.times[i] <= from {
		i++
	}
	return s.times[i:]
}

// Check returns how long key stays throttled under limit failures per window (0: not
// throttled).
func (t *Throttle) Check(ctx context.Context, key string, limit int) (time.Duration, error) {
	s, err := t.load(ctx, key)
	if err != nil {
		return 0, err
	}
	now := t.now()
	return t.retryAfter(t.recent(s, now), limit, now), nil
}

// retryAfter is how long failures r keep a key throttled under limit: until the limit-th
// latest leaves the window (0 when fewer than limit).
func (t *Throttle) retryAfter(r []int64, limit int, now time.Time) time.Duration {
	if len(r) < limit {
		return 0
	}
	until := time.UnixMilli(r[len(r)-limit]).Add(t.window)
	return max(until.Sub(now), time.Second)
}

// Fail records one failure for key, keeping the latest limit.
func (t *Throttle) Fail(ctx context.Context, key string, limit int) error {
	_, err := t.record(ctx, key, limit, false)
	return err
}

// Take counts an attempt for key before it is made, unless key is throttled, in which case
// nothing is recorded and the wait is returned. Check-then-Fail lets a burst of parallel
// attempts all pass the check; Take decides each attempt atomically (compare-and-set on the
// key), so at most limit attempts per window get through however many run at once. The
// caller Resets the key after a success.
func (t *Throttle) Take(ctx context.Context, key string, limit int) (time.Duration, error) {
	return t.record(ctx, key, limit, true)
}

func (t *Throttle) record(ctx context.Context, key string, limit int, onlyUnder bool) (time.Duration, error) {
	for attempt := 0; ; attempt++ {
		s, err := t.load(ctx, key)
		if err != nil {
			return 0, err
		}
		now := t.now()
		r := t.recent(s, now)
		if onlyUnder {
			if wait := t.retryAfter(r, limit, now); wait > 0 {
				return wait, nil
			}
		}
		r = append(r, now.UnixMilli())
		if len(r) > limit {
			r = r[len(r)-limit:]
		}
		b, err := json.Marshal(r)
		if err != nil {
			return 0, fmt.Errorf("throttle encode: %w", err)
		}
		if s.rev == 0 {
			_, err = t.kv.Create(ctx, key, b)
		} else {
			_, err = t.kv.Update(ctx, key, b, s.rev)
		}
		if err == nil {
			return 0, nil
		}
		// Another instance wrote the key in between: read it again and retry, after a short
		// random pause so that contenders spread out.
		if attempt < 20 && conflict(err) {
			select {
			case <-ctx.Done():
				return 0, fmt.Errorf("throttle record %s: %w", key, ctx.Err())
			case <-time.After(time.Duration(rand.IntN(2*(attempt+1))) * time.Millisecond):
			}
			continue
		}
		return 0, fmt.Errorf("throttle record %s: %w", key, err)
	}
}

func conflict(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
	}
	return errors.Is(err, jetstream.ErrKeyExists)
}

// Reset forgets key's failures (a successful login clears its email's counter).
func (t *Throttle) Reset(ctx context.Context, key string) error {
	if err := t.kv.Purge(ctx, key); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("throttle reset %s: %w", key, err)
	}
	return nil
}
