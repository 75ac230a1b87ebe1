package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/eventimport"
	"github.com/dostupno/dostupno/cmd/dostupno/internal/natsauth"
	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/logging"
)

func init() {
	register(command{name: "import", usage: "[--strict] [--batch N] [--in-flight N] FILE|-   load NDJSON events through the write log into every copy", run: runImport})
}

// maxShownBadLines bounds how many bad lines are printed (all are counted).
const maxShownBadLines = 50

func runImport(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	strict := fs.Bool("strict", false, "stop at the first bad line")
	batch := fs.Int("batch", eventimport.DefaultBatch, "events per command")
	inFlight := fs.Int("in-flight", eventimport.DefaultInFlight, "commands published but not yet acknowledged")
	if err := parseArgs(fs, args, 1); err != nil {
		return err
	}
	var (
		in   io.Reader = os.Stdin
		size int64     = -1
	)
	if name := fs.Arg(0); name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			size = st.Size()
		}
		in = f
	}
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	return importFrom(ctx, cfg, in, size, *strict, *batch, *inFlight)
}

// importFrom loads the NDJSON events of in (size bytes, or -1 when unknown) through the write
// log and returns when the primary copy has applied them.
func importFrom(ctx context.Context, cfg config.Config, in io.Reader, size int64, strict bool, batch, inFlight int) error {
	log := logging.New(os.Stderr, "import")
	d := instance.New("dostupno-import", cfg, log)
	d.NATSUser = natsauth.Ops
	defer d.Close()
	if err := d.CheckWriter(instance.NoTokens); err != nil {
		return err
	}
	wr, err := d.Writer(ctx)
	if err != nil {
		return fmt.Errorf("%w (run 'dostupno migrate' first?)", err)
	}

	shown := 0
	opt := eventimport.Options{
		Strict: strict, Batch: batch, InFlight: inFlight, Log: log,
		BadLine: func(e eventimport.LineError) {
			if shown++; shown <= maxShownBadLines {
				fmt.Fprintln(os.Stderr, e.Error())
			} else if shown == maxShownBadLines+1 {
				fmt.Fprintln(os.Stderr, "(further bad lines are counted, not shown)")
			}
		},
	}
	show := newProgressView(size, log)
	opt.Progress, opt.ProgressEvery = show.update, show.every
	sum, err := eventimport.Run(ctx, in, wr, opt)
	show.done()
	fmt.Fprintf(os.Stderr, "import: %d lines, %d bad, %d events published (%d already in the log), %d applied to %s in %s: %.0f events/s; last sequence %d\n",
		sum.Lines, sum.Bad, sum.Published, sum.Duplicates, sum.Applied, cfg.Replica, sum.Elapsed.Round(time.Millisecond),
		float64(sum.Applied)/max(sum.Elapsed.Seconds(), 1e-9), sum.LastSeq)
	if sum.Rejected > 0 && err == nil {
		err = fmt.Errorf("%d command(s) were rejected by the copy; see writelog_outcomes", sum.Rejected)
	}
	if err == nil && sum.Bad > 0 {
		// The good lines are imported; the exit status still tells a script that some
		// were not.
		return fmt.Errorf("%d bad line(s) skipped (listed above); the other events are imported", sum.Bad)
	}
	var le eventimport.LineError
	if errors.As(err, &le) {
		return fmt.Errorf("stopped at the first bad line (--strict): %w", err)
	}
	return err
}

// progressView shows progress as a bar on a terminal and as a log line every 5 s otherwise.
type progressView struct {
	bar   *progressbar.ProgressBar
	log   *slog.Logger
	size  int64
	every time.Duration
}

func newProgressView(size int64, log *slog.Logger) *progressView {
	v := &progressView{log: log, size: size, every: 5 * time.Second}
	if isatty.IsTerminal(os.Stderr.Fd()) || isatty.IsCygwinTerminal(os.Stderr.Fd()) {
		v.every = 200 * time.Millisecond
		total := int64(1000)
		if size < 0 {
			total = -1
		}
		v.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(os.Stderr),
			progressbar.OptionSetWidth(30),
			progressbar.OptionSetPredictTime(false), // the ETA below counts what is applied
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionShowDescriptionAtLineEnd(),
			progressbar.OptionSetRenderBlankState(true),
		)
	}
	return v
}

func (v *progressView) update(p eventimport.Progress) {
	rate := float64(p.Applied) / max(p.Elapsed.Seconds(), 1e-9)
	// The share done: of the bytes read, the part whose events are applied.
	frac := -1.0
	if v.size > 0 && p.Published > 0 {
		frac = float64(p.BytesRead) / float64(v.size) * float64(p.Applied) / float64(p.Published)
	}
	eta := "?"
	if frac > 0.001 {
		eta = (time.Duration(float64(p.Elapsed) * (1/frac - 1))).Round(time.Second).String()
	}
	if v.bar == nil {
		v.log.Info("import progress", "lines", p.Lines, "bad", p.Bad, "published", p.Published, "applied", p.Applied,
			"events_per_s", int(rate), "eta", eta)
		return
	}
	if frac >= 0 {
		_ = v.bar.Set64(int64(frac * 1000)) // rendering errors only concern the terminal
	} else {
		_ = v.bar.Add(1) // spinner
	}
	v.bar.Describe(fmt.Sprintf("published %d, applied %d, %.0f events/s, ETA %s", p.Published, p.Applied, rate, eta))
}

func (v *progressView) done() {
	if v.bar != nil {
		_ = v.bar.Finish() // rendering errors only concern the terminal
		fmt.Fprintln(os.Stderr)
	}
}
