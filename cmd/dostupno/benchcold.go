package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/buildctx"
	"github.com/dostupno/dostupno/cmd/dostupno/internal/searchbench"
	"github.com/dostupno/dostupno/cmd/dostupno/internal/stack"
	getevent "github.com/dostupno/dostupno/functions/get-event"
	searchevents "github.com/dostupno/dostupno/functions/search-events"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/hotcache"
	"github.com/dostupno/dostupno/shared/search"
)

// handlerAddr is where a function's binary serves (the watchdog's upstream_url,
// template/dostupno-go/main.go).
const handlerAddr = "127.0.0.1:8082"

// coldRuns is how many times each function is started per snapshot.
const coldRuns = 3

// benchColdStarts builds each function of stack.yml as its image does (the build context of
// buildctx.Assemble, then the Dockerfile's go build) and times, from its process's start, its
// first answer: search-events and get-event (the functions that load the newest snapshot)
// with a 3-entry snapshot and with the largest cache-snapshot writes (hotcache's
// DefaultMaxEntries answers, up to DefaultMaxBytes), the others with no snapshot to load.
// Each function gets DATABASE_URL and NATS_URL (when natsURL is set) and nothing else: a
// function that needs a secret answers its first request with the error of its absence,
// which is the time to its first answer all the same.
func benchColdStarts(ctx context.Context, pool *pgxpool.Pool, dbURL, natsURL string, start time.Time) error {
	root, err := repoRoot()
	if err != nil {
		return fmt.Errorf("cold starts: %w", err)
	}
	st, err := stack.Load(filepath.Join(root, "stack.yml"))
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "dostupno-cold-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	fmt.Printf("\ncold starts: building each function's binary as its image does (offline, module cache)\n")
	bins := map[string]string{}
	for _, f := range st.Functions {
		t := time.Now()
		dir := filepath.Join(tmp, f.Name)
		if err := buildctx.Assemble(root, st, f.Name, dir); err != nil {
			return err
		}
		if err := buildHandler(ctx, dir); err != nil {
			return fmt.Errorf("build %s: %w", f.Name, err)
		}
		bins[f.Name] = filepath.Join(dir, "handler")
		fmt.Printf("  built %-16s %5.1fs\n", f.Name, time.Since(t).Seconds())
	}
	secrets := filepath.Join(tmp, "secrets")
	if err := os.Mkdir(secrets, 0o700); err != nil {
		return err
	}
	env := append(os.Environ(), "DATABASE_URL="+deployedMode(dbURL), "SECRETS_DIR="+secrets, "DOSTUPNO_NAMESPACE=coldbench")
	if natsURL != "" {
		env = append(env, "NATS_URL="+natsURL)
	}
	searchKey, eventID, err := seedHotKeys(ctx, pool, start)
	if err != nil {
		return err
	}
	srcs := search.Sources(search.NewVocab(pool, time.Minute), func(string) string { return "" }, time.Now)
	paths := map[string]string{searchevents.Name: "/?" + searchKey, getevent.Name: fmt.Sprintf("/%d", eventID)}
	if line, err := searchbench.StartCosts(ctx, deployedMode(dbURL)); err == nil {
		fmt.Printf("  %s\n", line)
	} else {
		fmt.Printf("  (what a start pays this machine was not measured: %v)\n", err)
	}
	fmt.Printf("  time from the process's start to its first answer (ms), %d starts each; load average %s\n", coldRuns, searchbench.LoadAverage())
	fmt.Printf("  %-16s %-34s %-8s %s\n", "function", "newest snapshot", "answer", "ms")
	for _, snap := range []struct {
		name    string
		entries int
		bytes   int64
	}{{"3 entries", 3, hotcache.DefaultMaxBytes}, {"largest", hotcache.DefaultMaxEntries, hotcache.DefaultMaxBytes}} {
		res, err := hotcache.TakeSnapshot(ctx, pool, hotcache.SnapshotOptions{Sources: srcs, MaxEntries: snap.entries, MaxBytes: snap.bytes,
			MinInterval: time.Nanosecond, Keep: 2})
		if err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
		label := fmt.Sprintf("%s (%d answers, %.1f MiB)", snap.name, res.Entries, float64(res.Bytes)/(1<<20))
		for _, name := range []string{searchevents.Name, getevent.Name} {
			f, _ := st.Function(name)
			if err := coldStart(ctx, bins[name], withGC(env, f), name, label, paths[name]); err != nil {
				return err
			}
		}
	}
	for _, f := range st.Functions {
		if f.Name == searchevents.Name || f.Name == getevent.Name {
			continue
		}
		if err := coldStart(ctx, bins[f.Name], withGC(env, f), f.Name, "(loads none)", "/"); err != nil {
			return err
		}
	}
	return nil
}

// withGC is env with the garbage collection settings stack.yml gives f (GOGC, GOMEMLIMIT),
// which its deployed process starts with, where env sets neither.
func withGC(env []string, f stack.Function) []string {
	if gcFromEnvironment() {
		return env
	}
	out := slices.Clip(env)
	for _, k := range []string{"GOGC", "GOMEMLIMIT"} {
		if v, ok := f.Environment[k]; ok {
			out = append(out, k+"="+v)
		}
	}
	return out
}

