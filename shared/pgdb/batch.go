package pgdb

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Batcher runs the generic-plan reads (QueryGeneric, QueryGenericIndexed) of callers that ask
// at once in shared round trips. A read joins a queue and waits for a connection of the pool;
// the caller that gets one takes its own read and the oldest others of the queue (up to the
// batch's size: the caller that gets a connection is the oldest waiter, so those behind it),
// sends them in one write and reads their answers in one, and hands each caller its rows; the
// callers whose reads it took stop waiting for a connection. No goroutine runs in the
// background: a lone caller sends its read alone, as QueryGeneric does.
//
// On loopback, each round trip's write and the wake-up it causes cost each side more than a
// short statement runs (a write 12-21 µs of search-events' CPU, the send a quarter of a
// Postgres backend's); 16 clients asking the whole mix, uncached, on 2 cores: 3,331-3,963
// answers/s one walk a round trip against 3,798-4,595 batched, five pairs in turns
// (cmd/dostupno bench; README, "Search and demo data").
type Batcher struct {
	pool *pgxpool.Pool
	max  int

	mu    sync.Mutex
	queue []*batchJob // reads waiting, oldest first

	reads, trips atomic.Int64 // reads sent, round trips they took

	observe atomic.Pointer[func(ReadTimes)] // Observe's
}

// ReadTimes is where one read's time went: how long it waited to be sent (from its call until
// a caller holding a connection took it into a batch), how long its batch then took to answer
// it (Postgres runs a batch's statements in order, so those before it are in it), and its place
// in the batch (0 first).
type ReadTimes struct {
	Waited, Answered time.Duration
	Place            int
}

// Observe has f called with the times of each read answered from then on (f nil: no more),
// on the reading caller's goroutine after its answer; the benchmark tells from them where an
// answer's time goes under load. A read taken before Observe was called is not reported.
func (b *Batcher) Observe(f func(ReadTimes)) {
	if f == nil {
		b.observe.Store(nil)
		return
	}
	b.observe.Store(&f)
}

// BatchStats are the reads a Batcher sent and the round trips they took.
type BatchStats struct{ Reads, RoundTrips int64 }

// Stats are the reads sent so far and their round trips (none for a nil Batcher).
func (b *Batcher) Stats() BatchStats {
	if b == nil {
		return BatchStats{}
	}
	return BatchStats{Reads: b.reads.Load(), RoundTrips: b.trips.Load()}
}

// batchJob is one caller's read. taken and the rest are set under the Batcher's lock by the
// caller that sends it; err is set before done is closed.
type batchJob struct {
	ctx     context.Context
	indexed bool // QueryGenericIndexed's
	sql     string
	args    []any
	scan    func(pgx.Rows) error
	stopped context.CancelFunc // stops the caller's wait for a connection
	asked   time.Time          // when the caller asked, if observed (Observe)
	takenAt time.Time          // when it was taken into a batch, if asked is set
	place   int                // its place in its batch
	taken   bool
	err     error
	done    chan struct{}
}

// DefaultBatch is the most reads a batch sends: a read at the end of one waits for those
// before it to run (a tenth to half a millisecond each).
const DefaultBatch = 8

// NewBatcher is a Batcher on pool sending at most max reads in a round trip (DefaultBatch
// when max < 1).
func NewBatcher(pool *pgxpool.Pool, max int) *Batcher {
	if max < 1 {
		max = DefaultBatch
	}
	return &Batcher{pool: pool, max: max}
}

// Pool is the pool the Batcher reads from.
func (b *Batcher) Pool() *pgxpool.Pool { return b.pool }

// QueryGeneric runs sql with args with a generic plan, as QueryGeneric does outside a
// transaction, in a round trip it may share with other callers' reads, and calls scan with its
// rows, which scan reads (the Batcher closes them after it). scan runs on the goroutine that
// sends the batch, before QueryGeneric returns, unless ctx ends first: then QueryGeneric
// returns ctx's error at once, and scan may still run later, so it must write only what its
// caller reads after a nil error. The error is scan's, else the statement's.
//
// A statement runs until it ends, its statement timeout ends it, or the contexts of all the
// callers of its batch have ended.
func (b *Batcher) QueryGeneric(ctx context.Context, sql string, args []any, scan func(pgx.Rows) error) error {
	return b.query(ctx, false, sql, args, scan)
}

// QueryGenericIndexed is QueryGeneric for a statement that must read its rows through an index
// (as QueryGenericIndexed).
func (b *Batcher) QueryGenericIndexed(ctx context.Context, sql string, args []any, scan func(pgx.Rows) error) error {
	return b.query(ctx, true, sql, args, scan)
}

