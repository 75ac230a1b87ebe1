package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/searchbench"
	"github.com/dostupno/dostupno/cmd/dostupno/internal/seed"
	"github.com/dostupno/dostupno/cmd/dostupno/internal/stack"
	searchevents "github.com/dostupno/dostupno/functions/search-events"
	"github.com/dostupno/dostupno/migrations"
	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/pgdb"
	"github.com/dostupno/dostupno/shared/pgtest"
	"github.com/dostupno/dostupno/shared/search"
)

func init() {
	register(command{name: "bench", usage: "[--events N] [--questions N] [--server URL] [--db NAME] [--reuse] [--keep] [--explain]   search benchmark against the hackathon schema", run: runBench})
}

func runBench(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	events := fs.Int("events", 1_000_000, "events in the catalog")
	seedN := fs.Uint64("seed", 1, "catalog seed")
	questions := fs.Int("questions", 2000, "questions asked of each schema")
	warmup := fs.Int("warmup", 200, "questions asked first, not measured")
	cached := fs.Int("cached", 500, "questions asked twice with the cache, the second time measured")
	server := fs.String("server", "", "Postgres server URL to create the benchmark database on (default TEST_DATABASE_URL, else DATABASE_URL, else the local server)")
	dbName := fs.String("db", "dostupno_bench", "name of the benchmark database (created afresh)")
	reuse := fs.Bool("reuse", false, "keep an existing benchmark database of the same size instead of loading again")
	keep := fs.Bool("keep", false, "keep the benchmark database afterwards (and, with --via-import, its write log)")
	explain := fs.Bool("explain", false, "print EXPLAIN ANALYZE of one question of each shape")
	cpuProfile := fs.String("cpuprofile", "", "write the CPU profile of this process (the server side) during the concurrent run to this file")
	only := fs.String("shapes", "", "ask only the shapes whose name contains this (e.g. \"text\"; \"!text\": all but those)")
	concurrency := fs.Int("concurrency", 16, "clients asking at once in the concurrent run (0: no concurrent run)")
	concurrentFor := fs.Duration("concurrent-for", 10*time.Second, "how long the concurrent run lasts")
	paced := fs.Float64("paced", 3000, "after the concurrent run, the same clients ask this many questions a second in all for as long, each timed from its time on the schedule (0: no paced run)")
	concurrentWarm := fs.Duration("concurrent-warmup", 3*time.Second, "how long the same clients ask the same mix first, not measured (0: none)")
	viaImport := fs.String("via-import", "", "load the catalog through the write log (dostupno import) on this NATS URL instead of COPY, then ask the first questions at once and stop")
	natsURL := fs.String("cold-nats", "", "NATS URL the cold-started functions follow the change feed on (default: none)")
	coldStart := fs.Bool("cold-start", true, "build each function's binary and time its first answer after its process starts")
	concurrentOnly := fs.Bool("concurrent-only", false, "skip the one-at-a-time comparison: ask each question of the mix once, unmeasured, then the concurrent run (to compare builds in turns)")
	// The concurrent run's load generator is this command in a process of its own, so that
	// its CPU is counted apart from the server's.
	loadURL := fs.String("load-url", "", "(internal) be the load generator of a concurrent run against this URL")
	loadStart := fs.String("load-start", "", "(internal) the catalog's first day, for the load generator's mix")
	loadRate := fs.Float64("load-rate", 0, "(internal) the questions a second the load generator's clients ask in all (0: each as soon as it has its answer)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *loadURL != "" {
		return runLoadGenerator(ctx, os.Stdout, *loadURL, *loadStart, *questions, *concurrency, *loadRate, *concurrentFor, *only)
	}
	if *events <= 0 || *questions <= 0 || fs.NArg() != 0 || !validDBName(*dbName) {
		return errUsage
	}
	if !(*paced >= 0 && *paced <= maxPaced) {
		return fmt.Errorf("--paced %v: want the questions a second of the paced run, 0 (none) to %.0f", *paced, maxPaced)
	}
	if err := searchbench.CheckShapes(*only); err != nil {
		return err
	}
	admin := cmp.Or(*server, os.Getenv("TEST_DATABASE_URL"), os.Getenv("DATABASE_URL"), pgtest.DefaultURL)
	url := pgtest.WithDatabase(admin, *dbName)
	// The catalog starts on a fixed day relative to today so that "from defaults to now"
	// questions land at the start of the data.
	start := time.Now().UTC().Truncate(24 * time.Hour)
	so := seed.Options{Events: *events, Seed: *seedN, Start: start}

	if *viaImport != "" {
		return benchAfterImport(ctx, admin, url, *dbName, *viaImport, so, *keep, *questions)
	}
	loaded, err := prepareBenchDB(ctx, admin, url, *dbName, *reuse, *events)
	if err != nil {
		return err
	}
	if !*keep {
		defer dropBenchDB(admin, *dbName)
	}
	pool, err := pgdb.Connect(ctx, url, pgdb.Options{AppName: "bench", MaxConns: 4})
	if err != nil {
		return err
	}
	defer pool.Close()
	if !loaded {
		fmt.Printf("loading %d seeded events into %s (COPY, indexes rebuilt after)\n", *events, *dbName)
		t := time.Now()
		if err := searchbench.Load(ctx, pool, so, os.Stdout); err != nil {
			return err
		}
		if err := searchbench.Hackathon(ctx, pool); err != nil {
			return err
		}
		fmt.Printf("loaded in %.1fs (hackathon schema included)\n", time.Since(t).Seconds())
	} else {
		var first time.Time
		if err := pool.QueryRow(ctx, `SELECT min(starts_at) FROM events`).Scan(&first); err != nil {
			return err
		}
		start = first.UTC().Truncate(24 * time.Hour)
		fmt.Printf("reusing %s (%d events from %s)\n", *dbName, *events, start.Format(time.DateOnly))
	}

	ours, shared, closeOurs, err := newSearchEvents(url)
	if err != nil {
		return err
	}
	defer closeOurs()
	fmt.Println(deployedGC())
	if line, err := searchbench.Memory(ctx, pool); err == nil {
		fmt.Println(line)
	}
	if line, err := searchbench.HugePages(ctx, pool, "/proc"); err == nil {
		fmt.Println(line)
	}
	fmt.Printf("load average before the run: %s\n", searchbench.LoadAverage())
	if *concurrentOnly {
		// Each question once, as the one-at-a-time run would ask it first: the concurrent run
		// then meets the routes and caches that run leaves.
		if err := searchbench.AskOnce(ctx, ours, searchbench.Only(searchbench.Mix(*questions+*warmup, start), *only)); err != nil {
			return err
		}
	} else {
		if _, err = searchbench.Measure(ctx, pool, ours, searchbench.Options{
			Questions: *questions, Warmup: *warmup, Cached: *cached, Start: start, Explain: *explain, Only: *only, SysBlock: sysBlock,
		}, os.Stdout); err != nil {
			return err
		}
		fmt.Printf("load average after the run: %s\n", searchbench.LoadAverage())
	}
	if *concurrency > 0 {
		if err := benchConcurrent(ctx, pool, ours, shared, start, *questions, *concurrency, *paced, *concurrentWarm, *concurrentFor, *only, *cpuProfile); err != nil {
			return err
		}
	}
	if *coldStart {
		return benchColdStarts(ctx, pool, url, *natsURL, start)
	}
	return nil
}

