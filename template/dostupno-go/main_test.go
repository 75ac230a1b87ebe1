package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"
)

func TestDurationEnv(t *testing.T) {
	tests := []struct {
		name, value string
		want        time.Duration
	}{
		{"Unset", "", 7 * time.Second},
		{"Duration", "15s", 15 * time.Second},
		{"Minutes", "1m30s", 90 * time.Second},
		{"Seconds", "60", 60 * time.Second},
		{"Zero", "0", 7 * time.Second},
		{"Negative", "-5s", 7 * time.Second},
		{"Garbage", "soon", 7 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("write_timeout", tt.value)
			if got := durationEnv("write_timeout", 7*time.Second); got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// Every request's context ends at the function's write_timeout.
func TestWithDeadline(t *testing.T) {
	var left time.Duration
	h := withDeadline(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, ok := r.Context().Deadline()
		if !ok {
			t.Error("got no deadline, want write_timeout's")
		}
		left = time.Until(d)
	}), 15*time.Second)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/", nil))
	if left <= 0 || left > 15*time.Second {
		t.Fatalf("got %s left, want at most 15s", left)
	}
}

// TestServeDrainsOnSIGTERM sends SIGTERM while a request is in flight: the request must still
// get its answer, and serve must return without error once it has.
func TestServeDrainsOnSIGTERM(t *testing.T) {
	started := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		io.WriteString(w, "done")
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- serve(srv, ln, 5*time.Second) }()

	type result struct {
		body string
		err  error
	}
	answered := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			answered <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		answered <- result{string(b), err}
	}()
	<-started
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	r := <-answered
	if r.err != nil || r.body != "done" {
		t.Fatalf("got %q, %v; want the in-flight request answered with done", r.body, r.err)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("serve: got %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not return after SIGTERM")
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Fatal("got a connection after shutdown, want refused")
	}
}
