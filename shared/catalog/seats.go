package catalog

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/changefeed"
	"github.com/dostupno/dostupno/shared/pgdb"
	"github.com/dostupno/dostupno/shared/writelog"
)

// KindSeatsUpdate is the command of live seat availability: its payload is a JSON array of
// Seats.
const KindSeatsUpdate = "seats.update"

// Limits of a seat count and of its time.
const (
	MaxSeats = 1_000_000
	// MaxAsOfAhead is how far past the publisher's clock a count's as_of may be: a count dated
	// in the future would win over every true count until then.
	MaxAsOfAhead = 5 * time.Minute
)

// SeatsInput is one availability update as the ticketing side sends it
// (SeatAvailabilityInput in shared/apidoc/openapi.yaml): every field is required.
type SeatsInput struct {
	EventID          int64   `json:"event_id"`
	WheelchairSpaces *int    `json:"wheelchair_spaces"`
	CompanionSeats   *int    `json:"companion_seats"`
	AsOf             *string `json:"as_of"`

	asOf time.Time // AsOf parsed by Validate
}

// Normalize trims as_of.
func (s *SeatsInput) Normalize() {
	if s.AsOf != nil {
		t := strings.TrimSpace(*s.AsOf)
		s.AsOf = &t
	}
}

// Validate checks s field by field (call Normalize first) against the publisher's clock.
func (s *SeatsInput) Validate() error {
	if s.EventID <= 0 {
		return apperr.Invalid("event_id", "event_id must be a positive integer")
	}
	for _, c := range []struct {
		field string
		n     *int
	}{{"wheelchair_spaces", s.WheelchairSpaces}, {"companion_seats", s.CompanionSeats}} {
		if c.n == nil {
			return apperr.Invalid(c.field, "%s is required", c.field)
		}
		if *c.n < 0 || *c.n > MaxSeats {
			return apperr.Invalid(c.field, "%s must be an integer 0..%d", c.field, MaxSeats)
		}
	}
	if s.AsOf == nil || *s.AsOf == "" {
		return apperr.Invalid("as_of", "as_of is required (RFC 3339, the time of the count)")
	}
	t, err := time.Parse(time.RFC3339Nano, *s.AsOf)
	if err != nil {
		return apperr.Invalid("as_of", "as_of must be an RFC 3339 time such as 2026-12-01T16:00:00Z")
	}
	// In UTC at the precision Postgres stores (microseconds), so that the order the publisher
	// sees is the order every copy compares.
	t = t.UTC().Truncate(time.Microsecond)
	if t.Before(earliestRun) || t.After(time.Now().Add(MaxAsOfAhead)) {
		return apperr.Invalid("as_of", "as_of must be after 2000 and at most %s ahead of the server's clock", MaxAsOfAhead)
	}
	s.asOf = t
	return nil
}

// Seats is one event's availability as a command carries it (validated by the publisher).
type Seats struct {
	EventID          int64     `json:"event_id"`
	WheelchairSpaces int       `json:"wheelchair_spaces"`
	CompanionSeats   int       `json:"companion_seats"`
	AsOf             time.Time `json:"as_of"`
}

// Seats is the update s carries (after Validate).
func (s SeatsInput) Seats() Seats {
	return Seats{EventID: s.EventID, WheelchairSpaces: *s.WheelchairSpaces, CompanionSeats: *s.CompanionSeats, AsOf: s.asOf}
}

// Newer reports whether a replaces b, the one order every copy applies (the SQL of
// SeatsUpdate says the same): a later count wins; of two counts at the same time the smaller
// wins (never promise a space twice reported gone), so the result does not depend on the
// order the updates arrive in.
func (a Seats) Newer(b Seats) bool {
	if !a.AsOf.Equal(b.AsOf) {
		return a.AsOf.After(b.AsOf)
	}
	if a.WheelchairSpaces != b.WheelchairSpaces {
		return a.WheelchairSpaces < b.WheelchairSpaces
	}
	return a.CompanionSeats < b.CompanionSeats
}

// SeatsResult is the Result of an applied seats.update.
type SeatsResult struct {
	Count   int `json:"count"`   // updates in the command
	Ignored int `json:"ignored"` // of them, those not newer than what the copy held
}

// SubmitSeats writes availability updates through w as one request (as SubmitEvents writes
// events) and returns the last command's sequence and how many updates every copy ignores as
// not newer than the count it holds.
func SubmitSeats(ctx context.Context, w *writelog.Writer, at time.Time, updates []Seats) (seq uint64, ignored int, err error) {
	s, err := submitted(ctx, w, at, KindSeatsUpdate, "seats:", updates)
	if err != nil {
		return 0, 0, err
	}
	for _, o := range s.Outcomes {
		var r SeatsResult
		if err := o.DecodeResult(&r); err != nil {
			return 0, 0, err
		}
		ignored += r.Ignored
	}
	return s.Seq, ignored, nil
}

