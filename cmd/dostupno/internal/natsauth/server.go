package natsauth

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
)

// server is p in the NATS server's form: an allow list where p has one, everything denied
// where it has none (replies to received requests excepted when Responses).
func (p Permissions) server() *server.Permissions {
	if p.All {
		return nil
	}
	list := func(subjects []string) *server.SubjectPermission {
		if len(subjects) == 0 {
			return &server.SubjectPermission{Deny: []string{">"}}
		}
		return &server.SubjectPermission{Allow: slices.Clone(subjects)}
	}
	sp := &server.Permissions{Publish: list(p.Publish), Subscribe: list(p.Subscribe)}
	if p.Responses {
		sp.Response = &server.ResponsePermission{MaxMsgs: server.DEFAULT_ALLOW_RESPONSE_MAX_MSGS, Expires: server.DEFAULT_ALLOW_RESPONSE_EXPIRATION}
	}
	return sp
}

// Configure makes opts a server that requires credentials: one NKEY user per entry of keys
// (identity -> public key; Identities, and db-writer-N for further copies) with its
// permissions under namespace ns, and connections without credentials taken as Doorbell.
func Configure(opts *server.Options, ns string, keys map[string]string) error {
	users := make([]*server.NkeyUser, 0, len(keys)+1)
	names := make([]string, 0, len(keys))
	for name := range keys {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range append(names, Doorbell) {
		p, err := For(ns, name)
		if err != nil {
			return err
		}
		key := DoorbellKey
		if name != Doorbell {
			key = keys[name]
		}
		if !nkeys.IsValidPublicUserKey(key) {
			return fmt.Errorf("natsauth: %s: %q is not an NKEY user's public key", name, key)
		}
		users = append(users, &server.NkeyUser{Nkey: key, Permissions: p.server()})
	}
	opts.Nkeys = users
	opts.NoAuthUser = DoorbellKey
	return nil
}

// EnsureSeeds makes sure dir holds an NKEY seed for each of names (the secret
// SecretName(name), mode 0600), generating each that is missing, and returns every name's
// public key and the names it created. Existing seeds are kept.
func EnsureSeeds(dir string, names []string) (keys map[string]string, created []string, err error) {
	keys = map[string]string{}
	for _, name := range names {
		seed, made, err := ensureSecret(dir, SecretName(name), func() ([]byte, error) {
			kp, err := nkeys.CreateUser()
			if err != nil {
				return nil, err
			}
			return kp.Seed()
		})
		if err != nil {
			return nil, nil, err
		}
		if made {
			created = append(created, SecretName(name))
		}
		pub, err := PublicKey(seed)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", filepath.Join(dir, SecretName(name)), err)
		}
		keys[name] = pub
	}
	return keys, created, nil
}

// RoutePasswordSecret is the secret holding the password the cluster's servers present to
// one another on their routes (RoutesFile).
const RoutePasswordSecret = "nats-route-password"

// EnsureRoutePassword makes sure dir holds the route password (the secret RoutePasswordSecret,
// mode 0600: 32 random bytes in hex), generating it when it is missing, and returns it and
// whether it was made now.
func EnsureRoutePassword(dir string) (password string, created bool, err error) {
	v, created, err := ensureSecret(dir, RoutePasswordSecret, func() ([]byte, error) {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		return []byte(hex.EncodeToString(b)), nil
	})
	return strings.TrimSpace(string(v)), created, err
}

// ensureSecret returns the secret name in dir, first writing it (mode 0600, from generate) when it
// is missing; created says it was.
func ensureSecret(dir, name string, generate func() ([]byte, error)) (value []byte, created bool, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, err
	}
	path := filepath.Join(dir, name)
	value, err = os.ReadFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return value, false, err
	}
	if value, err = generate(); err != nil {
		return nil, false, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, err
	}
	_, err = f.Write(append(value, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, false, fmt.Errorf("write %s: %w", path, err)
	}
	return value, true, nil
}

// PublicKey is the public key of an NKEY user seed.
func PublicKey(seed []byte) (string, error) {
	kp, err := nkeys.FromSeed([]byte(strings.TrimSpace(string(seed))))
	if err != nil {
		return "", fmt.Errorf("not an NKEY seed: %w", err)
	}
	defer kp.Wipe()
	pub, err := kp.PublicKey()
	if err != nil {
		return "", err
	}
	if !nkeys.IsValidPublicUserKey(pub) {
		return "", errors.New("not an NKEY user seed")
	}
	return pub, nil
}
