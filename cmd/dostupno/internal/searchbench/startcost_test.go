package searchbench_test

import (
	"context"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/searchbench"
	"github.com/dostupno/dostupno/shared/pgtest"
)

// TestStartCosts: the line names a first touch of memory and a connection to Postgres, each
// a time measured here; a server that cannot be reached is an error, not a line.
func TestStartCosts(t *testing.T) {
	t.Parallel()
	line, err := searchbench.StartCosts(context.Background(), pgtest.NewURL(t))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`touched first (\d+\.\d\d) µs, a new connection to Postgres (\d+\.\d\d)-(\d+\.\d\d) ms$`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("got %q", line)
	}
	fastest, _ := strconv.ParseFloat(m[2], 64)
	slowest, _ := strconv.ParseFloat(m[3], 64)
	if fastest <= 0 || slowest < fastest {
		t.Fatalf("got connections of %v to %v ms in %q", fastest, slowest, line)
	}
	t.Log(line)
	if _, err := searchbench.StartCosts(context.Background(), "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"); err == nil {
		t.Fatal("got no error from a server that is not there")
	}
}

// TestSyscallCost: the cost is per call and the fastest run's: three runs of 20,000 calls
// took at least 60,000 times it, and it is not nothing.
func TestSyscallCost(t *testing.T) {
	start := time.Now()
	c := searchbench.SyscallCost()
	took := time.Since(start)
	if c <= 0 || c*60_000 > took {
		t.Fatalf("a system call %v, in three runs of 20,000 calls that took %v in all", c, took)
	}
	t.Logf("a system call %v", c)
}
