package userkeys_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"

	"github.com/dostupno/dostupno/shared/natstest"
	"github.com/dostupno/dostupno/shared/userkeys"
)

func TestKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n := natstest.New(t)
	s, err := userkeys.Open(ctx, n.JS, n.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	const id = "0b8f6c1e-2a3d-4e5f-8a9b-0c1d2e3f4a5b"
	k, err := s.Create(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, id); err == nil {
		t.Fatal("got a second key for one user, want the first kept")
	}
	aad := []byte("user.register/" + id)
	sealed := k.Seal([]byte("Анна, anna@example.ru"), aad)
	if bytes.Contains(sealed, []byte("anna")) {
		t.Fatalf("got the plaintext in %x", sealed)
	}
	// opens gets id's key from the store and checks that it opens sealed (want says why).
	opens := func(t *testing.T, want string) userkeys.Key {
		t.Helper()
		got, ok, err := s.Get(ctx, id)
		if err != nil || !ok {
			t.Fatalf("got %v, %v; want the key", ok, err)
		}
		if plain, err := got.Open(sealed, aad); err != nil || string(plain) != "Анна, anna@example.ru" {
			t.Fatalf("got %q, %v; want %s", plain, err, want)
		}
		return got
	}
	got := opens(t, "the plaintext back")
	t.Run("ErrOtherCommand", func(t *testing.T) {
		if _, err := got.Open(sealed, []byte("user.needs/"+id)); err == nil {
			t.Fatal("opened a value sealed for another command")
		}
	})
	t.Run("ErrTampered", func(t *testing.T) {
		bad := bytes.Clone(sealed)
		bad[len(bad)-1] ^= 1
		if _, err := got.Open(bad, aad); err == nil {
			t.Fatal("opened a tampered value")
		}
	})
	t.Run("ErrReplaced", func(t *testing.T) {
		// Whoever may publish keys cannot swap one for its own: the stream refuses a second
		// message on the subject, and the key stays.
		if _, err := n.JS.Publish(ctx, userkeys.Subject(n.Namespace, id), bytes.Repeat([]byte{7}, userkeys.KeySize)); err == nil {
			t.Fatal("got a second key stored for one user, want it refused")
		}
		opens(t, "the first key kept")
	})
	t.Run("DestroyErasesTheStoredKey", func(t *testing.T) {
		stream, err := n.JS.Stream(ctx, userkeys.StreamName(n.Namespace))
		if err != nil {
			t.Fatal(err)
		}
		m, err := stream.GetLastMsgForSubject(ctx, userkeys.Subject(n.Namespace, id))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Destroy(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := s.Get(ctx, id); ok || err != nil {
			t.Fatalf("got %v, %v after Destroy, want no key", ok, err)
		}
		if _, err := stream.GetMsg(ctx, m.Sequence); !errors.Is(err, jetstream.ErrMsgNotFound) {
			t.Fatalf("got %v reading the key's message, want it gone", err)
		}
		if err := s.Destroy(ctx, id); err != nil {
			t.Fatalf("got %v destroying again, want nothing to do", err)
		}
	})
	t.Run("DestroyedByManyAppliersAtOnce", func(t *testing.T) {
		// Every copy's applier destroys the key as it applies the erasure, at the same time
		// as the others: each succeeds, however their reads and deletes interleave.
		for round := range 20 {
			user := fmt.Sprintf("0b8f6c1e-2a3d-4e5f-8a9b-%012d", round)
			if _, err := s.Create(ctx, user); err != nil {
				t.Fatal(err)
			}
			var g errgroup.Group
			for range 4 {
				g.Go(func() error { return s.Destroy(ctx, user) })
			}
			if err := g.Wait(); err != nil {
				t.Fatalf("round %d: got %v from an applier destroying the key, want every one to succeed", round, err)
			}
			if _, ok, err := s.Get(ctx, user); ok || err != nil {
				t.Fatalf("round %d: got %v, %v after the erasure, want no key", round, ok, err)
			}
		}
	})
	t.Run("OnePepper", func(t *testing.T) {
		other, err := userkeys.Open(ctx, n.JS, n.Namespace)
		if err != nil {
			t.Fatal(err)
		}
		p1, err := s.Pepper(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p2, err := other.Pepper(ctx)
		if err != nil || !bytes.Equal(p1, p2) || len(p1) != userkeys.KeySize {
			t.Fatalf("got peppers %x and %x (%v), want one of %d bytes", p1, p2, err, userkeys.KeySize)
		}
		a, b := userkeys.Blind(p1, "email", "anna@example.ru"), userkeys.Blind(p1, "addr", "anna@example.ru")
		if a == b || a != userkeys.Blind(p2, "email", "anna@example.ru") || a == userkeys.Blind([]byte("other"), "email", "anna@example.ru") {
			t.Fatalf("got %s and %s, want a hash that depends on the kind and the pepper", a, b)
		}
	})
}

// Provision makes the stream and the pepper; a function's Open binds the stream as it is and
// reads that pepper.
func TestProvision(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n := natstest.New(t)
	if err := userkeys.Provision(ctx, n.JS, n.Namespace); err != nil {
		t.Fatal(err)
	}
	stream, err := n.JS.Stream(ctx, userkeys.StreamName(n.Namespace))
	if err != nil {
		t.Fatal(err)
	}
	m, err := stream.GetLastMsgForSubject(ctx, userkeys.Subject(n.Namespace, "pepper"))
	if err != nil || len(m.Data) != userkeys.KeySize {
		t.Fatalf("got %v (%v), want a pepper of %d bytes made by Provision", m, err, userkeys.KeySize)
	}
	if err := userkeys.Provision(ctx, n.JS, n.Namespace); err != nil {
		t.Fatalf("got %v provisioning again, want nothing to do", err)
	}
	s, err := userkeys.Open(ctx, n.JS, n.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Pepper(ctx)
	if err != nil || !bytes.Equal(p, m.Data) {
		t.Fatalf("got pepper %x (%v), want the provisioned %x", p, err, m.Data)
	}
}
