package httpconn

import (
	"io"
	"net"
	"testing"
	"time"
)

// What a connection held leaves when net/http sets a deadline, and the connection then holds
// no buffer: a kept-alive connection between answers costs no memory.
func TestHeldLeavesAndItsBufferGoesBack(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	raw, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c := &conn{Conn: raw}
	defer c.Close()
	if _, err := c.Write([]byte("held")); err != nil {
		t.Fatal(err)
	}
	if c.holding() != 4 {
		t.Fatalf("holding %d bytes, want 4", c.holding())
	}
	if err := c.SetWriteDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	if c.held != nil {
		t.Fatal("a connection that holds nothing kept its buffer")
	}
	peer.SetDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, 4)
	if _, err := io.ReadFull(peer, got); err != nil || string(got) != "held" {
		t.Fatalf("the peer read %q, %v", got, err)
	}
}
