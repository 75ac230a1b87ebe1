// Package eventimport loads an NDJSON stream of events (shared/apidoc/openapi.yaml,
// EventInput, one per line) through the write log: it validates each line, packs many events
// into one "event.upsert" command, publishes asynchronously with a bounded number in flight
// (its own throughput path beside writelog.Writer.Submit, which waits for each write), applies
// the writer's copy as it goes (under the copy's lock, alongside any db-writer), and returns
// only when that copy has applied everything published and analysed and vacuumed the tables
// it grew (writelog.Replica.Maintain), so that the first search after it is fast.
//
// A batch's key is a hash of its content, so importing the same file again publishes the same
// message ids, which the stream drops as duplicates (within writelog.DuplicateWindow): a
// repeated import changes nothing.
package eventimport

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/httpjson"
	"github.com/dostupno/dostupno/shared/jsoncodec"
	// An import decodes, re-encodes and publishes every event: the fast codec
	// (shared/jsoncodec/fast).
	_ "github.com/dostupno/dostupno/shared/jsoncodec/fast"
	"github.com/dostupno/dostupno/shared/writelog"
)

// MaxLine is the longest line read; a longer one is reported and skipped.
const MaxLine = 1 << 20

// ImportGCPercent is the GC target (as GOGC) while Run runs, unless GOGC is set.
const ImportGCPercent = 400

// Defaults of Options.
const (
	DefaultBatch    = 1000
	DefaultInFlight = 16
)

// Options tune an import; the zero value is sensible.
type Options struct {
	Strict   bool // stop at the first bad line
	Batch    int  // events per command (DefaultBatch); a command also stays under the log's MaxPayload
	InFlight int  // commands published but not yet acknowledged (DefaultInFlight)
	// Progress, when set, is called about every ProgressEvery (default 1 s) and at the end.
	Progress      func(Progress)
	ProgressEvery time.Duration
	// BadLine, when set, is called for each bad line (else they are only counted).
	BadLine func(LineError)
	Log     *slog.Logger
}

// LineError is a bad line: its number (from 1), the field at fault ("" for the line as a
// whole) and why.
type LineError struct {
	Line    int
	Field   string
	Message string
}

func (e LineError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Message)
	}
	return fmt.Sprintf("line %d: %s: %s", e.Line, e.Field, e.Message)
}

// Progress is the state of an import.
type Progress struct {
	Lines      int           // lines read (blank ones included)
	Bad        int           // lines refused
	Published  int           // events acknowledged by the stream (duplicates included)
	Duplicates int           // events in commands the stream already held
	Applied    int           // events of this import the primary copy has applied
	Commands   int           // commands acknowledged
	BytesRead  int64         // of the input
	Elapsed    time.Duration // since the start
}

// Summary is the result of an import.
type Summary struct {
	Progress
	LastSeq  uint64 // the highest stream sequence of this import's commands
	Rejected int    // commands the copy rejected (their events are not stored)
}

// Run imports the events of r through w's log, applying them to w's copy.
func Run(ctx context.Context, r io.Reader, w *writelog.Writer, o Options) (Summary, error) {
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	if o.InFlight <= 0 {
		o.InFlight = DefaultInFlight
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	// An import allocates for every event and keeps little (a few batches in flight), so a
	// higher GC target trades some heap for a sixth of its own CPU (BenchmarkImport, 1M
	// events: 21.5 -> 18.0 µs per event, peak RSS 166 -> 344 MB). GOGC set by the user wins,
	// and the previous target is restored when Run returns.
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(ImportGCPercent))
	}
	im := &importer{opt: o, log: w.Log, rep: w.Replica, start: time.Now(), at: time.Now().UTC()}
	return im.run(ctx, r)
}

type importer struct {
	opt   Options
	log   *writelog.Log
	rep   *writelog.Replica
	start time.Time
	at    time.Time

	mu       sync.Mutex
	prog     Progress
	batches  []published // acknowledged, not yet known applied, in sequence order
	seqs     []uint64    // every acknowledged command
	lastSeq  uint64
	inflight []inflight

	bytesRead atomic.Int64
}

