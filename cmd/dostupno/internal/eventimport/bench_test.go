package eventimport_test

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/devservices"
	"github.com/dostupno/dostupno/cmd/dostupno/internal/eventimport"
	"github.com/dostupno/dostupno/cmd/dostupno/internal/searchbench"
	searchevents "github.com/dostupno/dostupno/functions/search-events"
	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/instance"
)

// BenchmarkImport imports a generated NDJSON file of IMPORT_EVENTS events (default 1,000,000)
// into one fresh copy and reports events/s (each iteration a new copy and stream):
//
//	go test -run '^$' -bench BenchmarkImport -benchtime 1x ./cmd/dostupno/internal/eventimport
//
// The copy lives on a private Postgres cluster started with the settings a deployment runs
// (devservices.PostgresSettings, as docker-compose.yml), or on the server at
// IMPORT_DATABASE_URL.
func BenchmarkImport(b *testing.B) {
	benchServer(b)
	n := benchEvents(b)
	path := filepath.Join(b.TempDir(), "events.ndjson")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := Generate(w, n); err != nil {
		b.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	st, err := f.Stat()
	if err != nil {
		b.Fatal(err)
	}
	f.Close()
	b.Logf("file: %d events, %d bytes (%.1f MiB)", n, st.Size(), float64(st.Size())/(1<<20))
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		e := newEnv(b)
		in, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		selfBefore := selfCPU()
		b.StartTimer()
		sum, err := eventimport.Run(context.Background(), in, e.w, eventimport.Options{Log: quiet()})
		b.StopTimer()
		self := selfCPU() - selfBefore
		in.Close()
		if err != nil {
			b.Fatal(err)
		}
		if sum.Applied != n {
			b.Fatalf("got %d applied, want %d", sum.Applied, n)
		}
		b.ReportMetric(float64(n)/sum.Elapsed.Seconds(), "events/s")
		b.Logf("%d events in %v: %.0f events/s", n, sum.Elapsed, float64(n)/sum.Elapsed.Seconds())
		// CPU per event, which (unlike the wall clock) does not depend on what else the
		// machine runs: this process, and the copy's Postgres backends when the server is
		// local.
		b.ReportMetric(float64(self.Microseconds())/float64(n), "client-cpu-us/event")
		if pg, err := backendCPU(e); err == nil {
			b.ReportMetric(float64(pg.Microseconds())/float64(n), "pg-cpu-us/event")
		} else {
			b.Logf("Postgres CPU not measured: %v", err)
		}
		b.StartTimer()
	}
}

// benchServer points the copies at a private Postgres cluster started with the settings a
// deployment runs (devservices.PostgresSettings, as docker-compose.yml), or at the server at
// IMPORT_DATABASE_URL.
func benchServer(b *testing.B) {
	if u := os.Getenv("IMPORT_DATABASE_URL"); u != "" {
		b.Setenv("TEST_DATABASE_URL", u)
		return
	}
	pg, err := devservices.StartPostgres(context.Background(), filepath.Join(b.TempDir(), "postgres"))
	if err != nil {
		b.Fatal(err)
	}
	// The cluster may live outside the temporary folder (devservices moves it where its
	// user can enter): remove it wherever it is.
	b.Cleanup(func() { _ = pg.Stop(); _ = os.RemoveAll(pg.Dir) })
	b.Setenv("TEST_DATABASE_URL", pg.URL)
}

// benchEvents is IMPORT_EVENTS, default 1,000,000.
func benchEvents(b *testing.B) int {
	n := 1_000_000
	if s := os.Getenv("IMPORT_EVENTS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			b.Fatalf("IMPORT_EVENTS=%q: %v", s, err)
		}
		n = v
	}
	return n
}

