package writelog

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/changefeed"
	"github.com/dostupno/dostupno/shared/pgdb"
)

// Outcome statuses.
const (
	Applied  = "applied"
	Rejected = "rejected"
	Failed   = "failed"
	// Erased is the outcome of a command whose subject was erased: its personal data can no
	// longer be read (a copy applying it after the erasure), or was scrubbed by the erasure
	// (a copy that applied it before: ScrubOutcomes). Every copy ends with the same.
	Erased = "erased"
)

// ErasedMessage is the message of every Erased outcome.
const ErasedMessage = "its subject was erased"

// Outcome is what applying a command decided; identical in every copy. Change is not stored:
// it is what the primary copy announces after commit.
type Outcome struct {
	Status  string            // Applied, Rejected, Failed or Erased
	Code    apperr.Code       // for rejected, e.g. apperr.Conflict
	Message string            // for people
	Result  json.RawMessage   // optional, e.g. {"id":..., "version":...}
	Change  changefeed.Change // what to announce after commit
	// MsgID is the Nats-Msg-Id of the command as the copy recorded it (an erasure renames its
	// key part, ScrubOutcomes): a writer checks that the outcome at its command's sequence is
	// its command's (Writer.Submit).
	MsgID string
}

// sameCommand reports whether two Nats-Msg-Ids name the same command: the same content hash,
// MsgID's part after its last '#', which ScrubOutcomes keeps.
func sameCommand(a, b string) bool {
	hash := func(id string) string { return id[strings.LastIndexByte(id, '#')+1:] }
	return hash(a) == hash(b)
}

// Err turns a rejected or failed outcome into the contract's error (nil when applied). A
// command that failed for its data (invalid_argument: it does not decode or lacks what its
// kind needs, or the database refused it, SQLSTATE classes 22 and 23) is the request's fault as
// much as the publisher's: the publisher's checks let through a value the schema cannot hold
// (a NUL character in a title), so it is invalid_argument with what the copies recorded. Any
// other failure is internal.
func (o Outcome) Err() error {
	switch o.Status {
	case Applied:
		return nil
	case Erased:
		return apperr.New(apperr.NotFound, "%s", ErasedMessage)
	case Failed:
		if o.Code == apperr.InvalidArgument {
			return apperr.New(apperr.InvalidArgument, "the data cannot be stored: %s", o.Message)
		}
		return apperr.Wrap(fmt.Errorf("%s: %s", o.Code, o.Message), "command failed in the copy")
	}
	code := o.Code
	if code == "" {
		code = apperr.Internal
	}
	return &apperr.Error{Code: code, Message: o.Message}
}

// DecodeResult decodes the outcome's result into v (nil: nothing to decode).
func (o Outcome) DecodeResult(v any) error {
	if v == nil {
		return nil
	}
	if err := json.Unmarshal(o.Result, v); err != nil {
		return apperr.Wrap(err, "decode the result of a %s command", o.Status)
	}
	return nil
}

// Succeed is the outcome of an applied command whose result is result (encoded as JSON; nil
// for none), announcing change.
func Succeed(result any, change changefeed.Change) (Outcome, error) {
	o := Outcome{Status: Applied, Change: change}
	if result != nil {
		b, err := json.Marshal(result)
		if err != nil {
			return Outcome{}, fmt.Errorf("encode result: %w", err)
		}
		o.Result = b
	}
	return o, nil
}

