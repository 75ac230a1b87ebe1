package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/changefeed"
	"github.com/dostupno/dostupno/shared/writelog"
)

// The catalog's write-log commands.
const (
	KindEventUpsert = "event.upsert" // payload: a JSON array of Event
	KindVenueUpsert = "venue.upsert" // payload: a JSON array of VenueInput
)

// Kinds are the catalog's command kinds, applied with vocab: event.upsert, spread over
// several connections when a run of them is large, and venue.upsert. Each declares the
// tables its large runs grow (analysed and vacuumed after them): event.upsert the events,
// their accessibility index and the venues with their facts (an event's venue object may
// state them); venue.upsert the venues and their facts, and the index rows and text vectors
// of their events, which it rewrites when a venue's facts or name change; seats.update the
// events' live availability.
func Kinds(vocab *Vocabulary) []writelog.Kind {
	return []writelog.Kind{
		{Name: KindEventUpsert, Apply: EventUpsert(vocab), Spread: EventUpsertSpread(vocab),
			Grows: []string{"events", "event_accessibility", "venues", "venue_accessibility"}},
		{Name: KindVenueUpsert, Apply: VenueUpsert(vocab),
			Grows: []string{"venues", "venue_accessibility", "event_accessibility"}},
		{Name: KindSeatsUpdate, Apply: SeatsUpdate(vocab), Grows: []string{"event_availability"}},
	}
}

// SubmitEvents writes events (normalised and validated by the caller) through w as one
// request: in as many event.upsert commands as the log's message size needs, all with time
// at, and returns once this copy applied them, with the last command's sequence (the
// events' version). Every call is its own command: a repeated PUT of an older state must
// still win over what came in between, so the key is unique rather than a content hash.
func SubmitEvents(ctx context.Context, w *writelog.Writer, at time.Time, events []Event) (uint64, error) {
	return submit(ctx, w, at, KindEventUpsert, "event:", events)
}

// SubmitVenues writes venues (normalised and validated by the caller) through w as one
// request, as SubmitEvents writes events, and returns the last command's sequence. A venue
// whose facts change reaches every event there before it returns.
func SubmitVenues(ctx context.Context, w *writelog.Writer, at time.Time, venues []VenueInput) (uint64, error) {
	return submit(ctx, w, at, KindVenueUpsert, "venue:", venues)
}

func submit[T any](ctx context.Context, w *writelog.Writer, at time.Time, kind, prefix string, items []T) (uint64, error) {
	s, err := submitted(ctx, w, at, kind, prefix, items)
	return s.Seq, err
}

// submitted writes items as submit does and returns what the copy decided about each command.
func submitted[T any](ctx context.Context, w *writelog.Writer, at time.Time, kind, prefix string, items []T) (writelog.Submitted, error) {
	parts, err := batches(items, w.Log.MaxPayload()-4096)
	if err != nil {
		return writelog.Submitted{}, apperr.Wrap(err, "upsert")
	}
	key := prefix + uuid.NewString()
	writes := make([]writelog.Write, len(parts))
	for i, p := range parts {
		writes[i] = writelog.Write{Kind: kind, Key: key + "/" + strconv.Itoa(i), Payload: p}
	}
	return w.Submit(ctx, at, writes...)
}

// batches splits items into JSON arrays each at most max bytes long.
func batches[T any](items []T, max int) ([]json.RawMessage, error) {
	var (
		out []json.RawMessage
		cur = []byte{'['}
	)
	for i, e := range items {
		b, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("encode item %d: %w", i, err)
		}
		if len(cur) > 1 && len(cur)+len(b)+2 > max {
			out = append(out, append(cur, ']'))
			cur = []byte{'['}
		}
		if len(cur) > 1 {
			cur = append(cur, ',')
		}
		cur = append(cur, b...)
	}
	if len(cur) > 1 {
		out = append(out, append(cur, ']'))
	}
	return out, nil
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

// EventUpsert applies an "event.upsert" command: its payload is a JSON array of Event,
// normalised and validated by the publisher, written last-writer-wins with version = the
// command's sequence and updated_at = its time.
//
// The handler does not validate again: a command admitted to the log is applied as it is, so
// that a copy replaying old commands with newer validation rules reaches the same state as the
// copies that applied them long ago. What the schema refuses (a check or foreign-key
// violation, a value out of range: SQLSTATE classes 22 and 23) fails the whole command in
// the applier (writelog.DataError), which every copy decides alike because they hold the same
// schema and state.
func EventUpsert(vocab *Vocabulary) writelog.Handler {
	return func(ctx context.Context, tx pgx.Tx, seq uint64, cmd writelog.Command) (writelog.Outcome, error) {
		var events []Event
		if err := writelog.DecodePayload(cmd, &events); err != nil {
			return writelog.Fail(err), nil
		}
		w, err := upsertEvents(ctx, tx, vocab, int64(seq), cmd.At, events)
		if err != nil {
			return writelog.Outcome{}, err
		}
		return upsertOutcome(seq, events, distinctIDs(events), w.changed, w.facts, w.reached)
	}
}

