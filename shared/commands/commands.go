// Package commands assembles the handlers of every write-log command kind, and holds the
// catalog's own: "event.upsert".
package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/dostupno/dostupno/shared/account"
	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/changefeed"
	"github.com/dostupno/dostupno/shared/jsoncodec"
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

// NewReplica is the applier of the copy pool, named name, with the handlers of every command
// kind and event.upsert spread over several connections when a run of them is large.
func NewReplica(l *writelog.Log, pool *pgxpool.Pool, name string, vocab *catalog.Vocabulary, log *slog.Logger) *writelog.Replica {
	r := writelog.NewReplica(l, pool, name, Handlers(vocab), log)
	r.Spread(KindEventUpsert, EventUpsertSpread(vocab))
	return r
}

// EventUpsertResult is the Result of an applied event.upsert.
type EventUpsertResult struct {
	Events int `json:"events"` // events in the command
	// Changed counts the command's distinct events. Each of them is written: in stream order
	// a command's events are newer than what the copy holds. It is counted from the command,
	// not from the rows, so that a run applied again after a crash (see EventUpsertSpread)
	// records the same outcome as a copy that applied it once.
	Changed int `json:"changed"`
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
		events, err := decodeEvents(cmd)
		if err != nil {
			return writelog.Outcome{Status: writelog.Failed, Code: apperr.InvalidArgument, Message: err.Error()}, nil
		}
		changed, err := catalog.UpsertEvents(ctx, tx, vocab, int64(seq), cmd.At, events)
		if pg := schemaRefusal(err); pg != nil {
			return writelog.Outcome{Status: writelog.Rejected, Code: apperr.InvalidArgument,
				Message: fmt.Sprintf("the events do not fit the catalog: %s (%s)", pg.Message, pg.Code)}, nil
		}
		if err != nil {
			return writelog.Outcome{}, err
		}
		return upsertOutcome(seq, events, distinctIDs(events), changed)
	}
}

// EventUpsertSpread applies a run of event.upsert commands over several connections: the
// applier's own transaction writes the run's cities, categories and venues (as stream order
// would leave them), and the parts write the events, bucket by bucket of ids, every event
// with its own command's sequence as version. No two parts touch the same row, and applying the run again after a crash between the parts' commits and the applier's
// leaves the same rows (last writer wins by version) and the same outcomes (counted from the
// commands). Every event of the run is announced, written now or by that earlier attempt.
// A command that does not decode or that the schema refuses sends the run back to be applied
// command by command, where it is recorded as failed or rejected alone.
func EventUpsertSpread(vocab *catalog.Vocabulary) writelog.Spreader {
	return func(ctx context.Context, tx pgx.Tx, parts []pgx.Tx, run []writelog.Numbered) ([]writelog.Outcome, error) {
		decoded := make([][]catalog.Event, len(run))
		var g errgroup.Group
		g.SetLimit(runtime.GOMAXPROCS(0))
		for i, c := range run {
			g.Go(func() error {
				var err error
				decoded[i], err = decodeEvents(c.Cmd)
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return nil, writelog.ErrApplySerially
		}
		// Events go to buckets by id, and each part takes the next bucket when it is done with
		// one, so a part slowed down (by a GIN index's pending-list cleanup, say) leaves more
		// buckets to the others; an id is in one bucket, so no two parts write the same row.
		var places catalog.PlaceSet
		buckets := make([][]catalog.Versioned, bucketsPerPart*len(parts))
		for i, c := range run {
			places.Add(decoded[i])
			for _, e := range decoded[i] {
				b := uint64(e.ID) % uint64(len(buckets))
				buckets[b] = append(buckets[b], catalog.Versioned{Version: int64(c.Seq), At: c.Cmd.At, Event: e})
			}
		}
		var (
			next   atomic.Int64
			failed atomic.Bool
		)
		g = errgroup.Group{}
		g.Go(func() error { return places.Write(ctx, tx) })
		for p := range parts {
			g.Go(func() error {
				for b := next.Add(1) - 1; b < int64(len(buckets)) && !failed.Load(); b = next.Add(1) - 1 {
					if _, err := catalog.UpsertRows(ctx, parts[p], vocab, buckets[b]); err != nil {
						failed.Store(true)
						return err
					}
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			if schemaRefusal(err) != nil {
				return nil, writelog.ErrApplySerially
			}
			return nil, err
		}
		outs := make([]writelog.Outcome, len(run))
		for i, c := range run {
			var err error
			ids := distinctIDs(decoded[i])
			if outs[i], err = upsertOutcome(c.Seq, decoded[i], ids, ids); err != nil {
				return nil, err
			}
		}
		return outs, nil
	}
}

// bucketsPerPart is how many buckets a spread run's events are divided into, per part: the
// smaller statements also cost Postgres less per event (400k imported events: 19,100-19,600
// events/s with 6, 20,500-20,700 with 12; 24 gave no more).
const bucketsPerPart = 12

func decodeEvents(cmd writelog.Command) ([]catalog.Event, error) {
	var events []catalog.Event
	if err := jsoncodec.Unmarshal(cmd.Payload, &events); err != nil {
		return nil, fmt.Errorf("event.upsert payload is not a list of events: %w", err)
	}
	return events, nil
}

// schemaRefusal is err's Postgres error when the schema refuses the data (a check or
// foreign-key violation, a value out of range: SQLSTATE classes 22 and 23).
func schemaRefusal(err error) *pgconn.PgError {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && (strings.HasPrefix(pg.Code, "22") || strings.HasPrefix(pg.Code, "23")) {
		return pg
	}
	return nil
}

// distinctIDs are the ids of events, each once, in order of first appearance.
func distinctIDs(events []catalog.Event) []int64 {
	ids := make([]int64, 0, len(events))
	seen := make(map[int64]bool, len(events))
	for _, e := range events {
		if !seen[e.ID] {
			seen[e.ID] = true
			ids = append(ids, e.ID)
		}
	}
	return ids
}

// upsertOutcome is the outcome of an applied command of events (distinct: their ids, each
// once), announcing the changed ones.
func upsertOutcome(seq uint64, events []catalog.Event, distinct, changed []int64) (writelog.Outcome, error) {
	res, err := json.Marshal(EventUpsertResult{Events: len(events), Changed: len(distinct)})
	if err != nil {
		return writelog.Outcome{}, fmt.Errorf("encode result: %w", err)
	}
	return writelog.Outcome{Status: writelog.Applied, Result: res, Change: eventChange(seq, events, changed)}, nil
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
