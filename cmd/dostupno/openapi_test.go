package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/gateway"
	"github.com/dostupno/dostupno/cmd/dostupno/internal/stack"
	"github.com/dostupno/dostupno/shared/apidoc"
	"github.com/dostupno/dostupno/shared/apitest"
	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/photo/phototest"
	"github.com/dostupno/dostupno/shared/token"
)

// notProvoked are the documented statuses that no request can provoke while the services
// behind the functions are healthy, with the reason each is left out of the coverage check.
// The 503s of a full password hashing queue are provoked (register, DELETE account).
var notProvoked = map[int]string{
	http.StatusInternalServerError: "internal: only a bug or a broken dependency answers it; a bad input never does",
	http.StatusServiceUnavailable:  "unavailable: needs Postgres, NATS or S3 down (or an unreadable jwt-public-key) behind a running function",
}

const (
	oaOrigin      = "https://app.example.ru" // allowed by the runner's CORS_ALLOWED_ORIGINS
	oaOtherOrigin = "https://evil.example.com"
	oaBadToken    = "Bearer not.a.token"
)

// conformance sends requests to the runner's router, checks every answer against the
// OpenAPI document and records which documented (operation, status) pairs were seen.
type conformance struct {
	t      *testing.T
	client *http.Client
	base   string
	ops    []apidoc.Operation
	seen   map[string]map[int]bool // "METHOD /path/{template}" -> statuses answered
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

// decode unmarshals the answer's body into v.
func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("got an undecodable %d answer %q: %v", r.status, r.body, err)
	}
}

// template returns the document's path template that path matches: a literal path first,
// else one whose {parameters} take the differing segments; "" for none.
func (c *conformance) template(path string) string {
	for _, op := range c.ops {
		if op.Path == path {
			return op.Path
		}
	}
	segs := strings.Split(path, "/")
	for _, op := range c.ops {
		tsegs := strings.Split(op.Path, "/")
		if len(tsegs) != len(segs) {
			continue
		}
		ok := true
		for i, ts := range tsegs {
			if strings.HasPrefix(ts, "{") && strings.HasSuffix(ts, "}") && segs[i] != "" {
				continue
			}
			if ts != segs[i] {
				ok = false
				break
			}
		}
		if ok {
			return op.Path
		}
	}
	return ""
}

func (c *conformance) mark(method, tmpl string, status int) {
	key := method + " " + tmpl
	if c.seen[key] == nil {
		c.seen[key] = map[int]bool{}
	}
	c.seen[key][status] = true
}

// do sends one request (headers as name, value pairs), wants status, and validates the
// answer against the document. A 405 to a method the path does not list counts as the 405
// of every operation of that path.
func (c *conformance) do(step string, want int, method, target string, body []byte, headers ...string) reply {
	c.t.Helper()
	r := c.send(step, want, method, target, body, headers...)
	if err := apidoc.ValidateResponse(method, target, r.status, r.header, r.body); err != nil {
		c.t.Errorf("%s: %s %s -> %d does not match openapi.yaml: %v", step, method, target, r.status, err)
		return r
	}
	path, _, _ := strings.Cut(target, "?")
	tmpl := c.template(path)
	if tmpl == "" {
		return r // an unlisted path of a function: the 404 convention, checked above
	}
	for _, op := range c.ops {
		if op.Path != tmpl || op.Method != method {
			continue
		}
		// ValidateResponse lets a 304 (and any answer to HEAD) through unchecked: the status
		// must still be one the operation lists.
		if !slices.Contains(op.Statuses, r.status) {
			c.t.Errorf("%s: %s %s -> %d: openapi.yaml lists %v for %s %s", step, method, target, r.status, op.Statuses, method, tmpl)
			return r
		}
		c.mark(method, tmpl, r.status)
		return r
	}
	if r.status == http.StatusMethodNotAllowed {
		for _, op := range c.ops {
			if op.Path == tmpl && slices.Contains(op.Statuses, http.StatusMethodNotAllowed) {
				c.mark(op.Method, tmpl, r.status)
			}
		}
	}
	return r
}

