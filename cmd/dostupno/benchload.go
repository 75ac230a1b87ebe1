package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	goruntime "runtime"
	"runtime/pprof"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/searchbench"
	"github.com/dostupno/dostupno/shared/search"
)

// runLoadGenerator is bench's concurrent load generator, in a process of its own with
// searchbench.MinLoadProcs processors at least: it asks the mix of a catalog starting on start
// (YYYY-MM-DD) of the search-events handler at base, paced to rate questions a second in all
// (0: as fast as the clients can), and writes what it measured as JSON to out.
func runLoadGenerator(ctx context.Context, out io.Writer, base, start string, questions, clients int, rate float64, d time.Duration, only string) error {
	if goruntime.GOMAXPROCS(0) < searchbench.MinLoadProcs {
		goruntime.GOMAXPROCS(searchbench.MinLoadProcs)
	}
	day, err := time.Parse(time.DateOnly, start)
	if err != nil {
		return fmt.Errorf("--load-start: %w", err)
	}
	l, err := searchbench.Hammer(ctx, base, searchbench.Only(searchbench.Mix(questions, day), only), clients, rate, d)
	if err != nil {
		return err
	}
	return json.NewEncoder(out).Encode(l)
}

// benchConcurrent serves ours on a real HTTP listener in this process and runs the load
// generator as a child process against it, then reports throughput and latency with the CPU
// each side used: the load generator (its rusage), this process (the server: handler, pool,
// HTTP) and the Postgres backends of the benchmark database (/proc, when Postgres runs here),
// how many of the pages' rows took their details from those ours kept, and how many walks
// shared a round trip (shared). With a rate, a paced run follows (searchbench.Hammer): the
// same clients asking rate questions a second in all, reported the same way.
func benchConcurrent(ctx context.Context, pool *pgxpool.Pool, ours http.Handler, shared search.Shared, start time.Time, questions, clients int, rate float64, warm, d time.Duration, only, cpuProfile string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	r := &loadRuns{pool: pool, shared: shared, exe: exe, start: start, questions: questions, clients: clients, only: only}
	srv := searchbench.Serve(r.bd.Handler(ours))
	defer srv.Close()
	r.url = srv.URL
	if warm > 0 {
		// The run's first second, on a new instance, is its pool's connections' first: each
		// plans every statement of the mix once (a one-at-a-time warm-up reads on one of
		// them), answers a second as slow as the rest (p99 35.7 against 9.6-15.6 ms, 16
		// clients). The warm-up asks as the run does, and is reported apart.
		reads, bytes, ok := searchbench.DiskReads(sysBlock)
		l, _, err := r.hammer(ctx, 0, warm)
		if err != nil {
			return err
		}
		fmt.Printf("\nwarm-up, not measured: %d clients for %s, %d answers, %.0f req/s, latency p50 %s  p99 %s  max %s ms%s\n", clients, warm, l.N, l.PerSecond(),
			searchbench.Millis(l.Latency.P50), searchbench.Millis(l.Latency.P99), searchbench.Millis(l.Latency.Max), diskSince(reads, bytes, ok))
	}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if shared.Batch != nil {
		shared.Batch.Observe(r.bd.Read)
		defer shared.Batch.Observe(nil)
	}
	fmt.Printf("\nconcurrent run: %d clients for %s, each asking again once it has its answer, uncached (Cache-Control: no-cache), load generator in its own process\n", clients, d)
	err = r.measure(ctx, 0, d)
	pprof.StopCPUProfile() // the profile is the closed loop's
	if err != nil || rate <= 0 {
		return err
	}
	fmt.Printf("\npaced run: %d clients asking %.0f questions a second in all for %s, each question timed from its time on the schedule (a late one's wait counted), uncached\n", clients, rate, d)
	return r.measure(ctx, rate, d)
}

// loadRuns are benchConcurrent's runs of the load generator against the server at url, in
// this process, timed by bd.
type loadRuns struct {
	pool               *pgxpool.Pool
	shared             search.Shared
	bd                 searchbench.Breakdown
	url, exe           string
	start              time.Time
	questions, clients int
	only               string
}

// hammer runs the load generator process for d at rate (0: closed loop) and returns what it
// measured and the CPU it used.
func (r *loadRuns) hammer(ctx context.Context, rate float64, d time.Duration) (searchbench.Throughput, time.Duration, error) {
	cmd := exec.CommandContext(ctx, r.exe, "bench", "--load-url", r.url, "--load-start", r.start.Format(time.DateOnly),
		"--questions", strconv.Itoa(r.questions), "--concurrency", strconv.Itoa(r.clients), "--load-rate", strconv.FormatFloat(rate, 'f', -1, 64),
		"--concurrent-for", d.String(), "--shapes", r.only)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return searchbench.Throughput{}, 0, fmt.Errorf("load generator: %w", err)
	}
	var l searchbench.Throughput
	if err := json.Unmarshal(out, &l); err != nil {
		return l, 0, fmt.Errorf("load generator's answer: %w", err)
	}
	return l, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), nil
}

// backends are the pids of the benchmark database's backends, the one asking among them: the
// pool may ask before a run on one connection and after it on another, and a backend missing
// from the first list would be counted from its start (the load's index builds, minutes of CPU).
func backends(ctx context.Context, pool *pgxpool.Pool) []int {
	rows, err := pool.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		return nil
	}
	pids, _ := pgx.CollectRows(rows, pgx.RowTo[int])
	return pids
}

