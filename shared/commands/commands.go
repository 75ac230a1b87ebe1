// Package commands assembles the handlers of every write-log command kind, and holds the
// catalog's own: "event.upsert".
package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dostupno/dostupno/shared/account"
	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/changefeed"
	"github.com/dostupno/dostupno/shared/photo"
	"github.com/dostupno/dostupno/shared/writelog"
)

// Command kinds of the catalog.
const (
	KindEventUpsert = "event.upsert"
)

// Handlers are the handlers of every command kind. Each domain adds its kinds here, one line
// each.
func Handlers(vocab *catalog.Vocabulary) writelog.Handlers {
	return writelog.Handlers{
		KindEventUpsert:      EventUpsert(vocab),
		account.KindRegister: account.ApplyRegister,
		account.KindAdmin:    account.ApplyAdmin,
		account.KindPassword: account.ApplyPassword,
		photo.Kind:           photo.Apply,
	}
}

// EventUpsertResult is the Result of an applied event.upsert.
type EventUpsertResult struct {
	Events  int `json:"events"`  // events in the command
	Changed int `json:"changed"` // events written (the others were newer already)
}

// EventUpsert applies an "event.upsert" command: its payload is a JSON array of catalog.Event,
// normalised and validated by the publisher, written last-writer-wins with version = the
// command's sequence and updated_at = its time.
//
// The handler does not validate again: a command admitted to the log is applied as it is, so
// that a copy replaying old commands with newer validation rules reaches the same state as the
// copies that applied them long ago. What the schema refuses (a check or foreign-key
// violation, a value out of range: SQLSTATE classes 22 and 23) rejects the whole command,
// which every copy decides alike because they hold the same schema and state.
func EventUpsert(vocab *catalog.Vocabulary) writelog.Handler {
	return func(ctx context.Context, tx pgx.Tx, seq uint64, cmd writelog.Command) (writelog.Outcome, error) {
		var events []catalog.Event
		if err := json.Unmarshal(cmd.Payload, &events); err != nil {
			return writelog.Outcome{Status: writelog.Failed, Code: apperr.InvalidArgument,
				Message: "event.upsert payload is not a list of events: " + err.Error()}, nil
		}
		changed, err := catalog.UpsertEvents(ctx, tx, vocab, int64(seq), cmd.At, events)
		var pg *pgconn.PgError
		if errors.As(err, &pg) && (strings.HasPrefix(pg.Code, "22") || strings.HasPrefix(pg.Code, "23")) {
			return writelog.Outcome{Status: writelog.Rejected, Code: apperr.InvalidArgument,
				Message: fmt.Sprintf("the events do not fit the catalog: %s (%s)", pg.Message, pg.Code)}, nil
		}
		if err != nil {
			return writelog.Outcome{}, err
		}
		res, err := json.Marshal(EventUpsertResult{Events: len(events), Changed: len(changed)})
		if err != nil {
			return writelog.Outcome{}, fmt.Errorf("encode result: %w", err)
		}
		return writelog.Outcome{Status: writelog.Applied, Result: res, Change: eventChange(seq, events, changed)}, nil
	}
}

// eventChange names the new state of each changed event (the last occurrence of its id wins,
// as in UpsertEvents), in id order.
func eventChange(seq uint64, events []catalog.Event, changed []int64) changefeed.Change {
	if len(changed) == 0 {
		return changefeed.Change{Seq: seq}
	}
	byID := make(map[int64]int, len(events))
	for i, e := range events {
		byID[e.ID] = i
	}
	sort.Slice(changed, func(i, j int) bool { return changed[i] < changed[j] })
	c := changefeed.Change{Seq: seq, Events: make([]changefeed.Event, 0, len(changed))}
	for _, id := range changed {
		e := events[byID[id]]
		c.Events = append(c.Events, changefeed.Event{ID: id, City: e.City, Category: e.Category,
			StartsAt: e.StartsAt, Constraints: e.YesCodes()})
	}
	return c
}
