package searchbench

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dostupno/dostupno/shared/pgdb"
)

// Breakdown collects where the server's time went while it is on (Start, Stop): each answer's
// time in the handler (its call to its return; what the load generator measures beyond it is
// HTTP, the sockets and the wake-ups around them), and each walk's wait to be sent and the time
// its batch took to answer it (pgdb.Batcher.Observe: Read). Collecting costs a few clock
// readings and an append under a lock per answer and per walk.
type Breakdown struct {
	on       atomic.Bool
	mu       sync.Mutex
	handler  []time.Duration
	waited   []time.Duration
	answered []time.Duration
	first    []time.Duration // answered, for the reads first in their batch
}

// Start starts collecting anew (what an earlier run collected is dropped), Stop stops.
func (b *Breakdown) Start() {
	b.mu.Lock()
	b.handler, b.waited, b.answered, b.first = nil, nil, nil, nil
	b.mu.Unlock()
	b.on.Store(true)
}
func (b *Breakdown) Stop() { b.on.Store(false) }

// Handler is h timed while b is on.
func (b *Breakdown) Handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !b.on.Load() {
			h.ServeHTTP(w, r)
			return
		}
		t := time.Now()
		h.ServeHTTP(w, r)
		d := time.Since(t)
		b.mu.Lock()
		defer b.mu.Unlock()
		b.handler = append(b.handler, d)
	})
}

// Read takes a walk's times while b is on (the Batcher's observer).
func (b *Breakdown) Read(r pgdb.ReadTimes) {
	if !b.on.Load() {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.waited = append(b.waited, r.Waited)
	b.answered = append(b.answered, r.Answered)
	if r.Place == 0 {
		b.first = append(b.first, r.Answered)
	}
}

// Report writes what b collected beside client, the load generator's latencies over the same
// answers.
func (b *Breakdown) Report(out io.Writer, client Stats) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.handler) == 0 {
		return
	}
	h := Percentiles(b.handler)
	fmt.Fprintf(out, "  where an answer's time went (ms): in the handler (%d answers) p50 %s  p90 %s  p99 %s (the load generator's p50 %s  p99 %s: the rest is HTTP and wake-ups)\n",
		h.N, Millis(h.P50), Millis(h.P90), Millis(h.P99), Millis(client.P50), Millis(client.P99))
	if len(b.waited) == 0 {
		return
	}
	w, a, f := Percentiles(b.waited), Percentiles(b.answered), Percentiles(b.first)
	fmt.Fprintf(out, "    walks without text (%d): waited to be sent p50 %s  p99 %s; their batch answered them in p50 %s  p99 %s (first of its batch p50 %s  p99 %s)\n",
		w.N, Millis(w.P50), Millis(w.P99), Millis(a.P50), Millis(a.P99), Millis(f.P50), Millis(f.P99))
}