// SeatsUpdate applies a "seats.update" command: each event's counts are replaced when the
// update is newer than the stored one (Seats.Newer, enforced in SQL, so that every copy decides
// alike whatever it held), and ignored otherwise; within the command an event's newest update
// is the candidate and the others are ignored. Every event whose counts were written, and that
// the catalog holds, is announced with its new counts (changefeed.Event.Seats): its answers
// and the searches that filter by seats and could now take it are dropped.
func SeatsUpdate(vocab *Vocabulary) writelog.Handler {
	return func(ctx context.Context, tx pgx.Tx, seq uint64, cmd writelog.Command) (writelog.Outcome, error) {
		var updates []Seats
		if err := writelog.DecodePayload(cmd, &updates); err != nil {
			return writelog.Fail(err), nil
		}
		best := make(map[int64]Seats, len(updates))
		for _, u := range updates {
			if b, ok := best[u.EventID]; !ok || u.Newer(b) {
				best[u.EventID] = u
			}
		}
		ids := make([]int64, 0, len(best))
		for id := range best {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		ws, cs, asOf := make([]int32, len(ids)), make([]int32, len(ids)), make([]time.Time, len(ids))
		for i, id := range ids {
			b := best[id]
			ws[i], cs[i], asOf[i] = int32(b.WheelchairSpaces), int32(b.CompanionSeats), b.AsOf
		}
		// A generic plan: the statement's plan does not depend on its values, and planning it
		// weighed every index of event_accessibility (0.3-0.6 ms a command, more than it ran
		// for 10 updates; cmd/dostupno bench-seats). Only a copy that announces its changes
		// reads the events' filters for them (random pages of event_accessibility, a lookup per
		// update); another copy answers the same rows without them.
		tail := seatsWritten
		if writelog.Announces(ctx) {
			tail = seatsAnnounced
		}
		rows, br, err := pgdb.QueryGeneric(ctx, tx, seatsUpsert+tail, ids, ws, cs, asOf, int64(seq))
		defer br.Close() //nolint:errcheck // closed below; this one is for the early returns
		if err != nil {
			return writelog.Outcome{}, fmt.Errorf("update seats: %w", err)
		}
		var (
			e         changefeed.Event
			n         changefeed.Seats
			city, cat *string
			starts    *time.Time
			yes, excl []int16
			written   int
			change    = changefeed.Change{Seq: seq}
		)
		if _, err := pgx.ForEachRow(rows, []any{&e.ID, &n.WheelchairSpaces, &n.CompanionSeats, &city, &cat,
			&starts, &yes, &excl}, func() error {
			written++
			if city == nil {
				return nil // an event the catalog does not hold yet is in no answer
			}
			seats := n
			change.Events = append(change.Events, changefeed.Event{ID: e.ID, City: *city, Category: *cat,
				StartsAt: starts.UTC(), Constraints: vocab.CodesOf(yes), Excluded: vocab.CodesOf(excl), Seats: &seats})
			return nil
		}); err != nil {
			return writelog.Outcome{}, fmt.Errorf("update seats: %w", err)
		}
		if err := br.Close(); err != nil {
			return writelog.Outcome{}, fmt.Errorf("update seats: %w", err)
		}
		return writelog.Succeed(SeatsResult{Count: len(updates), Ignored: len(updates) - written}, change)
	}
}

// seatsUpsert writes the counts of a seats.update (SeatsUpdate) and names the rows written;
// seatsAnnounced or seatsWritten follows it.
const seatsUpsert = `
	WITH written AS (
		INSERT INTO event_availability AS s (event_id, wheelchair_spaces, companion_seats, as_of, version)
		SELECT u.*, $5 FROM unnest($1::bigint[], $2::int[], $3::int[], $4::timestamptz[]) AS u
		ON CONFLICT (event_id) DO UPDATE SET wheelchair_spaces = excluded.wheelchair_spaces,
			companion_seats = excluded.companion_seats, as_of = excluded.as_of, version = excluded.version
		WHERE excluded.as_of > s.as_of OR (excluded.as_of = s.as_of
			AND (excluded.wheelchair_spaces, excluded.companion_seats) < (s.wheelchair_spaces, s.companion_seats))
		RETURNING s.event_id, s.wheelchair_spaces, s.companion_seats)`

// seatsAnnounced answers each written row with its event's filters (null when the catalog
// does not hold the event), for the announcement.
const seatsAnnounced = `
	SELECT w.event_id, w.wheelchair_spaces, w.companion_seats, a.city, a.category, a.starts_at,
		a.constraint_ids, a.excluded_ids
	FROM written w LEFT JOIN event_accessibility a ON a.event_id = w.event_id
	ORDER BY w.event_id`

// seatsWritten answers each written row without its event's filters.
const seatsWritten = `
	SELECT w.event_id, w.wheelchair_spaces, w.companion_seats, NULL::text, NULL::text, NULL::timestamptz,
		NULL::smallint[], NULL::smallint[]
	FROM written w`
