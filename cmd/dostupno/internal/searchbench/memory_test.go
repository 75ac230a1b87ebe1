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

// TestHugePagesLine: the line says where the shared memory is when that is known, else the
// setting and the kernel's huge pages.
func TestHugePagesLine(t *testing.T) {
	for _, c := range []struct {
		setting, status, source string
		total, used             int
		want                    string
	}{
		{"try", "on", "huge_pages_status", 0, 0, "is in huge pages (huge_pages_status)"},
		{"try", "off", "its backend's memory map", 600, 0, "is in 4 KB pages (its backend's memory map)"},
		{"off", "", "its backend's memory map", 600, 0, "is in 4 KB pages (its backend's memory map)"},
		{"try", "", "", 0, 0, "huge_pages=try, and this machine's kernel holds no huge pages"},
		{"try", "", "", 600, 561, "huge_pages=try (not said where its shared memory is); this machine's kernel holds 600 huge pages, 561 of them in use or reserved"},
	} {
		if got := hugePagesLine(c.setting, c.status, c.source, c.total, c.used); !strings.Contains(got, c.want) {
			t.Errorf("hugePagesLine(%q, %q, %q, %d, %d) = %q, want it to say %q", c.setting, c.status, c.source, c.total, c.used, got, c.want)
		}
	}
}

// TestSharedPages: a Postgres backend's map says where its shared memory is; a process that
// is not Postgres's, or a map without either, says nothing.
func TestSharedPages(t *testing.T) {
	proc := t.TempDir()
	write := func(pid, comm, maps string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(proc, pid), 0o755); err != nil {
			t.Fatal(err)
		}
		for name, body := range map[string]string{"comm": comm, "maps": maps} {
			if err := os.WriteFile(filepath.Join(proc, pid, name), []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	const (
		lib  = "7ff74d000000-7ff74d022000 r-xp 00000000 fe:00 1234                       /usr/lib/x86_64-linux-gnu/libc.so.6\n"
		huge = "7ff489800000-7ff4cfa00000 rw-s 00000000 00:11 112961                     /anon_hugepage (deleted)\n"
		zero = "7ff741427000-7ff74a2bf000 rw-s 00000000 00:01 1032                       /dev/zero (deleted)\n"
		sysv = "7ff74ca4e000-7ff74ca4f000 rw-s 00000000 00:01 4                          /SYSV000b6054 (deleted)\n"
	)
	write("10", "postgres\n", lib+huge+sysv)
	write("11", "postgres\n", lib+zero+sysv)
	write("12", "bash\n", lib+huge)
	write("13", "postgres\n", lib+sysv)
	for pid, want := range map[int]string{10: "on", 11: "off", 12: "", 13: "", 14: ""} {
		if got := sharedPages(proc, pid); got != want {
			t.Errorf("process %d: got %q, want %q", pid, got, want)
		}
	}
}

// TestKernelHugePages: all the huge pages, and those in use or reserved, from /proc/meminfo's
// form; none from a file that is not there.
func TestKernelHugePages(t *testing.T) {
	f := filepath.Join(t.TempDir(), "meminfo")
	if err := os.WriteFile(f, []byte("MemTotal:       24598400 kB\nHugePages_Total:     600\nHugePages_Free:      551\nHugePages_Rsvd:      512\nHugePages_Surp:        0\nHugepagesize:       2048 kB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if total, used := kernelHugePages(f); total != 600 || used != 561 {
		t.Errorf("got %d huge pages, %d used or reserved; want 600, 561", total, used)
	}
	if total, used := kernelHugePages(filepath.Join(t.TempDir(), "none")); total != 0 || used != 0 {
		t.Errorf("a missing file: got %d, %d; want 0, 0", total, used)
	}
}
