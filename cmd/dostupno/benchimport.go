package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/natsauth"
	"github.com/dostupno/dostupno/cmd/dostupno/internal/searchbench"
	"github.com/dostupno/dostupno/cmd/dostupno/internal/seed"
	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/pgdb"
)

// benchAfterImport loads the catalog of so into a fresh benchmark database the way an
// operator does, through the write log (dostupno seed's path, which is dostupno import's),
// and as soon as the import returns asks the first questions of the mix with no warm-up: the
// import must leave the copy with statistics and a visibility map (README, "Write log and
// database copies"), even on a server whose autovacuum is off.
func benchAfterImport(ctx context.Context, admin, url, dbName, natsURL string, so seed.Options, keep bool, questions int) error {
	if _, err := prepareBenchDB(ctx, admin, url, dbName, false, so.Events); err != nil {
		return err
	}
	if !keep {
		defer dropBenchDB(admin, dbName)
	}
	env := map[string]string{"DATABASE_URL": url, "NATS_URL": natsURL, "DOSTUPNO_NAMESPACE": benchImportNamespace()}
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		return err
	}
	// The import's write log belongs to the benchmark database: it goes with it (1M events
	// are about 800 MB on the NATS server's disk), or stays with it under --keep.
	if keep {
		fmt.Printf("the write log stays with %s under --keep: namespace %s on %s\n", dbName, cfg.Namespace, natsURL)
	} else {
		defer dropBenchLog(cfg)
	}
	g, err := seed.New(so)
	if err != nil {
		return err
	}
	fmt.Printf("importing %d seeded events through the write log into %s (autovacuum on this server: %s)\n", so.Events, dbName, showSetting(ctx, url, "autovacuum"))
	t := time.Now()
	if err := seedThroughLog(ctx, cfg, g); err != nil {
		return err
	}
	fmt.Printf("import returned after %.1fs; asking at once, no warm-up, cache bypassed (load average %s)\n", time.Since(t).Seconds(), searchbench.LoadAverage())
	// Then a second, fresh instance on the same copy: what it pays is an instance's own cold
	// start (connections, catalog caches), not the import's.
	for _, label := range []string{"a fresh search-events instance, right after the import", "another fresh instance on the same copy"} {
		fmt.Printf(" %s:\n", label)
		if err := firstQuestions(ctx, url, so.Start, questions); err != nil {
			return err
		}
	}
	return nil
}

// firstQuestions builds a search-events instance on url and asks it the first questions of
// the mix (searchbench.First).
func firstQuestions(ctx context.Context, url string, start time.Time, questions int) error {
	ours, _, closeOurs, err := newSearchEvents(url)
	if err != nil {
		return err
	}
	defer closeOurs()
	srv := searchbench.Serve(ours)
	defer srv.Close()
	return searchbench.First(ctx, srv.URL, searchbench.Mix(questions, start), questions, os.Stdout)
}

// showSetting is a Postgres setting of the server at url ("?" when it cannot be read).
func showSetting(ctx context.Context, url, name string) string {
	c, err := pgdb.ConnectOne(ctx, url)
	if err != nil {
		return "?"
	}
	defer c.Close(ctx)
	var v string
	if err := c.QueryRow(ctx, `SELECT current_setting($1)`, name).Scan(&v); err != nil {
		return "?"
	}
	return v
}

// benchImportNamespace is the namespace of this process's benchmark import: its write log
// apart from any other's on the same NATS server.
func benchImportNamespace() string { return fmt.Sprintf("benchimport%d", os.Getpid()) }

// dropBenchLog deletes what the benchmark's import made on cfg's NATS server in its namespace
// (natsauth.Remove), saying so, or why it could not.
func dropBenchLog(cfg config.Config) {
	nc, err := opsNATS(cfg, true)
	if err == nil {
		defer nc.Close()
		var deleted []string
		// Remove bounds its own time, as Provision does.
		if deleted, err = natsauth.Remove(context.Background(), nc, cfg.Namespace); err == nil {
			fmt.Printf("deleted the import's write log: %s\n", strings.Join(deleted, ", "))
			return
		}
	}
	fmt.Fprintf(os.Stderr, "delete the import's write log (namespace %s on %s): %v\n", cfg.Namespace, cfg.NatsURL, err)
}
