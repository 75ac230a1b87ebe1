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
func (r *Replica) WaitApplied(ctx context.Context, seq uint64) (Outcome, error) {
	wait := 5 * time.Millisecond
	for {
		o, ok, err := r.Outcome(ctx, seq)
		if err == nil && ok {
			return o, nil
		}
		if err == nil {
			var round applyRound
			if round, err = r.applyPending(ctx); err == nil && round.spread {
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
