package search

import (
	"context"
	"testing"
	"time"

	"github.com/dostupno/dostupno/shared/pgdb"
)

// SetTextBounds makes b the bounds of text searches until t ends.
func SetTextBounds(t testing.TB, b TextBounds) {
	old := textBounds.Swap(&b)
	t.Cleanup(func() { textBounds.Store(old) })
}

// SetStepHook calls f with the name of each step a search reads (readPage) until t ends, and
// starts t with no route remembered (ForgetRoutes).
func SetStepHook(t testing.TB, f func(step string)) {
	ForgetRoutes(t)
	names := map[plan]string{walk: "walk", window: "window", capped: "capped", long: "long", sparse: "sparse",
		seatWindow: "seatWindow", seatCounts: "seatCounts", textSeatWindow: "textSeatWindow", week: "week"}
	h := func(p plan) { f(names[p]) }
	stepHook.Store(&h)
	t.Cleanup(func() { stepHook.Store(nil) })
}

// ForgetRoutes makes a search remember no route from before t, nor after it any that t's
// searches learned, and no probe either: each test asks its questions of its own catalog.
func ForgetRoutes(t testing.TB) {
	old, oldProbes := routes.Swap(newRoutes()), probes.Swap(newProbes())
	t.Cleanup(func() { routes.Store(old); probes.Store(oldProbes) })
}

// ProbeWords is probeWords.
func ProbeWords(words []string, freq []float64) []string { return probeWords(words, freq) }

// WithProbe is q with its probe (withProbe), and the probe.
func WithProbe(ctx context.Context, db pgdb.DBTX, q *Query) (*Query, string, error) {
	p, err := withProbe(ctx, db, q)
	if err != nil {
		return nil, "", err
	}
	return p, p.probe, nil
}

// AllWords is Query.allWords.
func (q *Query) AllWords() (int, bool) { return q.allWords() }

// WeekSQL is the statement of plan week for q (whose To must be set), with its lexemes.
func WeekSQL(ctx context.Context, db pgdb.DBTX, q *Query) (string, []any, error) {
	q, err := withLexemes(ctx, db, q)
	if err != nil {
		return "", nil, err
	}
	sql, args := statement(q, week)
	return sql, args, nil
}

// CappedSQL is the statement of plan capped for q.
func CappedSQL(q *Query) (string, []any) { return statement(q, capped) }

// WordsAlone is wordsAlone.
func WordsAlone(p string) string { return wordsAlone(p) }

// SetLeanAfter makes a keep turn lean after n rows until t ends (leanAfter).
func SetLeanAfter(t testing.TB, n int64) {
	old := leanAfter.Swap(n)
	t.Cleanup(func() { leanAfter.Store(old) })
}

// WindowSQL is the statement of plan window for q.
func WindowSQL(q *Query) (string, []any) { return statement(q, window) }

// TextSigSQL is textSigSQL.
func TextSigSQL(p string) string { return textSigSQL(p) }

// WeekKeys are the keys of each lexeme a week read of q (whose To must be set) asks for
// (weekKeys).
func WeekKeys(ctx context.Context, db pgdb.DBTX, q *Query) ([][]string, error) {
	q, err := withLexemes(ctx, db, q)
	if err != nil {
		return nil, err
	}
	return weekKeys(q), nil
}

// DetailsSQL is the statement that reads a page's details after its rows (detailsSQL).
var DetailsSQL = detailsSQL

// PageDetails reads the details of the events at cities, starts and ids (details), as a page's
// rows read there: the summaries of those found, by id.
func PageDetails(ctx context.Context, db pgdb.DBTX, cities []string, starts []time.Time, ids []int64) (map[int64]Summary, error) {
	page := make([]pageRow, len(ids))
	for i := range ids {
		page[i] = pageRow{pos: Position{StartsAt: starts[i], ID: ids[i]}, city: cities[i]}
	}
	found, _, err := details(ctx, db, page, false)
	out := make(map[int64]Summary, len(found))
	for id, d := range found {
		out[id] = d.Summary
	}
	return out, err
}
