package function

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dostupno/dostupno/shared/apitest"
)

type fixture struct {
	*apitest.Env
	admin, user, ticketing string // Authorization header values
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	e := apitest.New(t, Name, New, apitest.WithNATS())
	return &fixture{Env: e, admin: apitest.Bearer(e.Admin), user: apitest.Bearer(e.User), ticketing: apitest.Bearer(e.Ticketing(t))}
}

// base is the time the tests' counts are taken from.
var base = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// update is an update as seat-availability takes it, counted sec seconds after base.
func update(event int64, wheelchair, companion, sec int) string {
	return fmt.Sprintf(`{"event_id":%d,"wheelchair_spaces":%d,"companion_seats":%d,"as_of":%q}`,
		event, wheelchair, companion, base.Add(time.Duration(sec)*time.Second).Format(time.RFC3339Nano))
}

type written struct {
	Count   int    `json:"count"`
	Ignored int    `json:"ignored"`
	Version uint64 `json:"version"`
}

// put sends body as ct with the ticketing token and wants 200.
func (f *fixture) put(t testing.TB, ct string, lines ...string) written {
	t.Helper()
	resp, b := f.Do(t, http.MethodPut, "/", strings.Join(lines, "\n"), "Content-Type", ct, "Authorization", f.ticketing)
	var w written
	if resp.StatusCode != 200 || json.Unmarshal(b, &w) != nil {
		t.Fatalf("got %d %s, want 200 {count, ignored, version}", resp.StatusCode, b)
	}
	return w
}

// stored is event id's row: its counts and as_of (seconds after base), or ok false.
func (f *fixture) stored(t testing.TB, id int64) (wheelchair, companion, sec int, ok bool) {
	t.Helper()
	var at time.Time
	err := f.Pool.QueryRow(context.Background(), `SELECT wheelchair_spaces, companion_seats, as_of FROM event_availability WHERE event_id = $1`, id).
		Scan(&wheelchair, &companion, &at)
	if err != nil {
		return 0, 0, 0, false
	}
	return wheelchair, companion, int(at.Sub(base) / time.Second), true
}

func TestSeatAvailability(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if w := f.put(t, "application/json", update(7, 3, 2, 10)); w.Count != 1 || w.Ignored != 0 || w.Version != 1 {
		t.Fatalf("got %+v, want count 1, ignored 0, version 1", w)
	}
	if ws, cs, sec, ok := f.stored(t, 7); !ok || ws != 3 || cs != 2 || sec != 10 {
		t.Fatalf("got %d %d @%d (%v), want 3 2 @10", ws, cs, sec, ok)
	}
	// An older count (redelivered, or overtaken by a newer sale) is ignored, and so is the
	// same one again; a newer one wins; the admin may write too.
	if w := f.put(t, "application/json", update(7, 5, 5, 9)); w.Ignored != 1 {
		t.Fatalf("got %+v, want the older count ignored", w)
	}
	if w := f.put(t, "application/json", update(7, 3, 2, 10)); w.Ignored != 1 {
		t.Fatalf("got %+v, want the same count again ignored", w)
	}
	resp, b := f.Do(t, http.MethodPut, "/", update(7, 2, 2, 11), "Content-Type", "application/json", "Authorization", f.admin)
	if resp.StatusCode != 200 {
		t.Fatalf("admin: got %d %s, want 200", resp.StatusCode, b)
	}
	if ws, _, sec, _ := f.stored(t, 7); ws != 2 || sec != 11 {
		t.Fatalf("got %d @%d, want the admin's newer count 2 @11", ws, sec)
	}
	// NDJSON: within a request an event's newest count wins, whatever the order of the lines;
	// of two counts at the same time, the smaller; an event the catalog does not hold yet is
	// stored for when it arrives.
	w := f.put(t, "application/x-ndjson", update(7, 0, 1, 30), update(7, 4, 4, 20), "", update(8, 6, 1, 5), update(8, 5, 9, 5),
		update(9, 1, 1, 1), update(7, 9, 9, 3))
	if w.Count != 6 || w.Ignored != 3 || w.Version != 5 {
		t.Fatalf("got %+v, want count 6, ignored 3 (7 @20 and @3, 8's larger), version 5", w)
	}
	for _, c := range []struct {
		id                 int64
		ws, cs, sec        int
		wantOK             bool
		whatItSaysOfTheRow string
	}{{7, 0, 1, 30, true, "the newest"}, {8, 5, 9, 5, true, "the smaller at the same time"}, {9, 1, 1, 1, true, "stored though unknown"}} {
		if ws, cs, sec, ok := f.stored(t, c.id); ok != c.wantOK || ws != c.ws || cs != c.cs || sec != c.sec {
			t.Errorf("event %d: got %d %d @%d, want %s: %d %d @%d", c.id, ws, cs, sec, c.whatItSaysOfTheRow, c.ws, c.cs, c.sec)
		}
	}
	// Applied in the other order, the same counts give the same rows.
	if w := f.put(t, "application/x-ndjson", update(8, 5, 9, 5), update(8, 6, 1, 5)); w.Ignored != 2 {
		t.Fatalf("got %+v, want both ignored", w)
	}
}

