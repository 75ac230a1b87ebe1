package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/eventimport"
	"github.com/dostupno/dostupno/cmd/dostupno/internal/seed"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/config"
)

func init() {
	register(command{name: "seed", usage: "--events N [--seed S] [--start YYYY-MM-DD] [--days D] [--first-id ID] [--out FILE|-]   generate a demo catalog (through the write log into DATABASE_URL, or NDJSON to --out)", run: runSeed})
}

func runSeed(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	n := fs.Int("events", 0, "how many events")
	s := fs.Uint64("seed", 1, "the same seed gives the same catalog")
	startDay := fs.String("start", "", "first day of the events (YYYY-MM-DD, default today in UTC)")
	days := fs.Int("days", 365, "days the events are spread over")
	firstID := fs.Int64("first-id", 1, "id of the first event")
	out := fs.String("out", "", "write NDJSON to FILE or - (standard output) instead of the write log")
	if err := parseArgs(fs, args, 0); err != nil {
		return err
	}
	if *n <= 0 || *days <= 0 || *firstID <= 0 {
		return errUsage
	}
	o := seed.Options{Events: *n, Seed: *s, Days: *days, FirstID: *firstID}
	if *startDay != "" {
		t, err := time.Parse(time.DateOnly, *startDay)
		if err != nil {
			return fmt.Errorf("--start %q: want YYYY-MM-DD", *startDay)
		}
		o.Start = t
	}
	g, err := seed.New(o)
	if err != nil {
		return err
	}
	switch {
	case *out == "-":
		return writeNDJSON(ctx, os.Stdout, g)
	case *out != "":
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		if err := writeNDJSON(ctx, f, g); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	default:
		cfg, err := config.FromEnv()
		if err != nil {
			return err
		}
		return seedThroughLog(ctx, cfg, g)
	}
}

// seedThroughLog loads g's events through the write log into cfg's copies, exactly as
// `dostupno import` loads a file.
func seedThroughLog(ctx context.Context, cfg config.Config, g *seed.Generator) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeNDJSON(ctx, pw, g)) }()
	err := importFrom(ctx, cfg, pr, -1, true, eventimport.DefaultBatch, eventimport.DefaultInFlight)
	pr.CloseWithError(errors.New("import ended")) // unblocks the writer if import stopped early
	return err
}

// writeNDJSON writes g's events one JSON object a line.
func writeNDJSON(ctx context.Context, w io.Writer, g *seed.Generator) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	n := 0
	err := g.Each(func(e catalog.Event) error {
		if n++; n%10000 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		return enc.Encode(e)
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}