// maxPaced bounds --paced: a million questions a second is far past any machine this runs on.
const maxPaced = 1e6

func validDBName(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return s != ""
}

// prepareBenchDB creates the benchmark database (dropping an old one) and migrates it; with
// reuse, an existing one holding exactly n events is kept and loaded is true.
func prepareBenchDB(ctx context.Context, admin, url, name string, reuse bool, n int) (loaded bool, err error) {
	if reuse {
		if c, err := pgdb.ConnectOne(ctx, url); err == nil {
			var count int
			var hack bool
			err := c.QueryRow(ctx, `SELECT (SELECT count(*) FROM event_accessibility), to_regclass('hackathon.event_constraints') IS NOT NULL`).Scan(&count, &hack)
			c.Close(ctx)
			if err == nil && count == n && hack {
				// Newer migrations (e.g. indexes) are applied to the kept data.
				_, err := migrations.ApplyURL(ctx, url)
				return err == nil, err
			}
		}
	}
	c, err := pgdb.ConnectOne(ctx, admin)
	if err != nil {
		return false, fmt.Errorf("connect to %s: %w", "the Postgres server", err)
	}
	defer c.Close(context.Background())
	for _, q := range []string{`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`, `CREATE DATABASE ` + name} {
		if _, err := c.Exec(ctx, q); err != nil {
			return false, err
		}
	}
	// Migration 016 needs the deployment's roles; a fresh server has none yet.
	if err := migrations.SetUpRolesURL(ctx, url); err != nil {
		return false, err
	}
	if _, err := migrations.ApplyURL(ctx, url); err != nil {
		return false, err
	}
	return false, nil
}

func dropBenchDB(admin, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgdb.ConnectOne(ctx, admin)
	if err != nil {
		fmt.Fprintf(os.Stderr, "drop %s: %v\n", name, err)
		return
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
		fmt.Fprintf(os.Stderr, "drop %s: %v\n", name, err)
	}
}

// deployedGC sets this process's garbage collection as stack.yml sets search-events' (GOGC,
// GOMEMLIMIT), so that the server it runs collects as the deployed one does, unless the
// environment sets either; it answers the line that says which.
func deployedGC() string {
	if gcFromEnvironment() {
		return "search-events' garbage collection: GOGC and GOMEMLIMIT from the environment"
	}
	g, err := stackGC(searchevents.Name)
	if err != nil {
		return fmt.Sprintf("search-events' garbage collection: the runtime's defaults (%v)", err)
	}
	debug.SetGCPercent(g.Percent)
	if g.Limit > 0 {
		debug.SetMemoryLimit(g.Limit)
	}
	return fmt.Sprintf("search-events' garbage collection as stack.yml sets it: GOGC=%d, GOMEMLIMIT %d MiB", g.Percent, g.Limit>>20)
}

// gcFromEnvironment says whether this process's environment sets GOGC or GOMEMLIMIT, which
// then win over stack.yml's, for the bench's server and its cold starts alike.
func gcFromEnvironment() bool { return os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" }

// stackGC is the garbage collection stack.yml gives the function called name.
func stackGC(name string) (stack.GC, error) {
	root, err := repoRoot()
	if err != nil {
		return stack.GC{}, err
	}
	st, err := stack.Load(filepath.Join(root, "stack.yml"))
	if err != nil {
		return stack.GC{}, err
	}
	f, ok := st.Function(name)
	if !ok {
		return stack.GC{}, fmt.Errorf("no function %s in stack.yml", name)
	}
	return f.GC()
}

// newSearchEvents builds a search-events instance on the database at url, logging nothing;
// closing it releases its pools.
func newSearchEvents(url string) (http.Handler, search.Shared, func(), error) {
	d := instance.New(searchevents.Name, config.Config{DatabaseURL: url, CacheEntries: config.DefaultCacheEntries, CacheTTL: config.DefaultCacheTTL},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	s, err := searchevents.NewServer(d)
	if err != nil {
		d.Close()
		return nil, search.Shared{}, nil, err
	}
	return s.Handler(), s.Shared, d.Close, nil
}
