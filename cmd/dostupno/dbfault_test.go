package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/devservices"
	"github.com/dostupno/dostupno/cmd/dostupno/internal/eventimport"
	"github.com/dostupno/dostupno/cmd/dostupno/internal/seed"
	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/pgdb"
)

// answer is one request of the soak and what came back.
type answer struct {
	client        string
	start, end    time.Time
	status        int
	cache         string // X-Cache
	retryAfter    bool
	email         string // register's
	transportFail error
}

// soak sends requests from a few clients until stopped and records every answer.
type soak struct {
	base string
	http *http.Client
	stop chan struct{}
	wg   sync.WaitGroup

	mu      sync.Mutex
	answers []answer
}

func (s *soak) record(a answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers = append(s.answers, a)
}

func (s *soak) snapshot() []answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]answer(nil), s.answers...)
}

// client asks paths in turn (through the cache or not) every pause until stopped.
func (s *soak) client(name string, paths []string, noCache bool, pause time.Duration) {
	s.every(pause, func(i int) {
		req, _ := http.NewRequest(http.MethodGet, s.base+paths[i%len(paths)], nil) // a valid URL
		if noCache {
			req.Header.Set("Cache-Control", "no-cache")
		}
		s.do(name, req, "")
	})
}

// registering registers a new user every pause until stopped, each from a loopback address of
// its own (127.0.0.2, .3, ...), as a crowd comes from many addresses: the runner's edge writes
// the peer's address for the functions, whose registration limit counts per address.
func (s *soak) registering(pause time.Duration) {
	s.every(pause, func(i int) {
		email := fmt.Sprintf("soak%d@example.ru", i)
		body, _ := json.Marshal(map[string]any{"email": email, "password": "a long soak password", "name": "Soak", "needs": []string{}})
		req, _ := http.NewRequest(http.MethodPost, s.base+"/function/register", bytes.NewReader(body)) // a valid URL
		req.Header.Set("Content-Type", "application/json")
		peer := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%250))}
		from := &http.Client{Timeout: s.http.Timeout, Transport: &http.Transport{
			DialContext: (&net.Dialer{LocalAddr: peer}).DialContext, DisableKeepAlives: true}}
		s.doWith(from, "register", req, email)
	})
}

// every runs send(0), send(1), ... with pause before each, until stopped.
func (s *soak) every(pause time.Duration, send func(i int)) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for i := 0; ; i++ {
			select {
			case <-s.stop:
				return
			case <-time.After(pause):
			}
			send(i)
		}
	}()
}

func (s *soak) do(name string, req *http.Request, email string) { s.doWith(s.http, name, req, email) }

func (s *soak) doWith(c *http.Client, name string, req *http.Request, email string) {
	a := answer{client: name, start: time.Now(), email: email}
	resp, err := c.Do(req)
	a.end = time.Now()
	if err != nil {
		a.transportFail = err
		s.record(a)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body) // the status is what is checked
	resp.Body.Close()
	a.status, a.cache, a.retryAfter = resp.StatusCode, resp.Header.Get("X-Cache"), resp.Header.Get("Retry-After") != ""
	s.record(a)
}

