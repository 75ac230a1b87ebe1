package writelog

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/dostupno/dostupno/shared/jsoncodec"
)

// Kind is a command kind and how a copy applies it. Each domain package exports its kinds
// (catalog's event upserts, account's user commands, photo's photo.add), and package
// commands assembles them for NewReplica.
type Kind struct {
	Name   string   // e.g. "event.upsert": Command.Kind and the last token of its subject
	Apply  Handler  // applies one command
	Spread Spreader // optional: applies a large run of the kind over several connections
	// Grows names the tables large runs of the kind grow, which the applier analyses and
	// vacuums once they have grown enough (Replica.Maintain).
	Grows []string
	// Scrubs marks a kind whose handler rewrites the outcomes of earlier commands
	// (ScrubOutcomes): the applier starts a transaction with it, so that every earlier
	// outcome is recorded when it runs.
	Scrubs bool
}

// Handler applies one command inside the copy's transaction (in a savepoint of it). A
// rejection (duplicate email) is an Outcome with Status Rejected, not an error, and its
// savepoint is rolled back, so a rejected command changes nothing but its outcome row. An
// error means "could not apply now": the transaction rolls back and the batch is retried
// later. Handlers must be deterministic: they may use seq and cmd.At, never the wall clock.
// A payload that does not decode (DecodePayload) is recorded as failed (Fail).
type Handler func(ctx context.Context, tx pgx.Tx, seq uint64, cmd Command) (Outcome, error)

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

// DecodePayload decodes cmd's payload into v, the same strict way for every kind: a field v
// does not have is refused, and so is anything after the one JSON value. A command admitted
// to the log is replayed by every copy, so a payload refused here is refused alike in all of
// them (the handler records it with Fail).
func DecodePayload(cmd Command, v any) error {
	if err := jsoncodec.DecodeStrict(cmd.Payload, v); err != nil {
		return fmt.Errorf("%s payload: %w", cmd.Kind, err)
	}
	return nil
}
