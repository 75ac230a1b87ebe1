package searchbench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Throughput is what a concurrent run measured: answers, wall time and latency percentiles,
// over all answers and per shape (which shapes make the tail under load).
type Throughput struct {
	Clients int
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

// Hammer asks the questions of mix, in turn, from clients goroutines at once, each waiting
// for its answer before the next question, for d, through HTTP with the cache bypassed
// (Cache-Control: no-cache). It reads every answer to its last byte and checks its status but
// does not decode it, so that the load generator spends as little CPU as it can.
func Hammer(ctx context.Context, base string, mix []Question, clients int, d time.Duration) (Throughput, error) {
	if clients < 1 || len(mix) == 0 {
		return Throughput{}, errors.New("hammer: no clients or no questions")
	}
	tr := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
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
			buf := make([]byte, 32<<10)
			for time.Now().Before(stop) && ctx.Err() == nil {
				q := mix[int(next.Add(1)-1)%len(mix)]
				took, err := hit(ctx, client, base+"/?"+q.Query, buf)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
					break
				}
				own = append(own, answer{q.Shape, took})
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
	l := Throughput{Clients: clients, N: len(all), Elapsed: elapsed, Latency: Percentiles(all), ByShape: map[string]Stats{}}
	for sh, d := range byShape {
		l.ByShape[sh] = Percentiles(d)
	}
	return l, nil
}

// hit asks one question with the cache bypassed and returns the time to its last byte.
func hit(ctx context.Context, c *http.Client, u string, buf []byte) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Cache-Control", "no-cache")
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	for {
		_, err := resp.Body.Read(buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	took := time.Since(start)
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s: got %d", u, resp.StatusCode)
	}
	return took, nil
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
