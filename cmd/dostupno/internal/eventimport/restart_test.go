package eventimport_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/eventimport"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/writelog"
)

// embedded runs a JetStream server on a fixed port and store, and can restart it.
type embedded struct {
	t    *testing.T
	opts *server.Options
	mu   sync.Mutex
	srv  *server.Server
}

func startEmbedded(t *testing.T) *embedded {
	t.Helper()
	// The server picks its port; a restart listens on the same one, so clients reconnect.
	e := &embedded{t: t, opts: &server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true, StoreDir: t.TempDir(),
		SyncAlways: true, NoLog: true, NoSigs: true}}
	e.start()
	e.opts.Port = e.srv.Addr().(*net.TCPAddr).Port
	t.Cleanup(func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.srv.Shutdown()
		e.srv.WaitForShutdown()
	})
	return e
}

func (e *embedded) start() {
	s, err := server.NewServer(e.opts)
	if err != nil {
		e.t.Error(err)
		return
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		e.t.Error("embedded NATS did not start")
	}
	e.srv = s
}

func (e *embedded) restart(down time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
	time.Sleep(down)
	e.start()
}

func (e *embedded) url() string { return e.srv.ClientURL() }

// triggerReader calls fire once after n bytes were read.
type triggerReader struct {
	r    io.Reader
	n    int
	read int
	once sync.Once
	fire func()
}

func (t *triggerReader) Read(p []byte) (int, error) {
	if len(p) > 4096 {
		p = p[:4096] // so the trigger fires mid-import, not after one big read
	}
	n, err := t.r.Read(p)
	t.read += n
	if t.read >= t.n {
		t.once.Do(t.fire)
	}
	return n, err
}

// A NATS restart during an import: the import finishes (publishes are retried under the
// same message ids) or fails loudly; a command is applied whole or not at all; running the
// same import again completes it, and nothing is stored twice.
func TestNATSRestartDuringImport(t *testing.T) {
	ns := startEmbedded(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tlog := slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// The writer as the CLI opens it (its NATS connection rides out the restart).
	e := newEnvWith(t, config.Config{NatsURL: ns.url(), Namespace: "restart"}, tlog)

	const events, batch = 1500, 50
	var in bytes.Buffer
	if err := Generate(&in, events); err != nil {
		t.Fatal(err)
	}
	data := in.Bytes()
	var restarted sync.WaitGroup
	restarted.Add(1)
	tr := &triggerReader{r: bytes.NewReader(data), n: len(data) / 3, fire: func() {
		go func() {
			defer restarted.Done()
			ns.restart(300 * time.Millisecond)
		}()
	}}
	opt := eventimport.Options{Batch: batch, InFlight: 4, Log: tlog}
	sum, err := eventimport.Run(ctx, tr, e.w, opt)
	restarted.Wait()
	t.Logf("first import: %+v, err %v", sum, err)

	// Whole commands only: every applied command wrote all of its events.
	for _, o := range e.outcomes(t) {
		var r catalog.EventUpsertResult
		if o.Status != writelog.Applied {
			continue
		}
		if err := json.Unmarshal(o.Result, &r); err != nil || r.Events != batch || r.Changed != batch {
			t.Errorf("got command result %s, want %d events all written", o.Result, batch)
		}
	}
	if err == nil && sum.Applied != events {
		t.Errorf("got %d applied after a finished import, want %d", sum.Applied, events)
	}

	// Again: whatever is missing is published, what is there is dropped as a duplicate.
	if _, err := eventimport.Run(ctx, bytes.NewReader(data), e.w, opt); err != nil {
		t.Fatalf("second import: %v", err)
	}
	n, outcomes := e.count(t, `SELECT count(*) FROM events`), len(e.outcomes(t))
	if n != events || outcomes != events/batch {
		t.Errorf("got %d events and %d commands, want %d and %d", n, outcomes, events, events/batch)
	}
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
