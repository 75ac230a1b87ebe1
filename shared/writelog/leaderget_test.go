package writelog_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dostupno/dostupno/shared/natstest"
	"github.com/dostupno/dostupno/shared/writelog"
)

// LeaderMsg reads a message by sequence and the last one of a subject, with its headers and
// data, and answers ErrMsgNotFound for a sequence or a subject the stream lacks, as the
// library's own reads do.
func TestLeaderMsg(t *testing.T) {
	n := natstest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := writelog.Provision(ctx, n.JS, n.Namespace); err != nil {
		t.Fatal(err)
	}
	stream := writelog.StreamName(n.Namespace)
	subject := func(k string) string { return n.Namespace + ".writes." + k }
	var last uint64
	for i, body := range []string{`{"a":1}`, `{"a":2}`, `{"b":3}`} {
		m := nats.NewMsg(subject([]string{"a", "a", "b"}[i]))
		m.Data = []byte(body)
		m.Header.Set(jetstream.MsgIDHeader, "id-"+body)
		ack, err := n.JS.PublishMsg(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		last = ack.Sequence
	}
	for _, c := range []struct {
		seq      uint64
		lastFor  string
		data, id string
		wantSeq  uint64
		wantSubj string
	}{
		{seq: last - 1, data: `{"a":2}`, id: `id-{"a":2}`, wantSeq: last - 1, wantSubj: subject("a")},
		{lastFor: subject("a"), data: `{"a":2}`, id: `id-{"a":2}`, wantSeq: last - 1, wantSubj: subject("a")},
		{lastFor: subject("b"), data: `{"b":3}`, id: `id-{"b":3}`, wantSeq: last, wantSubj: subject("b")},
	} {
		m, err := writelog.LeaderMsg(ctx, n.JS, stream, c.seq, c.lastFor)
		if err != nil {
			t.Fatalf("seq %d, last of %q: %v", c.seq, c.lastFor, err)
		}
		if string(m.Data) != c.data || m.Header.Get(jetstream.MsgIDHeader) != c.id || m.Sequence != c.wantSeq || m.Subject != c.wantSubj {
			t.Errorf("seq %d, last of %q: got %s %q at %d on %s, want %s %q at %d on %s", c.seq, c.lastFor,
				m.Data, m.Header.Get(jetstream.MsgIDHeader), m.Sequence, m.Subject, c.data, c.id, c.wantSeq, c.wantSubj)
		}
	}
	for _, c := range []struct {
		seq     uint64
		lastFor string
	}{{seq: last + 1}, {lastFor: subject("none")}} {
		if _, err := writelog.LeaderMsg(ctx, n.JS, stream, c.seq, c.lastFor); !errors.Is(err, jetstream.ErrMsgNotFound) {
			t.Errorf("seq %d, last of %q: got %v, want ErrMsgNotFound", c.seq, c.lastFor, err)
		}
	}
	if _, err := writelog.LeaderMsg(ctx, n.JS, "NO_SUCH_STREAM", 1, ""); err == nil || errors.Is(err, jetstream.ErrMsgNotFound) {
		t.Errorf("a stream that does not exist: got %v, want an error other than not found", err)
	}
}