func TestSeatAvailabilityRefuses(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	future := fmt.Sprintf(`{"event_id":1,"wheelchair_spaces":1,"companion_seats":1,"as_of":%q}`, time.Now().Add(time.Hour).Format(time.RFC3339))
	many := strings.Repeat(update(1, 1, 1, 1)+"\n", MaxNDJSONLines+1)
	cases := []apitest.Refusal{
		{Name: "ErrAnonymous", Method: "PUT", ContentType: "application/json", Body: update(1, 1, 1, 1), Status: 401, Code: "unauthenticated"},
		{Name: "ErrUser", Method: "PUT", ContentType: "application/json", Auth: "user", Body: update(1, 1, 1, 1), Status: 403, Code: "forbidden"},
		{Name: "ErrGarbageToken", Method: "PUT", ContentType: "application/json", Auth: "Bearer garbage", Body: update(1, 1, 1, 1), Status: 401, Code: "unauthenticated"},
		{Name: "ErrMethod", Method: "POST", ContentType: "application/json", Auth: "ticketing", Body: update(1, 1, 1, 1), Status: 405, Code: "method_not_allowed"},
		{Name: "ErrMediaType", Method: "PUT", ContentType: "text/csv", Auth: "ticketing", Body: "1,2", Status: 415, Code: "unsupported_media_type"},
		{Name: "ErrUnknownField", Method: "PUT", ContentType: "application/json", Auth: "ticketing", Body: strings.Replace(update(1, 1, 1, 1), `{`, `{"seats":1,`, 1), Status: 400, Code: "invalid_argument", Field: "seats"},
		{Name: "ErrBrokenJSON", Method: "PUT", ContentType: "application/json", Auth: "ticketing", Body: `{"event_id":1,`, Status: 400, Code: "invalid_argument"},
		{Name: "ErrEventID", Method: "PUT", ContentType: "application/json", Auth: "ticketing", Body: update(0, 1, 1, 1), Status: 400, Code: "invalid_argument", Field: "event_id"},
		{Name: "ErrNegative", Method: "PUT", ContentType: "application/json", Auth: "ticketing", Body: update(1, -1, 1, 1), Status: 400, Code: "invalid_argument", Field: "wheelchair_spaces"},
		{Name: "ErrHuge", Method: "PUT", ContentType: "application/json", Auth: "ticketing", Body: update(1, 1, 1<<40, 1), Status: 400, Code: "invalid_argument", Field: "companion_seats"},
		{Name: "ErrFraction", Method: "PUT", ContentType: "application/json", Auth: "ticketing", Body: strings.Replace(update(1, 1, 1, 1), `"wheelchair_spaces":1`, `"wheelchair_spaces":1.5`, 1), Status: 400, Code: "invalid_argument", Field: "wheelchair_spaces"},
		{Name: "ErrMissingCount", Method: "PUT", ContentType: "application/json", Auth: "ticketing", Body: `{"event_id":1,"wheelchair_spaces":1,"as_of":"2026-11-20T12:00:00Z"}`, Status: 400, Code: "invalid_argument", Field: "companion_seats"},
		{Name: "ErrMissingAsOf", Method: "PUT", ContentType: "application/json", Auth: "ticketing", Body: `{"event_id":1,"wheelchair_spaces":1,"companion_seats":0}`, Status: 400, Code: "invalid_argument", Field: "as_of"},
		{Name: "ErrAsOf", Method: "PUT", ContentType: "application/json", Auth: "ticketing", Body: strings.Replace(update(1, 1, 1, 1), "2026-11-20T12:00:01Z", "20 Nov 2026", 1), Status: 400, Code: "invalid_argument", Field: "as_of"},
		{Name: "ErrAsOfAncient", Method: "PUT", ContentType: "application/json", Auth: "ticketing", Body: strings.Replace(update(1, 1, 1, 1), "2026-11-20", "1999-12-31", 1), Status: 400, Code: "invalid_argument", Field: "as_of"},
		{Name: "ErrAsOfFuture", Method: "PUT", ContentType: "application/json", Auth: "ticketing", Body: future, Status: 400, Code: "invalid_argument", Field: "as_of"},
		{Name: "ErrTooLarge", Method: "PUT", ContentType: "application/json", Auth: "ticketing", Body: `{"event_id":` + strings.Repeat(" ", 5<<10) + `1}`, Status: 413, Code: "payload_too_large"},
		{Name: "ErrNDJSONLine", Method: "PUT", ContentType: "application/x-ndjson", Auth: "ticketing", Body: update(1, 1, 1, 1) + "\n" + update(2, -1, 1, 1), Status: 400, Code: "invalid_argument", Field: "wheelchair_spaces", Message: "line 2: "},
		{Name: "ErrNDJSONEmpty", Method: "PUT", ContentType: "application/x-ndjson", Auth: "ticketing", Body: "\n", Status: 400, Code: "invalid_argument"},
		{Name: "ErrNDJSONTooMany", Method: "PUT", ContentType: "application/x-ndjson", Auth: "ticketing", Body: many, Status: 413, Code: "payload_too_large"},
		{Name: "ErrNDJSONTooLarge", Method: "PUT", ContentType: "application/x-ndjson", Auth: "ticketing", Body: strings.Repeat(" ", MaxNDJSONBody+1), Status: 413, Code: "payload_too_large"},
	}
	f.WantRefusals(t, map[string]string{"ticketing": f.ticketing, "user": f.user}, cases)
	if n := f.LastSeq(t); n != 0 {
		t.Fatalf("got %d commands published, want none for refused requests", n)
	}
}

// A ticketing token whose account lost the role (or whose password changed since) is refused.
func TestSeatAvailabilityRevokedToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if _, err := f.Pool.Exec(context.Background(), `UPDATE users SET role = 'user', token_version = token_version + 1 WHERE id = $1`, apitest.TicketingID); err != nil {
		t.Fatal(err)
	}
	resp, b := f.Do(t, http.MethodPut, "/", update(1, 1, 1, 1), "Content-Type", "application/json", "Authorization", f.ticketing)
	apitest.WantError(t, resp, b, 401, "unauthenticated")
}
