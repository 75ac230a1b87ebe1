package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/devservices"
	"github.com/dostupno/dostupno/cmd/dostupno/internal/searchbench"
	"github.com/dostupno/dostupno/cmd/dostupno/internal/seed"
	searchevents "github.com/dostupno/dostupno/functions/search-events"
	seatavailability "github.com/dostupno/dostupno/functions/seat-availability"
	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/pgdb"
	"github.com/dostupno/dostupno/shared/pgtest"
	"github.com/dostupno/dostupno/shared/token"
	"github.com/dostupno/dostupno/shared/writelog"
)

func init() {
	register(command{name: "bench-seats", usage: "[--events N] [--rate 1000] [--duration 60s] [--batch 10] [--reuse] [--keep]   live seat availability under load: updates through the write log while uncached searches run", run: runBenchSeats})
}

// runBenchSeats loads the seeded catalog (as bench does, into its own database), gives a share
// of the events a seat count, clones the database as a second copy, and then, for --duration,
// sends --rate availability updates a second through seat-availability (NDJSON requests of
// --batch updates, as a ticketing integration would, through the write log into the primary
// copy) while a client asks search-events uncached questions (the search benchmark's mix, half
// of them with wheelchair_spaces), and a second copy applies the log as its db-writer does. It
// prints the updates applied a second, the searches' latencies during the load and the second
// copy's lag.
func runBenchSeats(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench-seats", flag.ContinueOnError)
	events := fs.Int("events", 1_000_000, "events in the catalog")
	rate := fs.Int("rate", 1000, "availability updates a second")
	duration := fs.Duration("duration", 60*time.Second, "how long the load runs")
	batch := fs.Int("batch", 10, "updates per request (NDJSON); 1 sends JSON")
	share := fs.Float64("reported", 0.3, "share of the events the ticketing side reports counts for")
	server := fs.String("server", "", "Postgres server URL (default TEST_DATABASE_URL, else DATABASE_URL, else the local server)")
	natsURL := fs.String("nats", "", "NATS URL (default TEST_NATS_URL, else NATS_URL, else nats://127.0.0.1:4222)")
	dbName := fs.String("db", "dostupno_seats", "name of the benchmark database (created afresh); the second copy is NAME_2")
	reuse := fs.Bool("reuse", false, "keep an existing benchmark database of the same size instead of loading again")
	keep := fs.Bool("keep", false, "keep the benchmark databases afterwards")
	cpuProfile := fs.String("cpuprofile", "", "write this process's CPU profile during the load to FILE")
	if err := parseArgs(fs, args, 0); err != nil {
		return err
	}
	if *events <= 0 || *rate <= 0 || *batch <= 0 || *duration <= 0 || !validDBName(*dbName) {
		return errUsage
	}
	admin := cmp.Or(*server, os.Getenv("TEST_DATABASE_URL"), os.Getenv("DATABASE_URL"), pgtest.DefaultURL)
	nurl := cmp.Or(*natsURL, os.Getenv("TEST_NATS_URL"), os.Getenv("NATS_URL"), "nats://127.0.0.1:4222")
	url, url2 := pgtest.WithDatabase(admin, *dbName), pgtest.WithDatabase(admin, *dbName+"_2")
	start := time.Now().UTC().Truncate(24 * time.Hour)

	loaded, err := prepareBenchDB(ctx, admin, url, *dbName, *reuse, *events)
	if err != nil {
		return err
	}
	if !*keep {
		defer dropBenchDB(admin, *dbName)
		defer dropBenchDB(admin, *dbName+"_2")
	}
	pool, err := pgdb.Connect(ctx, url, pgdb.Options{AppName: "bench-seats", MaxConns: 4})
	if err != nil {
		return err
	}
	if !loaded {
		fmt.Printf("loading %d seeded events into %s (COPY, indexes rebuilt after)\n", *events, *dbName)
		t := time.Now()
		if err := searchbench.Load(ctx, pool, seed.Options{Events: *events, Seed: 1, Start: start}, os.Stdout); err != nil {
			return err
		}
		if err := searchbench.Hackathon(ctx, pool); err != nil { // so that `bench --reuse` takes it too
			return err
		}
		fmt.Printf("loaded in %.1fs\n", time.Since(t).Seconds())
	} else if err := pool.QueryRow(ctx, `SELECT min(starts_at) FROM events`).Scan(&start); err != nil {
		return err
	}
	start = start.UTC().Truncate(24 * time.Hour)
	ticketing := uuid.NewString()
	reportedAt := time.Now().Add(-time.Hour)
	t := time.Now()
	// A reused database starts again at the head of a new write log.
	if _, err := pool.Exec(ctx, `TRUNCATE event_availability, writelog_outcomes; UPDATE writelog_position SET applied_seq = 0;
		DELETE FROM users WHERE role = 'ticketing'`); err != nil {
		return err
	}
	// The counts the ticketing side reported before the load, as a copy holds them after their
	// commands (not replayed here); and its integration account.
	if _, err := pool.Exec(ctx, `
		INSERT INTO event_availability (event_id, wheelchair_spaces, companion_seats, as_of, version)
		SELECT id, (hashint8(id) & 3)::int, ((hashint8(id) >> 2) & 3)::int, $2, 0 FROM events
		WHERE (hashint8(id) >> 8) & 1023 < $1::float8 * 1024`, *share, reportedAt); err != nil {
		return err
	}
	if _, err := pool.Exec(ctx, `VACUUM (ANALYZE) event_availability`); err != nil {
		return err
	}
	if _, err := pool.Exec(ctx, `
		INSERT INTO users (id, email, email_key, name, password_hash, role, created_at, updated_at, version)
		VALUES ($1, $2, $2, 'bench ticketing', 'none', 'ticketing', now(), now(), 0)`, ticketing, ticketing+"@bench.invalid"); err != nil {
		return err
	}
	var reported int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM event_availability`).Scan(&reported); err != nil {
		return err
	}
	if line, err := searchbench.Memory(ctx, pool); err == nil {
		fmt.Println(line)
	}
	pool.Close()
	if err := cloneDB(ctx, admin, *dbName, *dbName+"_2"); err != nil {
		return err
	}
	fmt.Printf("%d events have a seat count; second copy %s_2 cloned (%.1fs)\n", reported, *dbName, time.Since(t).Seconds())

	secrets, err := os.MkdirTemp("", "bench-seats-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(secrets)
	if _, err := devservices.EnsureSecrets(secrets); err != nil {
		return err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := config.Config{DatabaseURL: url, Replica: writelog.PrimaryName, NatsURL: nurl, Namespace: "seatbench" + strings.ReplaceAll(uuid.NewString()[:8], "-", ""),
		SecretsDir: secrets, CacheEntries: config.DefaultCacheEntries, CacheTTL: config.DefaultCacheTTL}
	seatsDeps, searchDeps := instance.New(seatavailability.Name, cfg, quiet), instance.New(searchevents.Name, cfg, quiet)
	cfg2 := cfg
	cfg2.DatabaseURL, cfg2.Replica = url2, "copy-2"
	copy2 := instance.New("db-writer", cfg2, quiet)
	defer seatsDeps.Close()
	defer searchDeps.Close()
	defer copy2.Close()
	seatsH, err := seatavailability.New(seatsDeps)
	if err != nil {
		return err
	}
	searchH, err := searchevents.New(searchDeps)
	if err != nil {
		return err
	}
	seatsURL, stopSeats, err := serveLoopback(seatsH)
	if err != nil {
		return err
	}
	defer stopSeats()
	searchURL, stopSearch, err := serveLoopback(searchH)
	if err != nil {
		return err
	}
	defer stopSearch()
	keys, err := seatsDeps.Keys()
	if err != nil {
		return err
	}
	tok, _, err := keys.Issue(ticketing, token.RoleTicketing, 0)
	if err != nil {
		return err
	}
	w2, err := copy2.Writer(ctx)
	if err != nil {
		return err
	}
	pool2, err := copy2.Pool()
	if err != nil {
		return err
	}

	// Warm up: a few searches and one update, so that connections and plans exist.
	mix := seatsMix(400, start)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	for _, q := range mix[:100] {
		if _, _, err := searchbench.Ask(ctx, client, searchURL, q.Query, true); err != nil {
			return err
		}
	}
	l := &seatLoad{url: seatsURL, token: "Bearer " + tok, client: client, events: *events, batch: *batch}
	if err := l.send(ctx, rand.New(rand.NewPCG(9, 9))); err != nil {
		return fmt.Errorf("first update: %w", err)
	}

	fmt.Printf("load: %d updates/s in requests of %d for %v, searches uncached meanwhile (load average before: %s)\n",
		*rate, *batch, *duration, searchbench.LoadAverage())
	runCtx, cancel := context.WithTimeout(ctx, *duration)
	defer cancel()
	var (
		wg       sync.WaitGroup
		searches = map[searchKind][]time.Duration{}
		byShape  = map[string][]time.Duration{}
		slowest  []slowQuestion // the slowest questions
		smu      sync.Mutex
		lags     []uint64
		maxLag   uint64
		failures atomic.Int64
	)
	wg.Add(2)
	go func() { // the searches, one client, back to back
		defer wg.Done()
		for i := 0; runCtx.Err() == nil; i++ {
			q := mix[i%len(mix)]
			took, _, err := searchbench.Ask(runCtx, client, searchURL, q.Query, true)
			if err != nil {
				if runCtx.Err() == nil {
					failures.Add(1)
				}
				continue
			}
			kind := searchKind{seated: strings.Contains(q.Query, "wheelchair_spaces"), text: q.Text}
			smu.Lock()
			searches[kind] = append(searches[kind], took)
			byShape[q.Shape] = append(byShape[q.Shape], took)
			slowest = keepSlowest(slowest, slowQuestion{took, q.Shape, q.Query}, 5)
			smu.Unlock()
		}
	}()
	go func() { // the second copy: its db-writer, rung often
		defer wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for runCtx.Err() == nil {
			last, err := w2.Log.LastSeq(runCtx)
			applied, aerr := writelog.AppliedSeq(runCtx, pool2)
			if err == nil && aerr == nil && last >= applied {
				lags = append(lags, last-applied)
				maxLag = max(maxLag, last-applied)
			}
			if _, err := w2.Replica.ApplyPending(runCtx); err != nil && runCtx.Err() == nil {
				failures.Add(1)
			}
			select {
			case <-runCtx.Done():
			case <-tick.C:
			}
		}
	}()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	began := time.Now()
	sent, ignored, requestFailures := l.run(runCtx, *rate)
	pprof.StopCPUProfile()
	elapsed := time.Since(began)
	cancel()
	wg.Wait()
	loadAfter := searchbench.LoadAverage()

	// The second copy catches up.
	caught := time.Now()
	if _, err := w2.Replica.ApplyPending(ctx); err != nil {
		return err
	}
	catchUp := time.Since(caught)
	identical, err := sameRows(ctx, url, url2, `SELECT event_id, wheelchair_spaces, companion_seats, as_of FROM event_availability ORDER BY event_id`)
	if err != nil {
		return err
	}

	applied := sent - ignored
	fmt.Printf("updates: %d sent in %.1fs (%.0f/s), %d applied (%.0f/s), %d ignored as not newer, %d requests failed\n",
		sent, elapsed.Seconds(), float64(sent)/elapsed.Seconds(), applied, float64(applied)/elapsed.Seconds(), ignored, requestFailures)
	percentiles := func(what string, d []time.Duration) {
		s := searchbench.Percentiles(d)
		fmt.Printf("%-44s n=%-6d p50 %s ms  p90 %s ms  p99 %s ms  max %s ms\n", what, s.N, msOf(s.P50), msOf(s.P90), msOf(s.P99), msOf(s.Max))
	}
	fmt.Println("searches during the load, uncached, one client:")
	var missed []string
	for _, shape := range searchbench.Shapes() {
		d := byShape[shape]
		if len(d) == 0 {
			continue
		}
		percentiles("  "+shape, d)
		if s := searchbench.Percentiles(d); s.P99 > searchbench.TargetOf(shape) {
			missed = append(missed, fmt.Sprintf("%s (p99 %s ms)", shape, searchbench.Millis(s.P99)))
		}
	}
	if len(missed) > 0 {
		fmt.Printf("  over its p99 target during the load: %s\n", strings.Join(missed, ", "))
	} else {
		fmt.Println("  every shape within its p99 target during the load")
	}
	for _, k := range []searchKind{{false, false}, {true, false}, {false, true}, {true, true}} {
		percentiles(k.String(), searches[k])
	}
	var every, withoutText []time.Duration
	for k, d := range searches {
		every = append(every, d...)
		if !k.text {
			withoutText = append(withoutText, d...)
		}
	}
	percentiles("without text", withoutText)
	percentiles("every search", every)
	for _, q := range slowest {
		fmt.Printf("  slowest: %s ms  %s  %s\n", msOf(q.took), q.shape, q.query)
	}
	var sum uint64
	for _, x := range lags {
		sum += x
	}
	mean := 0.0
	if len(lags) > 0 {
		mean = float64(sum) / float64(len(lags))
	}
	perCommand := elapsed.Seconds() / float64(max(1, sent / *batch))
	fmt.Printf("second copy: lag mean %.1f commands (%.0f ms at the load's rate), max %d (%.0f ms); caught up %v after the load; rows identical to the primary's: %v\n",
		mean, mean*perCommand*1000, maxLag, float64(maxLag)*perCommand*1000, catchUp.Round(time.Millisecond), identical)
	fmt.Printf("failures: %d searches or applies; load average after: %s\n", failures.Load(), loadAfter)
	if !identical {
		return fmt.Errorf("the second copy's availability differs from the primary's")
	}
	return nil
}

// searchKind is a kind of question of the mix during the load: with or without a seat
// filter, with or without text.
type searchKind struct{ seated, text bool }

func (k searchKind) String() string {
	s := map[bool]string{false: "without text", true: "text"}[k.text]
	if k.seated {
		return s + ", with wheelchair_spaces"
	}
	return s + ", without seats"
}

// slowQuestion is one question's latency during the load.
type slowQuestion struct {
	took         time.Duration
	shape, query string
}

// keepSlowest adds q to the n slowest questions s, slowest first.
func keepSlowest(s []slowQuestion, q slowQuestion, n int) []slowQuestion {
	i, _ := slices.BinarySearchFunc(s, q, func(a, b slowQuestion) int { return cmp.Compare(b.took, a.took) })
	if i >= n {
		return s
	}
	s = slices.Insert(s, i, q)
	return s[:min(len(s), n)]
}

// seatsMix is the search benchmark's mix with wheelchair_spaces (and every third time
// companion_seats) added to every other question.
func seatsMix(n int, start time.Time) []searchbench.Question {
	mix := searchbench.Mix(n, start)
	for i := range mix {
		switch i % 6 {
		case 1, 5:
			mix[i].Query += "&wheelchair_spaces=1"
		case 3:
			mix[i].Query += "&wheelchair_spaces=1&companion_seats=1"
		}
	}
	return mix
}

// seatLoad sends availability updates to seat-availability at url.
type seatLoad struct {
	url, token    string
	client        *http.Client
	events, batch int
}

// send sends one request of l.batch random updates counted now.
func (l *seatLoad) send(ctx context.Context, rnd *rand.Rand) error {
	_, err := l.do(ctx, rnd)
	return err
}

func (l *seatLoad) do(ctx context.Context, rnd *rand.Rand) (ignored int, err error) {
	var body bytes.Buffer
	now := time.Now()
	for i := range l.batch {
		if i > 0 {
			body.WriteByte('\n')
		}
		asOf := now
		if rnd.IntN(20) == 0 {
			asOf = now.Add(-time.Hour - time.Minute) // a late delivery, older than what is stored
		}
		fmt.Fprintf(&body, `{"event_id":%d,"wheelchair_spaces":%d,"companion_seats":%d,"as_of":%q}`,
			1+rnd.IntN(l.events), rnd.IntN(4), rnd.IntN(4), asOf.UTC().Format(time.RFC3339Nano))
	}
	ct := "application/x-ndjson"
	if l.batch == 1 {
		ct = "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, l.url, &body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", l.token)
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%d %s", resp.StatusCode, b)
	}
	var out struct{ Ignored int }
	if err := json.Unmarshal(b, &out); err != nil {
		return 0, err
	}
	return out.Ignored, nil
}

// run sends rate updates a second until ctx ends: a request every batch/rate seconds, each
// on its own goroutine (at most 256 at once), and returns the updates the answered requests
// held, how many of them were ignored, and the requests that failed.
func (l *seatLoad) run(ctx context.Context, rate int) (sent, ignored, failed int) {
	interval := time.Duration(float64(time.Second) * float64(l.batch) / float64(rate))
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		sem = make(chan struct{}, 256)
	)
	next := time.Now()
	for i := 0; ctx.Err() == nil; i++ {
		if d := time.Until(next); d > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(d):
			}
			if ctx.Err() != nil {
				break
			}
		}
		next = next.Add(interval)
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			// The answer is waited for beyond the load's end, so that every update sent is counted.
			n, err := l.do(context.WithoutCancel(ctx), rand.New(rand.NewPCG(uint64(i), 1)))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed++
				return
			}
			sent, ignored = sent+l.batch, ignored+n
		}()
	}
	wg.Wait()
	return sent, ignored, failed
}

// serveLoopback serves h on a loopback port and returns its URL and how to stop it.
func serveLoopback(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

// cloneDB makes database to a copy of from (which must have no other connection).
func cloneDB(ctx context.Context, admin, from, to string) error {
	c, err := pgdb.ConnectOne(ctx, admin)
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	for _, q := range []string{`DROP DATABASE IF EXISTS ` + to + ` WITH (FORCE)`, `CREATE DATABASE ` + to + ` TEMPLATE ` + from} {
		if _, err := c.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

// sameRows reports whether query answers the same rows on the databases at a and b.
func sameRows(ctx context.Context, a, b, query string) (bool, error) {
	var out [2]string
	for i, url := range []string{a, b} {
		c, err := pgdb.ConnectOne(ctx, url)
		if err != nil {
			return false, err
		}
		err = c.QueryRow(ctx, `SELECT coalesce(md5(string_agg(t::text, ',')), '') FROM (`+query+`) t`).Scan(&out[i])
		c.Close(context.Background())
		if err != nil {
			return false, err
		}
	}
	return out[0] == out[1], nil
}

func msOf(d time.Duration) string { return fmt.Sprintf("%6.2f", float64(d.Microseconds())/1000) }
