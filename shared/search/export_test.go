package search

import "testing"

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
		seatWindow: "seatWindow", seatCounts: "seatCounts", textSeatWindow: "textSeatWindow", month: "month"}
	h := func(p plan) { f(names[p]) }
	stepHook.Store(&h)
	t.Cleanup(func() { stepHook.Store(nil) })
}

// ForgetRoutes makes a search remember no route from before t, nor after it any that t's
// searches learned: each test asks its questions of its own catalog.
func ForgetRoutes(t testing.TB) {
	old := routes.Swap(newRoutes())
	t.Cleanup(func() { routes.Store(old) })
}

// AllWords is Query.allWords.
func (q *Query) AllWords() (int, bool) { return q.allWords() }

// MonthSQL is the statement of plan month for q (whose To must be set).
func MonthSQL(q *Query) (string, []any) { return statement(q, month) }

// CappedSQL is the statement of plan capped for q.
func CappedSQL(q *Query) (string, []any) { return statement(q, capped) }

// WordsAlone is wordsAlone.
func WordsAlone(p string) string { return wordsAlone(p) }
