package searchbench

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

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

// TestReportNamesAMissedShapesSlowestQuestion: a shape over its target is reported with its
// slowest question and the disks' reads while it was asked; a shape within it is not.
func TestReportNamesAMissedShapesSlowestQuestion(t *testing.T) {
	slow, fast := shapes[0].name, shapes[1].name
	r := &Result{
		ByShape: map[string][2]Stats{
			slow: {{N: 10, P50: time.Millisecond, P99: ShapeTarget + 50*time.Microsecond, Max: ShapeTarget + 50*time.Microsecond}},
			fast: {{N: 10, P50: time.Millisecond, P99: 2 * time.Millisecond, Max: 2 * time.Millisecond}},
		},
		SlowestOf: map[string]Timed{
			slow: {Query: "city=kazan", Took: ShapeTarget + 50*time.Microsecond, Reads: 12},
			fast: {Query: "city=perm", Took: 2 * time.Millisecond, Reads: 3},
		},
	}
	var out strings.Builder
	report(&out, r)
	if want := fmt.Sprintf("  %s, its slowest: 5.05 ms   12 reads  ?city=kazan\n", slow); !strings.Contains(out.String(), want) {
		t.Errorf("the report lacks %q:\n%s", want, out.String())
	}
	if strings.Contains(out.String(), "city=perm") {
		t.Errorf("the report names a question of a shape within its target:\n%s", out.String())
	}
	r.DiskQuestions = -1
	out.Reset()
	report(&out, r)
	if want := fmt.Sprintf("  %s, its slowest: 5.05 ms  ?city=kazan\n", slow); !strings.Contains(out.String(), want) {
		t.Errorf("without the disks' reads, the report lacks %q:\n%s", want, out.String())
	}
}
