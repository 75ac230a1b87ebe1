package writelog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

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
