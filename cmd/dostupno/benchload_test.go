package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	goruntime "runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/searchbench"
	"github.com/dostupno/dostupno/shared/pgtest"
	"github.com/jackc/pgx/v5/pgxpool"
)

// TestLoadGeneratorProcess: bench's load generator process asks with
// searchbench.MinLoadProcs processors at least, even when started with fewer, and says so in
// what it reports.
func TestLoadGeneratorProcess(t *testing.T) {
	defer goruntime.GOMAXPROCS(goruntime.GOMAXPROCS(1))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"items":[]}`)) //nolint:errcheck // the client counts what it read
	}))
	defer srv.Close()
	var out bytes.Buffer
	start := time.Now().UTC().Format(time.DateOnly)
	if err := runLoadGenerator(context.Background(), &out, srv.URL, start, 20, 2, 0, 100*time.Millisecond, ""); err != nil {
		t.Fatal(err)
	}
	var l searchbench.Throughput
	if err := json.Unmarshal(out.Bytes(), &l); err != nil {
		t.Fatalf("report %q: %v", out.String(), err)
	}
	if l.N == 0 || l.Procs < searchbench.MinLoadProcs || l.Clients != 2 {
		t.Fatalf("got %d answers from %d clients on GOMAXPROCS %d, want some from 2 on %d at least", l.N, l.Clients, l.Procs, searchbench.MinLoadProcs)
	}
}

// TestBenchRefusesABadPace: a paced run's rate that is not 0 to maxPaced questions a second
// is refused before anything is loaded, naming the flag.
func TestBenchRefusesABadPace(t *testing.T) {
	for _, v := range []string{"-1", "NaN", "+Inf", "2e6"} {
		err := runBench(context.Background(), []string{"--paced", v, "--server", "postgres://nobody@127.0.0.1:1/none"})
		if err == nil || !strings.Contains(err.Error(), "--paced") {
			t.Errorf("--paced %s: got %v, want a refusal naming --paced", v, err)
		}
	}
}

// TestBackendsListTheAskingOne: the backends whose CPU a concurrent run counts include the
// connection that lists them, so that a run listed before on one connection and after on
// another does not count the second from its start.
func TestBackendsListTheAskingOne(t *testing.T) {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(pgtest.NewURL(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1 // backends asks on the connection asked about below
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	got := backends(ctx, pool)
	var pid int
	if err := pool.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(got, pid) {
		t.Fatalf("backends %v, want the asking connection's %d among them", got, pid)
	}
}
