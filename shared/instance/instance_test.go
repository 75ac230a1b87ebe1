package instance

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/dostupno/dostupno/shared/config"
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
	get := retrying(deps, func(*Deps) (http.Handler, error) {
		builds++
		if down {
			return nil, errors.New("nats: no servers available")
		}
		return http.NotFoundHandler(), nil
	}, 50*time.Millisecond)

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
