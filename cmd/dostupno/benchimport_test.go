package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/natsauth"
	"github.com/dostupno/dostupno/shared/natstest"
	"github.com/dostupno/dostupno/shared/pgdb"
	"github.com/dostupno/dostupno/shared/pgtest"
)

// TestBenchViaImportLeavesNothing: bench --via-import, without --keep, drops both what it
// made: its database and its import's write log on the NATS server (which holds about 800 MB
// for 1M events).
func TestBenchViaImportLeavesNothing(t *testing.T) {
	ctx := context.Background()
	env := natstest.New(t) // the server's connection, and its check that the server runs
	db := fmt.Sprintf("dostupno_benchtest_%d", os.Getpid())
	ns := benchImportNamespace()
	// What a failing run left behind:
	t.Cleanup(func() {
		if _, err := natsauth.Remove(ctx, env.Conn, ns); err != nil {
			t.Error(err)
		}
		dropBenchDB(pgtest.AdminURL(), db)
	})
	args := []string{"--events", "300", "--questions", "20", "--db", db, "--server", pgtest.AdminURL(), "--via-import", natstest.URL()}
	if err := runBench(ctx, args); err != nil {
		t.Fatal(err)
	}
	for _, name := range natsauth.Streams(ns) {
		if _, err := env.JS.Stream(ctx, name); !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Errorf("stream %s after the run: got %v, want it deleted", name, err)
		}
	}
	c, err := pgdb.ConnectOne(ctx, pgtest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var left bool
	if err := c.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)`, db).Scan(&left); err != nil || left {
		t.Errorf("database %s after the run: there %v (err %v), want it dropped", db, left, err)
	}
}
