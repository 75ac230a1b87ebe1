package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/natsauth"
)

// dostupno nats-keys --routes writes, beside the keys file, the routes file that a node of
// deploy/nats-cluster-*.conf needs: readable by its owner only, the server reads the node's
// file with both into the route authentication and the routes asked for; run again, it keeps
// the password.
func TestNATSKeysWritesTheClusterFiles(t *testing.T) {
	dir := t.TempDir()
	secrets, out := filepath.Join(dir, "secrets"), filepath.Join(dir, natsauth.KeysFile)
	args := []string{"--secrets", secrets, "--out", out, "--routes", "nats-1:6222, nats-2:6222,nats-3:6222"}
	if err := runNATSKeys(context.Background(), args); err != nil {
		t.Fatal(err)
	}
	routes := filepath.Join(dir, natsauth.RoutesFile)
	if st, err := os.Stat(routes); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("got %v (%v), want %s readable by its owner only", st, err, natsauth.RoutesFile)
	}
	first, err := os.ReadFile(filepath.Join(secrets, natsauth.RoutePasswordSecret))
	if err != nil {
		t.Fatal(err)
	}
	conf, err := os.ReadFile(filepath.Join("..", "..", "deploy", "nats-cluster-2.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "nats-cluster-2.conf"), conf, 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := server.ProcessConfigFile(filepath.Join(dir, "nats-cluster-2.conf"))
	if err != nil {
		t.Fatal(err)
	}
	password, _, err := natsauth.EnsureRoutePassword(secrets)
	if err != nil {
		t.Fatal(err)
	}
	if o.Cluster.Username != natsauth.RouteUser || o.Cluster.Password != password || len(o.Routes) != 3 || o.Routes[1].Host != "nats-2:6222" {
		t.Fatalf("got route user %q, %d routes %v; want %s with the secret's password and the three routes", o.Cluster.Username, len(o.Routes), o.Routes, natsauth.RouteUser)
	}
	if err := runNATSKeys(context.Background(), args); err != nil {
		t.Fatal(err)
	}
	if again, err := os.ReadFile(filepath.Join(secrets, natsauth.RoutePasswordSecret)); err != nil || string(again) != string(first) {
		t.Fatalf("got the route password changed by a second run (%v), want it kept", err)
	}
}
