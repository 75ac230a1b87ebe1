package function

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	getevent "github.com/dostupno/dostupno/functions/get-event"
	searchevents "github.com/dostupno/dostupno/functions/search-events"
	upsertevent "github.com/dostupno/dostupno/functions/upsert-event"
	"github.com/dostupno/dostupno/shared/apitest"
	"github.com/dostupno/dostupno/shared/config"
)

type fixture struct {
	*apitest.Env
	admin, user string // Authorization header values
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	e := apitest.New(t, Name, New, apitest.WithNATS())
	return &fixture{Env: e, admin: apitest.Bearer(e.Admin), user: apitest.Bearer(e.User)}
}

// venue is venue id as upsert-venue takes it, with facts (a JSON object's members, "" for none).
func venue(id int64, name, facts string) string {
	v := fmt.Sprintf(`{"id":%d,"name":%q,"address":"Театральная пл., 1","city":"moscow","lat":55.76,"lon":37.62`, id, name)
	if facts != "" {
		v += `,"accessibility":{` + facts + `}`
	}
	return v + "}"
}

func (f *fixture) put(t testing.TB, ct, body string) (int, map[string]any) {
	t.Helper()
	resp, b := f.Do(t, http.MethodPut, "/", body, "Content-Type", ct, "Authorization", f.admin)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("got %q, want JSON", b)
	}
	return resp.StatusCode, out
}

func (f *fixture) stored(t *testing.T, id int64) (name, sheet string, version int64) {
	t.Helper()
	err := f.Pool.QueryRow(context.Background(), `SELECT v.name, coalesce(a.sheet::text, ''), coalesce(a.version, 0)
		FROM venues v LEFT JOIN venue_accessibility a ON a.venue_id = v.id WHERE v.id = $1`, id).Scan(&name, &sheet, &version)
	if err != nil {
		t.Fatalf("venue %d: %v", id, err)
	}
	return name, sheet, version
}

func TestUpsertVenue(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	status, out := f.put(t, "application/json", venue(45, "Большой театр",
		`"step_free_entrance":{"value":"yes","source":"venue_survey","verified_at":"2026-05-01"},"accessible_parking":"not_applicable","elevator":"unknown"`))
	if status != 200 || out["id"] != float64(45) || out["version"] != float64(1) {
		t.Fatalf("got %d %v, want 200 id 45 version 1", status, out)
	}
	name, sheet, version := f.stored(t, 45)
	if want := `{"accessible_parking": "not_applicable", "step_free_entrance": {"value": "yes", "source": "venue_survey", "verified_at": "2026-05-01"}}`; name != "Большой театр" || sheet != want || version != 1 {
		t.Fatalf("got %q %s v%d, want the venue with its facts (unknown left out) at version 1", name, sheet, version)
	}
	// Without accessibility the facts stay; NDJSON writes many.
	status, out = f.put(t, "application/x-ndjson", venue(45, "Большой театр, историческая сцена", "")+"\n\n"+venue(46, "Малый театр", `"elevator":"no"`)+"\n")
	if status != 200 || out["count"] != float64(2) || out["version"] != float64(2) {
		t.Fatalf("got %d %v, want 200 count 2 version 2", status, out)
	}
	if name, sheet, version := f.stored(t, 45); name != "Большой театр, историческая сцена" || !strings.Contains(sheet, "venue_survey") || version != 1 {
		t.Fatalf("got %q %s v%d, want the rename with the facts kept (their version too)", name, sheet, version)
	}
	if _, sheet, _ := f.stored(t, 46); sheet != `{"elevator": "no"}` {
		t.Fatalf("got %s, want venue 46's facts", sheet)
	}
}

