package eventimport_test

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/dostupno/dostupno/shared/commands/eventimport"
)

// BenchmarkImport imports a generated NDJSON file of IMPORT_EVENTS events (default 1,000,000)
// into one fresh copy and reports events/s (each iteration a new copy and stream):
//
//	go test -run '^$' -bench BenchmarkImport -benchtime 1x ./shared/commands/eventimport
func BenchmarkImport(b *testing.B) {
	n := 1_000_000
	if s := os.Getenv("IMPORT_EVENTS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			b.Fatalf("IMPORT_EVENTS=%q: %v", s, err)
		}
		n = v
	}
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
		b.StartTimer()
		sum, err := eventimport.Run(context.Background(), in, e.log, e.rep, eventimport.Options{Log: quiet()})
		b.StopTimer()
		in.Close()
		if err != nil {
			b.Fatal(err)
		}
		if sum.Applied != n {
			b.Fatalf("got %d applied, want %d", sum.Applied, n)
		}
		b.ReportMetric(float64(n)/sum.Elapsed.Seconds(), "events/s")
		b.Logf("%d events in %v: %.0f events/s", n, sum.Elapsed, float64(n)/sum.Elapsed.Seconds())
		b.StartTimer()
	}
}
