package searchbench

import "testing"

// TestTargetOf: free-text shapes are held to TextTarget, the others to ShapeTarget.
func TestTargetOf(t *testing.T) {
	for _, sh := range shapes {
		want := ShapeTarget
		if sh.text {
			want = TextTarget
		}
		if got := TargetOf(sh.name); got != want {
			t.Errorf("TargetOf(%q) = %v, want %v", sh.name, got, want)
		}
	}
	if TargetOf("text: number") != TextTarget || TargetOf("common constraint") != ShapeTarget {
		t.Error("a text shape must be held to TextTarget, another to ShapeTarget")
	}
}
