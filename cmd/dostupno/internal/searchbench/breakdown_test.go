package searchbench_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/searchbench"
	"github.com/dostupno/dostupno/shared/pgdb"
)

// TestBreakdown: the handler's answers and the walks' times are counted only while the
// breakdown is on, and its report gives the handler's percentiles beside the load generator's
// and the walks' wait and answer, the first of a batch apart.
func TestBreakdown(t *testing.T) {
	var b searchbench.Breakdown
	h := b.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })) //nolint:errcheck // a test's answer
	serve := func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		if rec.Body.String() != "ok" {
			t.Fatalf("the timed handler answered %q", rec.Body.String())
		}
	}
	serve()
	b.Read(pgdb.ReadTimes{Waited: time.Hour, Answered: time.Hour})
	var out bytes.Buffer
	b.Report(&out, searchbench.Stats{})
	if out.Len() != 0 {
		t.Fatalf("reported before it was started: %q", out.String())
	}
	b.Start()
	for range 3 {
		serve()
	}
	b.Read(pgdb.ReadTimes{Waited: 2 * time.Millisecond, Answered: 3 * time.Millisecond, Place: 0})
	b.Read(pgdb.ReadTimes{Waited: 2 * time.Millisecond, Answered: 7 * time.Millisecond, Place: 1})
	b.Stop()
	serve()
	b.Read(pgdb.ReadTimes{Waited: time.Hour, Answered: time.Hour})
	b.Report(&out, searchbench.Stats{N: 3, P50: 4 * time.Millisecond, P99: 9 * time.Millisecond})
	got := out.String()
	for _, want := range []string{
		"in the handler (3 answers) p50 0.",
		"the load generator's p50 4.00  p99 9.00",
		"walks without text (2): waited to be sent p50 2.00  p99 2.00; their batch answered them in p50 3.00  p99 7.00 (first of its batch p50 3.00  p99 3.00)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
}
