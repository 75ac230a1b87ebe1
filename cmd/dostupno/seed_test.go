package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/eventimport"
	"github.com/dostupno/dostupno/cmd/dostupno/internal/seed"
	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/natstest"
	"github.com/dostupno/dostupno/shared/pgdb"
	"github.com/dostupno/dostupno/shared/pgtest"
	"github.com/dostupno/dostupno/shared/writelog"
)

// primaryCopy is a fresh database of t as the primary copy and a fresh NATS namespace, as the
// commands that import into them are configured, with a pool on the database (closed when t
// ends).
func primaryCopy(t *testing.T) (config.Config, *pgxpool.Pool) {
	t.Helper()
	ns := natstest.New(t)
	cfg := config.Config{DatabaseURL: pgtest.NewURL(t), NatsURL: ns.URL, Namespace: ns.Namespace, Replica: "primary"}
	pool, err := pgdb.Connect(context.Background(), cfg.DatabaseURL, pgdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return cfg, pool
}

// Seeding through the write log lands every event in the primary copy, and seeding the same
// catalog again publishes nothing new.
func TestSeedThroughWriteLog(t *testing.T) {
	t.Parallel()
	cfg, pool := primaryCopy(t)
	ctx := context.Background()
	g, err := seed.New(seed.Options{Events: 1500, Seed: 7, Start: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	var file bytes.Buffer
	if err := writeNDJSON(ctx, &file, g); err != nil {
		t.Fatal(err)
	}
	state := func() (events int, seq uint64) {
		t.Helper()
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&events); err != nil {
			t.Fatal(err)
		}
		if seq, err = writelog.AppliedSeq(ctx, pool); err != nil {
			t.Fatal(err)
		}
		return events, seq
	}
	for round := 1; round <= 2; round++ {
		if err := importFrom(ctx, cfg, bytes.NewReader(file.Bytes()), int64(file.Len()), true, eventimport.DefaultBatch, eventimport.DefaultInFlight); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		events, seq := state()
		if events != 1500 || seq != 2 {
			t.Fatalf("round %d: got %d events at sequence %d, want 1500 at 2 (two commands of 1000, the repeat dropped)", round, events, seq)
		}
	}
}