// Reject is the outcome of a command the copy refuses (a taken email: apperr.Conflict), the
// same in every copy; message is for people.
func Reject(code apperr.Code, format string, args ...any) Outcome {
	return Outcome{Status: Rejected, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Fail is the outcome of a command that cannot be applied at all: its payload does not
// decode (DecodePayload) or lacks what the kind needs.
func Fail(err error) Outcome {
	return Outcome{Status: Failed, Code: apperr.InvalidArgument, Message: err.Error()}
}

// Erase is the outcome of a command whose subject was erased (Erased). A handler may still
// write rows with it (what keeps later decisions the same as in copies that applied the
// command before the erasure); it announces nothing.
func Erase() Outcome { return Outcome{Status: Erased, Message: ErasedMessage} }

// ScrubOutcomes rewrites, in the copy's transaction tx, the recorded outcomes of every command
// whose business key is one of keys to what a copy that applies them after the erasure of
// their subject records: Erased, no code, ErasedMessage, no result. The keys in their
// Nats-Msg-Id become rename (a key that held personal data, e.g. an email, is replaced by the
// subject's id). Only commands before the one scrubbing are touched.
func ScrubOutcomes(ctx context.Context, tx pgx.Tx, rename string, keys ...string) error {
	_, err := tx.Exec(ctx, `
		UPDATE writelog_outcomes
		SET status = 'erased', code = '', message = $3, result = NULL,
		    msg_id = $2 || substring(msg_id from '#[^#]*$')
		WHERE regexp_replace(msg_id, '#[^#]*$', '') = ANY($1)`,
		keys, rename, ErasedMessage)
	if err != nil {
		return fmt.Errorf("scrub the outcomes of %v: %w", keys, err)
	}
	return nil
}

// recordOutcomes records the outcome of each command of batch in the copy's transaction.
func recordOutcomes(ctx context.Context, tx pgx.Tx, batch []pending, outs []Outcome) error {
	n := len(batch)
	seqs, ids, kinds := make([]int64, n), make([]string, n), make([]string, n)
	statuses, codes, msgs, results := make([]string, n), make([]string, n), make([]string, n), make([]*string, n)
	for i, p := range batch {
		o := outs[i]
		seqs[i], ids[i], kinds[i] = int64(p.seq), p.msgID, p.cmd.Kind
		statuses[i], codes[i], msgs[i] = o.Status, string(o.Code), o.Message
		if len(o.Result) > 0 {
			s := string(o.Result)
			results[i] = &s
		}
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO writelog_outcomes (seq, msg_id, kind, status, code, message, result)
		SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[])`,
		seqs, ids, kinds, statuses, codes, msgs, results)
	return err
}

// Outcome reads the recorded outcome of seq; ok is false until the copy has applied seq.
func (r *Replica) Outcome(ctx context.Context, seq uint64) (Outcome, bool, error) {
	got, err := r.outcomes(ctx, []uint64{seq}, false)
	if err != nil {
		return Outcome{}, false, err
	}
	o, ok := got[seq]
	return o, ok, nil
}

// Outcomes reads the recorded outcomes of seqs, in their order; every one of them must be
// applied already (WaitApplied).
func (r *Replica) Outcomes(ctx context.Context, seqs []uint64) ([]Outcome, error) {
	got, err := r.outcomes(ctx, seqs, false)
	if err != nil {
		return nil, err
	}
	out := make([]Outcome, len(seqs))
	for i, s := range seqs {
		o, ok := got[s]
		if !ok {
			return nil, fmt.Errorf("no outcome of command %d on %s", s, r.name)
		}
		out[i] = o
	}
	return out, nil
}

// NotApplied returns the outcomes among seqs that the copy recorded as rejected or failed.
func (r *Replica) NotApplied(ctx context.Context, seqs []uint64) (map[uint64]Outcome, error) {
	return r.outcomes(ctx, seqs, true)
}

// An applier keeps in memory (rememberOutcomes) the outcomes of about the commands of the last
// seconds of a busy copy, those its writers are waiting for: at most recentOutcomes, each
// answered for recentFor after its commit. Past it the copy's table answers, so that an
// outcome another process's applier rewrote (an erasure, Kind.Scrubs) is not served from here
// for long.
const (
	recentOutcomes = 4096
	recentFor      = 5 * time.Second
)

// keptOutcome is an outcome kept in memory and when its batch committed.
type keptOutcome struct {
	o  Outcome
	at time.Time
}

// rememberOutcomes keeps the outcomes of a committed batch, as recordOutcomes wrote them
// (without their changes). A command that rewrites earlier outcomes (Kind.Scrubs) makes the
// copy's table the only source again: everything kept is dropped.
func (r *Replica) rememberOutcomes(batch []pending, outs []Outcome) {
	r.recentMu.Lock()
	defer r.recentMu.Unlock()
	for _, p := range batch {
		if p.bad == "" && r.scrubs[p.cmd.Kind] {
			r.recent = nil
			return
		}
	}
	now := time.Now()
	if r.recent == nil || len(r.recent) >= 2*recentOutcomes {
		keep := make(map[uint64]keptOutcome, 2*recentOutcomes)
		last := batch[len(batch)-1].seq
		for seq, k := range r.recent {
			if seq+recentOutcomes > last && now.Sub(k.at) < recentFor {
				keep[seq] = k
			}
		}
		r.recent = keep
	}
	for i, p := range batch {
		o := outs[i]
		o.Change, o.MsgID = changefeed.Change{}, p.msgID
		r.recent[p.seq] = keptOutcome{o, now}
	}
}

// outcomes reads the recorded outcomes of seqs (only those not applied, with notApplied):
// from those this applier committed lately when it holds every one of them, else from the
// copy.
func (r *Replica) outcomes(ctx context.Context, seqs []uint64, notApplied bool) (map[uint64]Outcome, error) {
	if out, ok := r.remembered(seqs, notApplied); ok {
		return out, nil
	}
	ids := make([]int64, len(seqs))
	for i, s := range seqs {
		ids[i] = int64(s)
	}
	// A generic plan: a writer reads its command's outcome at least once before it is applied,
	// and planning the lookup cost five times running it (cmd/dostupno bench-seats).
	rows, br, err := pgdb.QueryGeneric(ctx, r.pool, `SELECT seq, status, code, message, result, msg_id FROM writelog_outcomes
		WHERE seq = ANY($1) AND (NOT $2 OR status <> 'applied')`, ids, notApplied)
	defer br.Close() //nolint:errcheck // closed below; this one is for the early returns
	if err != nil {
		return nil, fmt.Errorf("read outcomes on %s: %w", r.name, err)
	}
	defer rows.Close()
	out := make(map[uint64]Outcome, len(seqs))
	for rows.Next() {
		var (
			seq    int64
			o      Outcome
			code   string
			result []byte
		)
		if err := rows.Scan(&seq, &o.Status, &code, &o.Message, &result, &o.MsgID); err != nil {
			return nil, fmt.Errorf("read outcomes on %s: %w", r.name, err)
		}
		o.Code, o.Result = apperr.Code(code), result
		out[uint64(seq)] = o
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read outcomes on %s: %w", r.name, err)
	}
	rows.Close()
	if err := br.Close(); err != nil {
		return nil, fmt.Errorf("read outcomes on %s: %w", r.name, err)
	}
	return out, nil
}

// remembered answers outcomes from the outcomes kept in memory; ok is false unless it holds
// every one of seqs.
func (r *Replica) remembered(seqs []uint64, notApplied bool) (map[uint64]Outcome, bool) {
	r.recentMu.Lock()
	defer r.recentMu.Unlock()
	out := make(map[uint64]Outcome, len(seqs))
	for _, seq := range seqs {
		k, ok := r.recent[seq]
		if !ok || time.Since(k.at) >= recentFor {
			return nil, false
		}
		if !notApplied || k.o.Status != Applied {
			out[seq] = k.o
		}
	}
	return out, true
}
