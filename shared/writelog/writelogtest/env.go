package writelogtest

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/natstest"
	"github.com/dostupno/dostupno/shared/pgtest"
	"github.com/dostupno/dostupno/shared/userkeys"
	"github.com/dostupno/dostupno/shared/writelog"
)

// Env is a test's write log, in a NATS namespace of its own, and one Postgres copy of its own
// (named writelog.PrimaryName) applying it.
type Env struct {
	NATS   *natstest.Env
	Log    *writelog.Log
	Pool   *pgxpool.Pool
	Vocab  *catalog.Vocabulary
	Keys   *userkeys.Store  // the users' keys in the namespace
	Writer *writelog.Writer // Writer.Replica applies the log to the copy
}

// New makes an Env whose copy applies the kinds that kinds returns for its vocabulary and the
// users' keys (e.g. commands.Kinds).
func New(t testing.TB, kinds func(*catalog.Vocabulary, *userkeys.Store) []writelog.Kind) *Env {
	t.Helper()
	ctx := context.Background()
	e := &Env{NATS: natstest.New(t), Pool: pgtest.New(t)}
	e.Log, e.Keys = Streams(t, e.NATS)
	var err error
	if e.Vocab, err = catalog.LoadVocabulary(ctx, e.Pool); err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	e.Writer = writelog.NewWriter(e.Log, writelog.NewReplica(e.Log, e.Pool, writelog.PrimaryName, kinds(e.Vocab, e.Keys), quiet), quiet)
	return e
}

// Streams opens (creating them) the write log and the users' keys of namespace n.
func Streams(t testing.TB, n *natstest.Env) (*writelog.Log, *userkeys.Store) {
	t.Helper()
	ctx := context.Background()
	l, err := writelog.Open(ctx, n.JS, n.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := userkeys.Open(ctx, n.JS, n.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	return l, keys
}

// CatchUp waits until r has applied every command l holds now; an error fails t.
func CatchUp(t testing.TB, l *writelog.Log, r *writelog.Replica) {
	t.Helper()
	ctx := context.Background()
	last, err := l.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.WaitApplied(ctx, last); err != nil {
		t.Fatal(err)
	}
}
