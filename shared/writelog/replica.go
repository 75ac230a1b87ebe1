package writelog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/changefeed"
	"github.com/dostupno/dostupno/shared/jsoncodec"
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

// Replica is one Postgres copy and its durable consumer.
type Replica struct {
	log      *Log
	pool     *pgxpool.Pool
	name     string
	handlers Handlers
	logger   *slog.Logger
	announce bool

	mu       sync.Mutex
	consumer jetstream.Consumer

	spreaders map[string]Spreader
	parts     int // connections a spread run is applied over

	// afterCommit runs after each commit, before acks and announcements (fault tests).
	afterCommit func(appliedSeq uint64)
	// afterParts runs after a spread run's parts commit, before the applier's own commit; an
	// error stands for a crash there (fault tests).
	afterParts func() error
}

// Status is a copy's progress.
type Status struct {
	Replica    string `json:"replica"`
	AppliedSeq uint64 `json:"applied_seq"`
	StreamSeq  uint64 `json:"stream_seq"`
	Lag        uint64 `json:"lag"`
}

// NewReplica returns the applier of the copy pool, named name (its durable consumer's name).
// Only the copy named PrimaryName announces its changes on changefeed.Subject: every copy
// applies the same changes, so one announcement suffices, and caches read the primary copy's
// state (SetAnnounce overrides the choice).
func NewReplica(l *Log, pool *pgxpool.Pool, name string, h Handlers, log *slog.Logger) *Replica {
	if log == nil {
		log = slog.Default()
	}
	return &Replica{log: l, pool: pool, name: name, handlers: h, logger: log.With("replica", name),
		announce: name == PrimaryName, parts: DefaultSpreadParts}
}

// Spreader applies a run of consecutive commands of one kind over several connections at
// once: tx is the applier's transaction (a savepoint of it), parts are transactions on other
// connections of the copy, all open for the run alone. It returns one Applied outcome per
// command of run, or ErrApplySerially to have the run applied command by command instead (a
// command to reject, say).
//
// The parts commit before the applier records the run's outcomes and position, so a crash in
// between leaves the run's rows written but not recorded, and the copy applies the run again.
// Only a kind whose commands may be applied again that way, leaving the same rows and the
// same outcomes, may be spread, and a Spreader must divide the work so that no two parts
// touch the same row (a part waiting on another would wait forever).
type Spreader func(ctx context.Context, tx pgx.Tx, parts []pgx.Tx, run []Numbered) ([]Outcome, error)

// Numbered is a command and its stream sequence.
type Numbered struct {
	Seq uint64
	Cmd Command
}

// ErrApplySerially is what a Spreader returns to have its run applied command by command.
var ErrApplySerially = errors.New("apply the run command by command")

// Spreading: a run of spreadable commands is spread when it carries at least SpreadMinBytes
// of payload (one imported batch does; one admin write does not), over DefaultSpreadParts
// connections unless SetSpreadParts says otherwise.
const (
	SpreadMinBytes     = 64 << 10
	DefaultSpreadParts = 2
)

// Spread registers s for the commands of kind (whose handler still applies them one by one
// when a run is small or s asks for it).
func (r *Replica) Spread(kind string, s Spreader) {
	if r.spreaders == nil {
		r.spreaders = map[string]Spreader{}
	}
	r.spreaders[kind] = s
}

// SetSpreadParts sets how many connections a spread run is applied over (1 turns spreading
// off). The pool needs one connection more than that; a smaller pool spreads over fewer.
func (r *Replica) SetSpreadParts(n int) { r.parts = max(n, 1) }

// SetAnnounce chooses whether this copy announces applied changes (see NewReplica).
func (r *Replica) SetAnnounce(on bool) { r.announce = on }

// Name is the copy's name.
func (r *Replica) Name() string { return r.name }

// Consumer returns the copy's durable consumer, creating or updating it.
func (r *Replica) Consumer(ctx context.Context) (jetstream.Consumer, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.consumer != nil {
		return r.consumer, nil
	}
	if !replicaNameRE.MatchString(r.name) {
		return nil, fmt.Errorf("replica name %q: want 1..64 letters, digits, '-' or '_'", r.name)
	}
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	c, err := r.log.stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       r.name,
		Description:   "progress of Postgres copy " + r.name,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       time.Minute,
		MaxDeliver:    -1,
		MaxAckPending: MaxAckPending,
		HeadersOnly:   true,
	})
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", r.name, err)
	}
	r.consumer = c
	return c, nil
}

