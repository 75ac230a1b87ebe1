package writelog

import (
	"context"
	"fmt"

	"github.com/dostupno/dostupno/shared/pgdb"
)

// AppliedSeq is the last write-log sequence the copy behind db has applied
// (writelog_position.applied_seq), read in db's transaction when db is one. This file is the
// one place that reads or writes the copy's position: the applier, the status, and the cache's
// snapshots (which record the position their answers were read at) go through it.
func AppliedSeq(ctx context.Context, db pgdb.DBTX) (uint64, error) {
	var seq int64
	if err := db.QueryRow(ctx, `SELECT applied_seq FROM writelog_position`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("read the applied position: %w", err)
	}
	return uint64(seq), nil
}

// setAppliedSeq records seq as the copy's position, in the applier's transaction tx (with the
// commands' changes and outcomes).
func setAppliedSeq(ctx context.Context, tx pgdb.DBTX, seq uint64) error {
	if _, err := tx.Exec(ctx, `UPDATE writelog_position SET applied_seq = $1`, int64(seq)); err != nil {
		return fmt.Errorf("record the applied position %d: %w", seq, err)
	}
	return nil
}
