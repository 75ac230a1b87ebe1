// Package apitest is what the HTTP tests of the functions share: one way to send a request and
// read the whole answer.
package apitest

import (
	"io"
	"net/http"
	"testing"
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
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read the answer: %v", method, url, err)
	}
	return resp, b
}
