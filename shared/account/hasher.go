package account

import (
	"context"
	"fmt"
	"time"

	"github.com/dostupno/dostupno/shared/apperr"
)

// Hasher runs the password hashes of a process (argon2id, Hashing.Memory each) in a bounded
// queue: at most Running at once, and at most Waiting more waiting for a turn. A request that
// finds the queue full is refused at once (unavailable, Retry-After), so a burst costs neither
// memory nor a pile of waiting requests; a waiting request gives up before its deadline.
type Hasher struct {
	running chan struct{} // a token per hash being computed
	admit   chan struct{} // a token per hash running or waiting
}

// NewHasher returns a Hasher running at most running hashes at once with at most waiting more
// queued (each at least 0; running at least 1).
func NewHasher(running, waiting int) *Hasher {
	running = max(running, 1)
	return &Hasher{running: make(chan struct{}, running), admit: make(chan struct{}, running+max(waiting, 0))}
}

// Bounds of the queue's sizing (HashSlots).
const (
	// hashReserve is the memory a function needs besides hashing: the Go runtime, the
	// Postgres pool, NATS (whose reconnect buffer alone may take 64 MiB) and requests.
	hashReserve = 128 << 20
	// waitPerSlot is how many requests may wait per running hash: at about 45 ms a hash (2
	// cores) the last of them starts within 8 × 45 ms ≈ 0.4 s.
	waitPerSlot = 8
	// hashMargin is the time a request keeps, after its turn comes, for the hash and the
	// answer: a request still waiting this close to its deadline gives up.
	hashMargin = 500 * time.Millisecond
)

// HashSlots sizes a Hasher from the function's memory limit and its processors: as many hashes
// at once as fit beside hashReserve (at least 1) but no more than procs (argon2id with one lane
// keeps a core busy: more at once only take memory and finish later), and waitPerSlot waiting
// per running one. With stack.yml's 256 MiB on a 2-core VM: 2 running (5 would fit) and 16
// waiting, at most 2 × 24 MiB of hashing memory.
func HashSlots(memoryLimit int64, procs int) (running, waiting int) {
	hashBytes := int64(Hashing.Memory) << 10 * 5 / 4 // a quarter more for the allocator
	running = int(max((memoryLimit-hashReserve)/hashBytes, 1))
	running = min(running, max(procs, 1))
	return running, waitPerSlot * running
}

// DefaultHasher is the Hasher of a Service that names none: the ops CLI's.
var DefaultHasher = NewHasher(2, 16)

// errBusy answers a request that cannot get a turn: the queue is full, or its deadline is too
// near.
var errBusy = &apperr.Error{Code: apperr.Unavailable, Message: "too many passwords are being checked right now; try again in a moment", RetryAfter: time.Second}

// Acquire waits for a turn to hash within ctx (less hashMargin) and returns its release; a
// full queue or a deadline too near is unavailable with Retry-After.
func (h *Hasher) Acquire(ctx context.Context) (func(), error) {
	select {
	case h.admit <- struct{}{}:
	default:
		return nil, errBusy
	}
	select {
	case h.running <- struct{}{}:
		return func() { <-h.running; <-h.admit }, nil
	default:
	}
	if d, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-hashMargin))
		defer cancel()
	}
	select {
	case h.running <- struct{}{}:
		return func() { <-h.running; <-h.admit }, nil
	case <-ctx.Done():
		<-h.admit
		return nil, &apperr.Error{Code: errBusy.Code, Message: errBusy.Message, RetryAfter: errBusy.RetryAfter, Err: ctx.Err()}
	}
}

// Hash hashes pw with the current parameters when its turn comes.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	release, err := h.Acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	hash, err := Hash(pw)
	if err != nil {
		return "", apperr.Wrap(err, "hash password")
	}
	return hash, nil
}

// Verify is VerifyPassword when its turn comes; a busy queue is its error.
func (h *Hasher) Verify(ctx context.Context, pw, hash string) (ok, rehash bool, err error) {
	release, err := h.Acquire(ctx)
	if err != nil {
		return false, false, err
	}
	defer release()
	return VerifyPassword(pw, hash)
}

// VerifyDummy spends the time of one verification when its turn comes, and always fails.
func (h *Hasher) VerifyDummy(ctx context.Context, pw string) error {
	release, err := h.Acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	VerifyDummy(pw)
	return nil
}

// Size is how many hashes may run at once and how many more may wait.
func (h *Hasher) Size() (running, waiting int) { return cap(h.running), cap(h.admit) - cap(h.running) }

// Queued is how many hashes run or wait now.
func (h *Hasher) Queued() int { return len(h.admit) }

// String describes the queue's size.
func (h *Hasher) String() string {
	r, w := h.Size()
	return fmt.Sprintf("%d running, %d waiting", r, w)
}
