package main

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/logging"
	"github.com/dostupno/dostupno/shared/natstest"
	"github.com/dostupno/dostupno/shared/pgtest"
	"github.com/dostupno/dostupno/shared/token"
)

// upProcess is `dostupno up` as a process of its own, on the test's services, so that it can
// be killed (SIGKILL) as a crashed runner is.
type upProcess struct {
	bin, addr, stack string
	env              []string
	cmd              *exec.Cmd
	out              *logging.Buffer
}

func (p *upProcess) start(t *testing.T) {
	t.Helper()
	p.out = &logging.Buffer{}
	p.cmd = exec.Command(p.bin, "up", "--addr", p.addr, "--web-addr", "", "--stack", p.stack, "--data", t.TempDir())
	p.cmd.Env, p.cmd.Stdout, p.cmd.Stderr = p.env, p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get("http://" + p.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			p.kill()
			t.Fatalf("up not serving after a minute:\n%s", p.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *upProcess) kill() {
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	}
}

// seatUpdate is one update a client sends.
type seatUpdate struct {
	event, wheelchair, companion int
	asOf                         time.Time
}

func (u seatUpdate) json() string {
	return fmt.Sprintf(`{"event_id":%d,"wheelchair_spaces":%d,"companion_seats":%d,"as_of":%q}`,
		u.event, u.wheelchair, u.companion, u.asOf.Format(time.RFC3339Nano))
}

// wins is the order every copy applies.
func (u seatUpdate) wins(o seatUpdate) bool { return u.seats().Newer(o.seats()) }

func (u seatUpdate) seats() catalog.Seats {
	return catalog.Seats{EventID: int64(u.event), WheelchairSpaces: u.wheelchair, CompanionSeats: u.companion, AsOf: u.asOf}
}

// TestSeatsSurviveAKilledRunner: clients send bursts of availability updates, out of order
// and with repeats, retrying what was not answered 200 (as the ticketing side does); the runner
// is killed with SIGKILL mid-burst and started again. Every copy ends at the newest count of
// every event, the same rows in both.
func TestSeatsSurviveAKilledRunner(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "dostupno")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	primary, second := pgtest.NewURL(t), pgtest.NewURL(t)
	n := natstest.New(t)
	secrets := t.TempDir()
	writeKeyPair(t, secrets, true)
	for name, v := range map[string]string{"s3-access-key": "seatfault", "s3-secret-key": "seatfault-secret"} { // for up's own S3
		if err := os.WriteFile(filepath.Join(secrets, name), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	vars := map[string]string{"DATABASE_URL": primary, "DATABASE_REPLICA_URLS": second, "NATS_URL": n.URL,
		"DOSTUPNO_NAMESPACE": n.Namespace, "SECRETS_DIR": secrets}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	stackPath := filepath.Join(dir, "stack.yml")
	writeStack(t, stackPath, "seat-availability", "login", "db-writer")
	p := &upProcess{bin: bin, addr: addr, env: env, stack: stackPath}
	p.start(t)
	defer func() { p.kill() }()
	api := "http://" + addr

	cfg, err := config.Load(func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	tok := roleToken(t, cfg, api, "box-office@example.ru", token.RoleTicketing)

	const (
		clients  = 4
		requests = 40 // per client
		events   = 30
		perBatch = 15
	)
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	var (
		mu      sync.Mutex
		newest  = map[int]seatUpdate{}
		retried int
	)
	sent := make(chan int, clients*requests)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(c), 7))
			hc := &http.Client{Timeout: 30 * time.Second}
			for i := range requests {
				var lines []string
				for range perBatch {
					u := seatUpdate{event: 1 + rnd.IntN(events), wheelchair: rnd.IntN(4), companion: rnd.IntN(4),
						asOf: base.Add(time.Duration(rnd.IntN(3_000_000)) * time.Millisecond)}
					lines = append(lines, u.json())
					if rnd.IntN(5) == 0 {
						lines = append(lines, u.json()) // redelivered
					}
					mu.Lock()
					if o, ok := newest[u.event]; !ok || u.wins(o) {
						newest[u.event] = u
					}
					mu.Unlock()
				}
				body := strings.Join(lines, "\n")
				for try := 0; ; try++ {
					req, _ := http.NewRequest(http.MethodPut, api+"/function/seat-availability", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/x-ndjson")
					req.Header.Set("Authorization", "Bearer "+tok)
					resp, err := hc.Do(req)
					if err == nil {
						resp.Body.Close()
						if resp.StatusCode == 200 {
							break
						}
					}
					if try == 0 {
						mu.Lock()
						retried++
						mu.Unlock()
					}
					if try > 300 {
						t.Errorf("client %d request %d: no 200 after %d tries", c, i, try)
						return
					}
					time.Sleep(100 * time.Millisecond)
				}
				sent <- i
			}
		}()
	}
	// Mid-burst: a third of the requests answered, the runner is killed and started again.
	for range clients * requests / 3 {
		<-sent
	}
	p.kill()
	t.Logf("killed the runner after %d requests answered", clients*requests/3)
	time.Sleep(500 * time.Millisecond)
	p.start(t)
	wg.Wait()
	t.Logf("%d requests were sent again after a failure", retried)

	// Every copy ends at the newest count of every event, the same rows in both.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var want []string
	for _, e := range slices.Sorted(maps.Keys(newest)) {
		u := newest[e]
		want = append(want, fmt.Sprintf("%d:%d/%d@%s", e, u.wheelchair, u.companion, u.asOf.UTC().Format(time.RFC3339Nano)))
	}
	for _, url := range []string{primary, second} {
		var got []string
		for {
			// The second copy applies what its db-writer is rung for (or catch-up's next tick);
			// ring it until it has everything.
			if resp, err := http.Post(api+"/function/db-writer-2", "", nil); err == nil {
				resp.Body.Close()
			}
			got = seatRows(ctx, t, url)
			if slices.Equal(got, want) || ctx.Err() != nil {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if !slices.Equal(got, want) {
			t.Errorf("copy %s: got %v, want the newest count of every event %v", url, got, want)
		}
	}
}

// seatRows are the availability rows of the copy at url, as "event:wheelchair/companion@as_of".
func seatRows(ctx context.Context, t *testing.T, url string) []string {
	t.Helper()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	rows, err := c.Query(ctx, `SELECT event_id, wheelchair_spaces, companion_seats, as_of FROM event_availability ORDER BY event_id`)
	if err != nil {
		t.Fatal(err)
	}
	var (
		out    []string
		id     int64
		ws, cs int
		asOf   time.Time
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &ws, &cs, &asOf}, func() error {
		out = append(out, fmt.Sprintf("%d:%d/%d@%s", id, ws, cs, asOf.UTC().Format(time.RFC3339Nano)))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}
