package searchbench

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dostupno/dostupno/shared/pgdb"
)

// Memory says how much of what the searches read the server's shared buffers can hold: the
// rest comes from the kernel's page cache, which a machine may take back when it is idle for
// seconds (README, "Seat availability"), and then the figures include disk reads. Where the
// kernel's DAMON pages out memory idle for a set time (PageOut), the line says how long.
func Memory(ctx context.Context, db pgdb.DBTX) (string, error) {
	var buffers, tables int64
	if err := db.QueryRow(ctx, `SELECT pg_size_bytes(current_setting('shared_buffers')),
		pg_total_relation_size('event_accessibility') + pg_total_relation_size('events') + pg_total_relation_size('event_availability')`).
		Scan(&buffers, &tables); err != nil {
		return "", fmt.Errorf("shared buffers: %w", err)
	}
	idle, _ := PageOut(damonAdmin)
	return memoryLine(buffers, tables, idle), nil
}

// memoryLine is Memory's line for shared buffers of buffers bytes and tables of the searches
// of tables bytes (with their indexes), on a kernel that pages out memory idle for idle (0:
// none that PageOut found).
func memoryLine(buffers, tables int64, idle time.Duration) string {
	line := fmt.Sprintf("Postgres's shared buffers %s, the searches' tables and indexes %s", bytesOf(buffers), bytesOf(tables))
	if buffers >= tables {
		return line + ": they fit"
	}
	line += fmt.Sprintf(": %d%% of them fit, the rest is read through the page cache (disk when the kernel took it back)", buffers*100/tables)
	if idle > 0 {
		line += fmt.Sprintf("; this kernel pages out memory idle for %s (DAMON): a question that reads a page no question read for that long waits for the disk", idle)
	}
	return line
}

// damonAdmin is the root of DAMON's sysfs interface.
const damonAdmin = "/sys/kernel/mm/damon/admin"

