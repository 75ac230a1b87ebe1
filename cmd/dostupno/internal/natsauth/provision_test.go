package natsauth

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/dostupno/dostupno/shared/natstest"
)

// TestRemoveDeletesWhatProvisionMade: Remove deletes every stream Provision made for its
// namespace and nothing of another namespace's; a second Remove finds nothing to delete.
func TestRemoveDeletesWhatProvisionMade(t *testing.T) {
	ctx := context.Background()
	gone, kept := natstest.New(t), natstest.New(t)
	for _, e := range []*natstest.Env{gone, kept} {
		if err := Provision(ctx, e.Conn, e.Namespace, 1); err != nil {
			t.Fatalf("provision %s: %v", e.Namespace, err)
		}
	}
	deleted, err := Remove(ctx, gone.Conn, gone.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	if want := Streams(gone.Namespace); !slices.Equal(deleted, want) {
		t.Errorf("deleted %v, want %v", deleted, want)
	}
	exists := func(name string) bool {
		_, err := gone.JS.Stream(ctx, name)
		if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Fatalf("stream %s: %v", name, err)
		}
		return err == nil
	}
	for _, name := range Streams(gone.Namespace) {
		if exists(name) {
			t.Errorf("stream %s still there after Remove", name)
		}
	}
	for _, name := range Streams(kept.Namespace) {
		if !exists(name) {
			t.Errorf("stream %s of another namespace was deleted", name)
		}
	}
	if deleted, err := Remove(ctx, gone.Conn, gone.Namespace); err != nil || len(deleted) != 0 {
		t.Errorf("a second Remove deleted %v (err %v), want nothing", deleted, err)
	}
}
