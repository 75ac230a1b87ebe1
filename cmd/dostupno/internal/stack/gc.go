package stack

import (
	"fmt"
	"strconv"
	"strings"
)

// GC is the Go runtime's garbage collection settings a function's environment gives its
// process (GOGC, GOMEMLIMIT; the runtime reads them when it starts).
type GC struct {
	Percent int   // GOGC (100 when unset, the runtime's default)
	Limit   int64 // GOMEMLIMIT in bytes (0 when unset: none)
}

// GC reads f's GOGC and GOMEMLIMIT as the Go runtime does: GOGC a whole number (or "off",
// refused here: a function without collection would grow to its memory limit), GOMEMLIMIT
// bytes with an optional unit B, KiB, MiB, GiB or TiB. A GOMEMLIMIT must leave room under the
// function's memory limit (limits.memory), which the runtime's limit does not count all of
// (its stacks, the binary).
func (f Function) GC() (GC, error) {
	g := GC{Percent: 100}
	if v, ok := f.Environment["GOGC"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return g, fmt.Errorf("%s: GOGC %q: want a whole number above 0", f.Name, v)
		}
		g.Percent = n
	}
	if v, ok := f.Environment["GOMEMLIMIT"]; ok {
		n, err := bytesOf(v, []unit{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}})
		if err != nil || n <= 0 {
			return g, fmt.Errorf("%s: GOMEMLIMIT %q: want bytes, with B, KiB, MiB, GiB or TiB", f.Name, v)
		}
		g.Limit = n
		if mem, ok := f.Limits["memory"]; ok {
			m, err := bytesOf(mem, []unit{{"Ti", 1 << 40}, {"Gi", 1 << 30}, {"Mi", 1 << 20}, {"Ki", 1 << 10}})
			if err != nil {
				return g, fmt.Errorf("%s: limits.memory %q: want bytes, with Ki, Mi, Gi or Ti", f.Name, mem)
			}
			if n > m*7/8 {
				return g, fmt.Errorf("%s: GOMEMLIMIT %s is over seven eighths of limits.memory %s", f.Name, v, mem)
			}
		}
	}
	return g, nil
}

type unit struct {
	suffix string
	bytes  int64
}

// bytesOf reads a whole number of bytes with at most one of units' suffixes.
func bytesOf(s string, units []unit) (int64, error) {
	mult := int64(1)
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = n, u.bytes
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("invalid size")
	}
	return n * mult, nil
}
