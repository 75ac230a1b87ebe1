// Package writelog is the write log: every write is a Command published to one JetStream
// stream, and each Postgres copy applies the stream exactly once, in stream order, recording
// the last applied sequence and each command's outcome in the same transaction as the change.
//
// Stream. "<NAMESPACE>_WRITES" on subjects "<namespace>.writes.<kind>": file storage, limits
// retention with no limits (a copy added later replays from sequence 1), a duplicate window of
// DuplicateWindow, MaxMsgSize of MaxMsgSize, and as many replicas as asked (WithReplicas: 3 in
// a JetStream cluster, where a publish is acknowledged once a majority holds it, so losing one
// server loses nothing). Every publish carries Nats-Msg-Id = business key +
// content hash of kind, key and payload, so a retried publish (or a repeated import of the same
// file) inside the window is dropped by the server and answers with the original sequence.
//
// Applier (Replica). A copy's writelog_position.applied_seq is the only truth about what it has
// applied. The applier reads the stream by sequence from applied_seq+1 (Stream.GetMsg, direct
// get; a miss is asked again of the stream's leader, LeaderMsg, before it counts as a hole), which
// makes "exactly in stream order" trivial: a message pending redelivery can never
// make it skip ahead, and a copy whose consumer state was lost still finds its place. The
// copy's durable consumer (named after the copy, headers only, AckExplicit, DeliverAll) is the
// JetStream-side progress and lag indicator: after each commit its deliveries up to
// applied_seq are acked (Term for a command recorded as failed); a delivery beyond applied_seq
// is Nak'ed, so every delivered message ends in exactly one Ack, Nak or Term.
//
// Kinds. Each domain owns its command kinds (Kind: a name, a Handler, optionally a Spreader);
// NewReplica takes them all, and every handler decodes its payload with DecodePayload, so that
// a replayed command is judged the same strict way whatever its kind.
//
// Writer. The one way to submit writes: Writer.Submit publishes, rings the doorbell, waits
// until this instance's copy has applied them (read-your-writes, within WaitTimeout and the
// request's deadline) and returns their outcomes; any failure on the way is Unavailable.
package writelog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dostupno/dostupno/shared/jsoncodec"
)

// Version is the envelope version this code writes and applies.
const Version = 1

// Stream limits.
const (
	// DuplicateWindow is how long the server remembers a Nats-Msg-Id: longer than any retry
	// of a publish (client retries last seconds; an import is re-run within minutes).
	DuplicateWindow = 2 * time.Hour
	// MaxMsgSize is the largest command the stream accepts (the NATS server's default
	// max_payload); importers size their batches below it.
	MaxMsgSize = 1 << 20
)

// Command is the versioned, self-describing envelope on the stream (JSON).
type Command struct {
	V       int             `json:"v"`       // Version
	Kind    string          `json:"kind"`    // "event.upsert", "user.register", "user.admin", "photo.add"
	Key     string          `json:"key"`     // business key, e.g. "event:123" or "import:<hash>"
	At      time.Time       `json:"at"`      // publisher's clock: the only time handlers may store
	Payload json.RawMessage `json:"payload"` // kind-specific
}

// Log is the write-log stream of one namespace.
type Log struct {
	js        jetstream.JetStream
	stream    jetstream.Stream
	namespace string
	name      string
}

// StreamName is the stream of namespace ns.
func StreamName(ns string) string { return strings.ToUpper(ns) + "_WRITES" }

// Subject is the subject a command of kind is published on.
func Subject(ns, kind string) string { return strings.ToLower(ns) + ".writes." + kind }

// DoorbellSubject is the core NATS subject writers ring after publishing, so that every
// copy's db-writer applies what is pending (stack.yml topic annotation).
func DoorbellSubject(ns string) string { return strings.ToLower(ns) + ".doorbell" }

// Config is the write log's stream configuration, with one replica: Open creates it (with
// its options), Provision brings an existing stream to it.
func Config(ns string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        StreamName(ns),
		Description: "Dostupno write log: every write command, kept for replay by new copies",
		Subjects:    []string{strings.ToLower(ns) + ".writes.>"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		MaxMsgs:     -1,
		MaxBytes:    -1,
		MaxAge:      0, // keep every command
		MaxMsgSize:  MaxMsgSize,
		Discard:     jetstream.DiscardNew, // never drop old commands, even if limits are added
		Duplicates:  DuplicateWindow,
		Replicas:    1,
		AllowDirect: true, // GetMsg by sequence without the API round trip
		DenyDelete:  true,
		DenyPurge:   true,
	}
}

