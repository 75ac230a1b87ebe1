package writelog

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/dostupno/dostupno/shared/jsoncodec"
)

// errRecreated ends what a copy cannot apply because its stream is not the one it followed:
// ahead of the stream's end (read), another command at its applied sequence (checkLog), or at
// a writer's sequence (Writer.Submit).
var errRecreated = errors.New("the write log was recreated; restore it or rebuild the copy")

// pending is a command read from the stream for applying; bad says why it cannot be applied,
// if it cannot (it is then recorded as failed).
type pending struct {
	seq   uint64
	msgID string
	cmd   Command
	bad   string
}

// read returns the commands from seq on, in order, bounded by MaxBatchCommands and
// MaxBatchBytes; full reports that a bound (not the stream's end) stopped it. Past target
// (a writer's command, when not 0) a miss ends the read as the stream's end, unasked: what
// is there is applied by the next round.
func (r *Replica) read(ctx context.Context, seq, target uint64) ([]pending, bool, error) {
	var (
		out   []pending
		bytes int
		last  uint64
	)
	for ; len(out) < MaxBatchCommands && bytes < MaxBatchBytes; seq++ {
		m, ok, err := r.log.get(ctx, seq, false)
		if err != nil {
			return nil, false, err
		}
		if !ok && target > 0 && seq > target {
			return out, false, nil
		}
		if !ok {
			// Past the end, or a message removed from the stream (the stream denies
			// deletes, but an operator can still edit it): a hole is recorded as failed
			// rather than blocking every later command. The end is read after the miss, so
			// a command stored in between is read again, not taken for a hole; a direct get
			// may be answered by a replica that lags the leader, so that read again asks
			// the leader (LeaderMsg), whose miss below the end is a hole.
			if last, err = r.log.LastSeq(ctx); err != nil {
				return nil, false, err
			}
			if seq <= last {
				if m, ok, err = r.log.get(ctx, seq, true); err != nil {
					return nil, false, err
				}
			}
		}
		if !ok {
			if seq-1 > last {
				// Writes would be lost silently: the copy is ahead of the stream, which
				// was deleted and created anew (or lost its storage).
				return nil, false, fmt.Errorf("copy %s has applied sequence %d but the stream ends at %d: %w", r.name, seq-1, last, errRecreated)
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