type published struct {
	seq    uint64
	events int
}

type inflight struct {
	fut    jetstream.PubAckFuture
	msg    *nats.Msg
	events int
	sent   time.Time
}

func (im *importer) run(ctx context.Context, r io.Reader) (Summary, error) {
	// The primary copy is applied while the file is read: the applier takes the copy's
	// lock per transaction, so a db-writer ringing at the same time simply shares the work.
	stopApply, applyDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(applyDone)
		im.applyLoop(ctx, stopApply)
	}()
	progressDone := make(chan struct{})
	stopProgress := make(chan struct{})
	go func() {
		defer close(progressDone)
		im.progressLoop(ctx, stopProgress)
	}()

	err := im.read(ctx, r)
	// Even after a bad line (--strict) the commands already sent are settled, so that the
	// summary says what the log holds.
	if derr := im.drain(ctx); err == nil {
		err = derr
	}
	if rerr := im.log.Ring(ctx); rerr != nil {
		im.opt.Log.Warn("ring doorbell", "err", rerr)
	}
	// The applier finishes its round (a transaction cut short would be redone) and
	// finish takes over.
	close(stopApply)
	<-applyDone
	var sum Summary
	if err == nil {
		sum, err = im.finish(ctx)
	} else {
		var lerr LineError
		if errors.As(err, &lerr) {
			// Stopped at a bad line: what was published is still applied before returning.
			if _, ferr := im.finish(ctx); ferr != nil {
				err = errors.Join(err, ferr)
			}
		}
	}
	close(stopProgress)
	<-progressDone
	im.report()
	if err != nil {
		im.mu.Lock()
		sum.Progress, sum.LastSeq = im.progressLocked(), im.lastSeq
		im.mu.Unlock()
	}
	return sum, err
}

// read scans r line by line with bounded memory, validating and batching.
func (im *importer) read(ctx context.Context, r io.Reader) error {
	br := bufio.NewReaderSize(&countingReader{r: r, n: &im.bytesRead}, 64<<10)
	var (
		line    int
		buf     bytes.Buffer // the batch's JSON array being built
		n       int
		scratch []byte
	)
	limit := im.log.MaxPayload() - 512 // room for the envelope
	flush := func() error {
		if n == 0 {
			return nil
		}
		buf.WriteByte(']')
		err := im.publish(ctx, append(json.RawMessage(nil), buf.Bytes()...), n)
		buf.Reset()
		n = 0
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		raw, tooLong, err := readLine(br, &scratch)
		if len(raw) == 0 && !tooLong && errors.Is(err, io.EOF) {
			break
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read line %d: %w", line+1, err)
		}
		line++
		im.mu.Lock()
		im.prog.Lines = line
		im.mu.Unlock()
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 && !tooLong {
			continue
		}
		enc, lerr := parse(raw, tooLong)
		if lerr != nil {
			lerr.Line = line
			im.mu.Lock()
			im.prog.Bad++
			im.mu.Unlock()
			if im.opt.BadLine != nil {
				im.opt.BadLine(*lerr)
			}
			if im.opt.Strict {
				return *lerr
			}
			continue
		}
		if n > 0 && (n >= im.opt.Batch || buf.Len()+1+len(enc)+1 > limit) {
			if err := flush(); err != nil {
				return err
			}
		}
		if len(enc)+2 > limit {
			return fmt.Errorf("line %d: the event encodes to %d bytes, more than a command can carry", line, len(enc))
		}
		if n == 0 {
			buf.WriteByte('[')
		} else {
			buf.WriteByte(',')
		}
		buf.Write(enc)
		n++
	}
	return flush()
}