// BenchmarkSearchAfterImport imports the seeded demo catalog (cmd/dostupno/internal/seed, as
// dostupno bench loads it; IMPORT_EVENTS events, default 1,000,000) into a fresh copy whose
// autovacuum is off, and asks search-events the first questions of the benchmark's mix
// (searchbench.Mix, IMPORT_QUESTIONS, default 2,000) through HTTP, uncached, as soon as the
// import returns: what the first users after an import meet.
//
//	go test -run '^$' -bench BenchmarkSearchAfterImport -benchtime 1x ./cmd/dostupno/internal/eventimport
func BenchmarkSearchAfterImport(b *testing.B) {
	benchServer(b)
	n := benchEvents(b)
	questions := 2000
	if s := os.Getenv("IMPORT_QUESTIONS"); s != "" {
		var err error
		if questions, err = strconv.Atoi(s); err != nil {
			b.Fatalf("IMPORT_QUESTIONS=%q: %v", s, err)
		}
	}
	ctx := context.Background()
	start := time.Now().UTC().Truncate(24 * time.Hour)
	path := filepath.Join(b.TempDir(), "catalog.ndjson")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := errors.Join(writeSeeded(f, n, start), f.Close()); err != nil {
		b.Fatal(err)
	}
	mix := searchbench.Mix(questions, start)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		e := newEnv(b)
		for _, t := range []string{"events", "event_accessibility", "venues"} {
			if _, err := e.pool.Exec(ctx, "ALTER TABLE "+t+" SET (autovacuum_enabled = off)"); err != nil {
				b.Fatal(err)
			}
		}
		in, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		sum, err := eventimport.Run(ctx, in, e.w, eventimport.Options{Log: quiet()})
		in.Close()
		if err != nil || sum.Applied != n {
			b.Fatalf("import: %d of %d applied: %v", sum.Applied, n, err)
		}
		b.Logf("imported %d events in %v (%.0f events/s, maintenance included)", n, time.Since(t0).Round(time.Millisecond), float64(n)/time.Since(t0).Seconds())
		var vacuums, analyses int
		if err := e.pool.QueryRow(ctx, `SELECT vacuum_count, analyze_count FROM pg_stat_user_tables WHERE relname = 'event_accessibility'`).
			Scan(&vacuums, &analyses); err != nil {
			b.Fatal(err)
		}
		b.Logf("event_accessibility vacuumed %d and analysed %d times during the import", vacuums, analyses)
		d := instance.New(searchevents.Name, config.Config{DatabaseURL: e.pool.Config().ConnString(), CacheEntries: config.DefaultCacheEntries,
			CacheTTL: config.DefaultCacheTTL}, quiet())
		h, err := searchevents.New(d)
		if err != nil {
			b.Fatal(err)
		}
		srv := httptest.NewServer(h)
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
		b.StartTimer()
		took := make([]time.Duration, 0, len(mix))
		for _, q := range mix {
			t, _, err := searchbench.Ask(ctx, client, srv.URL, q.Query, true)
			if err != nil {
				b.Fatal(err)
			}
			took = append(took, t)
		}
		b.StopTimer()
		srv.Close()
		d.Close()
		first, all := searchbench.Percentiles(took[:min(200, len(took))]), searchbench.Percentiles(took)
		b.ReportMetric(float64(all.P50.Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(all.P99.Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(first.P99.Microseconds())/1000, "first200-p99-ms")
		b.Logf("the first %d questions after the import: p50 %v, p90 %v, p99 %v, max %v; the first 200: p99 %v, max %v",
			all.N, all.P50, all.P90, all.P99, all.Max, first.P99, first.Max)
		order := make([]int, len(took))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(x, y int) int { return cmp.Compare(took[y], took[x]) })
		for _, i := range order[:min(5, len(order))] {
			b.Logf("  question %d (%s): %v  ?%s", i+1, mix[i].Shape, took[i].Round(10*time.Microsecond), mix[i].Query)
		}
		b.StartTimer()
	}
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// backendCPU sums the CPU time of the Postgres backends connected to the copy's database
// (/proc of a local server; clock ticks of 10 ms).
func backendCPU(e *env) (time.Duration, error) {
	ctx := context.Background()
	rows, err := e.pool.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		return 0, err
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return 0, err
	}
	var total time.Duration
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return 0, err
		}
		// Fields after the command name (which is in parentheses): utime and stime are
		// fields 14 and 15 of the whole line.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		ut, err1 := strconv.ParseInt(f[11], 10, 64)
		st, err2 := strconv.ParseInt(f[12], 10, 64)
		if err1 != nil || err2 != nil {
			return 0, fmt.Errorf("parse /proc/%d/stat", pid)
		}
		total += time.Duration(ut+st) * 10 * time.Millisecond
	}
	return total, nil
}
