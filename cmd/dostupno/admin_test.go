package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/natstest"
	"github.com/dostupno/dostupno/shared/pgtest"
	"github.com/dostupno/dostupno/shared/token"
)

// stdin returns a file whose content is s, as standard input is when piped.
func stdin(t *testing.T, s string) *os.File {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		_, _ = io.WriteString(w, s) // the test fails on the password if this is short
		w.Close()
	}()
	t.Cleanup(func() { r.Close() })
	return r
}

func TestAdminCreate(t *testing.T) {
	t.Parallel()
	ns := natstest.New(t)
	secrets := t.TempDir()
	writeKeyPair(t, secrets, true)
	cfg := config.Config{DatabaseURL: pgtest.NewURL(t), NatsURL: ns.URL, Namespace: ns.Namespace, SecretsDir: secrets, Replica: "primary"}
	tests := []struct {
		name, email, input string
		wantOut, wantErr   string
	}{
		{"OKCreate", "root@example.ru", "granite meadow 11\n", "admin created: root@example.ru", ""},
		{"OKPasswordWithSpaces", "spaces@example.ru", "  leading and trailing  \r\n", "admin created: spaces@example.ru", ""},
		{"OKPromoteKeepsPassword", "ROOT@example.ru", "", "admin promoted: root@example.ru", ""},
		{"OKNewPassword", "root@example.ru", "another granite 12", "admin promoted", ""},
		{"ErrUnknownWithoutPassword", "ghost@example.ru", "\n", "", "no user has this email"},
		{"ErrCommonPassword", "x@example.ru", "password123\n", "", "password"},
		{"ErrBadEmail", "root", "granite meadow 11\n", "", "email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := adminCreate(context.Background(), cfg, tt.email, token.RoleAdmin, stdin(t, tt.input), &out, &errOut)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error about %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got %v (log %s), want success", err, errOut.String())
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Fatalf("got %q, want %q", out.String(), tt.wantOut)
			}
		})
	}
}

// The CLI issues tokens (it proves the admin's login): the public key alone is not enough.
func TestAdminRefusesWithoutPrivateKey(t *testing.T) {
	t.Parallel()
	secrets := t.TempDir()
	writeKeyPair(t, secrets, false)
	cfg := config.Config{DatabaseURL: "postgres://unused", NatsURL: "nats://unused", SecretsDir: secrets}
	err := adminCreate(context.Background(), cfg, "a@example.ru", token.RoleAdmin, stdin(t, "granite meadow 11\n"), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), token.PrivateKeyFile) {
		t.Fatalf("got %v, want a refusal naming %s", err, token.PrivateKeyFile)
	}
}

// writeKeyPair writes a fresh token key pair to the secrets directory dir: the public key,
// and the private key when private is true.
func writeKeyPair(t *testing.T, dir string, private bool) {
	t.Helper()
	priv, pub, err := token.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{token.PublicKeyFile: pub}
	if private {
		files[token.PrivateKeyFile] = priv
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
