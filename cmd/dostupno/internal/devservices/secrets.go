package devservices

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// DevSecrets are the names of the secret files EnsureSecrets writes: the JWT signing key and
// the S3 root keys.
var DevSecrets = []string{"jwt-secret", "s3-access-key", "s3-secret-key"}

// EnsureSecrets makes sure dir holds the development secrets, generating each that is
// missing: jwt-secret (48 random bytes, base64), s3-access-key (20 hex characters) and
// s3-secret-key (40 base64url characters). Existing files are kept, so data made with them
// (tokens, the S3 store) stays usable across runs. It returns the names it created.
func EnsureSecrets(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	var created []string
	for _, name := range DevSecrets {
		path := filepath.Join(dir, name)
		if _, err := os.Stat(path); err == nil {
			continue
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		var v string
		switch name {
		case "jwt-secret":
			v = base64.StdEncoding.EncodeToString(random(48))
		case "s3-access-key":
			v = "dev" + hex.EncodeToString(random(10))[:17]
		case "s3-secret-key":
			v = base64.RawURLEncoding.EncodeToString(random(30))
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("write secret %s: %w", name, err)
		}
		_, err = f.WriteString(v + "\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("write secret %s: %w", name, err)
		}
		created = append(created, name)
	}
	return created, nil
}

func random(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand never fails on Linux
	return b
}
