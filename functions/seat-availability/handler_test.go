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

// refusal is apitest.Refusal, whose cases are written without field names here.
type refusal struct {
	Name, Method, CT, Auth, Body string
	Status                       int
	Code, Field, Msg             string
}

func TestSeatAvailabilityRefuses(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	future := fmt.Sprintf(`{"event_id":1,"wheelchair_spaces":1,"companion_seats":1,"as_of":%q}`, time.Now().Add(time.Hour).Format(time.RFC3339))
	many := strings.Repeat(update(1, 1, 1, 1)+"\n", MaxNDJSONLines+1)
	cases := []refusal{
		{"ErrAnonymous", "PUT", "application/json", "", update(1, 1, 1, 1), 401, "unauthenticated", "", ""},
		{"ErrUser", "PUT", "application/json", "user", update(1, 1, 1, 1), 403, "forbidden", "", ""},
		{"ErrGarbageToken", "PUT", "application/json", "Bearer garbage", update(1, 1, 1, 1), 401, "unauthenticated", "", ""},
		{"ErrMethod", "POST", "application/json", "ticketing", update(1, 1, 1, 1), 405, "method_not_allowed", "", ""},
		{"ErrMediaType", "PUT", "text/csv", "ticketing", "1,2", 415, "unsupported_media_type", "", ""},
		{"ErrUnknownField", "PUT", "application/json", "ticketing", strings.Replace(update(1, 1, 1, 1), `{`, `{"seats":1,`, 1), 400, "invalid_argument", "seats", ""},
		{"ErrBrokenJSON", "PUT", "application/json", "ticketing", `{"event_id":1,`, 400, "invalid_argument", "", ""},
		{"ErrEventID", "PUT", "application/json", "ticketing", update(0, 1, 1, 1), 400, "invalid_argument", "event_id", ""},
		{"ErrNegative", "PUT", "application/json", "ticketing", update(1, -1, 1, 1), 400, "invalid_argument", "wheelchair_spaces", ""},
		{"ErrHuge", "PUT", "application/json", "ticketing", update(1, 1, 1<<40, 1), 400, "invalid_argument", "companion_seats", ""},
		{"ErrFraction", "PUT", "application/json", "ticketing", strings.Replace(update(1, 1, 1, 1), `"wheelchair_spaces":1`, `"wheelchair_spaces":1.5`, 1), 400, "invalid_argument", "wheelchair_spaces", ""},
		{"ErrMissingCount", "PUT", "application/json", "ticketing", `{"event_id":1,"wheelchair_spaces":1,"as_of":"2026-11-20T12:00:00Z"}`, 400, "invalid_argument", "companion_seats", ""},
		{"ErrMissingAsOf", "PUT", "application/json", "ticketing", `{"event_id":1,"wheelchair_spaces":1,"companion_seats":0}`, 400, "invalid_argument", "as_of", ""},
		{"ErrAsOf", "PUT", "application/json", "ticketing", strings.Replace(update(1, 1, 1, 1), "2026-11-20T12:00:01Z", "20 Nov 2026", 1), 400, "invalid_argument", "as_of", ""},
		{"ErrAsOfFuture", "PUT", "application/json", "ticketing", future, 400, "invalid_argument", "as_of", ""},
		{"ErrTooLarge", "PUT", "application/json", "ticketing", `{"event_id":` + strings.Repeat(" ", 5<<10) + `1}`, 413, "payload_too_large", "", ""},
		{"ErrNDJSONLine", "PUT", "application/x-ndjson", "ticketing", update(1, 1, 1, 1) + "\n" + update(2, -1, 1, 1), 400, "invalid_argument", "wheelchair_spaces", "line 2: "},
		{"ErrNDJSONEmpty", "PUT", "application/x-ndjson", "ticketing", "\n", 400, "invalid_argument", "", ""},
		{"ErrNDJSONTooMany", "PUT", "application/x-ndjson", "ticketing", many, 413, "payload_too_large", "", ""},
		{"ErrNDJSONTooLarge", "PUT", "application/x-ndjson", "ticketing", strings.Repeat(" ", MaxNDJSONBody+1), 413, "payload_too_large", "", ""},
	}
	rs := make([]apitest.Refusal, len(cases))
	for i, c := range cases {
		rs[i] = apitest.Refusal(c)
	}
	f.Refuses(t, map[string]string{"ticketing": f.ticketing, "user": f.user}, rs)
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