// coldStart starts bin coldRuns times and prints the time to its first answer to GET path.
func coldStart(ctx context.Context, bin string, env []string, name, label, path string) error {
	var took []string
	status := ""
	for range coldRuns {
		d, s, err := firstAnswer(ctx, bin, env, path)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		took, status = append(took, fmt.Sprintf("%.1f", float64(d.Microseconds())/1000)), s
	}
	fmt.Printf("  %-16s %-34s %-8s %s\n", name, label, status, strings.Join(took, " "))
	return nil
}

// firstAnswer starts bin and asks GET path of it until it answers; it returns the time from
// the start to the answer's last byte and the answer's status (with X-Cache when set).
func firstAnswer(ctx context.Context, bin string, env []string, path string) (time.Duration, string, error) {
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = env
	var logs strings.Builder
	cmd.Stderr = &logs
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, "", err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		showLog(logs.String())
	}()
	for time.Since(begin) < 10*time.Second {
		resp, err := client.Get("http://" + handlerAddr + path)
		if err != nil {
			var errno syscall.Errno
			if errors.As(err, &errno) && errno == syscall.ECONNREFUSED {
				time.Sleep(200 * time.Microsecond)
				continue
			}
			return 0, "", err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		d := time.Since(begin)
		if err != nil {
			return 0, "", err
		}
		status := fmt.Sprint(resp.StatusCode)
		if c := resp.Header.Get("X-Cache"); c != "" {
			status += " " + c
		}
		return d, status, nil
	}
	return 0, "", fmt.Errorf("no answer within 10s on %s; its log:\n%s", handlerAddr, logs.String())
}

// showLog prints a started function's log when DOSTUPNO_BENCH_LOG is set (to see where a
// slow start spends its time).
func showLog(log string) {
	if os.Getenv("DOSTUPNO_BENCH_LOG") != "" {
		fmt.Print(log)
	}
}

// buildHandler runs the build step of template/dostupno-go/Dockerfile in the build context
// dir, offline, sharing this machine's module and build caches (filled first, FetchModules).
func buildHandler(ctx context.Context, dir string) error {
	if err := buildctx.FetchModules(ctx, dir); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-mod=mod", "-trimpath", "-ldflags", "-s -w", "-o", "handler", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod -buildvcs=false", "GOPROXY=off", "GOWORK=off", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w\n%s", err, out)
	}
	return nil
}

// repoRoot is the folder above the working directory that holds stack.yml.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "stack.yml")); err == nil {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("run bench inside the repository (no stack.yml above the working directory)")
		}
		dir = up
	}
}

// seedHotKeys makes the benchmark's questions the hot keys cache-snapshot reads (as if the
// instances had reported them): 850 searches of a hundred answers each and 150 events, the
// largest snapshot by count and near it by bytes. It returns the hottest search's
// query and an event id among the hot keys.
func seedHotKeys(ctx context.Context, pool *pgxpool.Pool, start time.Time) (string, int64, error) {
	vocab, err := catalog.LoadVocabulary(ctx, pool)
	if err != nil {
		return "", 0, err
	}
	var keys, kinds []string
	var scores []float64
	first := ""
	for _, q := range searchbench.Mix(5000, start) {
		if len(keys) == 850 {
			break
		}
		raw := q.Query + "&limit=100"
		pq, err := search.ParseQuery(raw, vocab, time.Now())
		if err != nil {
			return "", 0, err
		}
		k := pq.CacheKey()
		if slices.Contains(keys, k) {
			continue
		}
		if first == "" {
			first = raw
		}
		keys, kinds, scores = append(keys, k), append(kinds, search.KindSearch), append(scores, float64(1000-len(keys)))
	}
	var lowest int64
	if err := pool.QueryRow(ctx, `SELECT min(id) FROM events`).Scan(&lowest); err != nil {
		return "", 0, err
	}
	// Events among the searches by score, so that the 3-entry snapshot holds one of each
	// kind and the largest both.
	for i := range int64(150) {
		keys, kinds, scores = append(keys, search.EventCacheKey(lowest+i*7)), append(kinds, search.KindEvent), append(scores, float64(1000-5*i)-0.5)
	}
	// The loaded catalog is version 1 of every event, as the write log's first command would
	// write it: the copy has applied that far, so a warm start keeps the snapshot's answers.
	if _, err := pool.Exec(ctx, `UPDATE writelog_position SET applied_seq = greatest(applied_seq, 1)`); err != nil {
		return "", 0, err
	}
	_, err = pool.Exec(ctx, `INSERT INTO cache_hot_keys (key, kind, score, seen_at)
		SELECT * , now() FROM unnest($1::text[], $2::text[], $3::float8[])
		ON CONFLICT (key) DO UPDATE SET score = excluded.score, seen_at = excluded.seen_at`, keys, kinds, scores)
	return first, lowest, err
}

// deployedMode is dbURL connecting as the deployed functions do: stack.yml's DATABASE_URLs say
// sslmode=disable (Postgres on faasd's bridge network), and a URL that says nothing would
// negotiate TLS here (sslmode=prefer), whose handshake and decryption of the largest snapshot's
// 22 MiB the deployed function does not pay. A URL that states a mode keeps it.
func deployedMode(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil || u.Query().Has("sslmode") {
		return dbURL
	}
	q := u.Query()
	q.Set("sslmode", "disable")
	u.RawQuery = q.Encode()
	return u.String()
}
