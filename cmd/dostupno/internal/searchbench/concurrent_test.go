package searchbench_test

import (
	"context"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/searchbench"
)

// TestMixHasTheIssuesShapes: the mix asks rare codes with a city and a category, and free
// text (common words, sparse ANDs, numbers, absent words), the text ones marked as ours alone;
// Only keeps or drops shapes by name.
func TestMixHasTheIssuesShapes(t *testing.T) {
	mix := searchbench.Mix(3000, start)
	seen := map[string]bool{}
	for _, q := range mix {
		seen[q.Shape] = true
		if q.Text != strings.HasPrefix(q.Shape, "text") {
			t.Fatalf("shape %q marked text=%v", q.Shape, q.Text)
		}
		if q.Text != strings.Contains(q.Query, "q=") {
			t.Fatalf("?%s of shape %q: text=%v", q.Query, q.Shape, q.Text)
		}
	}
	for _, s := range []string{"two rare constraints + city + category", "three rare constraints + city + category",
		"text: common word", "text: three common words, sparse AND", "text: number", "text: absent word"} {
		if !seen[s] {
			t.Errorf("no question of shape %q in the mix", s)
		}
	}
	text := searchbench.Only(searchbench.Mix(3000, start), "text")
	rest := searchbench.Only(searchbench.Mix(3000, start), "!text")
	if len(text) == 0 || len(rest) == 0 || len(text)+len(rest) != len(mix) {
		t.Fatalf("got %d text and %d other questions of %d", len(text), len(rest), len(mix))
	}
	for _, q := range text {
		if !q.Text {
			t.Fatalf("Only(text) kept %q", q.Shape)
		}
	}
	for _, q := range rest {
		if q.Text {
			t.Fatalf("Only(!text) kept %q", q.Shape)
		}
	}
}

// TestCheckShapes: a --shapes selection that keeps no shape is refused at once, naming the
// shapes; one that keeps some is not.
func TestCheckShapes(t *testing.T) {
	for _, s := range []string{"", "text", "!text", "city + 7-day window"} {
		if err := searchbench.CheckShapes(s); err != nil {
			t.Errorf("CheckShapes(%q): %v, want none", s, err)
		}
	}
	for _, s := range []string{"no such shape", "!"} {
		err := searchbench.CheckShapes(s)
		if err == nil || !strings.Contains(err.Error(), `"text: number"`) {
			t.Errorf("CheckShapes(%q): %v, want a refusal naming the shapes", s, err)
		}
	}
}

// TestHammer: the concurrent run asks with the cache bypassed from every client at once,
// counts every answer, and stops at the first answer that is not 200.
func TestHammer(t *testing.T) {
	var asked, bypassed, inFlight, most atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		if r.Header.Get("Cache-Control") == "no-cache" {
			bypassed.Add(1)
		}
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(time.Millisecond)
		w.Write([]byte(`{"items":[]}`))
	}))
	defer srv.Close()
	l, err := searchbench.Hammer(context.Background(), srv.URL, searchbench.Mix(50, start), 4, 0, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if l.N == 0 || int64(l.N) != asked.Load() || bypassed.Load() != asked.Load() {
		t.Fatalf("got %d answers counted, %d asked, %d with no-cache", l.N, asked.Load(), bypassed.Load())
	}
	if most.Load() < 2 || most.Load() > 4 {
		t.Fatalf("got at most %d questions in flight, want 2..4 with 4 clients", most.Load())
	}
	perShape := 0
	for sh, st := range l.ByShape {
		if !slices.Contains(searchbench.Shapes(), sh) || st.P50 < time.Millisecond {
			t.Errorf("got shape %q with p50 %v, want a shape of the mix at the server's 1 ms at least", sh, st.P50)
		}
		perShape += st.N
	}
	if perShape != l.N {
		t.Fatalf("got %d answers over the shapes, %d in all", perShape, l.N)
	}
	if l.Latency.P50 < time.Millisecond || l.PerSecond() <= 0 {
		t.Fatalf("got p50 %v and %.0f/s, want at least the server's 1 ms", l.Latency.P50, l.PerSecond())
	}

	// Each client keeps its connection: no more connections than clients, unless the server
	// closes them, when the client dials again and goes on. Every answer is read to its last
	// byte, chunked or not (a client that stopped short would read the rest as its next
	// answer, and fail), and the base URL's path is kept.
	var conns, asks atomic.Int64
	big := strings.Repeat("x", 50<<10)
	keep := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/function/search-events/" || r.URL.RawQuery == "" {
			http.Error(w, "wrong path "+r.URL.String(), http.StatusNotFound)
			return
		}
		n := asks.Add(1)
		if n%7 == 0 {
			w.Header().Set("Connection", "close")
		}
		w.Write([]byte(big[:len(big)/2]))
		w.(http.Flusher).Flush() // chunked from here
		w.Write([]byte(big[len(big)/2:]))
	}))
	keep.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	keep.Start()
	defer keep.Close()
	l, err = searchbench.Hammer(context.Background(), keep.URL+"/function/search-events", searchbench.Mix(50, start), 3, 0, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(l.N)/7 + 3; l.N < 21 || int64(l.N) != asks.Load() || conns.Load() > want || conns.Load() < int64(l.N)/7 {
		t.Fatalf("got %d answers, %d asked, over %d connections, want %d at most, a new one after every 7th answer", l.N, asks.Load(), conns.Load(), want)
	}

	// A server that stops answering fails the run once the run's context ends, instead of
	// holding it.
	hung := make(chan struct{})
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hung }))
	defer stuck.Close()
	defer close(hung)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := searchbench.Hammer(ctx, stuck.URL, searchbench.Mix(5, start), 2, 0, time.Hour); err == nil {
		t.Fatal("got no error from a server that never answers")
	}

	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusServiceUnavailable)
	}))
	defer failing.Close()
	if _, err := searchbench.Hammer(context.Background(), failing.URL, searchbench.Mix(5, start), 2, 0, time.Second); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("got %v, want the 503 reported", err)
	}
}

