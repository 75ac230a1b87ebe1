package writelog

import (
	"context"
	"fmt"

	"github.com/dostupno/dostupno/shared/pgdb"
)

// AppliedSeq is the last write-log sequence the copy behind db has applied
// (writelog_position.applied_seq), read in db's transaction when db is one. It is the one
// place that reads the copy's position: the applier, the status, and the cache's snapshots
// (which record the position their answers were read at) go through it.
func AppliedSeq(ctx context.Context, db pgdb.DBTX) (uint64, error) {
	var seq int64
	if err := db.QueryRow(ctx, `SELECT applied_seq FROM writelog_position`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("read the applied position: %w", err)
	}
	return uint64(seq), nil
}