// Option tunes the configuration of a stream a function creates (Open, BindStream) or the
// ops CLI provisions (Provision, ProvisionStream).
type Option func(*jetstream.StreamConfig)

// WithReplicas asks for n copies of the stream, each on its own server of a JetStream
// cluster (WRITELOG_REPLICAS; JetStream allows 1 to 5). Provision raises an existing stream's
// count to n but never lowers it: a process started without the setting must not take the
// cluster's copies away; an operator lowers it with the nats CLI. Binding an existing stream
// never looks at its count, so a function configured with fewer replicas than the stream has
// works on.
func WithReplicas(n int) Option {
	return func(c *jetstream.StreamConfig) { c.Replicas = max(c.Replicas, n) }
}

func configure(cfg jetstream.StreamConfig, opts []Option) jetstream.StreamConfig {
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

// Open binds the write-log stream of namespace, creating it (with opts) when it does not exist
// yet. It never changes an existing stream: only the ops CLI's credential may (Provision), so
// that no function can loosen its limits (an age limit would delete the log).
func Open(ctx context.Context, js jetstream.JetStream, namespace string, opts ...Option) (*Log, error) {
	cfg := Config(namespace)
	s, err := BindStream(ctx, js, cfg, opts...)
	if err != nil {
		return nil, err
	}
	return &Log{js: js, stream: s, namespace: namespace, name: cfg.Name}, nil
}

// BindStream returns a handle on the stream of cfg, creating it (with opts) when it does not
// exist yet. It never changes an existing stream: a function's credential may not (the ops CLI
// provisions streams with ProvisionStream).
func BindStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig, opts ...Option) (jetstream.Stream, error) {
	s, err := js.Stream(ctx, cfg.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		cfg = configure(cfg, opts)
		if s, err = js.CreateStream(ctx, cfg); errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			s, err = js.Stream(ctx, cfg.Name) // another instance created it meanwhile
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open stream %s: %w", cfg.Name, err)
	}
	return s, nil
}

// ProvisionStream creates the stream of cfg or brings an existing one to cfg with opts, keeping
// its replica count when that is higher (WithReplicas raises it, never lowers it): the ops CLI
// does, with its credential.
func ProvisionStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig, opts ...Option) (jetstream.Stream, error) {
	if s, err := js.Stream(ctx, cfg.Name); err == nil {
		cfg.Replicas = max(cfg.Replicas, s.CachedInfo().Config.Replicas)
	}
	cfg = configure(cfg, opts)
	s, err := js.CreateOrUpdateStream(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("provision stream %s with %d replica(s): %w", cfg.Name, cfg.Replicas, err)
	}
	return s, nil
}

// Provision creates the write-log stream of namespace or brings it to Config with opts
// (idempotent): dostupno migrate and the local runner do it with the ops CLI's credential.
func Provision(ctx context.Context, js jetstream.JetStream, namespace string, opts ...Option) error {
	_, err := ProvisionStream(ctx, js, Config(namespace), opts...)
	return err
}

// Namespace is the log's namespace.
func (l *Log) Namespace() string { return l.namespace }

// JetStream is the context the log publishes with.
func (l *Log) JetStream() jetstream.JetStream { return l.js }

// MaxPayload is the largest encoded command this log can carry: the stream's limit or the
// server's max_payload, whichever is lower, less room for headers.
func (l *Log) MaxPayload() int {
	n := MaxMsgSize
	if nc := l.js.Conn(); nc != nil {
		if mp := int(nc.MaxPayload()); mp > 0 && mp < n {
			n = mp
		}
	}
	return n - 1024
}

