package httpjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/dostupno/dostupno/shared/apperr"
)

type sample struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		ct        string
		wantCode  apperr.Code
		wantField string
	}{
		{"OK", `{"name":"a","n":1}`, "application/json", "", ""},
		{"OKWithCharset", `{"name":"a"}`, "application/json; charset=utf-8", "", ""},
		{"ErrUnknownField", `{"name":"a","admin":true}`, "application/json", apperr.InvalidArgument, "admin"},
		{"ErrWrongType", `{"n":"x"}`, "application/json", apperr.InvalidArgument, "n"},
		{"ErrBroken", `{"name":`, "application/json", apperr.InvalidArgument, ""},
		{"ErrSyntax", `{"name" "a"}`, "application/json", apperr.InvalidArgument, ""},
		{"ErrEmpty", ``, "application/json", apperr.InvalidArgument, ""},
		{"ErrTwoValues", `{} {}`, "application/json", apperr.InvalidArgument, ""},
		{"ErrTooLarge", `{"name":"` + strings.Repeat("a", 70<<10) + `"}`, "application/json", apperr.PayloadTooLarge, ""},
		{"ErrMediaType", `{}`, "text/plain", apperr.UnsupportedMediaType, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body))
			r.Header.Set("Content-Type", tt.ct)
			var dst sample
			err := Decode(httptest.NewRecorder(), r, 0, &dst)
			if got := apperr.CodeOf(err); got != tt.wantCode {
				t.Fatalf("got code %q (%v), want %q", got, err, tt.wantCode)
			}
			if err != nil && apperr.As(err).Field != tt.wantField {
				t.Fatalf("got field %q, want %q", apperr.As(err).Field, tt.wantField)
			}
		})
	}
}

func TestErrorEnvelope(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
		wantMsg    string
		wantRetry  string
	}{
		{"Invalid", apperr.Invalid("limit", "limit must be 1..100"), 400, "invalid_argument", "limit must be 1..100", ""},
		{"InternalHidden", apperr.Wrap(io.ErrClosedPipe, "secret detail"), 500, "internal", "internal error", ""},
		{"ForeignIsInternal", errors.New("nil map"), 500, "internal", "internal error", ""},
		{"DatabaseAwayIsUnavailable", apperr.Wrap(fmt.Errorf("read: %w", io.ErrUnexpectedEOF), "search"), 503, "unavailable",
			"a service behind this function is not reachable now; try again shortly", "1"},
		{"RateLimited", &apperr.Error{Code: apperr.RateLimited, Message: "slow down", RetryAfter: 1500e6}, 429, "rate_limited", "slow down", "2"},
		{"UnavailableHasRetry", apperr.New(apperr.Unavailable, "later"), 503, "unavailable", "later", "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			Error(w, httptest.NewRequest("GET", "/", nil), log, tt.err)
			if w.Code != tt.wantStatus {
				t.Fatalf("got status %d, want %d", w.Code, tt.wantStatus)
			}
			var body struct {
				Error map[string]string `json:"error"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if body.Error["code"] != tt.wantCode || body.Error["message"] != tt.wantMsg {
				t.Fatalf("got %v, want code %s message %q", body.Error, tt.wantCode, tt.wantMsg)
			}
			if got := w.Header().Get("Retry-After"); got != tt.wantRetry {
				t.Fatalf("got Retry-After %q, want %q", got, tt.wantRetry)
			}
		})
	}
}

func TestMethod(t *testing.T) {
	w := httptest.NewRecorder()
	err := Method(w, httptest.NewRequest("DELETE", "/", nil), "GET", "HEAD")
	if apperr.CodeOf(err) != apperr.MethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" {
		t.Fatalf("got %v / Allow %q, want 405 with Allow", err, w.Header().Get("Allow"))
	}
}

func FuzzDecodeBytes(f *testing.F) {
	f.Add([]byte(`{"name":"a","n":1}`))
	f.Add([]byte(`{"n":1e400}`))
	f.Add([]byte("\xff\xfe"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var s sample
		err := DecodeBytes(b, &s)
		if err != nil && apperr.CodeOf(err) == apperr.Internal {
			t.Fatalf("got internal error for client input %q: %v", b, err)
		}
	})
}

// DecodeBytes (the faster codec first) answers as DecodeReader (encoding/json) does: the same
// value, and the same error where there is one.
func TestDecodeBytesIsDecodeReader(t *testing.T) {
	for _, in := range []string{
		`{"name":"a","n":1}`, `{"NAME":"a"}`, `{"n":"x"}`, `{"n":1,"bogus":2}`, `{"name":"a"} {}`,
		`{"n":1e400}`, `{"name":"\ud800"}`, ``, `{`, `[1]`, `null`, `{"name":"a","name":"b"}`,
		`{"name":"b","n":1,`, `{"name":"b","n":1}}`, `{"name":"b","n":1 x`,
	} {
		preset := sample{Name: "kept"}
		a, b := preset, preset
		errA := DecodeBytes([]byte(in), &a)
		errB := DecodeReader(strings.NewReader(in), &b)
		if fmt.Sprint(errA) != fmt.Sprint(errB) || !reflect.DeepEqual(a, b) {
			t.Errorf("%q: got %+v, %v; DecodeReader gives %+v, %v", in, a, errA, b, errB)
		}
	}
}

// TestWriteRawOneWriteForTheBody: an answer of a page's size (~9 KiB) reaches the client whole,
// newline included, in two writes on the connection (the 4 KiB buffer holding the headers and
// the body's start, then the rest), not three (a newline written apart, flushed on its own);
// a small answer goes in one. The cached body it was given is left as it was.
func TestWriteRawOneWriteForTheBody(t *testing.T) {
	for _, c := range []struct {
		size, writes int
	}{{9 << 10, 2}, {300, 1}} {
		body := bytes.Repeat([]byte("a"), c.size)
		body[0], body[len(body)-1] = '"', '"'
		cached := append(make([]byte, 0, len(body)+64), body...) // room to append into: it must not be
		ln := &countingListener{Listener: mustListen(t)}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			WriteRaw(w, http.StatusOK, cached)
		})}
		go srv.Serve(ln) //nolint:errcheck // closed below
		resp, err := http.Get("http://" + ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		if want := append(append([]byte{}, body...), '\n'); !bytes.Equal(got, want) || resp.ContentLength != int64(len(want)) {
			t.Fatalf("%d bytes: got %d bytes (Content-Length %d), want the body and a newline", c.size, len(got), resp.ContentLength)
		}
		if n := ln.writes.Load(); n != int64(c.writes) {
			t.Errorf("%d bytes: the answer took %d writes on the connection, want %d", c.size, n, c.writes)
		}
		if !bytes.Equal(cached, body) || cached[:len(body)+1][len(body)] != 0 {
			t.Errorf("%d bytes: the cached body was written into", c.size)
		}
	}
}

func mustListen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// countingListener counts the writes on the connections it accepts.
type countingListener struct {
	net.Listener
	writes atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, writes: &l.writes}, nil
}

type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}
