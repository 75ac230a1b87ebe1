// Command handler is the process the of-watchdog starts (fprocess) in http mode: it serves the
// function's Handle on 127.0.0.1:8082 (upstream_url) with the read and write timeouts of the
// watchdog's environment, and on SIGTERM stops taking connections and lets requests in flight
// finish within write_timeout. The watchdog answers /_/health itself. The handler is built as
// the process starts (instance.Prepare): its connections and its warm cache are ready sooner
// than if its first request built them.
package main

import (
	"context"
	"errors"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	function "github.com/dostupno/dostupno"
	"github.com/dostupno/dostupno/shared/httpconn"
	"github.com/dostupno/dostupno/shared/instance"
)

const defaultTimeout = 10 * time.Second

func main() {
	instance.Prepare() // the handler is built while the server starts, not at the first request
	readTimeout := durationEnv("read_timeout", defaultTimeout)
	writeTimeout := durationEnv("write_timeout", defaultTimeout)
	srv := &http.Server{
		Addr:              "127.0.0.1:8082", // the watchdog's upstream_url
		Handler:           withDeadline(http.HandlerFunc(function.Handle), writeTimeout),
		ReadTimeout:       readTimeout,
		ReadHeaderTimeout: readTimeout,
		// A little over write_timeout so that a handler bounded by it can still write its
		// own timeout answer.
		WriteTimeout:   writeTimeout + time.Second,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 1 << 20,
	}
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		log.Fatalf("handler: %v", err)
	}
	if err := serve(srv, ln, writeTimeout); err != nil {
		log.Fatalf("handler: %v", err)
	}
}

// serve runs srv on ln until SIGTERM or SIGINT, then stops accepting connections and lets the
// requests in flight finish within grace. Each answer leaves in one write to the watchdog, not
// in net/http's 4 KiB pieces (shared/httpconn).
func serve(srv *http.Server, ln net.Listener, grace time.Duration) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(httpconn.Listen(ln)) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Printf("handler: signal received, draining for up to %s", grace)
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return errors.Join(err, srv.Close())
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// withDeadline gives each request's context the deadline d (write_timeout), as the watchdog
// bounds the call and as the local runner does (cmd/dostupno/up.go): a handler that waits (a write waiting for its
// copy, writelog.WaitTimeout) answers within it instead of being cut off.
func withDeadline(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// durationEnv reads a duration such as "15s" or a whole number of seconds such as "15", as the
// watchdog does; anything else gives fallback.
func durationEnv(name string, fallback time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return fallback
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return d
	}
	log.Printf("handler: %s=%q is not a duration; using %s", name, v, fallback)
	return fallback
}
