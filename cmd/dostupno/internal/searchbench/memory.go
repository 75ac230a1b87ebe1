package searchbench

import (
	"context"
	"fmt"

	"github.com/dostupno/dostupno/shared/pgdb"
)

// Memory says how much of what the searches read the server's shared buffers can hold: the
// rest comes from the kernel's page cache, which a machine may take back when it is idle for
// seconds (README, "Seat availability"), and then the figures include disk reads.
func Memory(ctx context.Context, db pgdb.DBTX) (string, error) {
	var buffers, tables int64
	if err := db.QueryRow(ctx, `SELECT pg_size_bytes(current_setting('shared_buffers')),
		pg_total_relation_size('event_accessibility') + pg_total_relation_size('events') + pg_total_relation_size('event_availability')`).
		Scan(&buffers, &tables); err != nil {
		return "", fmt.Errorf("shared buffers: %w", err)
	}
	return memoryLine(buffers, tables), nil
}

// memoryLine is Memory's line for shared buffers of buffers bytes and tables of the searches
// of tables bytes (with their indexes).
func memoryLine(buffers, tables int64) string {
	line := fmt.Sprintf("Postgres's shared buffers %s, the searches' tables and indexes %s", bytesOf(buffers), bytesOf(tables))
	if buffers < tables {
		return line + fmt.Sprintf(": %d%% of them fit, the rest is read through the page cache (disk when the kernel took it back)", buffers*100/tables)
	}
	return line + ": they fit"
}

func bytesOf(n int64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%d MiB", n>>20)
}
