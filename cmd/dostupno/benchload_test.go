package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/searchbench"
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