// EventUpsertSpread applies a run of event.upsert commands over several connections: the
// applier's own transaction writes the run's cities, categories and venues (as stream order
// would leave them), and the parts write the events, bucket by bucket of ids, every event
// with its own command's sequence as version. No two parts touch the same row, and applying
// the run again after a crash between the parts' commits and the applier's leaves the same
// rows (last writer wins by version) and the same outcomes (counted from the commands). Every
// event of the run is announced, written now or by that earlier attempt. Venue facts a run
// states are the ones its events inherit (the last statement of each venue in the run), and
// the applier's transaction brings a changed venue to its other events (never one of the
// run's, which the parts write). A command that does not decode, or that the schema refuses,
// sends the run back to be applied command by command, where it is recorded as failed alone.
func EventUpsertSpread(vocab *Vocabulary) writelog.Spreader {
	return func(ctx context.Context, tx pgx.Tx, parts []pgx.Tx, run []writelog.Numbered) ([]writelog.Outcome, error) {
		decoded := make([][]Event, len(run))
		var g errgroup.Group
		g.SetLimit(runtime.GOMAXPROCS(0))
		for i, c := range run {
			g.Go(func() error { return writelog.DecodePayload(c.Cmd, &decoded[i]) })
		}
		if err := g.Wait(); err != nil {
			return nil, writelog.ErrApplySerially
		}
		// Events go to buckets by id, and each part takes the next bucket when it is done with
		// one, so a part slowed down (by a GIN index's pending-list cleanup, say) leaves more
		// buckets to the others; an id is in one bucket, so no two parts write the same row.
		var places PlaceSet
		buckets := make([][]Versioned, bucketsPerPart*len(parts))
		ids := map[int64]bool{}
		for i, c := range run {
			places.Add(int64(c.Seq), c.Cmd.At, decoded[i])
			for _, e := range decoded[i] {
				b := uint64(e.ID) % uint64(len(buckets))
				buckets[b] = append(buckets[b], Versioned{Version: int64(c.Seq), At: c.Cmd.At, Event: e})
				ids[e.ID] = true
			}
		}
		facts, err := places.VenueFacts(ctx, tx)
		if err != nil {
			return nil, err
		}
		names := places.VenueNames()
		var (
			next    atomic.Int64
			failed  atomic.Bool
			reached changefeed.Change
		)
		g = errgroup.Group{}
		g.Go(func() error {
			ch, err := places.Write(ctx, tx)
			if err == nil {
				reached, err = ch.reach(ctx, tx, vocab, ids)
			}
			return err
		})
		for p := range parts {
			g.Go(func() error {
				for b := next.Add(1) - 1; b < int64(len(buckets)) && !failed.Load(); b = next.Add(1) - 1 {
					if _, err := UpsertRows(ctx, parts[p], vocab, buckets[b], facts, names); err != nil {
						failed.Store(true)
						return err
					}
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err // a refusal of the data is applied one by one by the applier
		}
		outs := make([]writelog.Outcome, len(run))
		for i, c := range run {
			var err error
			ids := distinctIDs(decoded[i])
			var theirs changefeed.Change
			if i == len(run)-1 {
				theirs = reached
			}
			if outs[i], err = upsertOutcome(c.Seq, decoded[i], ids, ids, facts, theirs); err != nil {
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

// distinctIDs are the ids of events, each once, in order of first appearance.
func distinctIDs(events []Event) []int64 {
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
// once), announcing the changed ones (with what they inherit from facts, by venue) and the
// other events and the venues its venue changes reached.
func upsertOutcome(seq uint64, events []Event, distinct, changed []int64, facts map[int64]Facts, reached changefeed.Change) (writelog.Outcome, error) {
	c := eventChange(seq, events, changed, facts)
	c.Events = append(c.Events, reached.Events...)
	c.Venues = reached.Venues
	return writelog.Succeed(EventUpsertResult{Events: len(events), Changed: len(distinct)}, c)
}

// eventChange names the new state of each changed event (the last occurrence of its id wins,
// as in UpsertEvents), in id order.
func eventChange(seq uint64, events []Event, changed []int64, facts map[int64]Facts) changefeed.Change {
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
		yes, excluded := EffectiveSets(e.Accessibility, facts[e.Venue.ID])
		c.Events = append(c.Events, changefeed.Event{ID: id, City: e.City, Category: e.Category,
			StartsAt: e.StartsAt, Constraints: yes, Excluded: excluded})
	}
	return c
}

// VenueUpsertResult is the Result of an applied venue.upsert.
type VenueUpsertResult struct {
	Venues  int `json:"venues"`  // venues in the command
	Changed int `json:"changed"` // of them, those whose row or facts changed
	Events  int `json:"events"`  // events at the venues whose facts changed
}

// VenueUpsert applies a "venue.upsert" command: its payload is a JSON array of VenueInput,
// normalised and validated by the publisher. Each venue's row takes the command's values and
// its facts, when given, replace the stored ones; the events at a venue whose facts changed
// inherit them in the same transaction (their effective sets are recomputed), the text
// vectors of the events at a renamed venue follow its name, and every event at a changed
// venue is announced with its new state. As with event.upsert, what the schema refuses
// fails the whole command in the applier (writelog.DataError).
func VenueUpsert(vocab *Vocabulary) writelog.Handler {
	return func(ctx context.Context, tx pgx.Tx, seq uint64, cmd writelog.Command) (writelog.Outcome, error) {
		var venues []VenueInput
		if err := writelog.DecodePayload(cmd, &venues); err != nil {
			return writelog.Fail(err), nil
		}
		var p PlaceSet
		p.AddVenues(int64(seq), cmd.At, venues)
		ch, err := p.Write(ctx, tx)
		var reached changefeed.Change
		if err == nil {
			reached, err = ch.reach(ctx, tx, vocab, nil)
		}
		if err != nil {
			return writelog.Outcome{}, err
		}
		changed := map[int64]bool{}
		for _, id := range slices.Concat(ch.Rows, ch.Facts) {
			changed[id] = true
		}
		reached.Seq = seq
		return writelog.Succeed(VenueUpsertResult{Venues: len(venues), Changed: len(changed), Events: len(reached.Events)}, reached)
	}
}
