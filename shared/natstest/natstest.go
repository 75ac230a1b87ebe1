// Package natstest gives each test its own namespace (stream, bucket and subject prefix) on a
// real NATS server with JetStream at TEST_NATS_URL (default nats://127.0.0.1:4222), and
// deletes what the test created under it. One empty stream stays on the server for good
// (anchorStream, below).
package natstest

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dostupno/dostupno/shared/pgtest"
)

// DefaultURL is used when TEST_NATS_URL is not set.
const DefaultURL = "nats://127.0.0.1:4222"

// URL is the NATS server tests use.
func URL() string {
	return cmp.Or(os.Getenv("TEST_NATS_URL"), DefaultURL)
}

// Env is one test's NATS connection and namespace.
type Env struct {
	URL       string
	Namespace string // use as config.Namespace: streams, buckets and subjects start with it
	Conn      *nats.Conn
	JS        jetstream.JetStream
}

// New connects to the test server and reserves a fresh namespace for t.
func New(t testing.TB) *Env {
	t.Helper()
	nc, err := nats.Connect(URL(), nats.Timeout(3*time.Second), nats.Name("natstest"))
	if err != nil {
		pgtest.Missing(t, "NATS", "TEST_NATS_URL", "start nats-server with -js", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		t.Fatalf("natstest: %v", err)
	}
	if err := anchor(js); err != nil {
		nc.Close()
		t.Fatalf("natstest: the anchor stream %s: %v", anchorStream, err)
	}
	b := make([]byte, 5)
	_, _ = rand.Read(b) // crypto/rand never fails on Linux
	e := &Env{URL: URL(), Namespace: "t" + hex.EncodeToString(b), Conn: nc, JS: js}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		prefix := strings.ToUpper(e.Namespace)
		names := js.StreamNames(ctx)
		var mine []string
		for n := range names.Name() {
			// Streams are named <NAMESPACE>_...; KV buckets are streams KV_<namespace>_...;
			// object stores OBJ_<namespace>_...
			up := strings.ToUpper(n)
			if strings.HasPrefix(up, prefix+"_") || strings.HasPrefix(up, "KV_"+prefix+"_") || strings.HasPrefix(up, "OBJ_"+prefix+"_") {
				mine = append(mine, n)
			}
		}
		for _, n := range mine {
			if err := js.DeleteStream(ctx, n); err != nil {
				t.Errorf("natstest: delete stream %s: %v", n, err)
			}
		}
		nc.Close()
	})
	return e
}

// anchorStream is a stream the tests never delete, so that the server's account always holds
// one stream on disk. nats-server 2.9 removes the account's folder of streams when its last
// stream is deleted, and a stream created at that moment fails to make its folder in it ("error
// creating store for stream", 10049; a fresh-clone CI run met it as parallel tests' cleanups
// deleted every stream at once). It holds no message and takes a few bytes.
const anchorStream = "DOSTUPNO_TESTS_ANCHOR"

// anchored says the anchor exists on the test server (URL): it is made once a process.
var anchored atomic.Bool

// anchor makes sure anchorStream exists on js's server.
func anchor(js jetstream.JetStream) error {
	if anchored.Load() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: anchorStream, Subjects: []string{"dostupno.tests.anchor"}, Storage: jetstream.FileStorage, MaxMsgs: 1,
	})
	if err == nil {
		anchored.Store(true)
	}
	return err
}
