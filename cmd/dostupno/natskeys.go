package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/natsauth"
	"github.com/dostupno/dostupno/shared/config"
)

func init() {
	register(command{name: "nats-keys", usage: "[--secrets DIR] [--out FILE]   make the NKEY seed of each NATS identity (nats-nkey-<name>) in DIR (default SECRETS_DIR) where it is missing, and write their public keys, which deploy/nats.conf includes, to FILE (default nats-keys.conf)", run: runNATSKeys})
}

func runNATSKeys(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("nats-keys", flag.ContinueOnError)
	secrets := fs.String("secrets", "", "folder of the seeds (default SECRETS_DIR)")
	out := fs.String("out", natsauth.KeysFile, "file of the public keys, beside nats.conf")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return errUsage
	}
	if *secrets == "" {
		cfg, err := config.FromEnv()
		if err != nil {
			return err
		}
		*secrets = cfg.SecretsDir
	}
	keys, created, err := natsauth.EnsureSeeds(*secrets, natsauth.Identities())
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, []byte(natsauth.RenderKeys(keys)), 0o644); err != nil {
		return err
	}
	if len(created) > 0 {
		fmt.Printf("created %s in %s\n", strings.Join(created, ", "), *secrets)
	}
	abs, _ := filepath.Abs(*out) // for the message only: the file is written already
	fmt.Printf("wrote the public keys of %d identities to %s\n", len(keys), abs)
	return nil
}
