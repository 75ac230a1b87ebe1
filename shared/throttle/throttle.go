// Package throttle counts attempts or failures per key (an account, a client address, a pair
// of them) in sliding windows, in a JetStream key-value bucket shared by every instance of
// every function, so that a limit holds however many instances serve the requests.
//
// Each key holds the times of its latest counted events (at most the limit's count). A key is
// throttled while it has that many within the limit's window; the oldest of them leaving the
// window lifts it, so no key is locked for longer than the window after its last counted
// event. Events refused while throttled are not counted. The bucket's age limit is the longest
// window, MaxWindow: a key nobody touched for that long disappears by itself.
//
// Keys are given by the caller and must not hold personal data in clear: callers name them
// with a keyed hash (userkeys.Blind) of the email or address.
//
// Known remembers, per account, the addresses that logged into it (hashed), for a month, in a
// second bucket: login exempts them from the account's limit (see account.Service.Login).
package throttle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// MaxWindow is the longest window of any limit.
const MaxWindow = time.Hour

// Limit is Count events per sliding Window (at most MaxWindow).
type Limit struct {
	Count  int
	Window time.Duration
}

// Bucket is the bucket's name under namespace ns.
func Bucket(ns string) string { return ns + "_throttle" }

// Throttle is a handle on the shared bucket.
type Throttle struct {
	kv  jetstream.KeyValue
	now func() time.Time
}

// Option tunes the configuration of a bucket a function creates (Open, OpenKnown) or the ops
// CLI provisions (Provision).
type Option func(*jetstream.KeyValueConfig)

// WithReplicas asks for n copies of the bucket on as many servers of a JetStream cluster
// (WRITELOG_REPLICAS). As with the write log, Provision raises an existing bucket's count to
// n, never lowers it; binding an existing bucket never looks at it.
func WithReplicas(n int) Option {
	return func(c *jetstream.KeyValueConfig) { c.Replicas = max(c.Replicas, n) }
}

// kvConfig is a bucket of the latest value per key whose entries expire ttl after their last
// write, with one replica.
func kvConfig(bucket, description string, ttl time.Duration) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{Bucket: bucket, Description: description, History: 1, TTL: ttl, Storage: jetstream.FileStorage, Replicas: 1}
}

// bucketConfig is the throttle's bucket of namespace ns.
func bucketConfig(ns string) jetstream.KeyValueConfig {
	return kvConfig(Bucket(ns), "logins, failures and registrations per account, client address and pair (sliding windows)", MaxWindow)
}

func configure(cfg jetstream.KeyValueConfig, opts []Option) jetstream.KeyValueConfig {
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

// bind returns a handle on the bucket of cfg, creating it (with opts) when it does not exist
// yet (it never changes an existing one: Provision does).
func bind(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig, opts []Option) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, cfg.Bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		if kv, err = js.CreateKeyValue(ctx, configure(cfg, opts)); errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = js.KeyValue(ctx, cfg.Bucket) // another instance created it meanwhile
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", cfg.Bucket, err)
	}
	return kv, nil
}

// Open returns a handle on the bucket "<namespace>_throttle", creating it (with opts) when it
// does not exist yet (it never changes an existing one: Provision does).
func Open(ctx context.Context, js jetstream.JetStream, namespace string, opts ...Option) (*Throttle, error) {
	kv, err := bind(ctx, js, bucketConfig(namespace), opts)
	if err != nil {
		return nil, err
	}
	return &Throttle{kv: kv, now: time.Now}, nil
}

// Provision creates the buckets of namespace (the throttle's and Known's) or brings them to
// their configuration with opts, keeping a bucket's replica count when that is higher (the ops
// CLI's credential).
func Provision(ctx context.Context, js jetstream.JetStream, namespace string, opts ...Option) error {
	for _, cfg := range []jetstream.KeyValueConfig{bucketConfig(namespace), knownConfig(namespace)} {
		if kv, err := js.KeyValue(ctx, cfg.Bucket); err == nil {
			if st, err := kv.Status(ctx); err == nil {
				if bs, ok := st.(*jetstream.KeyValueBucketStatus); ok {
					cfg.Replicas = max(cfg.Replicas, bs.StreamInfo().Config.Replicas)
				}
			}
		}
		cfg = configure(cfg, opts)
		if _, err := js.CreateOrUpdateKeyValue(ctx, cfg); err != nil {
			return fmt.Errorf("provision bucket %s with %d replica(s): %w", cfg.Bucket, cfg.Replicas, err)
		}
	}
	return nil
}

// SetClock replaces the clock (tests).
func (t *Throttle) SetClock(now func() time.Time) { t.now = now }

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

// recent is the events of s within window ending now.
func recent(s state, window time.Duration, now time.Time) []int64 {
	from := now.Add(-window).UnixMilli()
	i := 0
	for i < len(s.times) && s.times[i] <= from {
		i++
	}
	return s.times[i:]
}

// Check returns how long key stays throttled under l (0: not throttled).
func (t *Throttle) Check(ctx context.Context, key string, l Limit) (time.Duration, error) {
	s, err := t.load(ctx, key)
	if err != nil {
		return 0, err
	}
	now := t.now()
	return retryAfter(recent(s, l.Window, now), l, now), nil
}

// retryAfter is how long events r keep a key throttled under l: until the Count-th latest
// leaves the window (0 when fewer than Count).
func retryAfter(r []int64, l Limit, now time.Time) time.Duration {
	if len(r) < l.Count {
		return 0
	}
	until := time.UnixMilli(r[len(r)-l.Count]).Add(l.Window)
	return max(until.Sub(now), time.Second)
}

