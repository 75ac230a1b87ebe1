package writelog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dostupno/dostupno/shared/apperr"
)

// The deadline policy of a write: a Writer waits for its copy at most WaitTimeout, and never
// past the request's own deadline less AnswerMargin, the time left to write the answer.
const (
	WaitTimeout  = 20 * time.Second
	AnswerMargin = 250 * time.Millisecond
	// RetryAfter is when a client may try a write again that could not be completed now.
	RetryAfter = 2 * time.Second
)

// Unavailable is the one contract error of a write that could not be completed now, whatever
// failed (publishing, waiting for the copy, reading its outcome, or reaching NATS or Postgres
// at all): 503 with Retry-After. err is the cause, for the log.
func Unavailable(err error) error {
	return &apperr.Error{Code: apperr.Unavailable, Message: "the write could not be completed now; try again shortly",
		RetryAfter: RetryAfter, Err: err}
}

// Write is one command to submit: its kind, business key and payload (see Log.Encode).
type Write struct {
	Kind    string
	Key     string
	Payload any
}

// Submitted is what this copy decided about submitted writes.
type Submitted struct {
	Outcomes []Outcome // one per write, in order
	Seq      uint64    // the last write's stream sequence: the version of what they wrote
}

// Writer is the one way a function or command submits writes: it publishes them on Log, rings
// the doorbell, and waits until Replica, this instance's own copy, has applied them, so that
// what the caller answers next reads its own writes.
type Writer struct {
	Log     *Log
	Replica *Replica
	logger  *slog.Logger
}

// NewWriter returns the writer publishing on l and reading its writes back from r.
func NewWriter(l *Log, r *Replica, logger *slog.Logger) *Writer {
	if logger == nil {
		logger = slog.Default()
	}
	return &Writer{Log: l, Replica: r, logger: logger}
}

// Submit publishes writes (all with time at), rings the doorbell (other copies then apply them
// too; a failure only delays them, and is logged) and waits until this copy has applied the
// last one, within the deadline policy (WaitTimeout, AnswerMargin). It returns the outcome of
// each write and the last sequence. A write the copy rejected or failed to apply is the first
// such outcome's error (Outcome.Err), with the outcomes; any failure to publish, wait or read
// the outcomes is Unavailable (the writes published may still be applied later).
func (w *Writer) Submit(ctx context.Context, at time.Time, writes ...Write) (Submitted, error) {
	if len(writes) == 0 {
		return Submitted{}, apperr.Wrap(errors.New("no write to submit"), "submit")
	}
	msgs := make([]*nats.Msg, len(writes))
	for i, wr := range writes {
		m, err := w.Log.Encode(wr.Kind, wr.Key, at, wr.Payload)
		if err != nil {
			return Submitted{}, apperr.Wrap(err, "submit")
		}
		msgs[i] = m
	}
	ctx, cancel := waitContext(ctx)
	defer cancel()
	seqs := make([]uint64, len(msgs))
	var last uint64
	for i, m := range msgs {
		seq, err := w.Log.send(ctx, m)
		if err != nil {
			return Submitted{}, Unavailable(err)
		}
		seqs[i], last = seq, max(last, seq)
	}
	if err := w.Log.Ring(ctx); err != nil {
		w.logger.WarnContext(ctx, "doorbell: other copies apply the write on the next one", "err", err)
	}
	if _, err := w.Replica.WaitApplied(ctx, last); err != nil {
		return Submitted{}, Unavailable(err)
	}
	outs, err := w.Replica.Outcomes(ctx, seqs)
	if err != nil {
		return Submitted{}, Unavailable(err)
	}
	for i, o := range outs {
		if id := msgs[i].Header.Get(jetstream.MsgIDHeader); !sameCommand(o.MsgID, id) {
			// The copy's command at that sequence is another's: the stream was created anew
			// under a copy that had applied an older one (checkLog), and this write is not
			// applied.
			return Submitted{}, Unavailable(fmt.Errorf("command %d on %s is %q, not this write's %q: %w", seqs[i], w.Replica.name, o.MsgID, id, errRecreated))
		}
	}
	s := Submitted{Outcomes: outs, Seq: last}
	for _, o := range outs {
		if err := o.Err(); err != nil {
			return s, err
		}
	}
	return s, nil
}

// waitContext bounds ctx by the deadline policy.
func waitContext(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline := time.Now().Add(WaitTimeout)
	if d, ok := ctx.Deadline(); ok && d.Add(-AnswerMargin).Before(deadline) {
		deadline = d.Add(-AnswerMargin)
	}
	return context.WithDeadline(ctx, deadline)
}
