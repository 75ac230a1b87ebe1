package instance

import (
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/dostupno/dostupno/shared/account"
)

// DefaultMemoryLimit is the memory limit assumed when the process has none (the local runner,
// a test): stack.yml's limit of the functions that hash passwords.
const DefaultMemoryLimit = 256 << 20

// memoryLimit is the process's memory limit, read from its cgroup (v2, then v1); 0 for none.
func memoryLimit() int64 {
	for _, f := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil || n <= 0 || n >= 1<<50 { // "max", or v1's "unlimited"
			return 0
		}
		return n
	}
	return 0
}

// newHasher is the instance's password hashing queue, sized from its memory limit and
// processors (account.HashSlots).
func newHasher(log *slog.Logger) *account.Hasher {
	limit := memoryLimit()
	if limit == 0 {
		limit = DefaultMemoryLimit
	}
	h := account.NewHasher(account.HashSlots(limit, runtime.GOMAXPROCS(0)))
	log.Debug("password hashing queue", "memory_limit", limit, "queue", h.String())
	return h
}

// Hasher is the instance's password hashing queue.
func (d *Deps) Hasher() *account.Hasher { return d.hasher() }
