package searchbench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dostupno/dostupno/shared/httpconn"
)

// Throughput is what a concurrent run measured: answers, wall time and latency percentiles,
// over all answers and per shape (which shapes make the tail under load).
type Throughput struct {
	Clients int
	// Procs is the load generator's GOMAXPROCS over the run (LoadProcs in its process).
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

// LoadProcs is the GOMAXPROCS of bench's load generator process: its clients' goroutines on
// one thread at a time. On two cores, with two, its threads took turns through the kernel's
// futex and the runtime's monitor with the server's and Postgres's: 16 clients asking the
// whole mix of 1M events, eight pairs in turns, one thread used 2-8 µs less CPU an answer in
// every pair, its slowest answer 31-66 ms against 46-148, its p99 lower in six (by 0.74 ms
// at the median).
const LoadProcs = 1

// Hammer asks the questions of mix, in turn, from clients goroutines at once, each waiting
// for its answer before the next question, for d, through HTTP with the cache bypassed
// (Cache-Control: no-cache). Each client keeps one connection (an HTTP/1.1 keep-alive,
// dialled again if the server closes it), writes each question's request as bytes made once
// for the run, and reads its answer with http.ReadResponse to its last byte, checking its
// status but not decoding it: the load generator shares the machine with what it measures,
// and http.Client's transport (a reader and a writer goroutine per connection, a request
// and its headers built for every question) cost it 1.7 times the CPU per answer (176-188
// µs against 99-113 over the whole mix on 1M events, 16 clients, runs in turns).
func Hammer(ctx context.Context, base string, mix []Question, clients int, d time.Duration) (Throughput, error) {
	if clients < 1 || len(mix) == 0 {
		return Throughput{}, errors.New("hammer: no clients or no questions")
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
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		mu       sync.Mutex
		all      []time.Duration
		byShape  = map[string][]time.Duration{}
		firstErr error
		wg       sync.WaitGroup
	)
	start := time.Now()
	stop := start.Add(d)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			type answer struct {
				shape string
				took  time.Duration
			}
			own := make([]answer, 0, 4096)
			c := &client{addr: u.Host, until: stop.Add(time.Minute)}
			defer c.close()
			for time.Now().Before(stop) && ctx.Err() == nil {
				i := int(next.Add(1)-1) % len(mix)
				took, err := c.ask(ctx, reqs[i])
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("?%s: %w", mix[i].Query, err)
					}
					mu.Unlock()
					cancel()
					break
				}
				own = append(own, answer{mix[i].Shape, took})
			}
			mu.Lock()
			for _, a := range own {
				all = append(all, a.took)
				byShape[a.shape] = append(byShape[a.shape], a.took)
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return Throughput{}, firstErr
	}
	l := Throughput{Clients: clients, Procs: runtime.GOMAXPROCS(0), N: len(all), Elapsed: elapsed, Latency: Percentiles(all), ByShape: map[string]Stats{}}
	for sh, d := range byShape {
		l.ByShape[sh] = Percentiles(d)
	}
	return l, nil
}

// client is one of Hammer's clients: its connection to the server, kept alive between
// questions, and the time by which the run must be over (a server that stops answering
// fails the run then, instead of holding it).
type client struct {
	addr  string
	until time.Time
	conn  net.Conn
	br    *bufio.Reader
	stop  func() bool // stops the watch of the run's context on conn
}

// ask writes req (a whole HTTP/1.1 request) and returns the time to its answer's last byte;
// an answer other than 200 is an error, and so is the run's context ending while it waits.
func (c *client) ask(ctx context.Context, req []byte) (time.Duration, error) {
	if c.conn == nil {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", c.addr)
		if err != nil {
			return 0, err
		}
		if err := conn.SetDeadline(c.until); err != nil {
			conn.Close()
			return 0, err
		}
		c.conn, c.br = conn, bufio.NewReaderSize(conn, 16<<10)
		c.stop = context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) }) //nolint:errcheck // the blocked read fails either way
	}
	start := time.Now()
	if _, err := c.conn.Write(req); err != nil {
		c.close()
		return 0, err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.close()
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	took := time.Since(start)
	resp.Body.Close()
	switch {
	case err != nil:
		c.close()
		return 0, err
	case resp.StatusCode != http.StatusOK:
		c.close()
		return 0, fmt.Errorf("got %d", resp.StatusCode)
	case resp.Close:
		c.close() // the server will not read another request on it
	}
	return took, nil
}

func (c *client) close() {
	if c.conn != nil {
		c.stop()
		c.conn.Close()
		c.conn, c.br = nil, nil
	}
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
			slowest = Timed{q.Query, d}
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