// PageOut reads under root (DAMON's sysfs interface, damonAdmin) the shortest time memory must
// be idle before a running kdamond that monitors physical memory pages it out: a "pageout"
// scheme's least age (in aggregation intervals) times its context's aggregation interval. ok
// is false when no such scheme runs (or the interface is not there). A machine that does this
// loses the page cache of whatever the questions have not read for that long, and the first
// question to read it again reads the disk (docs/PERFORMANCE.md, the fourteenth machine).
func PageOut(root string) (idle time.Duration, ok bool) {
	read := func(parts ...string) string {
		b, err := os.ReadFile(filepath.Join(append([]string{root}, parts...)...))
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	number := func(parts ...string) (int64, bool) {
		n, err := strconv.ParseInt(read(parts...), 10, 64)
		return n, err == nil && n >= 0
	}
	kdamonds, _ := filepath.Glob(filepath.Join(root, "kdamonds", "[0-9]*"))
	for _, k := range kdamonds {
		k := filepath.Base(k)
		if read("kdamonds", k, "state") != "on" {
			continue
		}
		contexts, _ := filepath.Glob(filepath.Join(root, "kdamonds", k, "contexts", "[0-9]*"))
		for _, c := range contexts {
			c := filepath.Base(c)
			ctxDir := []string{"kdamonds", k, "contexts", c}
			aggr, okAggr := number(append(ctxDir, "monitoring_attrs", "intervals", "aggr_us")...)
			if read(append(ctxDir, "operations")...) != "paddr" || !okAggr {
				continue
			}
			schemes, _ := filepath.Glob(filepath.Join(append(append([]string{root}, ctxDir...), "schemes", "[0-9]*")...))
			for _, s := range schemes {
				sDir := append(append([]string{}, ctxDir...), "schemes", filepath.Base(s))
				age, okAge := number(append(sDir, "access_pattern", "age", "min")...)
				if read(append(sDir, "action")...) != "pageout" || !okAge {
					continue
				}
				d := time.Duration(age*aggr) * time.Microsecond
				if !ok || d < idle {
					idle, ok = d, true
				}
			}
		}
	}
	return idle, ok
}

func bytesOf(n int64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%d MiB", n>>20)
}

// HugePages says whether the server's shared memory is in huge pages: as Postgres 17 and
// later say (huge_pages_status), else as the memory map of one of its backends says when the
// server runs here (under proc, /proc), else its setting and the huge pages this machine's
// kernel holds. In 4 KB pages, each backend faults in every page of the shared memory the
// first time it touches it (docs/PERFORMANCE.md, the twentieth machine).
func HugePages(ctx context.Context, db pgdb.DBTX, proc string) (string, error) {
	var setting, said string
	var pid int
	if err := db.QueryRow(ctx, `SELECT current_setting('huge_pages'), coalesce(current_setting('huge_pages_status', true), ''), pg_backend_pid()`).
		Scan(&setting, &said, &pid); err != nil {
		return "", fmt.Errorf("huge pages: %w", err)
	}
	source := "huge_pages_status"
	if said == "" {
		said, source = sharedPages(proc, pid), "its backend's memory map"
	}
	total, used := kernelHugePages(filepath.Join(proc, "meminfo"))
	return hugePagesLine(setting, said, source, total, used), nil
}

// hugePagesLine is HugePages' line for Postgres's huge_pages setting, whether its shared
// memory is in huge pages ("on", "off", or "" when unknown) and who says so, and the kernel's
// huge pages, total and used or reserved.
func hugePagesLine(setting, status, source string, total, used int) string {
	switch {
	case status == "on":
		return fmt.Sprintf("Postgres's shared memory is in huge pages (%s)", source)
	case status == "off" || setting == "off":
		return fmt.Sprintf("Postgres's shared memory is in 4 KB pages (%s): a backend faults in each page of it the first time it touches it", cmp.Or(source, "huge_pages=off"))
	case total == 0:
		return fmt.Sprintf("Postgres's huge_pages=%s, and this machine's kernel holds no huge pages: its shared memory is in 4 KB pages, and a backend faults in each the first time it touches it", setting)
	}
	return fmt.Sprintf("Postgres's huge_pages=%s (not said where its shared memory is); this machine's kernel holds %d huge pages, %d of them in use or reserved", setting, total, used)
}

// sharedPages is "on" when the memory map of process pid under proc, a Postgres backend here,
// maps its shared memory in huge pages (/anon_hugepage), "off" when in ordinary ones
// (/dev/zero), "" when it cannot tell (a server on another machine, another process with that
// number here, a map it cannot read).
func sharedPages(proc string, pid int) string {
	comm, err := os.ReadFile(filepath.Join(proc, strconv.Itoa(pid), "comm"))
	if err != nil || !strings.HasPrefix(string(comm), "postgres") {
		return ""
	}
	maps, err := os.ReadFile(filepath.Join(proc, strconv.Itoa(pid), "maps"))
	if err != nil {
		return ""
	}
	said := ""
	for _, line := range strings.Split(string(maps), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || !strings.Contains(f[1], "s") { // a shared mapping
			continue
		}
		switch {
		case strings.HasPrefix(f[5], "/anon_hugepage"):
			return "on"
		case f[5] == "/dev/zero":
			said = "off"
		}
	}
	return said
}

// kernelHugePages reads the kernel's huge pages from meminfo (/proc/meminfo): all of them,
// and those in use or reserved (HugePages_Total - HugePages_Free + HugePages_Rsvd); 0, 0 when
// it cannot.
func kernelHugePages(meminfo string) (total, used int) {
	b, err := os.ReadFile(meminfo)
	if err != nil {
		return 0, 0
	}
	n := map[string]int{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || !strings.HasPrefix(k, "HugePages_") {
			continue
		}
		n[k], _ = strconv.Atoi(strings.TrimSpace(v))
	}
	return n["HugePages_Total"], n["HugePages_Total"] - n["HugePages_Free"] + n["HugePages_Rsvd"]
}
