package devservices

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/dostupno/dostupno/shared/token"
)

// DevSecrets are the names of the secret files EnsureSecrets writes: the token key pair and
// the S3 root keys.
var DevSecrets = []string{token.PrivateKeyFile, token.PublicKeyFile, "s3-access-key", "s3-secret-key"}

// EnsureSecrets makes sure dir holds the development secrets, generating each that is
// missing: the token key pair jwt-private-key and jwt-public-key (Ed25519, PEM; the public
// key is derived again from a private key that is kept), s3-access-key (20 hex characters)
// and s3-secret-key (40 base64url characters). Existing files are kept, so data made with
// them (tokens, the S3 store) stays usable across runs. It returns the names it created.
func EnsureSecrets(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	created, err := ensureKeyPair(dir)
	if err != nil {
		return nil, err
	}
	for _, name := range DevSecrets[2:] {
		var v string
		switch name {
		case "s3-access-key":
			v = "dev" + hex.EncodeToString(random(10))[:17]
		case "s3-secret-key":
			v = base64.RawURLEncoding.EncodeToString(random(30))
		}
		ok, err := writeNew(filepath.Join(dir, name), []byte(v+"\n"))
		if err != nil {
			return nil, fmt.Errorf("write secret %s: %w", name, err)
		}
		if ok {
			created = append(created, name)
		}
	}
	return created, nil
}

// ensureKeyPair keeps a readable private key (writing its public key when that is missing)
// and otherwise makes a new pair.
func ensureKeyPair(dir string) ([]string, error) {
	privPath, pubPath := filepath.Join(dir, token.PrivateKeyFile), filepath.Join(dir, token.PublicKeyFile)
	var priv ed25519.PrivateKey
	if b, err := os.ReadFile(privPath); err == nil {
		if priv, err = token.ParsePrivateKey(b); err != nil {
			return nil, fmt.Errorf("secret %s: %w (delete it to get a new pair)", token.PrivateKeyFile, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	var created []string
	if priv == nil {
		if _, err := os.Stat(pubPath); err == nil {
			if err := os.Remove(pubPath); err != nil { // the public key of a lost private key
				return nil, err
			}
		}
		var err error
		if _, priv, err = ed25519.GenerateKey(rand.Reader); err != nil {
			return nil, err
		}
		created = append(created, token.PrivateKeyFile)
	}
	privPEM, pubPEM, err := token.EncodeKeyPair(priv, priv.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, err
	}
	for _, f := range []struct {
		path, name string
		b          []byte
	}{{privPath, token.PrivateKeyFile, privPEM}, {pubPath, token.PublicKeyFile, pubPEM}} {
		ok, err := writeNew(f.path, f.b)
		if err != nil {
			return nil, fmt.Errorf("write secret %s: %w", f.name, err)
		}
		if ok && f.name == token.PublicKeyFile {
			created = append(created, f.name)
		}
	}
	return created, nil
}

// writeNew writes b to a new file at path (mode 0600); ok is false when the file exists
// already (it is kept).
func writeNew(path string, b []byte) (ok bool, err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err == nil, err
}

func random(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand never fails on Linux
	return b
}
