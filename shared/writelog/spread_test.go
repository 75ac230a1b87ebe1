package writelog_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/pgtest"
	"github.com/dostupno/dostupno/shared/writelog"
	"github.com/dostupno/dostupno/shared/writelog/writelogtest"
)

// big is a command's worth of events (about 110 KiB, above writelog.SpreadMinBytes) with ids
// first..first+n-1, titled title.
func big(first, n int64, title string) []catalog.Event {
	out := make([]catalog.Event, 0, n)
	for id := first; id < first+n; id++ {
		e := event(id, fmt.Sprintf("%s %d", title, id))
		e.Description = strings.Repeat("Описание вечера. ", 30)
		e.Venue.ID = 100 + id%7
		e.Venue.Name = title + " hall" // a later command renames the venues
		if id%5 == 0 {
			e.City, e.CityName = "kazan", title+" city" // the first name stays
		}
		out = append(out, e)
	}
	return out
}

// publishStream publishes a stream where runs of event upserts (spread) are cut by commands of
// another kind (applied one by one), ids recur across commands, venues are renamed, one large
// command is refused by the schema and one does not decode.
func (e *env) publishStream(t *testing.T) {
	t.Helper()
	marker := func(key string) {
		if _, err := e.log.Publish(context.Background(), "test.marker", key, at, map[string]string{}); err != nil {
			t.Fatal(err)
		}
	}
	e.publish(t, "small:1", event(1, "small first"))
	e.publish(t, "big:1", big(1, 200, "A")...)
	e.publish(t, "big:2", big(150, 200, "B")...)
	marker("m1")
	e.publish(t, "big:3", big(100, 200, "C")...)
	e.publish(t, "small:2", event(360, "small after"))
	marker("m2")
	bad := big(400, 200, "D")
	bad[7].Venue.ID = 0 // the schema refuses it: the run is applied one by one
	e.publish(t, "big:bad", bad...)
	marker("m3")
	e.publish(t, "big:4", big(500, 200, "E")...)
	if _, err := e.log.Publish(context.Background(), catalog.KindEventUpsert, "big:undecodable", at,
		map[string]string{"not": strings.Repeat("a list ", 20000)}); err != nil {
		t.Fatal(err)
	}
	marker("m4")
	e.publish(t, "big:5", big(1, 200, "F")...)
}

func TestSpread(t *testing.T) {
	t.Run("SameRowsAndOutcomesAsOneByOne", func(t *testing.T) {
		e := newEnv(t)
		e.publishStream(t)
		var runs atomic.Int64
		spread, rs := e.spreadCopy(t, "primary", &runs)
		serial, rserial := e.copy(t, "copy-2", nil)
		ctx := context.Background()
		if _, err := rs.ApplyPending(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := rserial.ApplyPending(ctx); err != nil {
			t.Fatal(err)
		}
		if runs.Load() != 5 {
			t.Fatalf("got %d spread runs, want 5", runs.Load())
		}
		writelogtest.Equal(t, spread, serial)
		if got := pgtest.Count(t, spread, `SELECT count(*) FROM writelog_outcomes WHERE status = 'applied'`); got != 7 {
			t.Errorf("got %d applied outcomes, want 7", got)
		}
		if got := pgtest.Count(t, spread, `SELECT count(*) FROM writelog_outcomes WHERE status <> 'applied'`); got != 6 {
			t.Errorf("got %d rejected or failed outcomes, want 6 (4 markers, the refused, the undecodable)", got)
		}
		if got, _ := title(t, spread, 150); got != "F 150" {
			t.Errorf("event 150: got title %q, want the last command's %q", got, "F 150")
		}
		if got, _ := title(t, spread, 360); got != "small after" {
			t.Errorf("event 360: got title %q, want %q", got, "small after")
		}
		if got, _ := title(t, spread, 250); got != "C 250" {
			t.Errorf("event 250: got title %q, want the later command's %q", got, "C 250")
		}
		if got := pgtest.Count(t, spread, `SELECT count(*) FROM events WHERE id BETWEEN 400 AND 699`); got != 200 {
			t.Errorf("got %d events of the refused and the following command, want 200 (the following only)", got)
		}
	})

	t.Run("CrashBetweenPartsAndCommitAppliesTheSameAgain", func(t *testing.T) {
		e := newEnv(t)
		e.publishStream(t)
		var runs atomic.Int64
		spread, rs := e.spreadCopy(t, "primary", &runs)
		ctx := context.Background()
		crash := errors.New("crashed after the parts committed")
		var crashes atomic.Int64
		rs.SetAfterParts(func() error {
			if crashes.Add(1) <= 2 {
				return crash
			}
			return nil
		})
		if _, err := rs.ApplyPending(ctx); !errors.Is(err, crash) {
			t.Fatalf("got %v, want the crash", err)
		}
		// The parts' rows are there, unrecorded.
		if got := pgtest.Count(t, spread, `SELECT count(*) FROM events WHERE title LIKE 'A %'`); got == 0 {
			t.Fatal("got no rows from the crashed run, want the parts' rows committed")
		}
		if got := pgtest.Count(t, spread, `SELECT applied_seq FROM writelog_position`); got != 0 {
			t.Fatalf("got applied_seq %d, want 0", got)
		}
		if _, err := rs.ApplyPending(ctx); !errors.Is(err, crash) {
			t.Fatalf("got %v, want the second crash", err)
		}
		if _, err := rs.ApplyPending(ctx); err != nil {
			t.Fatal(err)
		}
		serial, rserial := e.copy(t, "copy-2", nil)
		if _, err := rserial.ApplyPending(ctx); err != nil {
			t.Fatal(err)
		}
		writelogtest.Equal(t, spread, serial)
		consumerSettled(t, rs)
	})

	t.Run("SmallPoolAppliesOneByOne", func(t *testing.T) {
		e := newEnv(t)
		e.publish(t, "big:1", big(1, 200, "A")...)
		cfg, err := pgxpool.ParseConfig(pgtest.NewURL(t))
		if err != nil {
			t.Fatal(err)
		}
		cfg.MaxConns = 2
		pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		vocab, err := catalog.LoadVocabulary(context.Background(), pool)
		if err != nil {
			t.Fatal(err)
		}
		var runs atomic.Int64
		r := writelog.NewReplica(e.log, pool, "primary", e.kinds(vocab, nil, &runs), quiet())
		r.SetSpreadParts(4) // more than the pool can give: one by one
		if _, err := r.ApplyPending(context.Background()); err != nil {
			t.Fatal(err)
		}
		if runs.Load() != 0 {
			t.Errorf("got %d spread runs on a pool of 2, want 0", runs.Load())
		}
		if got := pgtest.Count(t, pool, `SELECT count(*) FROM events`); got != 200 {
			t.Errorf("got %d events, want 200", got)
		}
	})
}
