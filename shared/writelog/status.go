package writelog

import (
	"context"
	"fmt"
)

// Status is a copy's progress.
type Status struct {
	Replica    string `json:"replica"`
	AppliedSeq uint64 `json:"applied_seq"`
	StreamSeq  uint64 `json:"stream_seq"`
	Lag        uint64 `json:"lag"`
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