// waitFor polls the answers until ok holds, failing the test after d.
func (s *soak) waitFor(t *testing.T, d time.Duration, what string, ok func([]answer) bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok(s.snapshot()) {
		if time.Now().After(deadline) {
			t.Fatalf("not seen within %v: %s (answers by client and status: %v)", d, what, byStatus(s.snapshot()))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// byStatus counts answers by client and status (0: no answer).
func byStatus(as []answer) map[string]map[int]int {
	m := map[string]map[int]int{}
	for _, a := range as {
		if m[a.client] == nil {
			m[a.client] = map[int]int{}
		}
		m[a.client][a.status]++
	}
	return m
}

func count(as []answer, since time.Time, f func(answer) bool) int {
	n := 0
	for _, a := range as {
		if !a.start.Before(since) && f(a) {
			n++
		}
	}
	return n
}

// TestDatabaseRestartUnderLoad restarts the runner's own Postgres (the private cluster
// devservices starts) twice in a soak of about 20 s: at once (a fast restart), then after an
// outage of 5 s (longer if a client has not met it by then), each followed by 4 s of load.
// Two clients search uncached, two read through the
// cache (entries live 1 s, so during the outage they are past their age bound), one registers
// a user every 100 ms, each from a loopback address of its own through the runner's edge (so
// that the limit of registrations per client address is met as a crowd meets it: never). No
// answer is a 500 or a 429 (a read answers from the cache, X-Cache: stale, or
// 503 with Retry-After; a write 503), uncached reads are back within a second of the
// database's return, stale answers stop with the outage, and every registration that was
// answered 201 is in the database afterwards.
func TestDatabaseRestartUnderLoad(t *testing.T) {
	data := upDataDir(t)
	stackPath := filepath.Join(data, "stack.yml")
	writeStack(t, stackPath, "search-events", "get-event", "register", "db-writer")
	env := map[string]string{"CACHE_TTL": "1s"} // no DATABASE_URL, NATS_URL, S3_ENDPOINT, SECRETS_DIR: up starts its own
	var (
		cfg config.Config
		pg  *devservices.Postgres
	)
	run := startUp(t, upOptions{Addr: "127.0.0.1:0", Data: filepath.Join(data, "d"), Stack: stackPath, Edge: true,
		Lookup:   func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Services: func(c config.Config, p *devservices.Postgres) { cfg, pg = c, p }})
	defer func() { _ = run.stop(t) }()
	if pg == nil {
		t.Fatal("up started no Postgres of its own")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	g, err := seed.New(seed.Options{Events: 2000, Seed: 3, Start: time.Now().UTC().Truncate(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	var file bytes.Buffer
	if err := writeNDJSON(ctx, &file, g); err != nil {
		t.Fatal(err)
	}
	if err := importFrom(ctx, cfg, &file, int64(file.Len()), true, eventimport.DefaultBatch, eventimport.DefaultInFlight); err != nil {
		t.Fatal(err)
	}

	s := &soak{base: run.API, http: &http.Client{Timeout: 20 * time.Second}, stop: make(chan struct{})}
	searches := []string{"/function/search-events?profile=wheelchair", "/function/search-events?constraints=hearing_loop&city=moscow",
		"/function/search-events?city=kazan&limit=5", "/function/search-events?constraints=step_free_entrance,elevator"}
	s.client("search-uncached-1", searches, true, 5*time.Millisecond)
	s.client("search-uncached-2", searches[1:], true, 5*time.Millisecond)
	s.client("search-cached", searches, false, 5*time.Millisecond)
	s.client("event-cached", []string{"/function/get-event/1", "/function/get-event/2", "/function/get-event/3"}, false, 5*time.Millisecond)
	s.registering(100 * time.Millisecond)
	stopped := false
	stopLoad := func() {
		if !stopped {
			stopped = true
			close(s.stop)
			s.wg.Wait()
		}
	}
	defer stopLoad()

	ok200 := func(client string, since time.Time) func([]answer) bool {
		return func(as []answer) bool {
			return count(as, since, func(a answer) bool { return a.client == client && a.status == 200 }) > 0
		}
	}
	// The soak's phases last this long while the clients keep asking.
	hold := func(d time.Duration) {
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(d):
		}
	}
	const phase = 4 * time.Second
	began := time.Now()
	for _, c := range []string{"search-uncached-1", "search-uncached-2", "search-cached", "event-cached"} {
		s.waitFor(t, 10*time.Second, c+" answered 200 before the restarts", ok200(c, began))
	}
	s.waitFor(t, 10*time.Second, "a registration answered 201", func(as []answer) bool {
		return count(as, began, func(a answer) bool { return a.status == 201 }) > 0
	})

	hold(phase)

	// A fast restart: the server ends every session and comes back at once.
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := pg.Start(ctx); err != nil {
		t.Fatal(err)
	}
	back1 := time.Now()
	for _, c := range []string{"search-uncached-1", "search-uncached-2"} {
		s.waitFor(t, 10*time.Second, c+" answered 200 after the fast restart", ok200(c, back1))
	}
	hold(phase)

	// An outage: down until every client has met it (the cached ones served stale).
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	down := time.Now()
	met := func(f func(answer) bool, n int) func([]answer) bool {
		return func(as []answer) bool { return count(as, down, f) >= n }
	}
	for _, c := range []string{"search-uncached-1", "search-uncached-2"} {
		s.waitFor(t, 15*time.Second, c+" answered 503 during the outage", met(func(a answer) bool { return a.client == c && a.status == 503 }, 3))
	}
	for _, c := range []string{"search-cached", "event-cached"} {
		s.waitFor(t, 15*time.Second, c+" served stale answers during the outage", met(func(a answer) bool { return a.client == c && a.cache == "stale" }, 3))
	}
	s.waitFor(t, 15*time.Second, "a registration answered 503 during the outage", met(func(a answer) bool { return a.email != "" && a.status == 503 }, 2))
	hold(time.Until(down.Add(5 * time.Second)))
	if err := pg.Start(ctx); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	t.Logf("outage of %v", back.Sub(down).Round(time.Millisecond))
	for _, c := range []string{"search-uncached-1", "search-uncached-2", "search-cached", "event-cached"} {
		s.waitFor(t, 10*time.Second, c+" answered 200 after the outage", ok200(c, back))
	}
	s.waitFor(t, 10*time.Second, "a registration answered 201 after the outage", func(as []answer) bool {
		return count(as, back, func(a answer) bool { return a.status == 201 }) > 0
	})
	hold(time.Until(back.Add(phase)))
	stopLoad()
	as := s.snapshot()

	statuses := byStatus(as)
	for _, a := range as {
		switch {
		case a.transportFail != nil:
			t.Errorf("%s at %v: %v", a.client, a.start.Sub(began).Round(time.Millisecond), a.transportFail)
		case a.status >= 500 && a.status != 503:
			t.Errorf("%s at %v: got %d, want no 5xx but 503", a.client, a.start.Sub(began).Round(time.Millisecond), a.status)
		case a.status == http.StatusTooManyRequests:
			t.Errorf("%s at %v: got 429, want every client address under its limits", a.client, a.start.Sub(began).Round(time.Millisecond))
		case a.status == 503 && !a.retryAfter:
			t.Errorf("%s at %v: got 503 without Retry-After", a.client, a.start.Sub(began).Round(time.Millisecond))
		case a.cache == "stale" && a.start.After(back.Add(time.Second)):
			t.Errorf("%s at %v: got a stale answer %v after the database's return, want fresh ones", a.client,
				a.start.Sub(began).Round(time.Millisecond), a.start.Sub(back).Round(time.Millisecond))
		}
	}
	clients := make([]string, 0, len(statuses))
	for c := range statuses {
		clients = append(clients, c)
	}
	sort.Strings(clients)
	for _, c := range clients {
		t.Logf("%s: answers by status %v", c, statuses[c])
	}
	t.Logf("stale answers: %d", count(as, began, func(a answer) bool { return a.cache == "stale" }))

	// Reads are back within a second of the database's return, after each restart.
	for _, ret := range []time.Time{back1, back} {
		for _, c := range []string{"search-uncached-1", "search-uncached-2"} {
			first := time.Time{}
			for _, a := range as {
				if a.client == c && a.status == 200 && !a.start.Before(ret) && (first.IsZero() || a.end.Before(first)) {
					first = a.end
				}
			}
			if took := first.Sub(ret); took > time.Second {
				t.Errorf("%s: first uncached answer %v after the database's return, want within 1s", c, took.Round(time.Millisecond))
			} else {
				t.Logf("%s: first uncached answer %v after the database's return", c, took.Round(time.Millisecond))
			}
		}
	}

	// Every acknowledged registration is in the database.
	pool, err := pgdb.Connect(ctx, cfg.DatabaseURL, pgdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var acked []string
	for _, a := range as {
		if a.status == 201 {
			acked = append(acked, a.email)
		}
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM users WHERE email = ANY($1)`, acked).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(acked) {
		t.Errorf("got %d of the %d acknowledged registrations in the database, want all", n, len(acked))
	}
	t.Logf("registrations: %d acknowledged, all stored; %s", len(acked), strings.TrimSpace(fmt.Sprint(statuses["register"])))
}
