package hotcache

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
	neturl "net/url"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/dostupno/dostupno/shared/changefeed"
	"github.com/dostupno/dostupno/shared/natstest"
)

// StalenessBound is the bound the README states: after a change is published, no subscribed
// instance serves an answer it affects for longer than this.
const StalenessBound = time.Second

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func connect(t *testing.T, url string, opts ...nats.Option) *nats.Conn {
	t.Helper()
	opts = append([]nats.Option{nats.Timeout(3 * time.Second)}, opts...)
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// subscribed is one instance of a read function: its own connection, cache and subscription.
func subscribed(t *testing.T, url, ns string, opts ...nats.Option) *Local {
	t.Helper()
	c := newCache(100)
	s, err := Subscribe(connect(t, url, opts...), ns, c, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return c
}

// within polls cond until it holds or d has passed, and returns how long it took.
func within(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("got %s not done after %v, want it within %v", what, time.Since(start), d)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(start)
}

func TestInvalidationAcrossInstances(t *testing.T) {
	t.Parallel()
	env := natstest.New(t)
	a := subscribed(t, env.URL, env.Namespace)
	b := subscribed(t, env.URL, env.Namespace)
	for _, c := range []*Local{a, b} {
		c.Set("event:id=7", Entry{Body: []byte("old"), EventIDs: []int64{7}})
		c.Set("search:city=kazan", Entry{Body: []byte("k"), Matches: func(e changefeed.Event) bool { return e.City == "kazan" }})
	}
	msg, err := json.Marshal(changefeed.Change{Seq: 9, Events: []changefeed.Event{{ID: 7, City: "moscow"}}})
	if err != nil {
		t.Fatal(err)
	}
	published := time.Now()
	if err := env.Conn.Publish(changefeed.Subject(env.Namespace), msg); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*Local{"a": a, "b": b} {
		within(t, StalenessBound-time.Since(published), "instance "+name+" dropping event 7", func() bool {
			_, ok := c.Get("event:id=7")
			return !ok
		})
		if _, ok := c.Get("search:city=kazan"); !ok {
			t.Errorf("instance %s: got the unaffected search dropped, want it kept", name)
		}
	}
	t.Logf("both instances dropped the entry %v after the change was published", time.Since(published))
}

func TestHotKeysOverNATS(t *testing.T) {
	t.Parallel()
	env := natstest.New(t)
	a := subscribed(t, env.URL, env.Namespace, nats.Name("a"))
	b := subscribed(t, env.URL, env.Namespace, nats.Name("b"))
	a.Set("search:city=moscow", Entry{})
	a.Get("search:city=moscow")
	b.Set("event:id=1", Entry{})
	got, err := collectHot(env.Conn, env.Namespace, 10, 10*time.Second, 2) // both instances reply
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["search:city=moscow"] != 2 || got["event:id=1"] != 1 {
		t.Fatalf("got %v, want search:city=moscow 2 uses and event:id=1 1 use from two instances", got)
	}
}

// TestLostConnectionSuspends cuts the connections of two instances to the NATS server (and
// refuses new ones): both stop serving from memory within the bound (a change could be
// published and missed), and cache again once the server can be reached.
func TestLostConnectionSuspends(t *testing.T) {
	t.Parallel()
	env := natstest.New(t)
	p := newProxy(t, env.URL)
	opts := []nats.Option{nats.MaxReconnects(-1), nats.ReconnectWait(20 * time.Millisecond)}
	a := subscribed(t, p.url, env.Namespace, opts...)
	b := subscribed(t, p.url, env.Namespace, opts...)
	for _, c := range []*Local{a, b} {
		c.Set("event:id=1", Entry{Body: []byte("x"), EventIDs: []int64{1}})
	}
	p.cut(true)
	stopped := time.Now()
	for name, c := range map[string]*Local{"a": a, "b": b} {
		within(t, StalenessBound-time.Since(stopped), "instance "+name+" suspending", func() bool {
			_, ok := c.Get("event:id=1")
			return !ok && c.Suspended()
		})
	}
	p.cut(false)
	for name, c := range map[string]*Local{"a": a, "b": b} {
		within(t, 10*time.Second, "instance "+name+" resuming", func() bool { return !c.Suspended() })
		c.Set("event:id=1", Entry{Body: []byte("y"), EventIDs: []int64{1}, Gen: c.Gen()})
		if e, ok := c.Get("event:id=1"); !ok || string(e.Body) != "y" {
			t.Fatalf("instance %s: got %q %v after resuming, want y stored", name, e.Body, ok)
		}
	}
}

// TestSilentConnectionLossSuspends freezes the connection without closing it (a network
// partition: no TCP error reaches the client): the health check notices within the bound.
func TestSilentConnectionLossSuspends(t *testing.T) {
	t.Parallel()
	env := natstest.New(t)
	p := newProxy(t, env.URL)
	c := subscribed(t, p.url, env.Namespace)
	c.Set("event:id=1", Entry{Body: []byte("x"), EventIDs: []int64{1}})
	p.freeze(true)
	took := within(t, StalenessBound, "suspending on a silent loss", func() bool {
		_, ok := c.Get("event:id=1")
		return !ok && c.Suspended()
	})
	t.Logf("suspended %v after the connection froze", took)
	p.freeze(false)
	within(t, 5*time.Second, "resuming", func() bool { return !c.Suspended() })
}

// proxy is a TCP proxy to a NATS server that keeps its port for the whole test and can lose
// the server in two ways: freeze (stop passing bytes without closing) and cut (close every
// connection and refuse new ones).
type proxy struct {
	url string

	mu     sync.Mutex
	thawed *sync.Cond // signalled when frozen turns false
	frozen bool
	down   bool
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	u, err := neturl.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{url: "nats://" + ln.Addr().String()}
	p.thawed = sync.NewCond(&p.mu)
	t.Cleanup(func() {
		ln.Close()
		p.freeze(false)
		p.cut(true)
	})
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", u.Host)
			if err != nil {
				in.Close()
				continue
			}
			if !p.keep(in, out) {
				continue
			}
			go p.pipe(in, out)
			go p.pipe(out, in)
		}
	}()
	return p
}

// keep records a proxied connection, or closes it while the proxy is cut.
func (p *proxy) keep(in, out net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		in.Close()
		out.Close()
		return false
	}
	p.conns = append(p.conns, in, out)
	return true
}

// cut closes every connection and refuses new ones (on), or lets them through again (off).
func (p *proxy) cut(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = on
	if on {
		for _, c := range p.conns {
			c.Close()
		}
		p.conns = nil
	}
}

// freeze stops passing bytes (on) or passes them again (off).
func (p *proxy) freeze(on bool) {
	p.mu.Lock()
	p.frozen = on
	p.mu.Unlock()
	p.thawed.Broadcast()
}

func (p *proxy) pipe(from, to net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := from.Read(buf)
		p.mu.Lock()
		for p.frozen {
			p.thawed.Wait()
		}
		p.mu.Unlock()
		if n > 0 {
			if _, werr := to.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			to.Close()
			return
		}
	}
}