func (b *Batcher) query(ctx context.Context, indexed bool, sql string, args []any, scan func(pgx.Rows) error) error {
	wait, stop := context.WithCancel(ctx)
	defer stop()
	j := &batchJob{ctx: ctx, indexed: indexed, sql: sql, args: args, scan: scan, stopped: stop, done: make(chan struct{})}
	if b.observe.Load() != nil {
		j.asked = time.Now()
	}
	b.mu.Lock()
	b.queue = append(b.queue, j)
	b.mu.Unlock()

	conn, err := b.pool.Acquire(wait)
	b.mu.Lock()
	var batch []*batchJob
	if !j.taken {
		if err != nil {
			b.queue = slices.DeleteFunc(b.queue, func(q *batchJob) bool { return q == j })
			b.mu.Unlock()
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("acquire a connection: %w", err)
		}
		batch = b.take(j)
	}
	b.mu.Unlock()
	if batch != nil {
		b.send(conn, batch)
	} else if conn != nil {
		conn.Release() // another caller took j
	}
	select {
	case <-j.done:
		if f := b.observe.Load(); f != nil && !j.asked.IsZero() {
			(*f)(ReadTimes{Waited: j.takenAt.Sub(j.asked), Answered: time.Since(j.takenAt), Place: j.place})
		}
		return j.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// take removes j and the oldest other reads of the queue from it, up to the batch's size, j
// first, and marks them taken; their callers stop waiting for a connection. b.mu is held.
func (b *Batcher) take(j *batchJob) []*batchJob {
	batch := []*batchJob{j}
	b.queue = slices.DeleteFunc(b.queue, func(q *batchJob) bool {
		if q == j {
			return true
		}
		if len(batch) == b.max {
			return false
		}
		batch = append(batch, q)
		return true
	})
	var now time.Time
	for i, t := range batch {
		if !t.asked.IsZero() {
			if now.IsZero() {
				now = time.Now()
			}
			t.takenAt, t.place = now, i
		}
		t.taken = true
		if t != j {
			t.stopped()
		}
	}
	return batch
}

// send runs batch on conn, in one round trip while its statements succeed, and releases
// conn. A statement that fails ends its transaction (a batch's statements share one): the
// reads after it are sent again, on conn while it stays open. A batch that fails as a whole
// (an argument a statement cannot take fails it before it is sent, and pgx closes the
// connection) is sent again a read at a time, each on a connection of its own.
func (b *Batcher) send(conn *pgxpool.Conn, batch []*batchJob) {
	b.reads.Add(int64(len(batch)))
	alone := b.sendOn(conn, batch)
	conn.Release()
	for _, j := range alone {
		b.sendAlone(j)
	}
}

// sendAlone sends j in a round trip of its own, on a connection it waits for with j's context.
func (b *Batcher) sendAlone(j *batchJob) {
	b.trips.Add(1)
	conn, err := b.pool.Acquire(j.ctx)
	if err != nil {
		answerAll([]*batchJob{j}, fmt.Errorf("acquire a connection: %w", err))
		return
	}
	defer conn.Release()
	if _, err := sendOnce(j.ctx, conn, []*batchJob{j}); err != nil {
		answerAll([]*batchJob{j}, err)
	}
}

// sendOn sends batch on conn (send) and returns the reads to send again alone.
func (b *Batcher) sendOn(conn *pgxpool.Conn, batch []*batchJob) (alone []*batchJob) {
	ctx, cancel := batchContext(batch)
	defer cancel()
	for len(batch) > 0 {
		b.trips.Add(1)
		failed, err := sendOnce(ctx, conn, batch)
		switch {
		case err != nil && len(batch) > 1:
			return batch
		case err != nil:
			answerAll(batch, err)
			return nil
		case failed < 0:
			return nil
		}
		cause := batch[failed].err
		batch = batch[failed+1:]
		if conn.Conn().IsClosed() {
			answerAll(batch, cause)
			return nil
		}
	}
	return nil
}

// answerAll answers every read of batch with err.
func answerAll(batch []*batchJob, err error) {
	for _, j := range batch {
		j.err = err
		close(j.done)
	}
}

// sendOnce sends batch's reads in one round trip and answers each; it returns the index of
// the first statement that failed, whose read it answered with its error (the reads after it
// are not answered), or -1 when none failed. err, when the batch as a whole failed (it could
// not be sent, or its first plan mode's statement failed), says so, and no read is answered.
//
// Each read's plan mode is set before it when it differs from the read's before it (set_config
// lasts until the batch's implicit transaction ends).
func sendOnce(ctx context.Context, conn *pgxpool.Conn, batch []*batchJob) (failed int, err error) {
	// setsMode says whether the read at i is preceded by its plan mode's statement.
	setsMode := func(i int) bool { return i == 0 || batch[i].indexed != batch[i-1].indexed }
	var pb pgx.Batch
	for i, j := range batch {
		if setsMode(i) {
			if j.indexed {
				pb.Queue(genericIndexedPlans)
			} else {
				pb.Queue(genericPlansSeqScans)
			}
		}
		pb.Queue(j.sql, j.args...)
	}
	br := conn.SendBatch(ctx, &pb)
	defer br.Close() //nolint:errcheck // each statement's error is its read's
	for i, j := range batch {
		var rows pgx.Rows
		if setsMode(i) {
			_, err = br.Exec()
		}
		switch {
		case err != nil && i == 0:
			return -1, err
		case err == nil:
			rows, err = br.Query()
		}
		if err == nil {
			j.err = j.scan(rows)
			rows.Close()
			err = rows.Err()
		}
		if err != nil {
			j.err = err
			close(j.done)
			return i, nil
		}
		close(j.done)
	}
	return -1, nil
}

// batchContext is the context of a batch's statements: it ends when the contexts of all its
// callers have ended (a caller that gives up does not cancel the others' statements).
func batchContext(batch []*batchJob) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	var left atomic.Int32
	left.Store(int32(len(batch)))
	stops := make([]func() bool, len(batch))
	for i, j := range batch {
		stops[i] = context.AfterFunc(j.ctx, func() {
			if left.Add(-1) == 0 {
				cancel()
			}
		})
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel()
	}
}
