package main

import (
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/stack"
	searchevents "github.com/dostupno/dostupno/functions/search-events"
)

// The cold starts connect as the deployed functions do (stack.yml: sslmode=disable) unless the
// URL states its own mode.
func TestDeployedMode(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://postgres@127.0.0.1:5432/bench":                  "postgres://postgres@127.0.0.1:5432/bench?sslmode=disable",
		"postgres://postgres@127.0.0.1:5432/bench?pool_max_conns=4": "postgres://postgres@127.0.0.1:5432/bench?pool_max_conns=4&sslmode=disable",
		"postgres://postgres@127.0.0.1:5432/bench?sslmode=require":  "postgres://postgres@127.0.0.1:5432/bench?sslmode=require",
	} {
		if got := deployedMode(in); got != want {
			t.Errorf("deployedMode(%q) = %q, want %q", in, got, want)
		}
	}
}

// The benchmark's server and its cold-started functions collect garbage as stack.yml says the
// deployed ones do (search-events: GOGC and GOMEMLIMIT), unless the environment says otherwise.
func TestBenchCollectsAsDeployed(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	want, err := stackGC(searchevents.Name)
	if err != nil {
		t.Fatal(err)
	}
	if want.Percent == 100 || want.Limit == 0 {
		t.Fatalf("stack.yml gives search-events %+v, want GOGC and GOMEMLIMIT set", want)
	}
	oldPercent, oldLimit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetGCPercent(oldPercent); debug.SetMemoryLimit(oldLimit) })
	line := deployedGC()
	if got := debug.SetGCPercent(100); got != want.Percent {
		t.Errorf("GC percent %d after deployedGC (%q), want %d", got, line, want.Percent)
	}
	if got := debug.SetMemoryLimit(-1); got != want.Limit {
		t.Errorf("memory limit %d after deployedGC, want %d", got, want.Limit)
	}

	f := stack.Function{Name: "f", Environment: map[string]string{"GOGC": "300", "GOMEMLIMIT": "192MiB", "OTHER": "x"}}
	base := []string{"A=1"}
	if got := withGC(base, f); !slices.Equal(got, []string{"A=1", "GOGC=300", "GOMEMLIMIT=192MiB"}) {
		t.Errorf("withGC: got %v", got)
	}
	if len(base) != 1 {
		t.Errorf("withGC changed its argument: %v", base)
	}
	t.Setenv("GOGC", "50")
	if got := withGC(base, f); !slices.Equal(got, base) {
		t.Errorf("withGC with GOGC set: got %v, want the environment's alone", got)
	}
	if line := deployedGC(); !strings.Contains(line, "from the environment") {
		t.Errorf("deployedGC with GOGC set: %q", line)
	}
}
