package writelog

import (
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
)

// Bounds of one applying transaction: many commands per transaction when many are pending,
// and at most this much payload in memory.
const (
	MaxBatchCommands = 512
	MaxBatchBytes    = 8 << 20
	// MaxAckPending bounds the consumer's unacknowledged deliveries (headers only, so cheap).
	MaxAckPending = 20000
)

// applierLock is the advisory lock key that makes one applier per copy.
const applierLock int64 = 0x77726974656c6f67 // "writelog"

// PrimaryName is the name of the copy at DATABASE_URL in a default deployment.
const PrimaryName = "primary"

var replicaNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Replica is one Postgres copy and its durable consumer: it applies the log to the copy
// (apply.go, spread.go, read.go), announces what changed (announce.go), settles the consumer
// (consumer.go), lets a writer read its own writes (wait.go, outcome.go) and reports its
// progress (status.go).
type Replica struct {
	log      *Log
	pool     *pgxpool.Pool
	name     string
	handlers map[string]Handler
	logger   *slog.Logger
	announce bool

	mu       sync.Mutex
	consumer jetstream.Consumer

	// applying is held by the one writer of this process that applies while others wait
	// (WaitApplied); round is closed when its round ends.
	applying sync.Mutex
	roundMu  sync.Mutex
	round    chan struct{}
	settled  atomic.Int64 // when a round last settled the consumer (UnixNano)
	// logChecked: the stream holds the command the copy applied last (checkLog), checked
	// at this applier's first batch.
	logChecked atomic.Bool

	// recent are the outcomes this applier committed lately (rememberOutcomes): a writer
	// waiting for its command reads its outcome here rather than from the copy.
	recentMu sync.Mutex
	recent   map[uint64]keptOutcome

	spreaders map[string]Spreader
	parts     int             // connections a spread run is applied over
	grows     []string        // tables the kinds grow (Kind.Grows), maintained after large batches
	scrubs    map[string]bool // kinds that start a transaction (Kind.Scrubs)

	// afterCommit runs after each commit, before acks and announcements (fault tests).
	afterCommit func(appliedSeq uint64)
	// afterParts runs after a spread run's parts commit, before the applier's own commit; an
	// error stands for a crash there (fault tests).
	afterParts func() error
	// maintainBarred: Maintain met a grown table this role may not maintain, and said so (once).
	maintainBarred atomic.Bool

	// afterVacuum runs between Maintain's VACUUM and its second look at the visibility map
	// (tests).
	afterVacuum func()
}

// NewReplica returns the applier of the copy pool, named name (its durable consumer's name),
// applying commands of kinds (a kind named twice is a programming error: it panics). Only
// the copy named PrimaryName announces its changes on changefeed.Subject: every copy applies
// the same changes, so one announcement suffices, and caches read the primary copy's state.
func NewReplica(l *Log, pool *pgxpool.Pool, name string, kinds []Kind, log *slog.Logger) *Replica {
	if log == nil {
		log = slog.Default()
	}
	r := &Replica{log: l, pool: pool, name: name, logger: log.With("replica", name),
		announce: name == PrimaryName, parts: DefaultSpreadParts,
		handlers: make(map[string]Handler, len(kinds)), spreaders: map[string]Spreader{}, scrubs: map[string]bool{}}
	for _, k := range kinds {
		if _, dup := r.handlers[k.Name]; dup || k.Apply == nil {
			panic(fmt.Sprintf("writelog: kind %q named twice or without a handler", k.Name))
		}
		r.handlers[k.Name] = k.Apply
		if k.Spread != nil {
			r.spreaders[k.Name] = k.Spread
		}
		for _, t := range k.Grows {
			if !slices.Contains(r.grows, t) {
				r.grows = append(r.grows, t)
			}
		}
		if k.Scrubs {
			r.scrubs[k.Name] = true
		}
	}
	return r
}

// SetSpreadParts sets how many connections a spread run is applied over (1 turns spreading
// off). The pool needs one connection more than that; a smaller pool spreads over fewer.
func (r *Replica) SetSpreadParts(n int) { r.parts = max(n, 1) }

// Name is the copy's name.
func (r *Replica) Name() string { return r.name }
