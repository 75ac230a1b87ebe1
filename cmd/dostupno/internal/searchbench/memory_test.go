package searchbench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMemoryLine: the line says what share of the searches' tables the shared buffers hold, or
// that they fit.
func TestMemoryLine(t *testing.T) {
	for _, c := range []struct {
		buffers, tables int64
		idle            time.Duration
		want, not       string
	}{
		{128 << 20, 1843 << 20, 0, "shared buffers 128 MiB, the searches' tables and indexes 1.8 GiB: 6% of them fit", "DAMON"},
		{128 << 20, 1843 << 20, time.Minute, "6% of them fit, the rest is read through the page cache (disk when the kernel took it back); this kernel pages out memory idle for 1m0s (DAMON)", ""},
		{6 << 30, 1843 << 20, time.Minute, "shared buffers 6.0 GiB, the searches' tables and indexes 1.8 GiB: they fit", "DAMON"},
		{1 << 30, 1 << 30, 0, ": they fit", "page cache"},
	} {
		got := memoryLine(c.buffers, c.tables, c.idle)
		if !strings.Contains(got, c.want) || c.not != "" && strings.Contains(got, c.not) {
			t.Errorf("memoryLine(%d, %d, %v) = %q, want it to say %q and not %q", c.buffers, c.tables, c.idle, got, c.want, c.not)
		}
	}
}

// TestPageOut: the idle time is the least age of a pageout scheme of a running kdamond on
// physical memory, in its context's aggregation intervals; schemes that do something else,
// contexts on a process's memory, stopped kdamonds and a missing interface count for nothing.
func TestPageOut(t *testing.T) {
	root := t.TempDir()
	write := func(value string, parts ...string) {
		t.Helper()
		p := filepath.Join(append([]string{root}, parts...)...)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(value+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	scheme := func(kdamond, state, ops, aggrUs, action, minAge string) {
		k := []string{"kdamonds", kdamond}
		write(state, append(k, "state")...)
		c := append(k, "contexts", "0")
		write(ops, append(c, "operations")...)
		write(aggrUs, append(c, "monitoring_attrs", "intervals", "aggr_us")...)
		s := append(c, "schemes", "0")
		write(action, append(s, "action")...)
		write(minAge, append(s, "access_pattern", "age", "min")...)
	}
	if _, ok := PageOut(root); ok {
		t.Fatal("PageOut found a scheme in an empty interface")
	}
	scheme("0", "off", "paddr", "5000000", "pageout", "1") // stopped
	scheme("1", "on", "vaddr", "5000000", "pageout", "2")  // a process's memory
	scheme("2", "on", "paddr", "5000000", "stat", "3")     // counts, pages nothing out
	if idle, ok := PageOut(root); ok {
		t.Fatalf("PageOut = %v, true; want no scheme that pages out", idle)
	}
	scheme("3", "on", "paddr", "5000000", "pageout", "12")
	scheme("4", "on", "paddr", "100000", "pageout", "900") // 90 s: longer
	if idle, ok := PageOut(root); !ok || idle != time.Minute {
		t.Fatalf("PageOut = %v, %v; want 1m0s, true (12 intervals of 5 s)", idle, ok)
	}
	if _, ok := PageOut(filepath.Join(root, "absent")); ok {
		t.Fatal("PageOut found a scheme under a missing root")
	}
}