// Fail records one failure for key, keeping the latest l.Count.
func (t *Throttle) Fail(ctx context.Context, key string, l Limit) error {
	_, err := t.record(ctx, key, l, false)
	return err
}

// Take counts an attempt for key before it is made, unless key is throttled, in which case
// nothing is recorded and the wait is returned. Check-then-Fail lets a burst of parallel
// attempts all pass the check; Take decides each attempt atomically (compare-and-set on the
// key), so at most l.Count attempts per window get through however many run at once.
func (t *Throttle) Take(ctx context.Context, key string, l Limit) (time.Duration, error) {
	return t.record(ctx, key, l, true)
}

func (t *Throttle) record(ctx context.Context, key string, l Limit, onlyUnder bool) (time.Duration, error) {
	if l.Count < 1 || l.Window <= 0 || l.Window > MaxWindow {
		return 0, fmt.Errorf("throttle %s: limit %+v: want a count and a window of at most %v", key, l, MaxWindow)
	}
	for attempt := 0; ; attempt++ {
		s, err := t.load(ctx, key)
		if err != nil {
			return 0, err
		}
		now := t.now()
		r := recent(s, l.Window, now)
		if onlyUnder {
			if wait := retryAfter(r, l, now); wait > 0 {
				return wait, nil
			}
		}
		r = append(r, now.UnixMilli())
		if len(r) > l.Count {
			r = r[len(r)-l.Count:]
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

// Reset forgets key's events (a successful login clears its pair's counter).
func (t *Throttle) Reset(ctx context.Context, key string) error {
	if err := t.kv.Purge(ctx, key); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("throttle reset %s: %w", key, err)
	}
	return nil
}

// KnownFor is how long Known remembers that an address logged into an account.
const KnownFor = 30 * 24 * time.Hour

// MaxKnown is how many addresses Known remembers per account (the latest).
const MaxKnown = 16

// Known remembers which addresses logged into which account, in the bucket
// "<namespace>_known_addrs" (entries expire KnownFor after their last write). Accounts and
// addresses are given hashed by the caller.
type Known struct {
	kv  jetstream.KeyValue
	now func() time.Time
}

// KnownBucket is Known's bucket under namespace ns.
func KnownBucket(ns string) string { return ns + "_known_addrs" }

// knownConfig is Known's bucket of namespace ns.
func knownConfig(ns string) jetstream.KeyValueConfig {
	return kvConfig(KnownBucket(ns), "addresses that logged into each account (hashed), for the login throttle", KnownFor)
}

// OpenKnown returns a handle on Known's bucket, creating it (with opts) when it does not exist
// yet (it never changes an existing one: Provision does).
func OpenKnown(ctx context.Context, js jetstream.JetStream, namespace string, opts ...Option) (*Known, error) {
	kv, err := bind(ctx, js, knownConfig(namespace), opts)
	if err != nil {
		return nil, err
	}
	return &Known{kv: kv, now: time.Now}, nil
}

// SetClock replaces the clock (tests).
func (k *Known) SetClock(now func() time.Time) { k.now = now }

// knownAddr is one remembered address: its hash and when it last logged in.
type knownAddr struct {
	Addr string `json:"a"`
	At   int64  `json:"t"` // unix seconds
}

func (k *Known) load(ctx context.Context, account string) ([]knownAddr, uint64, error) {
	e, err := k.kv.Get(ctx, account)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("known addresses of %s: %w", account, err)
	}
	var list []knownAddr
	if err := json.Unmarshal(e.Value(), &list); err != nil {
		list = nil // unreadable: remembered as none, and replaced by the next login
	}
	return list, e.Revision(), nil
}

// Has reports whether addr logged into account within KnownFor.
func (k *Known) Has(ctx context.Context, account, addr string) (bool, error) {
	list, _, err := k.load(ctx, account)
	if err != nil {
		return false, err
	}
	from := k.now().Add(-KnownFor).Unix()
	return slices.ContainsFunc(list, func(a knownAddr) bool { return a.Addr == addr && a.At > from }), nil
}

// Add remembers that addr logged into account now, keeping the latest MaxKnown addresses.
func (k *Known) Add(ctx context.Context, account, addr string) error {
	for attempt := 0; ; attempt++ {
		list, rev, err := k.load(ctx, account)
		if err != nil {
			return err
		}
		list = slices.DeleteFunc(list, func(a knownAddr) bool { return a.Addr == addr })
		list = append(list, knownAddr{Addr: addr, At: k.now().Unix()})
		if len(list) > MaxKnown {
			list = list[len(list)-MaxKnown:]
		}
		b, err := json.Marshal(list)
		if err != nil {
			return fmt.Errorf("known addresses of %s: %w", account, err)
		}
		if rev == 0 {
			_, err = k.kv.Create(ctx, account, b)
		} else {
			_, err = k.kv.Update(ctx, account, b, rev)
		}
		if err == nil || attempt >= 20 || !conflict(err) {
			if err != nil {
				err = fmt.Errorf("remember an address of %s: %w", account, err)
			}
			return err
		}
	}
}

// Forget drops every address remembered for account (its user was erased).
func (k *Known) Forget(ctx context.Context, account string) error {
	if err := k.kv.Purge(ctx, account); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("forget the addresses of %s: %w", account, err)
	}
	return nil
}
