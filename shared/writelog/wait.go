package writelog

import (
	"context"
	"fmt"
	"time"
)

// WaitApplied returns once the copy has applied seq (read-your-writes), with the command's
// outcome. It applies pending commands itself when no other applier runs, and otherwise waits
// for the one that does. It gives up when the copy or the stream fails, or when ctx ends; the
// command is in the log all the same and will be applied (a Writer answers Unavailable).
//
// Of the writers of one process waiting at once, one applies (its round serves the others'
// commands too) while the others wait for that round to end and then read their outcomes,
// instead of each asking the copy for the applier's lock and its outcome in turn: at hundreds
// of writes a second the asking cost more than the applying (README, "Seat availability").
func (r *Replica) WaitApplied(ctx context.Context, seq uint64) (Outcome, error) {
	wait := 5 * time.Millisecond
	for {
		ended := r.roundEnded() // taken first: a round that ends after the read below wakes us
		o, ok, err := r.Outcome(ctx, seq)
		if err == nil && ok {
			return o, nil
		}
		if err == nil && !r.applying.TryLock() {
			// Another writer of this process applies: its round may hold seq.
			select {
			case <-ctx.Done():
				return Outcome{}, fmt.Errorf("wait for command %d on %s: %w", seq, r.name, ctx.Err())
			case <-ended:
				continue
			case <-time.After(wait):
			}
			if wait < 100*time.Millisecond {
				wait *= 2
			}
			continue
		}
		if err == nil {
			var round applyRound
			round, err = r.applyPending(ctx, seq)
			r.endRound()
			r.applying.Unlock()
			if err == nil && round.spread {
				// A writer does not stay for the maintenance a large run may call for: the
				// doorbell sends the copy's db-writer, which does it (ApplyPending).
				if rerr := r.log.Ring(ctx); rerr != nil {
					r.logger.Warn("ring the doorbell after a large run", "err", rerr)
				}
			}
			if err == nil {
				if o, ok, err = r.Outcome(ctx, seq); err == nil && ok {
					return o, nil
				}
			}
		}
		if err != nil && ctx.Err() == nil {
			return Outcome{}, fmt.Errorf("wait for command %d on %s: %w", seq, r.name, err)
		}
		select {
		case <-ctx.Done():
			return Outcome{}, fmt.Errorf("wait for command %d on %s: %w", seq, r.name, ctx.Err())
		case <-time.After(wait):
		}
		if wait < 100*time.Millisecond {
			wait *= 2
		}
	}
}

// roundEnded is closed when the current round of a waiting writer of this process ends.
func (r *Replica) roundEnded() <-chan struct{} {
	r.roundMu.Lock()
	defer r.roundMu.Unlock()
	if r.round == nil {
		r.round = make(chan struct{})
	}
	return r.round
}

// endRound wakes the writers waiting for the current round.
func (r *Replica) endRound() {
	r.roundMu.Lock()
	defer r.roundMu.Unlock()
	if r.round != nil {
		close(r.round)
		r.round = nil
	}
}