// ApplyPending applies what is pending, in transactions of up to MaxBatchCommands commands,
// until the stream is exhausted or ctx ends (the caller's deadline bounds it). When another
// applier holds the copy's lock it returns at once with what it applied so far.
func (r *Replica) ApplyPending(ctx context.Context) (int, error) {
	total, busy := 0, false
	failed := map[uint64]bool{}
	var err error
	for ctx.Err() == nil {
		var b batchResult
		b, err = r.applyBatch(ctx)
		total += b.applied
		for _, s := range b.failed {
			failed[s] = true
		}
		busy = b.busy
		if err != nil || b.busy || !b.more {
			break
		}
	}
	// The applier holding the lock settles the consumer when it is done.
	if ctx.Err() == nil && (total > 0 || !busy) {
		if serr := r.settle(ctx, failed); serr != nil {
			// The copy is correct; only the consumer's bookkeeping lags, and the next
			// round settles it.
			r.logger.Warn("settle consumer", "err", serr)
		}
	}
	return total, err
}

type batchResult struct {
	applied int
	failed  []uint64
	busy    bool // another applier holds the lock
	more    bool // the batch was full: more may be pending
}

type pending struct {
	seq   uint64
	msgID string
	cmd   Command
	bad   string // why the message cannot be applied, if it cannot
}