// TestHammerPaced: a paced run asks every question its schedule holds before the run's end,
// rate times its length whatever the server's speed, each client on its own connection with
// one question in flight; an answer is timed from its question's time on the schedule, so a
// server that stalls one answer shows in the latencies of the questions the stall kept its
// client from asking on time, which the run counts late.
func TestHammerPaced(t *testing.T) {
	var asked, inFlight, most, conns atomic.Int64
	var stalled atomic.Bool
	const stall = 100 * time.Millisecond
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		if r.URL.Query().Get("stall") != "" && stalled.CompareAndSwap(false, true) {
			time.Sleep(stall) // the server's stall, which the run must show
		}
		w.Write([]byte(`{"items":[]}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	// 4 clients at 400 a second for 250 ms: each asks every 10 ms, client i from 2.5*i ms on,
	// 25 questions each before the end.
	l, err := searchbench.Hammer(context.Background(), srv.URL, searchbench.Mix(50, start), 4, 400, 250*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if l.N != 100 || asked.Load() != 100 || l.Rate != 400 || conns.Load() != 4 || most.Load() > 4 {
		t.Fatalf("got %d answers, %d asked over %d connections, at most %d in flight, rate %v: want 100 over 4, 4 at most, rate 400",
			l.N, asked.Load(), conns.Load(), most.Load(), l.Rate)
	}
	if l.Elapsed < 240*time.Millisecond {
		t.Fatalf("the run took %v, want its schedule's 247.5 ms at least", l.Elapsed)
	}

	// One client at 100 a second for 200 ms (every 10 ms); its first question is answered
	// after a stall of 100 ms. Its next questions, due 10, 20, ... 90 ms after it, are asked
	// once it is answered: five of them waited 50 ms or more, and with the stalled one a
	// tenth of the run's 20 answers and more took that long, where timed from their writes
	// they would have been quick. Each of the nine was written late.
	mix := []searchbench.Question{{Shape: "stall", Query: "stall=1"}, {Shape: "quick", Query: "q=2"}}
	l, err = searchbench.Hammer(context.Background(), srv.URL, mix, 1, 100, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if !stalled.Load() || l.N != 20 {
		t.Fatalf("got %d answers (stalled %v), want the schedule's 20", l.N, stalled.Load())
	}
	if l.Latency.Max < stall || l.Latency.P90 < stall/2 || l.Late < 9 || l.Held < 9 || l.Behind < stall*8/10 {
		t.Fatalf("got max %v, p90 %v, %d written late (%d held by the answer before), the latest %v behind: want the stall's %v, p90 %v at least, 9 late and held, 80 ms behind",
			l.Latency.Max, l.Latency.P90, l.Late, l.Held, l.Behind, stall, stall/2)
	}

	// A server that closes idle connections sooner than a client's next question: each
	// client dials again and the run goes on.
	var served atomic.Int64
	idle := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		w.Write([]byte(`{"items":[]}`))
	}))
	idle.Config.IdleTimeout = time.Millisecond
	var idleConns atomic.Int64
	idle.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			idleConns.Add(1)
		}
	}
	idle.Start()
	defer idle.Close()
	l, err = searchbench.Hammer(context.Background(), idle.URL, searchbench.Mix(5, start), 2, 20, 350*time.Millisecond)
	if err != nil {
		t.Fatalf("a server closing idle connections: %v", err)
	}
	if l.N != 7 || served.Load() != 7 || idleConns.Load() < 3 {
		t.Fatalf("got %d answers, %d served, over %d connections: want the schedule's 7, dialled again after idle closes", l.N, served.Load(), idleConns.Load())
	}

	for _, rate := range []float64{-1, math.NaN(), math.Inf(1), 1e12} {
		if _, err := searchbench.Hammer(context.Background(), srv.URL, searchbench.Mix(5, start), 2, rate, time.Second); err == nil {
			t.Errorf("rate %v: got no error", rate)
		}
	}
}

// TestProcCPU reads this process's own CPU time from /proc, and nothing for a process that
// does not exist.
func TestProcCPU(t *testing.T) {
	before, ok := searchbench.ProcCPU(os.Getpid())
	if !ok {
		t.Skip("no /proc here")
	}
	for end := time.Now().Add(50 * time.Millisecond); time.Now().Before(end); {
	}
	after, _ := searchbench.ProcCPU(os.Getpid())
	if after <= before {
		t.Fatalf("got %v then %v after 50 ms of work, want it to grow", before, after)
	}
	if _, ok := searchbench.ProcCPU(-1); ok {
		t.Fatal("got a CPU time for pid -1")
	}
}

// TestPerAnswer: a process's CPU over a run, per answer of the run; none for a run with no
// answer.
func TestPerAnswer(t *testing.T) {
	l := searchbench.Throughput{N: 2000, Elapsed: 10 * time.Second}
	if got := l.PerAnswer(900 * time.Millisecond); got != 450*time.Microsecond {
		t.Errorf("900 ms over 2,000 answers: got %v, want 450µs", got)
	}
	if got := (searchbench.Throughput{}).PerAnswer(time.Second); got != 0 {
		t.Errorf("no answers: got %v, want 0", got)
	}
}

// TestAskOnce: bench --concurrent-only asks each question of the mix once, uncached, before
// its concurrent run, and stops at the first answer that is not 200.
func TestAskOnce(t *testing.T) {
	mix := searchbench.Mix(40, start)
	var asked []string
	failOn := ""
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Cache-Control") != "no-cache" {
			t.Errorf("?%s asked without Cache-Control: no-cache", r.URL.RawQuery)
		}
		asked = append(asked, r.URL.RawQuery)
		if r.URL.RawQuery == failOn {
			http.Error(w, "down", http.StatusServiceUnavailable)
		}
	})
	if err := searchbench.AskOnce(context.Background(), h, mix); err != nil {
		t.Fatal(err)
	}
	want := make([]string, len(mix))
	for i, q := range mix {
		want[i] = q.Query
	}
	if !slices.Equal(asked, want) {
		t.Fatalf("asked %d questions, want the mix's %d in order", len(asked), len(want))
	}
	asked, failOn = nil, mix[3].Query
	err := searchbench.AskOnce(context.Background(), h, mix)
	if err == nil || !strings.Contains(err.Error(), "503") || len(asked) != 4 {
		t.Fatalf("a 503 on the fourth question: error %v after %d questions", err, len(asked))
	}
}

// TestDiskReads: the reads and bytes of every whole disk are summed, loop and RAM devices
// left out, a device without its figures skipped; no such folder is not ok.
func TestDiskReads(t *testing.T) {
	dir := t.TempDir()
	disk := func(name, stat string) {
		if err := os.MkdirAll(dir+"/"+name, 0o755); err != nil {
			t.Fatal(err)
		}
		if stat != "" {
			if err := os.WriteFile(dir+"/"+name+"/stat", []byte(stat), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	disk("vda", "  497948    36216 16983746   464164   300093   147317 45524768   376379        0   115308   895429\n")
	disk("vdb", "10 0 8 0 0 0 0 0 0 0 0\n")
	disk("loop0", "999 0 999 0 0 0 0 0 0 0 0\n")
	disk("ram0", "999 0 999 0 0 0 0 0 0 0 0\n")
	disk("nvme0n1", "")
	reads, bytes, ok := searchbench.DiskReads(dir)
	if !ok || reads != 497948+10 || bytes != (16983746+8)*512 {
		t.Fatalf("got %d reads, %d bytes, ok %v", reads, bytes, ok)
	}
	if _, _, ok := searchbench.DiskReads(dir + "/none"); ok {
		t.Fatal("a folder that is not there was read")
	}
}
