package searchbench

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5"
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
		conn, err := pgx.Connect(ctx, url)
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
	return fmt.Sprintf("what a start pays this machine: a page of memory touched first %.2f µs, a new connection to Postgres %s-%s ms",
		float64(fault.Nanoseconds())/1000, Millis(fastest), Millis(slowest)), nil
}
