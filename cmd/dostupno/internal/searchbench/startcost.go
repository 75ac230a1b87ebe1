package searchbench

import (
	"context"
	"fmt"
	"runtime"
	"syscall"
	"time"

	"github.com/dostupno/dostupno/shared/pgdb"
)

// StartCosts measures what a function's start pays this machine for, apart from the code:
// memory touched for the first time (a page fault per 4 KiB page, taken on 64 MiB) and a new
// connection to the Postgres of url (the backend's start; three, the fastest and the
// slowest). The cold starts' figures follow from them as much as from the code: on a machine
// whose first-touched page costs 12-16 µs and a new connection 16-67 ms, a function that loads
// nothing took 42-81 ms to its first answer (docs/PERFORMANCE.md, the eighth machine).
func StartCosts(ctx context.Context, url string) (string, error) {
	const size, page = 64 << 20, 4 << 10
	t := time.Now()
	b := make([]byte, size)
	for i := 0; i < len(b); i += page {
		b[i] = 1
	}
	fault := time.Since(t) / (size / page)
	runtime.KeepAlive(b)
	var fastest, slowest time.Duration
	for i := range 3 {
		t := time.Now()
		conn, err := pgdb.ConnectOne(ctx, url)
		if err != nil {
			return "", fmt.Errorf("connect: %w", err)
		}
		d := time.Since(t)
		conn.Close(ctx)
		if i == 0 || d < fastest {
			fastest = d
		}
		slowest = max(slowest, d)
	}
	return fmt.Sprintf("what a start pays this machine: a page of memory touched first %s µs, a new connection to Postgres %s-%s ms",
		Micros(fault), Millis(fastest), Millis(slowest)), nil
}

// SyscallCost is what one system call costs this machine now: the fastest of three runs of
// 20,000 getppid calls, per call. On virtual machines whose guest pays for each system call
// (a PVM guest re-enables interrupts in the host's kernel), it drifts with the host's load, and
// the answers per second loosely with it: 1.03-1.07 µs just before 16 clients got 4,224-4,712
// answers/s, 1.24-1.31 µs before 3,688-3,764, in turns within ten minutes, while the CPU a fixed
// computation takes did not move; but 1.04-1.10 µs came before 3,717-4,930 later
// (docs/PERFORMANCE.md, the twenty-first machine).
func SyscallCost() time.Duration {
	const calls = 20_000
	var fastest time.Duration
	for i := range 3 {
		t := time.Now()
		for range calls {
			syscall.Getppid()
		}
		if d := time.Since(t); i == 0 || d < fastest {
			fastest = d
		}
	}
	return fastest / calls
}
