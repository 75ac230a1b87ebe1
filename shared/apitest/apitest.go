// Package apitest is the one harness of the functions' HTTP tests: New builds a function from its
// constructor with its own database, NATS namespace, secrets and bucket, serves it, and hands
// out tokens, a pool on its copy and the error envelope; Do sends a request and reads the
// whole answer.
package apitest

import (
	"io"
	"net/http"
	"testing"
	"time"
)

// Do sends method url with body (nil for none) and header pairs ("Name", "value", ...; a pair
// with an empty value is not sent), and returns the response, its body closed, and the body.
// A transport error fails t.
func Do(t testing.TB, method, url string, body io.Reader, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] != "" {
			req.Header.Set(header[i], header[i+1])
		}
	}
	return Send(t, req)
}

// Send sends req and returns the response, its body closed, and the body. A transport error
// fails t.
func Send(t testing.TB, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read the answer: %v", req.Method, req.URL, err)
	}
	return resp, b
}

// Eventually calls check until it reports done or within has passed, then fails t with the
// last thing check saw: for a state that follows a write asynchronously (a cache dropping an
// answer on the change feed), awaited rather than slept through.
func Eventually(t testing.TB, within time.Duration, what string, check func() (done bool, saw string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		done, saw := check()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %s after %v", what, saw, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
