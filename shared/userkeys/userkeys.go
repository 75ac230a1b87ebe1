// Package userkeys keeps the key of every user outside the write log, so that the personal
// data of the user's commands can be read only while the user exists: each user has a random
// AES-256 key, the personal fields of its commands are sealed with it (AES-GCM) before they
// are published, every copy opens them with it as it applies them, and erasing the user
// destroys the key. A command whose key is gone can no longer be read by anyone, so a copy
// replayed from the stream later holds no trace of the user.
//
// The keys live in the JetStream stream "<NAMESPACE>_USERKEYS" (subjects
// "<namespace>.userkeys.<user id>", file storage, one message per subject that is never
// replaced, no age limit, no purge), not in Postgres: every copy's applier must read them, including a copy being built
// from sequence 1, and copies are fed by the write log alone, so a table would need a
// replication of its own; NATS is what every copy already reaches, and deleting one message
// there erases the user for all copies at once. It is a plain stream rather than a key-value
// bucket because a bucket denies message deletes and its purge only marks a value deleted,
// leaving its bytes on disk until the block is compacted: Destroy deletes the key's message
// with a secure delete, which overwrites it on disk.
//
// The stream also holds the pepper: a random secret made once, with which Blind turns an
// email into a keyed hash, so that uniqueness of emails and throttle counters need no email
// in clear.
package userkeys

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/dostupno/dostupno/shared/writelog"
)

// KeySize is the size of a user's key (AES-256) and of the pepper.
const KeySize = 32

// pepperName is the subject token of the pepper (user ids are UUIDs: no clash).
const pepperName = "pepper"

// StreamName is the keys' stream of namespace ns.
func StreamName(ns string) string { return strings.ToUpper(ns) + "_USERKEYS" }

// Subject is the subject of user userID's key under namespace ns.
func Subject(ns, userID string) string { return strings.ToLower(ns) + ".userkeys." + userID }

// Store is a handle on the keys' stream.
type Store struct {
	js     jetstream.JetStream
	stream jetstream.Stream
	ns     string

	mu     sync.Mutex
	pepper []byte
}

// Config is the keys' stream of namespace ns. A stored key is never replaced: the stream
// refuses a second message on a subject that holds one (DiscardNewPerSubject), so that no
// publisher can swap a user's key (or the pepper) for one of its own, which would make the
// user's commands unreadable; a key goes only by Destroy.
func Config(ns string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:                 StreamName(ns),
		Description:          "per-user keys of the personal data in the write log; a destroyed key erases the user",
		Subjects:             []string{strings.ToLower(ns) + ".userkeys.*"},
		Storage:              jetstream.FileStorage,
		Retention:            jetstream.LimitsPolicy,
		MaxMsgsPerSubject:    1,
		MaxAge:               0,
		Discard:              jetstream.DiscardNew,
		DiscardNewPerSubject: true,
		Replicas:             1,
		AllowDirect:          false, // reads go to the leader (get)
		DenyPurge:            true,  // one key at a time, by Destroy
	}
}

// Open binds the keys' stream of namespace ns, creating it (with opts: WRITELOG_REPLICAS) when
// it does not exist yet, and returns a handle on it. It never changes an existing stream: only
// the ops CLI's credential may (Provision).
func Open(ctx context.Context, js jetstream.JetStream, ns string, opts ...writelog.Option) (*Store, error) {
	stream, err := writelog.BindStream(ctx, js, Config(ns), opts...)
	if err != nil {
		return nil, fmt.Errorf("the user keys: %w", err)
	}
	return &Store{js: js, stream: stream, ns: ns}, nil
}

// Provision creates the keys' stream of namespace ns or brings it to Config with opts (as many
// replicas as the write log: writelog.WithReplicas raises the count, never lowers it), and
// makes the pepper if there is none yet (dostupno migrate and the local runner, with the ops
// CLI's credential).
func Provision(ctx context.Context, js jetstream.JetStream, ns string, opts ...writelog.Option) error {
	stream, err := writelog.ProvisionStream(ctx, js, Config(ns), opts...)
	if err != nil {
		return fmt.Errorf("the user keys: %w", err)
	}
	s := &Store{js: js, stream: stream, ns: ns}
	_, err = s.Pepper(ctx)
	return err
}

// checkName refuses a name that is not one subject token.
func checkName(name string) error {
	if name == "" || strings.ContainsAny(name, ".*> \t\r\n") {
		return fmt.Errorf("%q is not a user id", name)
	}
	return nil
}

// put stores raw as the value of name unless it has one; exists reports that it had.
func (s *Store) put(ctx context.Context, name string, raw []byte) (exists bool, err error) {
	if err := checkName(name); err != nil {
		return false, err
	}
	_, err = s.js.Publish(ctx, Subject(s.ns, name), raw,
		jetstream.WithExpectStream(StreamName(s.ns)), jetstream.WithExpectLastSequencePerSubject(0))
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
		return true, nil
	}
	return false, err
}

