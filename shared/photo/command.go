package photo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/changefeed"
	"github.com/dostupno/dostupno/shared/pgdb"
	"github.com/dostupno/dostupno/shared/writelog"
)

// Kind is the write-log command that records a stored photo on its event.
const Kind = "photo.add"

// Added is the payload of a photo.add command.
type Added struct {
	EventID     int64  `json:"event_id"`
	Key         string `json:"key"`
	ContentType string `json:"content_type"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
	Bytes       int64  `json:"bytes"`
}

// AddResult is the result of an applied photo.add.
type AddResult struct {
	EventID  int64  `json:"event_id"`
	Key      string `json:"key"`
	Position int    `json:"position"`
}

// CommandKey is the write log's business key of adding the photo key.
func CommandKey(key string) string { return "photo:" + key }

// Kinds are the photo command kinds.
func Kinds() []writelog.Kind { return []writelog.Kind{{Name: Kind, Apply: Apply}} }

// Add records the stored photo a on its event through w (with time at) and returns once this
// copy applied it; an event the copy does not hold is not_found.
func Add(ctx context.Context, w *writelog.Writer, at time.Time, a Added) (AddResult, error) {
	s, err := w.Submit(ctx, at, writelog.Write{Kind: Kind, Key: CommandKey(a.Key), Payload: a})
	if err != nil {
		return AddResult{}, err
	}
	var res AddResult
	if err := s.Outcomes[0].DecodeResult(&res); err != nil {
		return AddResult{}, err
	}
	return res, nil
}

// Apply is the write-log handler of photo.add: it appends the photo to its event (position =
// last + 1, version = the command's sequence). The same photo added again changes nothing;
// an event that does not exist in this copy rejects the command with not_found. The change
// names the event, so cached answers that show it (get-event, a search's cover_url) drop.
func Apply(ctx context.Context, tx pgx.Tx, seq uint64, cmd writelog.Command) (writelog.Outcome, error) {
	var a Added
	if err := writelog.DecodePayload(cmd, &a); err != nil {
		return writelog.Fail(err), nil
	}
	if a.EventID <= 0 || a.Key == "" || a.Width <= 0 || a.Height <= 0 || a.Bytes <= 0 || a.ContentType == "" {
		return writelog.Fail(fmt.Errorf("incomplete photo.add payload %+v", a)), nil
	}
	ev, err := lockEvent(ctx, tx, a.EventID)
	if errors.Is(err, pgx.ErrNoRows) {
		return writelog.Reject(apperr.NotFound, "event %d not found", a.EventID), nil
	}
	if err != nil {
		return writelog.Outcome{}, err
	}
	res := AddResult{EventID: a.EventID, Key: a.Key}
	err = tx.QueryRow(ctx, `
		INSERT INTO event_photos (event_id, object_key, content_type, width, height, bytes, position, version)
		SELECT $1, $2, $3, $4, $5, $6, COALESCE(MAX(position), 0) + 1, $7
		FROM event_photos WHERE event_id = $1
		ON CONFLICT (event_id, object_key) DO NOTHING
		RETURNING position`,
		a.EventID, a.Key, a.ContentType, a.Width, a.Height, a.Bytes, int64(seq)).Scan(&res.Position)
	var change changefeed.Change
	switch {
	case errors.Is(err, pgx.ErrNoRows): // already there: nothing changes
		if err := tx.QueryRow(ctx, `SELECT position FROM event_photos WHERE event_id = $1 AND object_key = $2`,
			a.EventID, a.Key).Scan(&res.Position); err != nil {
			return writelog.Outcome{}, fmt.Errorf("read photo %s: %w", a.Key, err)
		}
	case err != nil:
		return writelog.Outcome{}, fmt.Errorf("add photo %s: %w", a.Key, err)
	default:
		change.Events = []changefeed.Event{ev}
	}
	return writelog.Succeed(res, change)
}

// lockEvent locks event id (so that concurrent appliers of other commands cannot change it
// under the photo) and returns its state as a change announces it.
func lockEvent(ctx context.Context, tx pgx.Tx, id int64) (changefeed.Event, error) {
	e := changefeed.Event{ID: id}
	err := tx.QueryRow(ctx, `
		SELECT e.city, e.category, e.starts_at,
		       ARRAY(SELECT c.code FROM accessibility_constraints c
		             WHERE c.id = ANY(a.constraint_ids) ORDER BY c.position),
		       ARRAY(SELECT c.code FROM accessibility_constraints c
		             WHERE c.id = ANY(a.excluded_ids) ORDER BY c.position)
		FROM events e LEFT JOIN event_accessibility a ON a.event_id = e.id
		WHERE e.id = $1
		FOR UPDATE OF e`, id).Scan(&e.City, &e.Category, &e.StartsAt, &e.Constraints, &e.Excluded)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return e, fmt.Errorf("lock event %d: %w", id, err)
	}
	return e, err
}

// EventExists reports whether event id exists in db (the primary copy, before storing).
func EventExists(ctx context.Context, db pgdb.DBTX, id int64) (bool, error) {
	var ok bool
	if err := db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM events WHERE id = $1)`, id).Scan(&ok); err != nil {
		return false, fmt.Errorf("look up event %d: %w", id, err)
	}
	return ok, nil
}
