package search

import "testing"

// SetTextBounds makes b the bounds of text searches until t ends.
func SetTextBounds(t testing.TB, b TextBounds) {
	old := textBounds.Swap(&b)
	t.Cleanup(func() { textBounds.Store(old) })
}