// send sends one request (headers as name, value pairs) and wants status; it does not
// validate the answer.
func (c *conformance) send(step string, want int, method, target string, body []byte, headers ...string) reply {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+target, rd)
	if err != nil {
		c.t.Fatalf("%s: %v", step, err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.client.Do(req)
	if err != nil {
		c.t.Fatalf("%s: %s %s: %v", step, method, target, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		c.t.Fatalf("%s: %s %s: read the answer: %v", step, method, target, err)
	}
	r := reply{status: resp.StatusCode, header: resp.Header, body: b}
	if r.status != want {
		c.t.Errorf("%s: %s %s: got %d %s, want %d", step, method, target, r.status, bytes.TrimSpace(b), want)
	}
	return r
}

// oaRunner serves every function of stack.yml as `up` does (the edge in front of the gateway
// router, without the connectors; each function with the secrets stack.yml lists for it and
// connected as its database role) on this test's own database, NATS namespace and bucket, and
// returns each function's Deps by name.
func oaRunner(t *testing.T) (base string, cfg config.Config, st *stack.Stack, rt *gateway.Router, deps map[string]*instance.Deps) {
	t.Helper()
	st = repoStack(t)
	deps = map[string]*instance.Deps{}
	tr := startTestRunner(t, st, runnerOptions{Edge: true, Runtime: runtime{Deps: deps}}, 0)
	return tr.URL, tr.Config, st, tr.Router, deps
}

// TestOpenAPIMatchesTheRunner drives the functions the local runner serves through HTTP and
// checks that the OpenAPI document lists exactly what they answer: every documented path and
// method is served, every function of stack.yml is documented, each answer matches its
// documented status, headers and body, and every documented status is answered by some
// request (but those of notProvoked).
func TestOpenAPIMatchesTheRunner(t *testing.T) {
	t.Parallel()
	start := time.Now()
	base, cfg, st, rt, deps := oaRunner(t)
	ops, err := apidoc.Operations()
	if err != nil {
		t.Fatal(err)
	}
	c := &conformance{t: t, client: &http.Client{Timeout: 30 * time.Second}, base: base, ops: ops, seen: map[string]map[int]bool{}}

	// The document and the stack name the same functions, and the router serves them all.
	served := map[string]bool{}
	for _, f := range rt.Functions() {
		served[f.Name] = true
	}
	documented := map[string]bool{}
	for _, op := range ops {
		if op.Function != "" {
			documented[op.Function] = true
			if !served[op.Function] {
				t.Errorf("%s %s: function %s is not served by the runner", op.Method, op.Path, op.Function)
			}
		}
	}
	for _, f := range st.Functions {
		if !documented[f.Name] {
			t.Errorf("stack.yml function %s: got no path in openapi.yaml, want its operations", f.Name)
		}
	}

	const eventID = 9101 // created below
	fill := func(path string) string {
		path = strings.ReplaceAll(path, "{id}", fmt.Sprint(eventID))
		return strings.ReplaceAll(path, "{event_id}", fmt.Sprint(eventID))
	}

	// Setup: an admin as `dostupno admin create` makes one, and a user through register.
	if err := adminCreate(context.Background(), cfg, "root@example.ru", token.RoleAdmin, stdin(t, "granite meadow 11\n"), io.Discard, io.Discard); err != nil {
		t.Fatalf("admin create: %v", err)
	}
	var session struct {
		User  struct{ Role string } `json:"user"`
		Token string                `json:"token"`
	}
	c.do("register a user", 201, "POST", "/function/register",
		[]byte(`{"email":" Reader@Example.ru ","password":"quiet harbour 42","name":"Читатель","needs":["sign_language"]}`),
		"Content-Type", "application/json").decode(t, &session)
	user := "Bearer " + session.Token
	c.do("log the admin in", 200, "POST", "/function/login", []byte(`{"email":"root@example.ru","password":"granite meadow 11"}`),
		"Content-Type", "application/json").decode(t, &session)
	if session.User.Role != "admin" {
		t.Fatalf("got role %q for the admin, want admin", session.User.Role)
	}
	admin := "Bearer " + session.Token

	// Every documented path and method reaches its function (no 404 from the router), a bad
	// token is refused on every function, an unlisted method is 405, and preflights answer.
	methods := map[string][]string{}
	for _, op := range ops {
		methods[op.Path] = append(methods[op.Path], op.Method)
	}
	unlisted := func(path string) string {
		for _, m := range []string{"DELETE", "PATCH"} {
			if !slices.Contains(methods[path], m) {
				return m
			}
		}
		t.Fatalf("%s lists every method the test knows", path)
		return ""
	}
	for _, op := range ops {
		target := fill(op.Path)
		step := op.Method + " " + op.Path
		if op.Method == http.MethodOptions {
			r := c.do(step+": preflight", 204, "OPTIONS", target, nil, "Origin", oaOrigin, "Access-Control-Request-Method", "GET")
			h := r.header
			if h.Get("Access-Control-Allow-Origin") != oaOrigin || h.Get("Access-Control-Allow-Methods") == "" ||
				!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") || !strings.Contains(h.Get("Access-Control-Allow-Headers"), "Content-Type") ||
				h.Get("Access-Control-Max-Age") == "" || !slices.Contains(h.Values("Vary"), "Origin") {
				t.Errorf("%s: preflight: got headers %v, want the origin, methods, Authorization and Content-Type, a max age and Vary: Origin", step, h)
			}
			c.do(step+": preflight from another origin", 403, "OPTIONS", target, nil, "Origin", oaOtherOrigin, "Access-Control-Request-Method", "GET")
			c.do(step+": OPTIONS that is no preflight", 405, "OPTIONS", target, nil)
			continue
		}
		if op.Function == "" {
			c.do(step, 200, op.Method, target, nil)
			c.do(step+": unlisted method", 405, unlisted(op.Path), target, nil)
			continue
		}
		r := c.do(step+": bad token", 401, op.Method, target, nil, "Authorization", oaBadToken)
		if r.status == http.StatusNotFound && strings.Contains(string(r.body), "no function named") {
			t.Errorf("%s: got the router's 404 for an unknown function, want the function's answer", step)
		}
		c.do(step+": unlisted method", 405, unlisted(op.Path), target, nil)
	}

	// upsert-event: one event as JSON, three as NDJSON; the refusals.
	event := func(id int, day int, wheelchair string) string {
		return fmt.Sprintf(`{"id":%d,"title":"Органный вечер %d","description":"Бах и Гендель","category":"concert","city":"moscow",`+
			`"venue":{"id":45,"name":"Дом музыки","address":"Космодамианская наб., 52","lat":55.73,"lon":37.65},`+
			`"starts_at":"2027-03-%02dT19:00:00+03:00","ends_at":"2027-03-%02dT21:00:00+03:00","timezone":"Europe/Moscow",`+
			`"age_rating":"12+","price":{"min":1500,"max":5000,"currency":"RUB"},`+
			`"accessibility":{"wheelchair_seating":%q,"sign_language":"no"}}`, id, id, day, day, wheelchair)
	}
	var one struct{ ID, Version int64 }
	c.do("upsert one event", 200, "PUT", "/function/upsert-event", []byte(event(eventID, 1, "yes")),
		"Authorization", admin, "Content-Type", "application/json").decode(t, &one)
	if one.ID != eventID || one.Version < 1 {
		t.Errorf("upsert one event: got %+v, want id %d and a version", one, eventID)
	}
	var many struct{ Count int }
	c.do("upsert three events as NDJSON", 200, "PUT", "/function/upsert-event",
		[]byte(event(9102, 2, "yes")+"\n"+event(9103, 3, "yes")+"\n\n"+event(9104, 4, "no")+"\n"),
		"Authorization", admin, "Content-Type", "application/x-ndjson").decode(t, &many)
	if many.Count != 3 {
		t.Errorf("upsert NDJSON: got count %d, want 3", many.Count)
	}
	c.do("upsert broken JSON", 400, "PUT", "/function/upsert-event", []byte(`{"id":1,`), "Authorization", admin, "Content-Type", "application/json")
	c.do("upsert an unknown field", 400, "PUT", "/function/upsert-event", []byte(strings.Replace(event(9105, 5, "yes"), `"id":`, `"colour":"red","id":`, 1)),
		"Authorization", admin, "Content-Type", "application/json")
	c.do("upsert anonymously", 401, "PUT", "/function/upsert-event", []byte(event(9105, 5, "yes")), "Content-Type", "application/json")
	c.do("upsert as a user", 403, "PUT", "/function/upsert-event", []byte(event(9105, 5, "yes")), "Authorization", user, "Content-Type", "application/json")
	c.do("upsert a body over 64 KiB", 413, "PUT", "/function/upsert-event",
		[]byte(`{"id":9105,"title":"`+strings.Repeat("a", 70<<10)+`"}`), "Authorization", admin, "Content-Type", "application/json")
	c.do("upsert as text/plain", 415, "PUT", "/function/upsert-event", []byte(event(9105, 5, "yes")), "Authorization", admin, "Content-Type", "text/plain")

	// upsert-venue: the venue of the events above gets facts, which they inherit; the refusals.
	venue := func(id int, facts string) string {
		return fmt.Sprintf(`{"id":%d,"name":"Дом музыки","address":"Космодамианская наб., 52","city":"moscow","lat":55.73,"lon":37.65,`+
			`"accessibility":{%s}}`, id, facts)
	}
	c.do("upsert a venue", 200, "PUT", "/function/upsert-venue",
		[]byte(venue(45, `"step_free_entrance":{"value":"yes","source":"venue_survey","verified_at":"2026-05-01"},"accessible_parking":"not_applicable","elevator":"no"`)),
		"Authorization", admin, "Content-Type", "application/json").decode(t, &one)
	if one.ID != 45 || one.Version < 1 {
		t.Errorf("upsert a venue: got %+v, want id 45 and a version", one)
	}
	c.do("upsert venues as NDJSON", 200, "PUT", "/function/upsert-venue", []byte(venue(46, `"elevator":"yes"`)+"\n"+venue(47, "")+"\n"),
		"Authorization", admin, "Content-Type", "application/x-ndjson").decode(t, &many)
	if many.Count != 2 {
		t.Errorf("upsert venues as NDJSON: got count %d, want 2", many.Count)
	}
	c.do("upsert a venue with a bad fact", 400, "PUT", "/function/upsert-venue", []byte(venue(48, `"elevator":{"value":"yes","source":"A survey"}`)),
		"Authorization", admin, "Content-Type", "application/json")
	c.do("upsert a venue anonymously", 401, "PUT", "/function/upsert-venue", []byte(venue(48, "")), "Content-Type", "application/json")
	c.do("upsert a venue as a user", 403, "PUT", "/function/upsert-venue", []byte(venue(48, "")), "Authorization", user, "Content-Type", "application/json")
	c.do("upsert a venue over 64 KiB", 413, "PUT", "/function/upsert-venue",
		[]byte(`{"id":48,"name":"`+strings.Repeat("a", 70<<10)+`"}`), "Authorization", admin, "Content-Type", "application/json")
	c.do("upsert a venue as text/plain", 415, "PUT", "/function/upsert-venue", []byte(venue(48, "")), "Authorization", admin, "Content-Type", "text/plain")

	// seat-availability: a ticketing account as `dostupno admin create --role ticketing` makes
	// one reports a count, which search and get-event show; what it may not do.
	if err := adminCreate(context.Background(), cfg, "tickets@example.ru", token.RoleTicketing, stdin(t, "box office 2026\n"), io.Discard, io.Discard); err != nil {
		t.Fatalf("admin create --role ticketing: %v", err)
	}
	c.do("log the ticketing account in", 200, "POST", "/function/login", []byte(`{"email":"tickets@example.ru","password":"box office 2026"}`),
		"Content-Type", "application/json").decode(t, &session)
	if session.User.Role != token.RoleTicketing {
		t.Fatalf("got role %q for the ticketing account, want ticketing", session.User.Role)
	}
	ticketing := "Bearer " + session.Token
	seats := func(id, ws, cs int, at string) string {
		return fmt.Sprintf(`{"event_id":%d,"wheelchair_spaces":%d,"companion_seats":%d,"as_of":%q}`, id, ws, cs, at)
	}
	var counted struct{ Count, Ignored int }
	c.do("report seats", 200, "PUT", "/function/seat-availability", []byte(seats(eventID, 2, 1, "2026-11-29T12:00:00+03:00")),
		"Authorization", ticketing, "Content-Type", "application/json").decode(t, &counted)
	c.do("report seats as NDJSON, one of them older", 200, "PUT", "/function/seat-availability",
		[]byte(seats(eventID, 9, 9, "2026-11-29T11:00:00+03:00")+"\n"+seats(9102, 1, 1, "2026-11-29T12:00:00Z")+"\n"),
		"Authorization", ticketing, "Content-Type", "application/x-ndjson").decode(t, &counted)
	if counted.Count != 2 || counted.Ignored != 1 {
		t.Errorf("report seats as NDJSON: got %+v, want count 2, ignored 1", counted)
	}
	c.do("report negative seats", 400, "PUT", "/function/seat-availability", []byte(seats(eventID, -1, 1, "2026-11-29T12:00:00Z")),
		"Authorization", ticketing, "Content-Type", "application/json")
	c.do("report seats anonymously", 401, "PUT", "/function/seat-availability", []byte(seats(eventID, 1, 1, "2026-11-29T12:00:00Z")), "Content-Type", "application/json")
	c.do("report seats as a user", 403, "PUT", "/function/seat-availability", []byte(seats(eventID, 1, 1, "2026-11-29T12:00:00Z")),
		"Authorization", user, "Content-Type", "application/json")
	c.do("report seats over 4 KiB", 413, "PUT", "/function/seat-availability", []byte(`{"event_id":`+strings.Repeat(" ", 5<<10)+`1}`),
		"Authorization", ticketing, "Content-Type", "application/json")
	c.do("report seats as text/plain", 415, "PUT", "/function/seat-availability", []byte(seats(eventID, 1, 1, "2026-11-29T12:00:00Z")),
		"Authorization", ticketing, "Content-Type", "text/plain")
	c.do("upsert an event as the ticketing account", 403, "PUT", "/function/upsert-event", []byte(event(9105, 5, "yes")),
		"Authorization", ticketing, "Content-Type", "application/json")
	c.do("upsert a venue as the ticketing account", 403, "PUT", "/function/upsert-venue", []byte(venue(48, "")),
		"Authorization", ticketing, "Content-Type", "application/json")
	var seated struct {
		Items []struct {
			ID           int
			Availability *struct {
				WheelchairSpaces int `json:"wheelchair_spaces"`
			} `json:"availability"`
		} `json:"items"`
	}
	c.do("search for free wheelchair spaces", 200, "GET", "/function/search-events?wheelchair_spaces=2&companion_seats=1&from=2026-01-01T00:00:00Z", nil).decode(t, &seated)
	if len(seated.Items) != 1 || seated.Items[0].ID != eventID || seated.Items[0].Availability == nil || seated.Items[0].Availability.WheelchairSpaces != 2 {
		t.Errorf("search for free wheelchair spaces: got %+v, want event %d with 2 spaces", seated.Items, eventID)
	}
	c.do("search for a negative count of seats", 400, "GET", "/function/search-events?wheelchair_spaces=-1", nil)
	c.do("search for a count of companion seats that is not a number", 400, "GET", "/function/search-events?companion_seats=x", nil)

	// upload-photo.
	png := phototest.PNG(t, 16, 12)
	photoPath := fmt.Sprintf("/function/upload-photo/%d", eventID)
	var up struct {
		Photo struct{ Width, Height int } `json:"photo"`
	}
	c.do("upload a PNG", 201, "POST", photoPath, png, "Authorization", admin, "Content-Type", "image/png").decode(t, &up)
	if up.Photo.Width != 16 || up.Photo.Height != 12 {
		t.Errorf("upload a PNG: got %d×%d, want 16×12", up.Photo.Width, up.Photo.Height)
	}
	c.do("upload to a non-integer id", 400, "POST", "/function/upload-photo/ten", png, "Authorization", admin, "Content-Type", "image/png")
	c.do("upload anonymously", 401, "POST", photoPath, png, "Content-Type", "image/png")
	c.do("upload as a user", 403, "POST", photoPath, png, "Authorization", user, "Content-Type", "image/png")
	c.do("upload as the ticketing account", 403, "POST", photoPath, png, "Authorization", ticketing, "Content-Type", "image/png")
	c.do("upload to an unknown event", 404, "POST", "/function/upload-photo/999999", png, "Authorization", admin, "Content-Type", "image/png")
	big := make([]byte, 10<<20+1) // one byte over the limit, a PNG by its first bytes
	copy(big, png)
	c.do("upload over 10 MiB", 413, "POST", photoPath, big, "Authorization", admin, "Content-Type", "image/png")
	c.do("upload a 50000×50000 PNG", 413, "POST", photoPath, phototest.PNGHeader(50_000, 50_000), "Authorization", admin, "Content-Type", "image/png")
	c.do("upload text as a PNG", 415, "POST", photoPath, []byte("<html></html>"), "Authorization", admin, "Content-Type", "image/png")
	c.do("upload as text/plain", 415, "POST", photoPath, []byte("hello"), "Authorization", admin, "Content-Type", "text/plain")

	// get-event by path and by ?id, with If-None-Match.
	for _, target := range []string{fmt.Sprintf("/function/get-event/%d", eventID), fmt.Sprintf("/function/get-event?id=%d", eventID)} {
		r := c.do("get an event", 200, "GET", target, nil, "Cache-Control", "no-cache")
		var ev struct {
			ID     int64             `json:"id"`
			Photos []json.RawMessage `json:"photos"`
		}
		r.decode(t, &ev)
		if ev.ID != eventID || len(ev.Photos) != 1 {
			t.Errorf("get %s: got id %d with %d photos, want %d with 1", target, ev.ID, len(ev.Photos), eventID)
		}
		etag := r.header.Get("ETag")
		if nm := c.do("get an unchanged event", 304, "GET", target, nil, "If-None-Match", etag); etag == "" || nm.header.Get("ETag") != etag || len(nm.body) != 0 {
			t.Errorf("get %s: got ETag %q and a 304 with ETag %q and %d bytes, want the same ETag and no body", target, etag, nm.header.Get("ETag"), len(nm.body))
		}
		c.do("get a changed event", 200, "GET", target, nil, "If-None-Match", `"stale"`)
	}
	var details struct {
		Accessibility map[string]string                       `json:"accessibility"`
		Details       map[string]struct{ Value, From string } `json:"accessibility_details"`
	}
	c.do("get an event's facts", 200, "GET", fmt.Sprintf("/function/get-event/%d", eventID), nil, "Cache-Control", "no-cache").decode(t, &details)
	if d := details.Details["accessible_parking"]; d.Value != "not_applicable" || d.From != "venue" || details.Accessibility["wheelchair_seating"] != "yes" {
		t.Errorf("get an event's facts: got parking %+v and seating %q, want not_applicable from the venue and the event's own yes", d, details.Accessibility["wheelchair_seating"])
	}
	for _, target := range []string{fmt.Sprintf("/function/get-event/%d", eventID), fmt.Sprintf("/function/get-event?id=%d", eventID)} {
		r := c.do("get an event as JSON-LD", 200, "GET", target, nil, "Accept", "application/ld+json")
		var ld struct {
			Type string `json:"@type"`
		}
		r.decode(t, &ld)
		if ld.Type != "MusicEvent" || !strings.HasPrefix(r.header.Get("Content-Type"), "application/ld+json") {
			t.Errorf("get %s as JSON-LD: got %q as %q, want a MusicEvent as application/ld+json", target, ld.Type, r.header.Get("Content-Type"))
		}
		c.do("get an unchanged event as JSON-LD", 304, "GET", target, nil, "Accept", "application/ld+json", "If-None-Match", r.header.Get("ETag"))
	}
	c.do("get a non-integer id", 400, "GET", "/function/get-event/seven", nil)
	c.do("get a non-integer ?id", 400, "GET", "/function/get-event?id=seven", nil)
	c.do("get an unknown event", 404, "GET", "/function/get-event/999999", nil)
	c.do("get an unknown ?id", 404, "GET", "/function/get-event?id=999999", nil)
	// The document's exception to the 404 of unlisted paths: get-event and upload-photo read
	// the rest of the path as the id (ValidateResponse knows only the 404, so checked here).
	for _, tt := range []struct{ target, method, field string }{
		{"/function/get-event/1/photos", "GET", "id"},
		{"/function/upload-photo/1/cover", "POST", "event_id"},
	} {
		r := c.send("deeper path", 400, tt.method, tt.target, png, "Authorization", admin, "Content-Type", "image/png")
		if e := apitest.ErrorOf(t, r.body); e.Code != "invalid_argument" || e.Field != tt.field {
			t.Errorf("%s %s: got %+v, want invalid_argument on %s", tt.method, tt.target, e, tt.field)
		}
	}

	// search-events: pages with a cursor, personalisation, refusals, the catalog.
	var ids []int64
	target := "/function/search-events?constraints=wheelchair_seating&city=moscow&limit=1"
	for page := 0; page < 10; page++ {
		var p struct {
			Items      []struct{ ID int64 } `json:"items"`
			NextCursor *string              `json:"next_cursor"`
		}
		c.do(fmt.Sprintf("search page %d", page+1), 200, "GET", target, nil).decode(t, &p)
		for _, it := range p.Items {
			ids = append(ids, it.ID)
		}
		if p.NextCursor == nil {
			break
		}
		target = "/function/search-events?constraints=wheelchair_seating&city=moscow&limit=1&cursor=" + *p.NextCursor
	}
	if fmt.Sprint(ids) != "[9101 9102 9103]" {
		t.Errorf("search pages: got ids %v, want [9101 9102 9103]", ids)
	}
	var mine struct {
		Applied []string `json:"applied_constraints"`
	}
	c.do("search with the user's saved needs", 200, "GET", "/function/search-events", nil, "Authorization", user).decode(t, &mine)
	if fmt.Sprint(mine.Applied) != "[sign_language]" {
		t.Errorf("personalised search: got applied_constraints %v, want [sign_language]", mine.Applied)
	}
	var lenient struct {
		Items []struct {
			ID      int64    `json:"id"`
			Unknown []string `json:"unknown"`
		} `json:"items"`
	}
	c.do("search leniently", 200, "GET", "/function/search-events?constraints=step_free_entrance,hearing_loop&match=lenient", nil).decode(t, &lenient)
	if len(lenient.Items) != 4 || fmt.Sprint(lenient.Items[0].Unknown) != "[hearing_loop]" {
		t.Errorf("search leniently: got %+v, want the 4 events with hearing_loop unknown", lenient.Items)
	}
	c.do("search with an unknown match", 400, "GET", "/function/search-events?constraints=elevator&match=loose", nil)
	c.do("search an unknown constraint", 400, "GET", "/function/search-events?constraints=stairs", nil)
	c.do("search with a forged cursor", 400, "GET", "/function/search-events?cursor=garbage", nil)
	c.do("search with a bad limit", 400, "GET", "/function/search-events?limit=1000", nil)
	c.do("search at an unlisted path", 404, "GET", "/function/search-events/nothing", nil)
	c.do("catalog", 200, "GET", "/function/search-events/constraints", nil)

	// register and login refusals; login throttling for one email.
	reg := func(email string) []byte {
		return []byte(`{"email":"` + email + `","password":"quiet harbour 42","name":"Второй"}`)
	}
	c.do("register a taken email", 409, "POST", "/function/register", reg("READER@example.ru"), "Content-Type", "application/json")
	c.do("register broken JSON", 400, "POST", "/function/register", []byte(`{"email":`), "Content-Type", "application/json")
	c.do("register an unknown field", 400, "POST", "/function/register", []byte(`{"email":"x@example.ru","password":"quiet harbour 42","name":"X","age":3}`), "Content-Type", "application/json")
	c.do("register a common password", 400, "POST", "/function/register", []byte(`{"email":"x@example.ru","password":"password123","name":"X"}`), "Content-Type", "application/json")
	c.do("register a body over 64 KiB", 413, "POST", "/function/register", []byte(`{"name":"`+strings.Repeat("a", 70<<10)+`"}`), "Content-Type", "application/json")
	c.do("register as text/plain", 415, "POST", "/function/register", reg("y@example.ru"), "Content-Type", "text/plain")
	c.do("log in without an email", 400, "POST", "/function/login", []byte(`{"email":"","password":"x"}`), "Content-Type", "application/json")
	c.do("log in with broken JSON", 400, "POST", "/function/login", []byte(`{`), "Content-Type", "application/json")
	c.do("log in with an unknown field", 400, "POST", "/function/login", []byte(`{"email":"a@b.ru","password":"x","remember":true}`), "Content-Type", "application/json")
	c.do("log in with a body over 64 KiB", 413, "POST", "/function/login", []byte(`{"email":"`+strings.Repeat("a", 70<<10)+`"}`), "Content-Type", "application/json")
	c.do("log in as text/plain", 415, "POST", "/function/login", []byte(`{}`), "Content-Type", "text/plain")
	wrong := []byte(`{"email":"reader@example.ru","password":"wrong password 1"}`)
	for i := 1; i <= 5; i++ {
		c.do(fmt.Sprintf("wrong password %d", i), 401, "POST", "/function/login", wrong, "Content-Type", "application/json")
	}
	c.do("wrong password 6", 429, "POST", "/function/login", wrong, "Content-Type", "application/json")

	// register: a full hashing queue is 503; at most 20 registrations an hour from one
	// address (every request here comes from the runner's 127.0.0.1), counting the reader's,
	// the taken email's and the busy one above; two of them are the accounts below.
	busy := apitest.FillHasher(t, deps["register"].Hasher())
	c.do("register while hashing is full", 503, "POST", "/function/register", reg("busy@example.ru"), "Content-Type", "application/json")
	busy()
	var erased, guarded struct {
		Token string `json:"token"`
	}
	for i := 2; i <= 18; i++ {
		r := c.do(fmt.Sprintf("registration %d from one address", i), 201, "POST", "/function/register", reg(fmt.Sprintf("filler%d@example.ru", i)), "Content-Type", "application/json")
		switch i {
		case 2:
			r.decode(t, &erased)
		case 3:
			r.decode(t, &guarded)
		}
	}
	c.do("registration 21 from one address", 429, "POST", "/function/register", reg("one-more@example.ru"), "Content-Type", "application/json")

	// account: saved needs, then erasure.
	needs := func(body string) []byte { return []byte(`{"needs":` + body + `}`) }
	var saved struct{ Needs []string }
	c.do("save needs", 200, "PUT", "/function/account/needs", needs(`["elevator","braille"]`), "Authorization", "Bearer "+erased.Token, "Content-Type", "application/json").decode(t, &saved)
	if fmt.Sprint(saved.Needs) != "[elevator braille]" {
		t.Errorf("save needs: got %v, want [elevator braille]", saved.Needs)
	}
	c.do("save an unknown need", 400, "PUT", "/function/account/needs", needs(`["jetpack"]`), "Authorization", "Bearer "+erased.Token, "Content-Type", "application/json")
	c.do("save needs anonymously", 401, "PUT", "/function/account/needs", needs(`[]`), "Content-Type", "application/json")
	c.do("save needs over 64 KiB", 413, "PUT", "/function/account/needs", needs(`["`+strings.Repeat("a", 70<<10)+`"]`), "Authorization", "Bearer "+erased.Token, "Content-Type", "application/json")
	c.do("save needs as text/plain", 415, "PUT", "/function/account/needs", needs(`[]`), "Authorization", "Bearer "+erased.Token, "Content-Type", "text/plain")
	c.do("save needs at an unlisted path", 404, "PUT", "/function/account/needs/all", needs(`[]`), "Authorization", "Bearer "+erased.Token, "Content-Type", "application/json")
	password := func(p string) []byte { return []byte(`{"password":"` + p + `"}`) }
	c.do("erase without a password", 400, "DELETE", "/function/account", []byte(`{}`), "Authorization", "Bearer "+erased.Token, "Content-Type", "application/json")
	c.do("erase anonymously", 401, "DELETE", "/function/account", password("quiet harbour 42"), "Content-Type", "application/json")
	c.do("erase over 64 KiB", 413, "DELETE", "/function/account", password(strings.Repeat("a", 70<<10)), "Authorization", "Bearer "+erased.Token, "Content-Type", "application/json")
	c.do("erase as text/plain", 415, "DELETE", "/function/account", password("quiet harbour 42"), "Authorization", "Bearer "+erased.Token, "Content-Type", "text/plain")
	busy = apitest.FillHasher(t, deps["account"].Hasher())
	c.do("erase while hashing is full", 503, "DELETE", "/function/account", password("quiet harbour 42"), "Authorization", "Bearer "+erased.Token, "Content-Type", "application/json")
	busy()
	c.do("erase", 204, "DELETE", "/function/account", password("quiet harbour 42"), "Authorization", "Bearer "+erased.Token, "Content-Type", "application/json")
	c.do("erase again with the erased user's token", 401, "DELETE", "/function/account", password("quiet harbour 42"), "Authorization", "Bearer "+erased.Token, "Content-Type", "application/json")
	c.do("save the erased user's needs", 401, "PUT", "/function/account/needs", needs(`[]`), "Authorization", "Bearer "+erased.Token, "Content-Type", "application/json")
	c.do("log the erased user in", 401, "POST", "/function/login", []byte(`{"email":"filler2@example.ru","password":"quiet harbour 42"}`), "Content-Type", "application/json")
	for i := 1; i <= 5; i++ {
		c.do(fmt.Sprintf("erase with a wrong password %d", i), 401, "DELETE", "/function/account", password("wrong password 1"), "Authorization", "Bearer "+guarded.Token, "Content-Type", "application/json")
	}
	c.do("erase with a wrong password 6", 429, "DELETE", "/function/account", password("wrong password 1"), "Authorization", "Bearer "+guarded.Token, "Content-Type", "application/json")

	// Operations: a cache snapshot, the writer's apply and status.
	c.do("cache snapshot", 204, "POST", "/function/cache-snapshot", nil)
	var status struct {
		Replica                    string
		AppliedSeq, StreamSeq, Lag int64
	}
	c.do("apply the write log", 204, "POST", "/function/db-writer", nil)
	c.do("writer status", 200, "GET", "/function/db-writer/status", nil, "Authorization", admin).decode(t, &status)
	if status.Replica != "primary" || status.Lag != 0 {
		t.Errorf("writer status: got %+v, want primary with lag 0", status)
	}
	c.do("writer status anonymously", 401, "GET", "/function/db-writer/status", nil)
	c.do("writer status as a user", 403, "GET", "/function/db-writer/status", nil, "Authorization", user)
	c.do("writer at an unlisted path", 404, "GET", "/function/db-writer/nothing", nil)
	c.do("catch up every copy", 204, "POST", "/function/catch-up", nil)
	c.do("list the functions of an unknown namespace", 400, "GET", "/system/functions?namespace=elsewhere", nil)
	var fns []struct{ Name string }
	c.do("list functions", 200, "GET", "/system/functions", nil).decode(t, &fns)
	if len(fns) != len(st.Functions) {
		t.Errorf("got %d functions from /system/functions, want the %d of stack.yml", len(fns), len(st.Functions))
	}

	// Every documented status of every operation was answered above, but those no request
	// can provoke against healthy services.
	for _, op := range ops {
		for _, s := range op.Statuses {
			if c.seen[op.Method+" "+op.Path][s] {
				continue
			}
			if _, ok := notProvoked[s]; ok {
				continue
			}
			t.Errorf("%s %s (%s): documented status %d was never answered; provoke it here or drop it from openapi.yaml", op.Method, op.Path, op.ID, s)
		}
	}
	t.Logf("%d operations checked in %v", len(ops), time.Since(start).Round(time.Millisecond))
}
