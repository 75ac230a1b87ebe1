package writelog_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/changefeed"
	"github.com/dostupno/dostupno/shared/pgtest"
	"github.com/dostupno/dostupno/shared/writelog"
	"github.com/dostupno/dostupno/shared/writelog/writelogtest"
)

// Commands the database refuses (SQLSTATE classes 22 and 23) are recorded as failed alike in
// every copy and the log moves on; a transient error is tried again and then applied.
func TestPoisonCommands(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)

	nul := event(1, "before\x00after") // SQLSTATE 22021: NUL is not valid text
	huge := event(2, "Too dear")
	price := 1e11 // numeric(12, 2) holds less: SQLSTATE 22003
	huge.Price = &catalog.Price{Min: &price}
	poisons := []struct {
		name  string
		state string
		seq   uint64
	}{
		{"NUL", "22021", e.publish(t, "event:nul", nul)},
		{"OutOfRange", "22003", e.publish(t, "event:huge", huge)},
	}
	good := e.publish(t, "event:3", event(3, "After the poison"))

	// A kind whose first attempt meets a serialisation failure (SQLSTATE 40001), as a
	// concurrent transaction would cause: not the command's fault, so it is tried again.
	var tries atomic.Int64
	flaky := writelog.Kind{Name: "test.flaky", Apply: func(ctx context.Context, tx pgx.Tx, seq uint64, cmd writelog.Command) (writelog.Outcome, error) {
		if tries.Add(1) == 1 {
			return writelog.Outcome{}, &pgconn.PgError{Code: "40001", Message: "could not serialize access"}
		}
		return writelog.Succeed(nil, changefeed.Change{})
	}}
	flakySeq, err := e.log.Publish(ctx, "test.flaky", "flaky:1", at, struct{}{})
	if err != nil {
		t.Fatal(err)
	}

	copies := make([]*writelog.Replica, 2)
	pools := make([]*pgxpool.Pool, 2)
	for i, name := range []string{"primary", "copy-2"} {
		pool := pgtest.New(t)
		vocab, err := catalog.LoadVocabulary(ctx, pool)
		if err != nil {
			t.Fatal(err)
		}
		copies[i] = writelog.NewReplica(e.log, pool, name, append(e.kinds(vocab, nil, nil), flaky), quiet())
		pools[i] = pool
	}
	for i, r := range copies {
		_, err := r.ApplyPending(ctx)
		if i == 0 && (err == nil || !strings.Contains(err.Error(), "40001")) {
			t.Fatalf("got %v from the first round, want the serialisation failure: the batch is tried again", err)
		}
		if i == 0 {
			if st, err := r.Status(ctx); err != nil || st.AppliedSeq != 0 {
				t.Fatalf("got %+v, %v after a transient error, want nothing applied", st, err)
			}
		}
		if _, err := r.WaitApplied(ctx, flakySeq); err != nil {
			t.Fatalf("%s: %v", r.Name(), err)
		}
		for _, p := range poisons {
			o, ok, err := r.Outcome(ctx, p.seq)
			if err != nil || !ok || o.Status != writelog.Failed || o.Code != apperr.InvalidArgument || !strings.Contains(o.Message, "SQLSTATE "+p.state) {
				t.Errorf("%s %s: got %+v, %v, %v; want failed invalid_argument with SQLSTATE %s", r.Name(), p.name, o, ok, err, p.state)
			}
			if err := o.Err(); apperr.CodeOf(err) != apperr.InvalidArgument || !strings.Contains(err.Error(), "SQLSTATE "+p.state) {
				t.Errorf("%s %s: got %v for the publisher, want invalid_argument naming the SQLSTATE", r.Name(), p.name, err)
			}
		}
		if o, ok, err := r.Outcome(ctx, good); err != nil || !ok || o.Status != writelog.Applied {
			t.Errorf("%s: got %+v, %v, %v for the command after the poison, want applied", r.Name(), o, ok, err)
		}
		if o, ok, err := r.Outcome(ctx, flakySeq); err != nil || !ok || o.Status != writelog.Applied {
			t.Errorf("%s: got %+v, %v, %v for the transient failure, want applied on a later try", r.Name(), o, ok, err)
		}
	}
	if n := tries.Load(); n != 3 {
		t.Errorf("got %d calls of the flaky handler, want 3 (failed once, then once per copy)", n)
	}
	writelogtest.Equal(t, pools[0], pools[1])
}
