package instance

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/logging"
)

// A failed build is retried after the wait, and a good one is kept.
func TestOnceRetriesAFailedBuild(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var builds, closes int
	deps := func() (*Deps, error) {
		d := New("probe", config.Config{}, quiet)
		d.onClose(func() { closes++ })
		return d, nil
	}
	down := true
	get := newBuilder(deps, func(*Deps) (http.Handler, error) {
		builds++
		if down {
			return nil, errors.New("nats: no servers available")
		}
		return http.NotFoundHandler(), nil
	}, 50*time.Millisecond).get

	if _, err := get(); err == nil {
		t.Fatal("got a handler while the service is down, want the error")
	}
	if _, err := get(); err == nil || builds != 1 {
		t.Fatalf("got %v after %d builds, want the kept error and no second build within the wait", err, builds)
	}
	if closes != 1 {
		t.Fatalf("got %d closes, want the failed build's Deps closed once", closes)
	}
	down = false
	time.Sleep(60 * time.Millisecond)
	h, err := get()
	if err != nil || h == nil || builds != 2 {
		t.Fatalf("got %v, %v after %d builds; want a handler from the second build", h, err, builds)
	}
	if h2, _ := get(); h2 == nil || builds != 2 {
		t.Fatalf("got %d builds, want the good handler kept", builds)
	}
}

// Prepare builds the handler before any request, and a request that comes during the build
// waits for it instead of building another; a failed early build is not kept, so the first
// request tries again at once rather than answering the early error for RetryBuild.
func TestPrepareBuildsAheadOfTheFirstRequest(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	deps := func() (*Deps, error) { return New("probe", config.Config{}, quiet), nil }
	var builds atomic.Int32
	started, release := make(chan struct{}), make(chan struct{})
	b := newBuilder(deps, func(*Deps) (http.Handler, error) {
		if builds.Add(1) == 1 {
			close(started)
			<-release
		}
		return http.NotFoundHandler(), nil
	}, time.Hour)
	go b.prepare()
	<-started
	got := make(chan http.Handler)
	go func() {
		h, _ := b.get()
		got <- h
	}()
	close(release)
	if h := <-got; h == nil || builds.Load() != 1 {
		t.Fatalf("a request during the early build got %v after %d builds, want that build's handler", h, builds.Load())
	}

	down, tries := true, 0
	b = newBuilder(deps, func(*Deps) (http.Handler, error) {
		tries++
		if down {
			return nil, errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
		}
		return http.NotFoundHandler(), nil
	}, time.Hour)
	b.prepare()
	down = false
	if h, err := b.get(); h == nil || err != nil || tries != 2 {
		t.Fatalf("the first request after a failed early build got %v, %v after %d builds, want a handler from a build of its own", h, err, tries)
	}
}

// A database that refuses the warm start's early connection leaves the instance cold, saying
// why: the connection's own error, not a wait for the warm start's timeout.
func TestStartCacheColdWhenTheDatabaseRefuses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: connections are refused
	var logs logging.Buffer
	d := New("search-events", config.Config{DatabaseURL: "postgres://nobody@" + addr + "/none?sslmode=disable", CacheEntries: 10},
		slog.New(slog.NewJSONHandler(&logs, nil)))
	t.Cleanup(d.Close)
	c := StartCache(d, nil)
	if c.Suspended() || c.Len() != 0 {
		t.Fatalf("got a cache suspended %v with %d entries, want an empty one serving", c.Suspended(), c.Len())
	}
	if got := logs.String(); !strings.Contains(got, "cache: warm start failed; starting cold") || !strings.Contains(got, "connection refused") ||
		strings.Contains(got, "deadline") {
		t.Fatalf("got the log %s, want the warm start failed on the refused connection", got)
	}
}