func (r *Replica) applyBatch(ctx context.Context) (batchResult, error) {
	var res batchResult
	tx, err := r.pool.Begin(ctx)
	if err != nil {
		return res, fmt.Errorf("begin apply on %s: %w", r.name, err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	var locked bool
	if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, applierLock).Scan(&locked); err != nil {
		return res, fmt.Errorf("lock %s: %w", r.name, err)
	}
	if !locked {
		res.busy = true
		return res, nil
	}
	applied, err := AppliedSeq(ctx, tx)
	if err != nil {
		return res, fmt.Errorf("%s: %w", r.name, err)
	}

	batch, full, err := r.read(ctx, applied+1)
	if err != nil || len(batch) == 0 {
		return res, err
	}
	// A transaction holds either one spread run or commands applied one by one, never both,
	// so that no part of a run waits on rows this transaction wrote; the rest waits for the
	// next round.
	start, n, parts := r.spreadRun(batch)
	cut := false
	switch {
	case n > 0 && start == 0:
		cut, batch = n < len(batch), batch[:n]
	case n > 0:
		cut, batch = true, batch[:start]
	}
	res.more = full || cut

	outs := make([]Outcome, len(batch))
	spread := n > 0 && start == 0
	if spread {
		outs, err = r.applySpread(ctx, tx, parts, batch)
		if errors.Is(err, ErrApplySerially) {
			spread, outs, err = false, make([]Outcome, len(batch)), nil
		}
		if err != nil {
			return batchResult{}, fmt.Errorf("apply commands %d..%d (%s) to %s over %d connections: %w",
				batch[0].seq, batch[len(batch)-1].seq, batch[0].cmd.Kind, r.name, parts, err)
		}
	}
	var (
		change                                    changefeed.Change
		seqs                                      = make([]int64, 0, len(batch))
		ids, kinds, statuses, codes, msgs, result = []string{}, []string{}, []string{}, []string{}, []string{}, []*string{}
	)
	for i, p := range batch {
		out := outs[i]
		if !spread {
			if out, err = r.apply(ctx, tx, p); err != nil {
				return batchResult{}, fmt.Errorf("apply command %d (%s) to %s: %w", p.seq, p.cmd.Kind, r.name, err)
			}
		}
		if out.Status == Failed {
			res.failed = append(res.failed, p.seq)
			r.logger.Error("command failed", "seq", p.seq, "kind", p.cmd.Kind, "msg_id", p.msgID, "reason", out.Message)
		}
		if out.Status == Applied {
			out.Change.Seq = p.seq
			change.Merge(out.Change)
		}
		var rs *string
		if len(out.Result) > 0 {
			s := string(out.Result)
			rs = &s
		}
		seqs = append(seqs, int64(p.seq))
		ids, kinds, statuses = append(ids, p.msgID), append(kinds, p.cmd.Kind), append(statuses, out.Status)
		codes, msgs, result = append(codes, string(out.Code)), append(msgs, out.Message), append(result, rs)
	}
	last := batch[len(batch)-1].seq
	if _, err := tx.Exec(ctx, `
		INSERT INTO writelog_outcomes (seq, msg_id, kind, status, code, message, result)
		SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[])`,
		seqs, ids, kinds, statuses, codes, msgs, result); err != nil {
		return batchResult{}, fmt.Errorf("record outcomes on %s: %w", r.name, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE writelog_position SET applied_seq = $1`, int64(last)); err != nil {
		return batchResult{}, fmt.Errorf("record position on %s: %w", r.name, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return batchResult{}, fmt.Errorf("commit apply on %s: %w", r.name, err)
	}
	res.applied = len(batch)
	if r.afterCommit != nil {
		r.afterCommit(last)
	}
	if r.announce && !change.Empty() {
		r.publishChange(change)
	}
	return res, nil
}

// spreadRun finds the first run of batch worth spreading: consecutive decodable commands of
// one spreadable kind carrying at least SpreadMinBytes. It returns where the run starts, its
// length (0: none) and the number of parts to spread it over.
func (r *Replica) spreadRun(batch []pending) (start, n, parts int) {
	parts = min(r.parts, int(r.pool.Config().MaxConns)-1)
	if parts < 2 || len(r.spreaders) == 0 {
		return 0, 0, 0
	}
	for i := 0; i < len(batch); {
		kind := batch[i].cmd.Kind
		if _, ok := r.spreaders[kind]; !ok || batch[i].bad != "" {
			i++
			continue
		}
		j, bytes := i, 0
		for ; j < len(batch) && batch[j].bad == "" && batch[j].cmd.Kind == kind; j++ {
			bytes += len(batch[j].cmd.Payload)
		}
		if bytes >= SpreadMinBytes {
			return i, j - i, parts
		}
		i = j
	}
	return 0, 0, 0
}

// applySpread applies run through its kind's Spreader over parts connections, and commits the
// parts before returning: the caller records the outcomes and commits its own transaction.
func (r *Replica) applySpread(ctx context.Context, tx pgx.Tx, parts int, run []pending) ([]Outcome, error) {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("savepoint: %w", err)
	}
	txs := make([]pgx.Tx, 0, parts)
	defer func() {
		for _, p := range txs {
			p.Rollback(ctx) //nolint:errcheck // a no-op after Commit
		}
	}()
	for range parts {
		p, err := r.pool.Begin(ctx)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("begin a part: %w", err), sp.Rollback(ctx))
		}
		txs = append(txs, p)
	}
	cmds := make([]Numbered, len(run))
	for i, p := range run {
		cmds[i] = Numbered{Seq: p.seq, Cmd: p.cmd}
	}
	outs, err := r.spreaders[run[0].cmd.Kind](ctx, sp, txs, cmds)
	if err == nil && len(outs) != len(run) {
		err = fmt.Errorf("the spreader returned %d outcomes for %d commands", len(outs), len(run))
	}
	for i := range outs {
		if err == nil && outs[i].Status != Applied {
			err = fmt.Errorf("the spreader returned status %q (only applied runs may be spread)", outs[i].Status)
		}
	}
	if err != nil {
		return nil, errors.Join(err, sp.Rollback(ctx))
	}
	for i, p := range txs {
		if err := p.Commit(ctx); err != nil {
			// Parts committed before this one hold rows the copy has not recorded: the
			// caller rolls back, and the next round applies the run again.
			return nil, fmt.Errorf("commit part %d of %d: %w", i+1, len(txs), err)
		}
	}
	if r.afterParts != nil {
		if err := r.afterParts(); err != nil {
			return nil, err
		}
	}
	if err := sp.Commit(ctx); err != nil {
		return nil, fmt.Errorf("release savepoint: %w", err)
	}
	return outs, nil
}

// read returns the commands from seq on, in order, bounded by MaxBatchCommands and
// MaxBatchBytes; full reports that a bound (not the stream's end) stopped it.
func (r *Replica) read(ctx context.Context, seq uint64) ([]pending, bool, error) {
	var (
		out   []pending
		bytes int
		last  uint64
	)
	for ; len(out) < MaxBatchCommands && bytes < MaxBatchBytes; seq++ {
		m, ok, err := r.log.get(ctx, seq)
		if err != nil {
			return nil, false, err
		}
		if !ok {
			// Past the end, or a message removed from the stream (the stream denies
			// deletes, but an operator can still edit it): a hole is recorded as failed
			// rather than blocking every later command. The end is read after the miss,
			// so a command stored in between is read again, not taken for a hole; a
			// replica answering a direct get may also lag the stream's leader for a
			// moment, hence the retries.
			if last, err = r.log.LastSeq(ctx); err != nil {
				return nil, false, err
			}
			for try := 1; !ok && seq <= last && try <= 5; try++ {
				if try > 1 {
					select {
					case <-ctx.Done():
						return nil, false, ctx.Err()
					case <-time.After(time.Duration(try) * 50 * time.Millisecond):
					}
				}
				if m, ok, err = r.log.get(ctx, seq); err != nil {
					return nil, false, err
				}
			}
		}
		if !ok {
			if seq-1 > last {
				// Writes would be lost silently: the copy is ahead of the stream, which
				// was deleted and created anew (or lost its storage).
				return nil, false, fmt.Errorf("copy %s has applied sequence %d but the stream ends at %d: the write log was recreated; restore it or rebuild the copy", r.name, seq-1, last)
			}
			if seq > last {
				return out, false, nil
			}
			out = append(out, pending{seq: seq, bad: "the stream holds no message at this sequence"})
			continue
		}
		bytes += len(m.Data)
		out = append(out, decode(seq, m))
	}
	return out, true, nil
}

func decode(seq uint64, m *jetstream.RawStreamMsg) pending {
	p := pending{seq: seq, msgID: m.Header.Get(jetstream.MsgIDHeader)}
	if err := jsoncodec.Unmarshal(m.Data, &p.cmd); err != nil {
		p.bad = "undecodable command: " + err.Error()
		p.cmd = Command{}
		return p
	}
	switch {
	case p.cmd.V != Version:
		p.bad = fmt.Sprintf("unsupported command version %d", p.cmd.V)
	case p.cmd.Kind == "":
		p.bad = "command has no kind"
	}
	return p
}

// apply runs one command's handler in a savepoint.
func (r *Replica) apply(ctx context.Context, tx pgx.Tx, p pending) (Outcome, error) {
	if p.bad != "" {
		return Outcome{Status: Failed, Code: apperr.InvalidArgument, Message: p.bad}, nil
	}
	h, ok := r.handlers[p.cmd.Kind]
	if !ok {
		return Outcome{Status: Failed, Code: apperr.InvalidArgument, Message: fmt.Sprintf("unknown command kind %q", p.cmd.Kind)}, nil
	}
	sp, err := tx.Begin(ctx)
	if err != nil {
		return Outcome{}, fmt.Errorf("savepoint: %w", err)
	}
	out, err := h(ctx, sp, p.seq, p.cmd)
	if err != nil {
		return Outcome{}, errors.Join(err, sp.Rollback(ctx))
	}
	if out.Status == "" {
		out.Status = Applied
	}
	switch out.Status {
	case Applied:
		err = sp.Commit(ctx)
	case Rejected, Failed:
		out.Change = changefeed.Change{}
		err = sp.Rollback(ctx)
	default:
		err = errors.Join(fmt.Errorf("handler returned status %q", out.Status), sp.Rollback(ctx))
	}
	if err != nil {
		return Outcome{}, err
	}
	return out, nil
}

// maxChangeEvents bounds one announcement, so it stays far below the server's max_payload.
const maxChangeEvents = 2000

func (r *Replica) publishChange(c changefeed.Change) {
	nc := r.log.js.Conn()
	subject := changefeed.Subject(r.log.namespace)
	for first := true; first || len(c.Events) > 0; first = false {
		part := c
		if len(c.Events) > maxChangeEvents {
			part.Events = c.Events[:maxChangeEvents]
		}
		c.Events = c.Events[len(part.Events):]
		c.Users = nil
		b, err := jsoncodec.Marshal(part)
		if err == nil {
			err = nc.Publish(subject, b)
		}
		if err != nil {
			// Caches then expire the entry by age instead (the stated staleness bound).
			r.logger.Warn("announce change", "seq", part.Seq, "err", err)
			return
		}
	}
	// The announcement is at the server before the writer answers its client, so a read that
	// follows the answer finds the stale entries already dropped (or in flight to the caches).
	if err := nc.FlushTimeout(time.Second); err != nil {
		r.logger.Warn("announce change: flush", "err", err)
	}
}

// settle acks the consumer's deliveries up to the copy's applied sequence (Term for commands
// recorded as failed in this round), and Naks a delivery beyond it.
func (r *Replica) settle(ctx context.Context, failed map[uint64]bool) error {
	cons, err := r.Consumer(ctx)
	if err != nil {
		return err
	}
	applied, err := AppliedSeq(ctx, r.pool)
	if err != nil {
		return fmt.Errorf("%s: %w", r.name, err)
	}
	for ctx.Err() == nil {
		msgs, err := cons.FetchNoWait(1000)
		if err != nil {
			return fmt.Errorf("fetch from consumer %s: %w", r.name, err)
		}
		n, beyond := 0, false
		for m := range msgs.Messages() {
			n++
			meta, err := m.Metadata()
			switch {
			case err != nil:
				err = m.Term() // not a stream message: nothing to apply
			case meta.Sequence.Stream > applied:
				beyond = true
				err = m.Nak()
			case failed[meta.Sequence.Stream]:
				err = m.Term()
			default:
				err = m.Ack()
			}
			if err != nil {
				return fmt.Errorf("settle delivery on %s: %w", r.name, err)
			}
		}
		if err := msgs.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return fmt.Errorf("fetch from consumer %s: %w", r.name, err)
		}
		if n == 0 || beyond {
			return nil
		}
	}
	return nil
}

// Outcome reads the recorded outcome of seq; ok is false until the copy has applied seq.
func (r *Replica) Outcome(ctx context.Context, seq uint64) (Outcome, bool, error) {
	var (
		o      Outcome
		code   string
		result []byte
	)
	err := r.pool.QueryRow(ctx, `SELECT status, code, message, result FROM writelog_outcomes WHERE seq = $1`, int64(seq)).
		Scan(&o.Status, &code, &o.Message, &result)
	if errors.Is(err, pgx.ErrNoRows) {
		return Outcome{}, false, nil
	}
	if err != nil {
		return Outcome{}, false, fmt.Errorf("read outcome %d on %s: %w", seq, r.name, err)
	}
	o.Code, o.Result = apperr.Code(code), result
	return o, true, nil
}

// WaitApplied returns once the copy has applied seq (read-your-writes), with the command's
// outcome. It applies pending commands itself when no other applier runs, and otherwise waits
// for the one that does; it gives up when ctx ends, with an Unavailable error.
func (r *Replica) WaitApplied(ctx context.Context, seq uint64) (Outcome, error) {
	wait := 5 * time.Millisecond
	for {
		o, ok, err := r.Outcome(ctx, seq)
		if err == nil && ok {
			return o, nil
		}
		if err == nil {
			_, err = r.ApplyPending(ctx)
			if err == nil {
				if o, ok, err = r.Outcome(ctx, seq); err == nil && ok {
					return o, nil
				}
			}
		}
		if err != nil && ctx.Err() == nil {
			// The command is in the log and will be applied; the copy or the stream is
			// what failed now, so the caller may simply try again.
			return Outcome{}, &apperr.Error{Code: apperr.Unavailable, Message: "the write is accepted but cannot be confirmed yet; try again shortly",
				RetryAfter: time.Second, Err: fmt.Errorf("wait for command %d on %s: %w", seq, r.name, err)}
		}
		select {
		case <-ctx.Done():
			return Outcome{}, &apperr.Error{Code: apperr.Unavailable, Message: "the write is accepted but not yet visible; try again shortly",
				RetryAfter: time.Second, Err: fmt.Errorf("wait for command %d on %s: %w", seq, r.name, ctx.Err())}
		case <-time.After(wait):
		}
		if wait < 100*time.Millisecond {
			wait *= 2
		}
	}
}

// Status reports the copy's applied sequence against the stream's last one.
func (r *Replica) Status(ctx context.Context) (Status, error) {
	s := Status{Replica: r.name}
	applied, err := AppliedSeq(ctx, r.pool)
	if err != nil {
		return s, fmt.Errorf("%s: %w", r.name, err)
	}
	last, err := r.log.LastSeq(ctx)
	if err != nil {
		return s, err
	}
	s.AppliedSeq, s.StreamSeq = applied, last
	if last > s.AppliedSeq {
		s.Lag = last - s.AppliedSeq
	}
	return s, nil
}

// NotApplied returns the outcomes among seqs that the copy recorded as rejected or failed.
func (r *Replica) NotApplied(ctx context.Context, seqs []uint64) (map[uint64]Outcome, error) {
	ids := make([]int64, len(seqs))
	for i, s := range seqs {
		ids[i] = int64(s)
	}
	rows, err := r.pool.Query(ctx, `SELECT seq, status, code, message FROM writelog_outcomes
		WHERE seq = ANY($1) AND status <> 'applied'`, ids)
	if err != nil {
		return nil, fmt.Errorf("read outcomes on %s: %w", r.name, err)
	}
	defer rows.Close()
	out := map[uint64]Outcome{}
	for rows.Next() {
		var (
			seq  int64
			o    Outcome
			code string
		)
		if err := rows.Scan(&seq, &o.Status, &code, &o.Message); err != nil {
			return nil, fmt.Errorf("read outcomes on %s: %w", r.name, err)
		}
		o.Code = apperr.Code(code)
		out[uint64(seq)] = o
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read outcomes on %s: %w", r.name, err)
	}
	return out, nil
}
