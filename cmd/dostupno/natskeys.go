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
	register(command{name: "nats-keys", usage: "[--secrets DIR] [--out FILE] [--routes HOST:PORT,...]   make the NKEY seed of each NATS identity (nats-nkey-<name>) in DIR (default SECRETS_DIR) where it is missing, and write their public keys, which deploy/nats.conf and deploy/nats-cluster-*.conf include, to FILE (default nats-keys.conf); with --routes also make the cluster's route password (nats-route-password) where it is missing and write nats-routes.conf beside FILE: the routes to those servers, which deploy/nats-cluster-*.conf include", run: runNATSKeys})
}

func runNATSKeys(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("nats-keys", flag.ContinueOnError)
	secrets := fs.String("secrets", "", "folder of the seeds (default SECRETS_DIR)")
	out := fs.String("out", natsauth.KeysFile, "file of the public keys, beside nats.conf")
	routes := fs.String("routes", "", "the cluster's servers as host:port of their routes (nats-1:6222,nats-2:6222,nats-3:6222): write "+natsauth.RoutesFile+" beside --out")
	if err := parseArgs(fs, args, 0); err != nil {
		return err
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
	if *routes == "" {
		return nil
	}
	list := config.List(*routes)
	password, made, err := natsauth.EnsureRoutePassword(*secrets)
	if err != nil {
		return err
	}
	if made {
		fmt.Printf("created %s in %s\n", natsauth.RoutePasswordSecret, *secrets)
	}
	path := filepath.Join(filepath.Dir(*out), natsauth.RoutesFile)
	// The file holds the route password: only the NATS server's user reads it.
	if err := os.WriteFile(path, []byte(natsauth.RenderRoutes(password, list)), 0o600); err != nil {
		return err
	}
	abs, _ = filepath.Abs(path) // for the message only
	fmt.Printf("wrote the route authentication and %d route(s) to %s (it holds a secret: mode 0600)\n", len(list), abs)
	return nil
}