// measure runs the load generator for d at rate (0: closed loop) and reports the run.
func (r *loadRuns) measure(ctx context.Context, rate float64, d time.Duration) error {
	pgBefore := map[int]time.Duration{}
	for _, pid := range backends(ctx, r.pool) {
		pgBefore[pid], _ = searchbench.ProcCPU(pid)
	}
	// What a system call costs just before and after: the machine's phase, which moves the
	// answers per second more than most changes do (searchbench.SyscallCost).
	syscallBefore := searchbench.SyscallCost()
	diskReads, diskBytes, diskOK := searchbench.DiskReads(sysBlock)
	selfBefore, keptBefore, batchBefore := ownCPU(), r.shared.Kept.Stats(), r.shared.Batch.Stats()
	r.bd.Start()
	l, genCPU, err := r.hammer(ctx, rate, d)
	r.bd.Stop()
	if err != nil {
		return err
	}
	disk := diskSince(diskReads, diskBytes, diskOK)
	selfCPU := ownCPU() - selfBefore
	var pgCPU time.Duration
	pgSeen := false
	for _, pid := range backends(ctx, r.pool) {
		if t, ok := searchbench.ProcCPU(pid); ok {
			pgCPU += t - pgBefore[pid]
			pgSeen = true
		}
	}
	share := func(t time.Duration) string {
		return fmt.Sprintf("%5.1f%%", 100*t.Seconds()/(l.Elapsed.Seconds()*float64(goruntime.NumCPU())))
	}
	fmt.Printf("  %d answers in %.1fs: %.0f req/s   latency p50 %s  p90 %s  p99 %s  max %s ms\n", l.N, l.Elapsed.Seconds(), l.PerSecond(),
		searchbench.Millis(l.Latency.P50), searchbench.Millis(l.Latency.P90), searchbench.Millis(l.Latency.P99), searchbench.Millis(l.Latency.Max))
	if l.Rate > 0 {
		fmt.Printf("  questions written more than %s ms after their time: %d of %d, %d of them held by their client's previous answer, the others by the load generator's wake-up (the latest %s ms late)\n",
			searchbench.Millis(searchbench.LateBy), l.Late, l.N, l.Held, searchbench.Millis(l.Behind))
	}
	fmt.Printf("  CPU over the run, share of %d cores: load generator (GOMAXPROCS %d) %s, search-events server (this process) %s", goruntime.NumCPU(), l.Procs, share(genCPU), share(selfCPU))
	if pgSeen {
		fmt.Printf(", Postgres backends %s", share(pgCPU))
	}
	fmt.Printf("\n  CPU per answer: load generator %s, server %s", micros(l.PerAnswer(genCPU)), micros(l.PerAnswer(selfCPU)))
	if pgSeen {
		fmt.Printf(", Postgres %s", micros(l.PerAnswer(pgCPU)))
	}
	if b := r.shared.Batch.Stats(); b.RoundTrips > batchBefore.RoundTrips {
		reads, trips := b.Reads-batchBefore.Reads, b.RoundTrips-batchBefore.RoundTrips
		fmt.Printf("\n  walks of questions without text: %d in %d round trips to Postgres (%.2f a round trip)", reads, trips, float64(reads)/float64(trips))
	}
	k := r.shared.Kept.Stats()
	if hits, misses := k.Hits-keptBefore.Hits, k.Misses-keptBefore.Misses; hits+misses > 0 {
		fmt.Printf("\n  details of the pages' rows: %d kept, %d read from Postgres (%.1f%% kept; the mix's questions were asked before the run)",
			hits, misses, 100*float64(hits)/float64(hits+misses))
	}
	fmt.Printf("\n  load average after: %s; a system call %s µs before the run, %s after (the machine's phase)%s\n",
		searchbench.LoadAverage(), searchbench.Micros(syscallBefore), searchbench.Micros(searchbench.SyscallCost()), disk)
	r.bd.Report(os.Stdout, l.Latency)
	fmt.Printf("  %-42s %6s %7s %7s %7s\n", "per shape under the load (ms)", "n", "p50", "p99", "max")
	for _, shape := range searchbench.Shapes() {
		if s, ok := l.ByShape[shape]; ok {
			fmt.Printf("    %-40s %6d %7s %7s %7s\n", shape, s.N, searchbench.Millis(s.P50), searchbench.Millis(s.P99), searchbench.Millis(s.Max))
		}
	}
	return nil
}

// diskSince says what the disks read since reads and bytes were taken (DiskReads, ok), when
// they can be read.
func diskSince(reads, bytes int64, ok bool) string {
	r, b, now := searchbench.DiskReads(sysBlock)
	if !ok || !now {
		return ""
	}
	return fmt.Sprintf("; %d reads from disk (%.1f MiB)", r-reads, float64(b-bytes)/(1<<20))
}

// sysBlock is where the kernel lists the machine's disks (searchbench.DiskReads).
const sysBlock = "/sys/block"

// micros is d in whole microseconds.
func micros(d time.Duration) string { return fmt.Sprintf("%d µs", d.Microseconds()) }

// ownCPU is the CPU time (user + system) this process has used.
func ownCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
