package searchbench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/dostupno/dostupno/shared/httpconn"
)

// Throughput is what a concurrent run measured: answers, wall time and latency percentiles,
// over all answers and per shape (which shapes make the tail under load).
type Throughput struct {
	Clients int
	// Rate is the questions a second the clients were paced to ask in all (Hammer's rate), 0
	// when each asked again as soon as it had its answer.
	Rate float64
	// Late are the questions of a paced run written more than LateBy after their time, Behind
	// how late the latest was. Of them, Held were late because their client had its previous
	// answer only after their time (a client has one question in flight); the others, because
	// the load generator woke late (it shares the cores).
	Late, Held int
	Behind     time.Duration
	// Procs is the load generator's GOMAXPROCS over the run (MinLoadProcs at least in its
	// process).
	Procs   int
	N       int
	Elapsed time.Duration
	Latency Stats
	ByShape map[string]Stats
}

// PerSecond is the answers per second of the run.
func (l Throughput) PerSecond() float64 {
	if l.Elapsed <= 0 {
		return 0
	}
	return float64(l.N) / l.Elapsed.Seconds()
}

// PerAnswer is cpu, a process's CPU time over the run, per answer of the run: what a change
// costs or saves each side, which its share of the cores hides when the answers per second
// move too.
func (l Throughput) PerAnswer(cpu time.Duration) time.Duration {
	if l.N <= 0 {
		return 0
	}
	return cpu / time.Duration(l.N)
}

// MinLoadProcs is the least GOMAXPROCS of bench's load generator process. Its clients run on
// one goroutine (askLoop), mostly in epoll_wait; with no idle processor beside it, the
// runtime's monitor took its processor back from every wait that outlasted 20 µs, and polled
// every 20 µs while it did (one processor against two, three pairs in turns: 44-52 µs of its
// CPU an answer against 32-36).
const MinLoadProcs = 2

// Hammer asks the questions of mix, in turn, from clients at once, each waiting for its answer
// before the next question, for d, through HTTP with the cache bypassed (Cache-Control:
// no-cache). Each client keeps one connection (an HTTP/1.1 keep-alive, dialled again if the
// server closes it), writes each question's request as bytes made once for the run, and reads
// its answer to its last byte, checking its status but not decoding it.
//
// With rate 0 each client asks again as soon as it has its answer (a closed loop): the run
// finds the most answers a second the machine gives, and its latencies are those of a machine
// kept busy to its last cycle, each question queued behind the others'. With a rate, the
// clients ask that many questions a second in all, each on a schedule of its own (client i's
// k-th question at (k*clients + i) / rate after the start, as wrk2 paces its connections): the
// latency at a given load. A question is timed from its time on the schedule, not from its
// write: a client still waiting for an answer when its next question is due writes that
// question late, and the wait counts in the question's latency, as it would for a user who
// asked then (a stall's latency is not hidden by the questions it kept from being asked); the
// run counts such questions (Late).
//
// The load generator shares the machine with what it measures. http.Client's transport (a
// reader and a writer goroutine per connection, a request and its headers built for every
// question) cost it 1.7 times the CPU an answer of a goroutine per client reading with
// http.ReadResponse (176-188 µs against 99-113 over the whole mix on 1M events, 16 clients,
// runs in turns); those goroutines, on a machine whose system calls are dear, spent a fifth of
// their samples under the runtime's monitor, which handed their processor to another thread
// whenever a write to the server's socket outlasted its 20 µs tick. The clients therefore
// share one goroutine and one epoll set (askLoop), as wrk's share a thread.
func Hammer(ctx context.Context, base string, mix []Question, clients int, rate float64, d time.Duration) (Throughput, error) {
	if clients < 1 || len(mix) == 0 || !(rate >= 0) {
		return Throughput{}, errors.New("hammer: no clients, no questions or a rate that is not a number of zero or more")
	}
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return Throughput{}, fmt.Errorf("hammer: %q is not an http:// URL", base)
	}
	reqs := make([][]byte, len(mix))
	for i, q := range mix {
		reqs[i] = []byte("GET " + u.Path + "/?" + q.Query + " HTTP/1.1\r\nHost: " + u.Host +
			"\r\nCache-Control: no-cache\r\nUser-Agent: dostupno-bench\r\n\r\n")
	}
	var every time.Duration // each client's time between questions, paced
	if rate > 0 {
		every = time.Duration(float64(clients) * float64(time.Second) / rate)
		if every <= 0 {
			return Throughput{}, fmt.Errorf("hammer: %.0f questions a second from %d clients is too many", rate, clients)
		}
	}
	var (
		asked   int
		all     = make([]time.Duration, 0, 1<<16)
		byShape = map[string][]time.Duration{}
		late    lateness
	)
	start := time.Now()
	stop := start.Add(d)
	err = askLoop(ctx, u.Host, reqs, func(q int) string { return "?" + mix[q].Query },
		func() int { q := asked % len(mix); asked++; return q }, clients, every, start, stop, stop.Add(time.Minute),
		func(q int, took time.Duration) {
			all = append(all, took)
			byShape[mix[q].Shape] = append(byShape[mix[q].Shape], took)
		}, &late)
	elapsed := time.Since(start)
	if err != nil {
		return Throughput{}, err
	}
	l := Throughput{Clients: clients, Rate: rate, Late: late.n, Held: late.held, Behind: late.most, Procs: runtime.GOMAXPROCS(0), N: len(all), Elapsed: elapsed,
		Latency: Percentiles(all), ByShape: map[string]Stats{}}
	for sh, d := range byShape {
		l.ByShape[sh] = Percentiles(d)
	}
	return l, nil
}

