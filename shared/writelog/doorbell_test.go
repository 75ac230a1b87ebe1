package writelog_test

import (
	"context"
	"testing"
	"time"

	"github.com/dostupno/dostupno/shared/natstest"
	"github.com/dostupno/dostupno/shared/writelog"
)

// The doorbell is never an empty message: the NATS connector delivers an empty one only by an
// oversight of its own (it logs "no message to send").
func TestRingSendsTheNamespace(t *testing.T) {
	n := natstest.New(t)
	ctx := context.Background()
	l, err := writelog.Open(ctx, n.JS, n.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := n.Conn.SubscribeSync(writelog.DoorbellSubject(n.Namespace))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Conn.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := l.Ring(ctx); err != nil {
		t.Fatal(err)
	}
	m, err := sub.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatalf("got no doorbell: %v", err)
	}
	if string(m.Data) != n.Namespace {
		t.Fatalf("got doorbell %q, want the namespace %q", m.Data, n.Namespace)
	}
}
