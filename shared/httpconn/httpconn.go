// Package httpconn is the connections a function's HTTP server answers on (the template's
// entrypoint, template/dostupno-go/main.go, and the benchmark's server): an answer that
// net/http writes in pieces leaves in one write.
//
// net/http writes an answer through a 4 KiB buffer of its own: a search's page of 20 events
// (6-9 KB) left in two writes, each a system call and a wake-up of the reader (the watchdog,
// or the benchmark's load generator). On these connections a write is held until net/http is
// done with the answer, which it says by what it does next: it sets the connection's deadlines
// (after every answer), reads (the next request, or a request body after "100 Continue"),
// closes it or its write side. Held bytes past MaxHeld leave at once, with what is written
// then, in one write (writev). Measured at 16 clients on 1M events, the builds in turns
// (cmd/dostupno bench --concurrent-only, six pairs): 4,379 → 4,988 answers/s and p99 12.8 →
// 11.3 ms (medians), the CPU an answer 52 → 43 µs for the load generator and 181 → 156 µs for
// the server (medians); the server's writes 2.86 → 1.89 an answer, the load generator's reads
// 2.73 → 2.49 (/proc/<pid>/io).
//
// net/http's background read (it watches for the client leaving while a handler runs) calls
// Read too: when it comes after the handler's first pieces, those leave in a write of their
// own, an answer in two writes at most, about one in 10,000 under load.
//
// A handler that streams (http.Flusher) would have its pieces held until the answer ends,
// and one that hijacks the connection would hold its writes until it reads, sets a deadline
// or closes: no function does either.
package httpconn

import (
	"net"
	"sync"
	"time"
)

// MaxHeld bounds the bytes a connection holds: an answer larger than it (a snapshot, a
// photo) is written as it comes, in writes of at least MaxHeld.
const MaxHeld = 64 << 10

// Listen is ln whose connections hold an answer's writes until it is whole (see the package).
func Listen(ln net.Listener) net.Listener { return listener{ln} }

type listener struct{ net.Listener }

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &conn{Conn: c}, nil
}

// conn holds its writes in held until flush. net/http reads a connection on a goroutine of
// its own while a handler writes (to see the client leave), so mu guards held and err. held is
// a buffer of MaxHeld from buffers while c holds anything, nil otherwise: a kept-alive
// connection between answers holds no memory.
type conn struct {
	net.Conn
	mu   sync.Mutex
	held *[]byte
	err  error // the first failed write: every later one fails with it
}

// buffers are the connections' held bytes, each of capacity MaxHeld.
var buffers = sync.Pool{New: func() any { b := make([]byte, 0, MaxHeld); return &b }}

// release gives c's buffer back; c holds nothing after it.
func (c *conn) release() {
	if c.held != nil {
		*c.held = (*c.held)[:0]
		buffers.Put(c.held)
		c.held = nil
	}
}

// holding is how many bytes c holds.
func (c *conn) holding() int {
	if c.held == nil {
		return 0
	}
	return len(*c.held)
}

func (c *conn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if c.holding()+len(p) <= MaxHeld {
		if c.held == nil {
			c.held = buffers.Get().(*[]byte)
		}
		*c.held = append(*c.held, p...) // within its capacity
		return len(p), nil
	}
	var err error
	if c.holding() == 0 {
		_, err = c.Conn.Write(p)
	} else {
		bufs := net.Buffers{*c.held, p}
		_, err = bufs.WriteTo(c.Conn) // one writev for both on TCP
		c.release()
	}
	if err != nil {
		c.err = err
		return 0, err
	}
	return len(p), nil
}

// flush writes what c holds, under the write deadline set when it was written.
func (c *conn) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil || c.holding() == 0 {
		return c.err
	}
	_, err := c.Conn.Write(*c.held)
	c.release()
	c.err = err
	return err
}

// Read writes what c holds first: the peer may wait for it before it writes (the next
// request, or the body after "100 Continue").
func (c *conn) Read(p []byte) (int, error) {
	if err := c.flush(); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *conn) SetDeadline(t time.Time) error {
	if err := c.flush(); err != nil {
		return err
	}
	return c.Conn.SetDeadline(t)
}

func (c *conn) SetReadDeadline(t time.Time) error {
	if err := c.flush(); err != nil {
		return err
	}
	return c.Conn.SetReadDeadline(t)
}

func (c *conn) SetWriteDeadline(t time.Time) error {
	if err := c.flush(); err != nil {
		return err
	}
	return c.Conn.SetWriteDeadline(t)
}

// CloseWrite writes what c holds, then closes its write side (net/http does before it closes
// a connection whose request it did not read whole).
func (c *conn) CloseWrite() error {
	err := c.flush()
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		if cerr := cw.CloseWrite(); err == nil {
			err = cerr
		}
	}
	return err
}

func (c *conn) Close() error {
	err := c.flush()
	if cerr := c.Conn.Close(); cerr != nil {
		return cerr
	}
	return err
}
