package searchbench

import (
	"strings"
	"testing"
)

// TestMemoryLine: the line says what share of the searches' tables the shared buffers hold, or
// that they fit.
func TestMemoryLine(t *testing.T) {
	for _, c := range []struct {
		buffers, tables int64
		want            string
	}{
		{128 << 20, 1843 << 20, "shared buffers 128 MiB, the searches' tables and indexes 1.8 GiB: 6% of them fit"},
		{6 << 30, 1843 << 20, "shared buffers 6.0 GiB, the searches' tables and indexes 1.8 GiB: they fit"},
		{1 << 30, 1 << 30, ": they fit"},
	} {
		if got := memoryLine(c.buffers, c.tables); !strings.Contains(got, c.want) {
			t.Errorf("memoryLine(%d, %d) = %q, want it to say %q", c.buffers, c.tables, got, c.want)
		}
	}
}
