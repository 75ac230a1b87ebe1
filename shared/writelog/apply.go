package writelog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dostupno/dostupno/shared/changefeed"
)

// ApplyPending applies what is pending, in transactions of up to MaxBatchCommands commands,
// until the stream is exhausted or ctx ends (the caller's deadline bounds it). When another
// applier holds the copy's lock it returns at once with what it applied so far. Having read
// the stream to its end, it maintains the tables that grew (Maintain with MaintainGrowth),
// outside any applying transaction: db-writer and an import apply through it, so a copy
// that took a large batch has fresh statistics and visibility map without an operator.
func (r *Replica) ApplyPending(ctx context.Context) (int, error) {
	round, err := r.applyPending(ctx, 0)
	if err == nil && round.drained && ctx.Err() == nil {
		if _, merr := r.Maintain(ctx, MaintainGrowth); merr != nil {
			// The copy is correct; its statistics wait for the next round.
			r.logger.Warn("maintain the grown tables", "err", merr)
		}
	}
	return round.applied, err
}

// settleEvery is how often a writer's round settles the consumer (applyPending).
const settleEvery = 200 * time.Millisecond

// applyRound is what one applyPending did.
type applyRound struct {
	applied int
	drained bool // the stream was read to its end by this applier
	spread  bool // a spread run was applied
}

// applyPending is ApplyPending without the maintenance: writers waiting for their own
// command (WaitApplied) apply through it, with target their command's sequence (0: none).
// A writer's round stops at the end of what it finds past its target without asking the
// stream where it ends (read), and settles the consumer at most every settleEvery unless a
// command failed: the copy's db-writer, rung by the same write, reads to the end and settles.
// At 100 writes a second each writer's round asked NATS for the stream's state and fetched
// and acknowledged its delivery, most of NATS's work (cmd/dostupno bench-seats).
func (r *Replica) applyPending(ctx context.Context, target uint64) (applyRound, error) {
	var round applyRound
	busy := false
	failed := map[uint64]bool{}
	var err error
	for ctx.Err() == nil {
		var b batchResult
		b, err = r.applyBatch(ctx, target)
		round.applied += b.applied
		round.spread = round.spread || b.spread
		for _, s := range b.failed {
			failed[s] = true
		}
		busy = b.busy
		if err != nil || b.busy || !b.more {
			round.drained = err == nil && !b.busy
			break
		}
	}
	// The applier holding the lock settles the consumer when it is done.
	due := target == 0 || len(failed) > 0 || time.Since(time.Unix(0, r.settled.Load())) >= settleEvery
	if ctx.Err() == nil && (round.applied > 0 || !busy) && due {
		r.settled.Store(time.Now().UnixNano())
		if serr := r.settle(ctx, failed); serr != nil {
			// The copy is correct; only the consumer's bookkeeping lags, and the next
			// round settles it.
			r.logger.Warn("settle consumer", "err", serr)
		}
	}
	return round, err
}

type batchResult struct {
	applied int
	failed  []uint64
	busy    bool // another applier holds the lock
	more    bool // the batch was full: more may be pending
	spread  bool // the batch was a spread run
}