// LateBy is how late a paced question may be written before the run counts it late
// (Throughput.Late): the load generator's own wake-up on a busy machine is about as much.
const LateBy = time.Millisecond

// lateness counts the paced questions written more than LateBy after their time (held: of
// them, those whose client read its previous answer after their time), and the latest.
type lateness struct {
	n, held int
	most    time.Duration
}

// add counts a question written by after its time, whose client was held by its previous
// answer past that time or not.
func (l *lateness) add(by time.Duration, held bool) {
	if by > LateBy {
		l.n++
		if held {
			l.held++
		}
	}
	l.most = max(l.most, by)
}

// ClockTicks is the unit of the CPU times in /proc/<pid>/stat (USER_HZ, 100 on Linux).
const ClockTicks = 100

// ProcCPU is the CPU time (user + system) a process has used, from /proc/<pid>/stat; ok is
// false when the process is not visible here (gone, or on another machine).
func ProcCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name (field 2) is in parentheses and may hold blanks: count from after it.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(u+st) * time.Second / ClockTicks, true
}

// LoadAverage is the machine's load average (1, 5, 15 minutes) from /proc/loadavg, or "?"
// where it cannot be read.
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// First asks the first n questions of mix of the handler at base, one at a time, the cache
// bypassed, with no warm-up, and reports the very first question's time, the percentiles of
// all n and the slowest: what a copy answers right after it was loaded (bench --via-import).
func First(ctx context.Context, base string, mix []Question, n int, out io.Writer) error {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	var all []time.Duration
	var slowest Timed
	byShape := map[string][]time.Duration{}
	for i, q := range mix[:min(n, len(mix))] {
		d, _, err := Ask(ctx, client, base, q.Query, true)
		if err != nil {
			return err
		}
		if i == 0 {
			fmt.Fprintf(out, "  first question: %s ms  ?%s (%s)\n", Millis(d), q.Query, q.Shape)
		}
		all = append(all, d)
		byShape[q.Shape] = append(byShape[q.Shape], d)
		if d > slowest.Took {
			slowest = Timed{Query: q.Query, Took: d}
		}
	}
	s := Percentiles(all)
	fmt.Fprintf(out, "  first %d questions: p50 %s  p90 %s  p99 %s  max %s ms (slowest ?%s)\n", s.N,
		Millis(s.P50), Millis(s.P90), Millis(s.P99), Millis(s.Max), slowest.Query)
	for _, sh := range shapes {
		if d := byShape[sh.name]; len(d) > 0 {
			st := Percentiles(d)
			fmt.Fprintf(out, "    %-42s %4d  first %s  max %s ms\n", sh.name, st.N, Millis(d[0]), Millis(st.Max))
		}
	}
	return nil
}

// Serve serves h on a loopback listener as a function's entrypoint does (template/dostupno-go/main.go):
// on httpconn's connections, each answer in one write.
func Serve(h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = httpconn.Listen(srv.Listener)
	srv.Start()
	return srv
}

// DiskReads are the reads the machine's disks completed and the bytes they read since boot,
// from /sys/block/<disk>/stat (whole disks: a partition's reads are its disk's; loop and RAM
// devices left out); ok is false where that cannot be read. A run's share of them tells
// whether its questions waited for the disk (pages the kernel had taken back, see Memory).
func DiskReads(sysBlock string) (reads, bytes int64, ok bool) {
	disks, err := os.ReadDir(sysBlock)
	if err != nil {
		return 0, 0, false
	}
	for _, d := range disks {
		name := d.Name()
		if strings.HasPrefix(name, "loop") || strings.HasPrefix(name, "ram") || strings.HasPrefix(name, "zram") {
			continue
		}
		b, err := os.ReadFile(sysBlock + "/" + name + "/stat")
		if err != nil {
			continue
		}
		// Fields: reads completed, reads merged, sectors read (512 bytes each), ...
		f := strings.Fields(string(b))
		if len(f) < 3 {
			continue
		}
		r, err1 := strconv.ParseInt(f[0], 10, 64)
		s, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		reads, bytes, ok = reads+r, bytes+s*512, true
	}
	return reads, bytes, ok
}