// get returns the stored value of name and its sequence; ok is false when it has none. It asks
// the stream's leader (writelog.LeaderMsg): a replica answering a direct get may not have
// received a key created a moment ago, and a key taken for gone erases its user's command.
func (s *Store) get(ctx context.Context, name string) (raw []byte, seq uint64, ok bool, err error) {
	if err := checkName(name); err != nil {
		return nil, 0, false, err
	}
	m, err := writelog.LeaderMsg(ctx, s.js, StreamName(s.ns), 0, Subject(s.ns, name))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, 0, false, nil
	}
	if err != nil {
		return nil, 0, false, err
	}
	return m.Data, m.Sequence, true, nil
}

// Key is one user's key.
type Key struct{ aead cipher.AEAD }

func newKey(raw []byte) (Key, error) {
	if len(raw) != KeySize {
		return Key{}, fmt.Errorf("a user key has %d bytes, want %d", len(raw), KeySize)
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return Key{}, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return Key{}, err
	}
	return Key{aead: aead}, nil
}

// Create makes the key of a new user (its id chosen just now, so it has none yet).
func (s *Store) Create(ctx context.Context, userID string) (Key, error) {
	raw := make([]byte, KeySize)
	if _, err := rand.Read(raw); err != nil {
		return Key{}, fmt.Errorf("make a user key: %w", err)
	}
	exists, err := s.put(ctx, userID, raw)
	if err == nil && exists {
		err = errors.New("the user has a key already")
	}
	if err != nil {
		return Key{}, fmt.Errorf("store the key of user %s: %w", userID, err)
	}
	return newKey(raw)
}

// Get returns the key of user userID; ok is false when the user has none (erased, or never
// had one). A stored key that is not a key is an error.
func (s *Store) Get(ctx context.Context, userID string) (Key, bool, error) {
	raw, _, ok, err := s.get(ctx, userID)
	if err != nil || !ok {
		if err != nil {
			err = fmt.Errorf("read the key of user %s: %w", userID, err)
		}
		return Key{}, false, err
	}
	k, err := newKey(raw)
	if err != nil {
		return Key{}, false, fmt.Errorf("the key of user %s: %w", userID, err)
	}
	return k, true, nil
}

// Destroy erases the key of user userID: its message is deleted and overwritten on disk.
// Destroying a key that is gone does nothing.
func (s *Store) Destroy(ctx context.Context, userID string) error {
	if userID == pepperName {
		return errors.New("the pepper is not a user's key")
	}
	_, seq, ok, err := s.get(ctx, userID)
	if err != nil {
		return fmt.Errorf("find the key of user %s: %w", userID, err)
	}
	if !ok {
		return nil
	}
	if err := s.stream.SecureDeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		// Every copy's applier destroys the key as it applies the erasure, and another may
		// have deleted it between the read and the delete: the server then answers that the
		// sequence is not found, an error the client does not type. A key that is gone is
		// destroyed.
		if _, _, still, gerr := s.get(ctx, userID); gerr == nil && !still {
			return nil
		}
		return fmt.Errorf("erase the key of user %s: %w", userID, err)
	}
	return nil
}

// Pepper is the deployment's secret for Blind, made by Provision (or, on a development
// server where Provision did not run, by the first caller ever) and read by the others.
func (s *Store) Pepper(ctx context.Context) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pepper != nil {
		return s.pepper, nil
	}
	raw, _, ok, err := s.get(ctx, pepperName)
	if err == nil && !ok {
		raw = make([]byte, KeySize)
		if _, err := rand.Read(raw); err != nil {
			return nil, fmt.Errorf("make the pepper: %w", err)
		}
		var exists bool
		if exists, err = s.put(ctx, pepperName, raw); err == nil && exists {
			raw, _, _, err = s.get(ctx, pepperName) // another caller made it meanwhile
		}
	}
	if err != nil {
		return nil, fmt.Errorf("the pepper: %w", err)
	}
	if len(raw) != KeySize {
		return nil, fmt.Errorf("the pepper has %d bytes, want %d", len(raw), KeySize)
	}
	s.pepper = raw
	return raw, nil
}

// Blind is the keyed hash of value in the domain kind (e.g. "email", "addr"): equal values
// give equal hashes, and without the pepper nobody can tell which value a hash is of, not even
// by trying every likely email.
func Blind(pepper []byte, kind, value string) string {
	m := hmac.New(sha256.New, pepper)
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}

// Seal encrypts plaintext under k, bound to aad (the command kind and the user id, so a
// sealed value cannot be moved to another command or user): a random nonce, then the
// ciphertext and its tag.
func (k Key) Seal(plaintext, aad []byte) []byte {
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plaintext)+k.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(fmt.Sprintf("userkeys: random nonce: %v", err)) // crypto/rand does not fail on Linux
	}
	return k.aead.Seal(nonce, nonce, plaintext, aad)
}

// Open decrypts what Seal made with k and aad; anything else is an error.
func (k Key) Open(sealed, aad []byte) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(sealed) < n+k.aead.Overhead() {
		return nil, errors.New("the sealed value is too short")
	}
	out, err := k.aead.Open(nil, sealed[:n], sealed[n:], aad)
	if err != nil {
		return nil, fmt.Errorf("open the sealed value: %w", err)
	}
	return out, nil
}