// Encode builds the message of a command: its subject, body and Nats-Msg-Id. The id is the
// business key plus a hash of kind, key and payload (not of At), so that publishing the same
// change again is dropped as a duplicate within DuplicateWindow.
func (l *Log) Encode(kind, key string, at time.Time, payload any) (*nats.Msg, error) {
	if kind == "" || strings.ContainsAny(kind, " *>") || key == "" {
		return nil, fmt.Errorf("encode command: kind %q and key %q must be set", kind, key)
	}
	raw, ok := payload.(json.RawMessage)
	if !ok {
		b, err := jsoncodec.Marshal(payload)
		if err != nil {
			return nil, fmt.Errorf("encode %s %s: %w", kind, key, err)
		}
		raw = b
	}
	if !jsoncodec.Valid(raw) {
		return nil, fmt.Errorf("encode %s %s: the payload is not valid JSON", kind, key)
	}
	// The envelope is written around the payload rather than through json.Marshal, which
	// would re-validate and compact a payload of up to a megabyte a second time.
	head, err := json.Marshal(Command{V: Version, Kind: kind, Key: key, At: at.UTC(), Payload: json.RawMessage("null")})
	if err != nil {
		return nil, fmt.Errorf("encode %s %s: %w", kind, key, err)
	}
	head = bytes.TrimSuffix(head, []byte(`null}`))
	body := make([]byte, 0, len(head)+len(raw)+1)
	body = append(append(append(body, head...), raw...), '}')
	if len(body) > l.MaxPayload() {
		return nil, fmt.Errorf("encode %s %s: command of %d bytes exceeds %d", kind, key, len(body), l.MaxPayload())
	}
	msg := nats.NewMsg(Subject(l.namespace, kind))
	msg.Data = body
	msg.Header.Set(jetstream.MsgIDHeader, MsgID(kind, key, raw))
	return msg, nil
}

// MsgID is the Nats-Msg-Id of a command: "<key>#<hash>".
func MsgID(kind, key string, payload []byte) string {
	h := sha256.New()
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write([]byte(key))
	h.Write([]byte{0})
	h.Write(payload)
	return key + "#" + hex.EncodeToString(h.Sum(nil))[:32]
}

// Publish appends a command and returns its stream sequence (the original one when the
// server dropped it as a duplicate).
func (l *Log) Publish(ctx context.Context, kind, key string, at time.Time, payload any) (uint64, error) {
	msg, err := l.Encode(kind, key, at, payload)
	if err != nil {
		return 0, err
	}
	return l.send(ctx, msg)
}

// send appends an encoded command and returns its stream sequence.
func (l *Log) send(ctx context.Context, msg *nats.Msg) (uint64, error) {
	ack, err := l.js.PublishMsg(ctx, msg, jetstream.WithExpectStream(l.name))
	if err != nil {
		return 0, fmt.Errorf("publish %s: %w", msg.Header.Get(jetstream.MsgIDHeader), err)
	}
	return ack.Sequence, nil
}

// Ring publishes the doorbell (core NATS, best effort): db-writers apply what is pending. The
// message is the namespace: the NATS connector sends an empty message only by an oversight
// (it logs "no message to send"), so the doorbell is never empty.
func (l *Log) Ring(ctx context.Context) error {
	nc := l.js.Conn()
	if err := nc.Publish(DoorbellSubject(l.namespace), []byte(l.namespace)); err != nil {
		return fmt.Errorf("ring doorbell: %w", err)
	}
	return nil
}

// apiTimeout bounds one JetStream API call: a request in flight while the server restarts is
// never answered, and waiting for the caller's whole deadline would stall the applier.
const apiTimeout = 5 * time.Second

// LastSeq is the stream's last sequence.
func (l *Log) LastSeq(ctx context.Context) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	info, err := l.stream.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("stream info %s: %w", l.name, err)
	}
	return info.State.LastSeq, nil
}

// get reads the message at seq, with a direct get or (fromLeader) from the stream's leader
// (LeaderMsg), whose miss is a hole; ok is false when the stream has no message there.
func (l *Log) get(ctx context.Context, seq uint64, fromLeader bool) (m *jetstream.RawStreamMsg, ok bool, err error) {
	if fromLeader {
		m, err = LeaderMsg(ctx, l.js, l.name, seq, "")
	} else {
		ctx, cancel := context.WithTimeout(ctx, apiTimeout)
		defer cancel()
		m, err = l.stream.GetMsg(ctx, seq)
	}
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("get command %d: %w", seq, err)
	}
	return m, true, nil
}
