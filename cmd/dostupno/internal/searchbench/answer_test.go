package searchbench

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestParseAnswer: an answer is whole at its last byte, whether its body has a length, comes
// in chunks or runs to the connection's end, and not a byte before; malformed answers are
// refused.
func TestParseAnswer(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		status   int
		closing  bool
		eof      bool // whole only at the connection's end
	}{
		{"length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: application/json\r\n\r\nhello", 200, false, false},
		{"empty", "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n", 200, false, false},
		{"chunks", "HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nTrailer: t\r\n\r\n", 503, false, false},
		{"close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", 200, true, false},
		{"to the end", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nsome body", 200, true, true},
		{"1.0", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, true, false},
		{"no content", "HTTP/1.1 204 No Content\r\n\r\n", 204, false, false},
	} {
		b := []byte(tc.in)
		for i := range len(b) {
			if a, err := parseAnswer(b[:i], false); err != nil || a.n != 0 {
				t.Fatalf("%s: %d bytes of %d: got %+v, %v, want not whole yet", tc.name, i, len(b), a, err)
			}
		}
		a, err := parseAnswer(b, tc.eof)
		if err != nil || a.n != len(b) || a.status != tc.status || a.closing != tc.closing {
			t.Errorf("%s: got %+v, %v, want %d bytes, status %d, closing %v", tc.name, a, err, len(b), tc.status, tc.closing)
		}
		if tc.eof {
			if a, err := parseAnswer(b, false); err != nil || a.n != 0 {
				t.Errorf("%s: got %+v, %v before the connection's end, want not whole", tc.name, a, err)
			}
		}
	}
	for _, in := range []string{
		"HTTP/2 200 OK\r\n\r\n",
		"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 abc OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\nx",
		"HTTP/1.1 200 OK\r\nno colon\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\n\r\nno length on a kept connection",
		"HTTP/1.1 200 OK\r\n" + strings.Repeat("X-Long: header\r\n", maxHead/16+1),
	} {
		if a, err := parseAnswer([]byte(in), false); err == nil {
			t.Errorf("%.60q: got %+v, want an error", in, a)
		}
	}
}

// FuzzParseAnswer: whatever a server sends, parseAnswer does not panic, and an answer it
// takes as whole is one net/http reads whole too, with the same status.
func FuzzParseAnswer(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"), false)
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"), false)
	f.Add([]byte("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody"), true)
	f.Fuzz(func(t *testing.T, b []byte, eof bool) {
		a, err := parseAnswer(b, eof)
		if err != nil || a.n == 0 {
			return
		}
		if a.n > len(b) {
			t.Fatalf("answer of %d bytes in %d", a.n, len(b))
		}
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(b[:a.n])), nil)
		if err != nil {
			t.Fatalf("parseAnswer took %q (%+v); net/http: %v", b[:a.n], a, err)
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			t.Fatalf("parseAnswer took %q (%+v); net/http's body: %v", b[:a.n], a, err)
		}
		if resp.StatusCode != a.status {
			t.Fatalf("parseAnswer took %q with status %d; net/http %d", b[:a.n], a.status, resp.StatusCode)
		}
	})
}
