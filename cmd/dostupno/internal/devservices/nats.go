package devservices

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// NATS is an embedded NATS server with JetStream started by StartNATS.
type NATS struct {
	URL string // nats://127.0.0.1:PORT
	Dir string // JetStream store

	srv *server.Server
}

// StartNATS runs a NATS server with JetStream inside this process on 127.0.0.1:port (a free
// port when port is 0), storing streams under dir. Every write is synced to disk before it is
// acknowledged (sync_interval: always): a single server has no other copy, so the default
// periodic sync would lose acknowledged writes on a machine crash. auth, when not nil, sets
// the server's users and permissions (natsauth.Configure); without it anyone may do anything.
func StartNATS(dir string, port int, auth func(*server.Options) error) (*NATS, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if port == 0 {
		if port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	opts := &server.Options{
		ServerName: "dostupno-dev",
		Host:       "127.0.0.1",
		Port:       port,
		JetStream:  true,
		StoreDir:   dir,
		SyncAlways: true,
		NoSigs:     true, // the host process owns the signals
		NoLog:      true,
	}
	if auth != nil {
		if err := auth(opts); err != nil {
			return nil, fmt.Errorf("embedded NATS: %w", err)
		}
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(15 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("embedded NATS on 127.0.0.1:%d not ready after 15s", port)
	}
	if !srv.JetStreamEnabled() {
		srv.Shutdown()
		return nil, fmt.Errorf("embedded NATS: JetStream did not start (store %s)", dir)
	}
	return &NATS{URL: fmt.Sprintf("nats://127.0.0.1:%d", port), Dir: dir, srv: srv}, nil
}

// SetLogger sends the server's log (permission violations among it) to l.
func (n *NATS) SetLogger(l server.Logger) { n.srv.SetLoggerV2(l, false, false, false) }

// Stop shuts the server down and waits until it has.
func (n *NATS) Stop() {
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
}
