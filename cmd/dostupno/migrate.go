package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/natsauth"
	"github.com/dostupno/dostupno/migrations"
	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/logging"
	"github.com/dostupno/dostupno/shared/throttle"
	"github.com/dostupno/dostupno/shared/userkeys"
	"github.com/dostupno/dostupno/shared/writelog"
)

func init() {
	register(command{name: "migrate", usage: "[--url URL]... apply the migrations to DATABASE_URL (and DATABASE_REPLICA_URLS), or to each --url, as the database's owner; with NATS_URL also create or update the write log's stream, the throttle's buckets and the users' keys' stream (as the ops CLI, with WRITELOG_REPLICAS replicas)", run: runMigrate})
}

type urlList []string

func (u *urlList) String() string     { return fmt.Sprint(*u) }
func (u *urlList) Set(v string) error { *u = append(*u, v); return nil }

func runMigrate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	var urls urlList
	fs.Var(&urls, "url", "database URL (repeatable); default DATABASE_URL and DATABASE_REPLICA_URLS")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	if len(urls) == 0 {
		if err := cfg.Require("DATABASE_URL"); err != nil {
			return err
		}
		urls = append(urlList{cfg.DatabaseURL}, cfg.ReplicaURLs...)
	}
	for i, u := range urls {
		done, err := migrations.ApplyURL(ctx, u)
		if err != nil {
			return fmt.Errorf("copy %d: %w", i+1, err)
		}
		fmt.Printf("copy %d: applied %d migration(s) %v\n", i+1, len(done), done)
	}
	if cfg.NatsURL == "" {
		return nil
	}
	d := instance.New("migrate", cfg, logging.New(os.Stderr, "migrate"))
	d.NATSUser = natsauth.Ops
	defer d.Close()
	nc, err := d.NATS()
	if err != nil {
		return err
	}
	if err := natsauth.Provision(ctx, nc, cfg.Namespace, cfg.WritelogReplicas); err != nil {
		return err
	}
	fmt.Printf("nats: the write log %s, the buckets %s and %s and the users' keys %s are provisioned with at least %d replica(s) (WRITELOG_REPLICAS)\n",
		writelog.StreamName(cfg.Namespace), throttle.Bucket(cfg.Namespace), throttle.KnownBucket(cfg.Namespace), userkeys.StreamName(cfg.Namespace), cfg.WritelogReplicas)
	return nil
}
