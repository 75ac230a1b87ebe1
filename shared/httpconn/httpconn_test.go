package httpconn_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dostupno/dostupno/shared/httpconn"
)

// counting is a listener whose connections count their writes (the system calls a TCP
// connection would make).
type counting struct {
	net.Listener
	writes *atomic.Int64
}

func (l counting) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.writes}, nil
}

type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

func (c countingConn) CloseWrite() error { return c.Conn.(*net.TCPConn).CloseWrite() }

// serve runs h on httpconn's listener over a counting one; writes counts what reaches TCP.
func serve(t *testing.T, h http.Handler) (srv *httptest.Server, writes *atomic.Int64) {
	t.Helper()
	writes = new(atomic.Int64)
	srv = httptest.NewUnstartedServer(h)
	srv.Listener = httpconn.Listen(counting{srv.Listener, writes})
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, writes
}

// An answer over net/http's 4 KiB buffer (a page of search answers) reaches TCP in one
// write, each answer of a kept-alive connection: net/http alone would write each in two or
// three. One answer of the run may leave in two: net/http's background read (it watches for
// the client leaving) calls Read while the handler writes, and Read writes what is held first
// (about 1 answer in 10,000 here, with both cores busy).
func TestAnswerLeavesInOneWrite(t *testing.T) {
	body := bytes.Repeat([]byte("x"), 9000)
	srv, writes := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	}))
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second)) // an answer held for good fails, not hangs
	br := bufio.NewReader(c)
	const answers = 5
	var each []int64
	for i := range answers {
		before := writes.Load()
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("answer %d: %d bytes, %v", i, len(got), err)
		}
		if resp.Close {
			t.Fatalf("answer %d closes the connection", i)
		}
		each = append(each, writes.Load()-before)
	}
	var all int64
	for _, n := range each {
		all += n
	}
	if all > answers+1 || slices.Contains(each, 0) {
		t.Errorf("%d answers left in %v writes, want one each (one of them two at most)", answers, each)
	}
}

// A client that waits for "100 Continue" before it sends its body gets it: the connection
// writes what it holds before it reads.
func TestContinueBeforeTheBody(t *testing.T) {
	srv, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		io.WriteString(w, strconv.FormatInt(n, 10))
	}))
	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Minute}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader(strings.Repeat("y", 5000)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Expect", "100-continue")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("the client waited for 100 Continue: %v", err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(got) != "5000" {
		t.Fatalf("got %d %q", resp.StatusCode, got)
	}
}

// An answer larger than MaxHeld, streamed in pieces without a length (chunked), arrives
// whole; so does the answer of a connection net/http closes after it.
func TestLargeAnswersArriveWhole(t *testing.T) {
	body := make([]byte, 3*httpconn.MaxHeld+12345)
	rand.Read(body)
	srv, writes := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("close") {
			w.Header().Set("Connection", "close")
		}
		for p := body; len(p) > 0; {
			n := min(len(p), 1000+len(p)%7000)
			w.Write(p[:n])
			p = p[n:]
		}
	}))
	for _, q := range []string{"", "?close"} {
		before := writes.Load()
		resp, err := http.Get(srv.URL + q)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("%q: %d of %d bytes, %v", q, len(got), len(body), err)
		}
		// Past MaxHeld, what is held leaves with the write that overflows it (one writev on
		// TCP, a write for each piece here): never a write for each of the handler's pieces.
		// Plus the end's flush, and at most one more: net/http's background read (it watches
		// for the client leaving) calls Read while the handler writes, and Read writes what
		// is held first; when it comes after the handler's first pieces, their write is one
		// of its own (8 writes in about 1 run of 300 here, at random).
		if n, most := writes.Load()-before, int64(2*(len(body)/httpconn.MaxHeld)+2); n > most {
			t.Errorf("%q: %d writes, want at most %d", q, n, most)
		}
	}
}

// A request net/http refuses before any handler (it writes its answer on the connection,
// then closes it) is answered.
func TestRefusedRequestIsAnswered(t *testing.T) {
	srv, _ := serve(t, http.NotFoundHandler())
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 400 ") {
		t.Fatalf("got %q, %v; want a 400", line, err)
	}
}