// A value the checks let through but the database refuses (a NUL character in a name,
// SQLSTATE 22021) fails the command in the applier, the same in every copy: the contract's 400
// with what the copy recorded, nothing of the command stored (the good venue beside it
// neither), and the next write goes on.
func TestUpsertVenueRefusedByTheDatabase(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	nul := strings.Replace(venue(7, "x", `"elevator":"yes"`), `"x"`, `"before\u0000after"`, 1)
	resp, b := f.Do(t, http.MethodPut, "/", venue(8, "fine", "")+"\n"+nul, "Content-Type", "application/x-ndjson", "Authorization", f.admin)
	if e := apitest.WantError(t, resp, b, 400, "invalid_argument"); !strings.Contains(e.Message, "SQLSTATE 22021") {
		t.Fatalf("got %q, want the refusal the copy recorded", e.Message)
	}
	var n int
	if err := f.Pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM venues) + (SELECT count(*) FROM venue_accessibility)`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("got %d venue rows (%v), want none of the refused command", n, err)
	}
	if status, out := f.put(t, "application/json", venue(9, "После", "")); status != 200 {
		t.Fatalf("got %d %v after the refusal, want 200", status, out)
	}
}

func TestUpsertVenueRefuses(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.WantRefusals(t, map[string]string{"admin": f.admin, "user": f.user, "ticketing": apitest.Bearer(f.Ticketing(t))}, []apitest.Refusal{
		{Name: "ErrAnonymous", Method: "PUT", ContentType: "application/json", Body: venue(1, "A", ""), Status: 401, Code: "unauthenticated"},
		{Name: "ErrUser", Method: "PUT", ContentType: "application/json", Auth: "user", Body: venue(1, "A", ""), Status: 403, Code: "forbidden"},
		{Name: "ErrTicketing", Method: "PUT", ContentType: "application/json", Auth: "ticketing", Body: venue(1, "A", ""), Status: 403, Code: "forbidden"},
		{Name: "ErrMethod", Method: "POST", ContentType: "application/json", Auth: "admin", Body: venue(1, "A", ""), Status: 405, Code: "method_not_allowed"},
		{Name: "ErrMediaType", Method: "PUT", ContentType: "text/csv", Auth: "admin", Body: "1,2", Status: 415, Code: "unsupported_media_type"},
		{Name: "ErrUnknownField", Method: "PUT", ContentType: "application/json", Auth: "admin", Body: strings.Replace(venue(1, "A", ""), `{"id"`, `{"capacity":1,"id"`, 1), Status: 400, Code: "invalid_argument", Field: "capacity"},
		{Name: "ErrCity", Method: "PUT", ContentType: "application/json", Auth: "admin", Body: strings.Replace(venue(1, "A", ""), `"moscow"`, `"Москва"`, 1), Status: 400, Code: "invalid_argument", Field: "city"},
		{Name: "ErrNoCity", Method: "PUT", ContentType: "application/json", Auth: "admin", Body: `{"id":1,"name":"A"}`, Status: 400, Code: "invalid_argument", Field: "city"},
		{Name: "ErrCode", Method: "PUT", ContentType: "application/json", Auth: "admin", Body: venue(1, "A", `"lift":"yes"`), Status: 400, Code: "invalid_argument", Field: "accessibility.lift"},
		{Name: "ErrValue", Method: "PUT", ContentType: "application/json", Auth: "admin", Body: venue(1, "A", `"elevator":"partly"`), Status: 400, Code: "invalid_argument", Field: "accessibility.elevator"},
		{Name: "ErrSource", Method: "PUT", ContentType: "application/json", Auth: "admin", Body: venue(1, "A", `"elevator":{"value":"yes","source":"Survey 2026"}`), Status: 400, Code: "invalid_argument", Field: "accessibility.elevator.source"},
		{Name: "ErrVerifiedAt", Method: "PUT", ContentType: "application/json", Auth: "admin", Body: venue(1, "A", `"elevator":{"value":"yes","verified_at":"May 2026"}`), Status: 400, Code: "invalid_argument", Field: "accessibility.elevator.verified_at"},
		{Name: "ErrFactField", Method: "PUT", ContentType: "application/json", Auth: "admin", Body: venue(1, "A", `"elevator":{"value":"yes","by":"me"}`), Status: 400, Code: "invalid_argument", Field: "by"},
		{Name: "ErrTooLarge", Method: "PUT", ContentType: "application/json", Auth: "admin", Body: `{"name":"` + strings.Repeat("a", 70<<10) + `"}`, Status: 413, Code: "payload_too_large"},
		{Name: "ErrNDJSONLine", Method: "PUT", ContentType: "application/x-ndjson", Auth: "admin", Body: venue(1, "A", "") + "\n" + venue(0, "B", ""), Status: 400, Code: "invalid_argument", Field: "id", Message: "line 2: "},
		{Name: "ErrNDJSONEmpty", Method: "PUT", ContentType: "application/x-ndjson", Auth: "admin", Body: "\n", Status: 400, Code: "invalid_argument"},
	})
	if n := f.LastSeq(t); n != 0 {
		t.Fatalf("got %d commands published, want none for refused requests", n)
	}
}

// deployment is the functions of one deployment on one copy and NATS namespace: upsert-venue
// (the fixture), upsert-event, and get-event and search-events with their caches.
type deployment struct {
	*fixture
	events, get, search *apitest.Env
}

func newDeployment(t testing.TB) *deployment {
	t.Helper()
	f := newFixture(t)
	cached := apitest.WithConfig(func(c *config.Config) { c.CacheEntries, c.CacheTTL = 1000, time.Minute })
	return &deployment{fixture: f,
		events: apitest.New(t, upsertevent.Name, upsertevent.New, apitest.WithConfigOf(f.Env)),
		get:    apitest.New(t, getevent.Name, getevent.New, apitest.WithConfigOf(f.Env), cached),
		search: apitest.New(t, searchevents.Name, searchevents.New, apitest.WithConfigOf(f.Env), cached),
	}
}

// event is an NDJSON line of an event at venue, in December 2030, with its own answers.
func event(id, venue int64, venueName, own string) string {
	return fmt.Sprintf(`{"id":%d,"title":"Спектакль %d","category":"theatre","city":"moscow","venue":{"id":%d,"name":%q},`+
		`"starts_at":"2030-12-%02dT19:00:00+03:00","timezone":"Europe/Moscow","accessibility":{%s}}`, id, id, venue, venueName, id, own)
}

func (d *deployment) putEvents(t *testing.T, lines ...string) {
	t.Helper()
	resp, b := d.events.Do(t, http.MethodPut, "/", strings.Join(lines, "\n"), "Content-Type", "application/x-ndjson", "Authorization", d.admin)
	if resp.StatusCode != 200 {
		t.Fatalf("upsert events: got %d %s", resp.StatusCode, b)
	}
}

// ids asks search-events (through its cache) and returns the ids, the unknown codes of each
// and X-Cache.
func (d *deployment) ids(t testing.TB, query string) ([]int64, map[int64][]string, string) {
	t.Helper()
	resp, b := d.search.Do(t, http.MethodGet, "/?"+query, nil)
	var p struct {
		Items []struct {
			ID      int64     `json:"id"`
			Unknown *[]string `json:"unknown"`
		} `json:"items"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(b, &p) != nil {
		t.Fatalf("search ?%s: got %d %s", query, resp.StatusCode, b)
	}
	var ids []int64
	unknown := map[int64][]string{}
	for _, it := range p.Items {
		ids = append(ids, it.ID)
		if it.Unknown != nil {
			unknown[it.ID] = *it.Unknown
		}
	}
	return ids, unknown, resp.Header.Get("X-Cache")
}

// sheet asks get-event (through its cache) for event id's answer and origin for code.
func (d *deployment) sheet(t testing.TB, id int64, code string) (venue, value, from, cache string) {
	t.Helper()
	resp, b := d.get.Do(t, http.MethodGet, fmt.Sprintf("/%d", id), nil)
	var e struct {
		Venue struct {
			Name string `json:"name"`
		} `json:"venue"`
		Details map[string]struct{ Value, From string } `json:"accessibility_details"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(b, &e) != nil {
		t.Fatalf("get-event %d: got %d %s", id, resp.StatusCode, b)
	}
	return e.Venue.Name, e.Details[code].Value, e.Details[code].From, resp.Header.Get("X-Cache")
}

// A venue's change reaches every event there: the index (strict and lenient searches) and
// every cached answer of every instance, not only those of events named in a write.
func TestVenueChangeReachesEveryCachedAnswer(t *testing.T) {
	t.Parallel()
	d := newDeployment(t)
	status, _ := d.put(t, "application/json", venue(45, "Большой театр", `"step_free_entrance":"yes","elevator":"no"`))
	if status != 200 {
		t.Fatalf("got %d, want 200", status)
	}
	d.putEvents(t, event(1, 45, "Большой театр", ""), event(2, 45, "Большой театр", `"step_free_entrance":"no"`),
		event(3, 46, "Малый театр", ""))
	// The events are in December 2030.
	const strict, lenient = "from=2030-11-01T00:00:00Z&constraints=step_free_entrance", "from=2030-11-01T00:00:00Z&constraints=elevator&match=lenient"
	for _, q := range []string{strict, lenient} {
		d.ids(t, q) // cached from now on
	}
	if ids, _, cache := d.ids(t, strict); !slices.Equal(ids, []int64{1}) || cache != "hit" {
		t.Fatalf("got %v (%s), want [1] from the cache", ids, cache)
	}
	if ids, _, cache := d.ids(t, lenient); !slices.Equal(ids, []int64{3}) || cache != "hit" {
		t.Fatalf("got %v (%s) for the lenient question, want [3] from the cache (1 and 2 have no lift)", ids, cache)
	}
	if _, v, from, _ := d.sheet(t, 1, "elevator"); v != "no" || from != "venue" {
		t.Fatalf("got elevator %s from %s, want no from the venue", v, from)
	}
	d.sheet(t, 1, "elevator") // cached

	// The lift is repaired, the entrance surveyed again: step-free no longer.
	if status, _ := d.put(t, "application/json", venue(45, "Большой театр",
		`"step_free_entrance":{"value":"no","source":"visitor_report"},"elevator":"yes"`)); status != 200 {
		t.Fatalf("got %d, want 200", status)
	}
	apitest.Eventually(t, 10*time.Second, "the cached strict answer", func() (bool, string) {
		ids, _, cache := d.ids(t, strict)
		return len(ids) == 0, fmt.Sprintf("%v (%s)", ids, cache)
	})
	apitest.Eventually(t, 10*time.Second, "the cached lenient answer", func() (bool, string) {
		ids, unknown, cache := d.ids(t, lenient)
		return slices.Equal(ids, []int64{1, 2, 3}) && len(unknown[1]) == 0 && slices.Equal(unknown[3], []string{"elevator"}),
			fmt.Sprintf("%v %v (%s)", ids, unknown, cache)
	})
	apitest.Eventually(t, 10*time.Second, "event 1's cached page", func() (bool, string) {
		_, v, from, cache := d.sheet(t, 1, "elevator")
		return v == "yes" && from == "venue", fmt.Sprintf("%s from %s (%s)", v, from, cache)
	})
}

// A venue renamed through one event's upsert reaches the cached answers of the other events
// at that venue, which the write did not name.
func TestRenameThroughAnEventReachesTheOthers(t *testing.T) {
	t.Parallel()
	d := newDeployment(t)
	d.putEvents(t, event(1, 45, "Зал", ""), event(2, 45, "Зал", ""))
	d.sheet(t, 2, "elevator")
	if name, _, _, cache := d.sheet(t, 2, "elevator"); name != "Зал" || cache != "hit" {
		t.Fatalf("got %q (%s), want Зал from the cache", name, cache)
	}
	d.putEvents(t, event(1, 45, "Зал имени Чайковского", ""))
	apitest.Eventually(t, 10*time.Second, "event 2's cached page", func() (bool, string) {
		name, _, _, cache := d.sheet(t, 2, "elevator")
		return name == "Зал имени Чайковского", fmt.Sprintf("%q (%s)", name, cache)
	})
}