// readLine returns the next line without its newline; a line longer than MaxLine is skipped
// to its end and reported as tooLong.
func readLine(br *bufio.Reader, scratch *[]byte) (line []byte, tooLong bool, err error) {
	*scratch = (*scratch)[:0]
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(*scratch)+len(chunk) > MaxLine+1 {
				tooLong, *scratch = true, (*scratch)[:0]
			} else {
				*scratch = append(*scratch, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return bytes.TrimSuffix(*scratch, []byte("\n")), tooLong, err
	}
}

// parse decodes, normalises and validates one line and returns the event's canonical JSON.
func parse(raw []byte, tooLong bool) ([]byte, *LineError) {
	if tooLong {
		return nil, &LineError{Message: fmt.Sprintf("the line is longer than %d bytes", MaxLine)}
	}
	e, err := httpjson.Checked[catalog.Event](raw)
	if err != nil {
		ae := apperr.As(err)
		return nil, &LineError{Field: ae.Field, Message: ae.Message}
	}
	enc, err := jsoncodec.Marshal(e)
	if err != nil {
		return nil, &LineError{Message: "cannot encode the event: " + err.Error()}
	}
	return enc, nil
}

// publish sends one batch; when InFlight commands are outstanding it first waits for the
// oldest. The key is the batch's content hash, so the same batch is the same message id.
func (im *importer) publish(ctx context.Context, payload json.RawMessage, events int) error {
	for len(im.inflight) >= im.opt.InFlight {
		if err := im.settleOldest(ctx); err != nil {
			return err
		}
	}
	sum := sha256.Sum256(payload)
	key := "import:" + hex.EncodeToString(sum[:16])
	msg, err := im.log.Encode(catalog.KindEventUpsert, key, im.at, payload)
	if err != nil {
		return err
	}
	fut, err := im.log.JetStream().PublishMsgAsync(msg)
	if err != nil {
		// The client's own buffer is full or the connection is closed: try again in
		// order, synchronously, below.
		fut = nil
	}
	im.inflight = append(im.inflight, inflight{fut: fut, msg: msg, events: events, sent: time.Now()})
	return nil
}

// publishTimeout bounds one acknowledgement, counted from the publish, so that the commands in
// flight when a server is lost (or a cluster's stream leader, whose acknowledgements never
// come) time out together rather than one after another; retryFor bounds how long a command
// is retried (across a NATS restart) before the import fails loudly.
const (
	publishTimeout = 10 * time.Second
	retryFor       = 2 * time.Minute
)

// settleOldest waits for the oldest command's acknowledgement. On a failure it republishes
// it (same message id, so a command that was stored after all is not stored twice) until
// retryFor has passed.
func (im *importer) settleOldest(ctx context.Context) error {
	f := im.inflight[0]
	im.inflight = im.inflight[1:]
	var ack *jetstream.PubAck
	var err error
	if f.fut != nil {
		select {
		case ack = <-f.fut.Ok():
		case err = <-f.fut.Err():
		case <-time.After(time.Until(f.sent.Add(publishTimeout))):
			err = errors.New("no acknowledgement in time")
		case <-ctx.Done():
			return ctx.Err()
		}
	} else {
		err = errors.New("not sent")
	}
	if err != nil {
		ack, err = im.republish(ctx, f.msg, err)
		if err != nil {
			return err
		}
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	im.prog.Commands++
	im.prog.Published += f.events
	if ack.Duplicate {
		im.prog.Duplicates += f.events
	}
	if ack.Sequence > im.lastSeq {
		im.lastSeq = ack.Sequence
	}
	im.batches = append(im.batches, published{seq: ack.Sequence, events: f.events})
	im.seqs = append(im.seqs, ack.Sequence)
	return nil
}

func (im *importer) republish(ctx context.Context, msg *nats.Msg, cause error) (*jetstream.PubAck, error) {
	deadline := time.Now().Add(retryFor)
	wait := 250 * time.Millisecond
	for {
		im.opt.Log.Warn("republishing a command", "msg_id", msg.Header.Get(jetstream.MsgIDHeader), "cause", cause)
		pctx, cancel := context.WithTimeout(ctx, publishTimeout)
		ack, err := im.log.JetStream().PublishMsg(pctx, msg)
		cancel()
		if err == nil {
			return ack, nil
		}
		cause = err
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("publish command %s: %w (gave up after %v; run the same import again: what was stored is skipped)",
				msg.Header.Get(jetstream.MsgIDHeader), err, retryFor)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// drain settles every command still in flight.
func (im *importer) drain(ctx context.Context) error {
	for len(im.inflight) > 0 {
		if err := im.settleOldest(ctx); err != nil {
			return err
		}
	}
	return nil
}

// applyLoop applies the primary copy while the import runs, and counts what was applied.
// It also rings the doorbell about every second, so the other copies follow.
func (im *importer) applyLoop(ctx context.Context, stop <-chan struct{}) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	var rung time.Time
	for {
		if time.Since(rung) > time.Second {
			if err := im.log.Ring(ctx); err != nil {
				im.opt.Log.Warn("ring doorbell", "err", err)
			}
			rung = time.Now()
		}
		n, err := im.rep.ApplyPending(ctx)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = im.countApplied(ctx)
		}
		if err != nil {
			// NATS or Postgres restarting: the import goes on publishing, and finish
			// reports what does not heal.
			im.opt.Log.Warn("apply while importing", "err", err)
			n = 0
		}
		if n > 0 {
			select {
			case <-stop:
				return
			default:
				continue
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-stop:
			return
		case <-t.C:
		}
	}
}

func (im *importer) countApplied(ctx context.Context) error {
	st, err := im.rep.Status(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	i := 0
	for ; i < len(im.batches) && im.batches[i].seq <= st.AppliedSeq; i++ {
		im.prog.Applied += im.batches[i].events
	}
	im.batches = im.batches[i:]
	return nil
}

// finish waits until the primary copy has applied the last command and counts rejections.
func (im *importer) finish(ctx context.Context) (Summary, error) {
	im.mu.Lock()
	last := im.lastSeq
	im.mu.Unlock()
	deadline := time.Now().Add(retryFor)
	for {
		var err error
		if last > 0 {
			_, err = im.rep.WaitApplied(ctx, last)
		}
		if err == nil {
			err = im.countApplied(ctx)
		}
		if err == nil {
			break
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return Summary{}, fmt.Errorf("wait for the copy to apply sequence %d: %w", last, err)
		}
		im.opt.Log.Warn("wait for the copy", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	// The first search after the import returns must find statistics and a visibility map
	// for every event it wrote (the applier maintains on the way, but only past a share of
	// growth): what grew since is maintained now, waiting for a db-writer's run if one is on.
	if tables, err := im.rep.Maintain(ctx, 0); err != nil {
		return Summary{}, fmt.Errorf("the events are applied, but analysing and vacuuming them failed (run the import again to retry): %w", err)
	} else if len(tables) > 0 {
		im.opt.Log.Info("analysed and vacuumed", "tables", tables)
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	bad, err := im.rep.NotApplied(ctx, im.seqs)
	if err != nil {
		return Summary{}, err
	}
	for seq, o := range bad {
		im.opt.Log.Error("command not applied", "seq", seq, "status", o.Status, "code", o.Code, "message", o.Message)
	}
	return Summary{Progress: im.progressLocked(), LastSeq: im.lastSeq, Rejected: len(bad)}, nil
}

func (im *importer) progressLocked() Progress {
	p := im.prog
	p.BytesRead = im.bytesRead.Load()
	p.Elapsed = time.Since(im.start)
	return p
}

func (im *importer) report() {
	if im.opt.Progress == nil {
		return
	}
	im.mu.Lock()
	p := im.progressLocked()
	im.mu.Unlock()
	im.opt.Progress(p)
}

// progressLoop reports progress; it reads the copy's position itself, since one call of the
// applier may run for long when much is pending.
func (im *importer) progressLoop(ctx context.Context, stop <-chan struct{}) {
	t := time.NewTicker(im.opt.ProgressEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if im.opt.Progress == nil {
				continue
			}
			cctx, cancel := context.WithTimeout(ctx, im.opt.ProgressEvery)
			if err := im.countApplied(cctx); err != nil {
				im.opt.Log.Debug("read the copy's position", "err", err)
			}
			cancel()
			im.report()
		}
	}
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