func (r *Replica) applyBatch(ctx context.Context, target uint64) (batchResult, error) {
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
	if applied > 0 && !r.logChecked.Load() {
		if err := r.checkLog(ctx, tx, applied); err != nil {
			return res, err
		}
		r.logChecked.Store(true)
	}

	batch, full, err := r.read(ctx, applied+1, target)
	if err != nil || len(batch) == 0 {
		return res, err
	}
	// A command that rewrites earlier outcomes starts a transaction: the outcomes of the
	// commands before it in this batch would not be recorded yet.
	for i := 1; i < len(batch); i++ {
		if batch[i].bad == "" && r.scrubs[batch[i].cmd.Kind] {
			batch, full = batch[:i], true
			break
		}
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
	var change changefeed.Change
	for i, p := range batch {
		if !spread {
			if outs[i], err = r.apply(ctx, tx, p); err != nil {
				return batchResult{}, fmt.Errorf("apply command %d (%s) to %s: %w", p.seq, p.cmd.Kind, r.name, err)
			}
		}
		switch outs[i].Status {
		case Failed:
			res.failed = append(res.failed, p.seq)
			r.logger.Error("command failed", "seq", p.seq, "kind", p.cmd.Kind, "msg_id", p.msgID, "reason", outs[i].Message)
		case Applied:
			outs[i].Change.Seq = p.seq
			change.Merge(outs[i].Change)
		}
	}
	if err := recordOutcomes(ctx, tx, batch, outs); err != nil {
		return batchResult{}, fmt.Errorf("record outcomes on %s: %w", r.name, err)
	}
	last := batch[len(batch)-1].seq
	if err := setAppliedSeq(ctx, tx, last); err != nil {
		return batchResult{}, fmt.Errorf("%s: %w", r.name, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return batchResult{}, fmt.Errorf("commit apply on %s: %w", r.name, err)
	}
	res.applied, res.spread = len(batch), spread
	r.rememberOutcomes(batch, outs)
	if r.afterCommit != nil {
		r.afterCommit(last)
	}
	if r.announce && !change.Empty() {
		r.publishChange(change)
	}
	return res, nil
}

// checkLog makes sure that the stream holds, at the copy's applied sequence, the command the
// copy applied there. A stream deleted and created anew (another NATS, a lost store) would
// otherwise have its first commands taken as applied, and skipped, once it has grown past the
// copy's position: read catches a copy ahead of the stream's end only. An applier checks at
// its first batch (a process's start): one outcome read and one message.
func (r *Replica) checkLog(ctx context.Context, tx pgx.Tx, applied uint64) error {
	var recorded string
	switch err := tx.QueryRow(ctx, `SELECT msg_id FROM writelog_outcomes WHERE seq = $1`, int64(applied)).Scan(&recorded); {
	case errors.Is(err, pgx.ErrNoRows):
		return nil // no outcome to compare with
	case err != nil:
		return fmt.Errorf("check the write log on %s: %w", r.name, err)
	}
	m, ok, err := r.log.get(ctx, applied, true)
	if err != nil {
		return fmt.Errorf("check the write log on %s: %w", r.name, err)
	}
	if !ok || recorded == "" {
		return nil // past the stream's end (read tells), or a hole recorded as failed
	}
	if got := m.Header.Get(jetstream.MsgIDHeader); !sameCommand(recorded, got) {
		return fmt.Errorf("copy %s applied %q as command %d but the stream holds %q there: %w", r.name, recorded, applied, got, errRecreated)
	}
	return nil
}

// apply runs one command's handler in a savepoint. A handler's error that is a refusal of the
// data (DataError) is the command's failed outcome; any other error rolls the batch back.
func (r *Replica) apply(ctx context.Context, tx pgx.Tx, p pending) (Outcome, error) {
	if p.bad != "" {
		return Fail(errors.New(p.bad)), nil
	}
	h, ok := r.handlers[p.cmd.Kind]
	if !ok {
		return Fail(fmt.Errorf("unknown command kind %q", p.cmd.Kind)), nil
	}
	sp, err := tx.Begin(ctx)
	if err != nil {
		return Outcome{}, fmt.Errorf("savepoint: %w", err)
	}
	out, err := h(WithAnnounces(ctx, r.announce), sp, p.seq, p.cmd)
	if err != nil {
		if rerr := sp.Rollback(ctx); rerr != nil {
			return Outcome{}, errors.Join(err, rerr)
		}
		// A refusal of the data fails this command alike in every copy, and the log moves
		// on; anything else may pass, and the batch is tried again.
		if pg := DataError(err); pg != nil {
			r.logger.Warn("the database refused a command", "seq", p.seq, "kind", p.cmd.Kind, "sqlstate", pg.Code, "err", err)
			return refusal(pg), nil
		}
		return Outcome{}, err
	}
	if out.Status == "" {
		out.Status = Applied
	}
	switch out.Status {
	case Applied, Erased:
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

type announcesKey struct{}

// Announces reports whether the copy a handler applies its command to announces the changes
// (Outcome.Change; the primary copy alone): on another copy a handler may skip reading what
// only the announcement needs, the outcome and the rows being the same.
func Announces(ctx context.Context) bool {
	a, _ := ctx.Value(announcesKey{}).(bool)
	return a
}

// WithAnnounces is ctx for a handler applying to a copy that announces its changes or not
// (Announces); the applier sets it for every command and every spread run.
func WithAnnounces(ctx context.Context, announces bool) context.Context {
	return context.WithValue(ctx, announcesKey{}, announces)
}
