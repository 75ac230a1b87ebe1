package natstest

import (
	"context"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

func TestNamespaceIsOwnAndCleaned(t *testing.T) {
	var name string
	t.Run("Create", func(t *testing.T) {
		e := New(t)
		name = strings.ToUpper(e.Namespace) + "_PROBE"
		_, err := e.JS.CreateStream(context.Background(), jetstream.StreamConfig{Name: name, Subjects: []string{e.Namespace + ".probe"}, Storage: jetstream.MemoryStorage})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.JS.Publish(context.Background(), e.Namespace+".probe", []byte("x")); err != nil {
			t.Fatal(err)
		}
	})
	e := New(t)
	if _, err := e.JS.Stream(context.Background(), name); err == nil {
		t.Fatalf("got stream %s after its test ended, want it deleted", name)
	}
}
