package writelog

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Spreading: a run of spreadable commands is spread when it carries at least SpreadMinBytes
// of payload (one imported batch does; one admin write does not), over DefaultSpreadParts
// connections unless SetSpreadParts says otherwise.
const (
	SpreadMinBytes     = 64 << 10
	DefaultSpreadParts = 2
)

// spreadRun finds the first run of batch worth spreading: consecutive decodable commands of
// one spreadable kind carrying at least SpreadMinBytes. It returns where the run starts, its
// length (0: none) and the number of parts to spread it over.
func (r *Replica) spreadRun(batch []pending) (start, n, parts int) {
	parts = min(r.parts, int(r.pool.Config().MaxConns)-1)
	if parts < 2 || len(r.spreaders) == 0 {
		return 0, 0, 0
	}
	for i := 0; i < len(batch); {
		kind := batch[i].cmd.Kind
		if _, ok := r.spreaders[kind]; !ok || batch[i].bad != "" {
			i++
			continue
		}
		j, bytes := i, 0
		for ; j < len(batch) && batch[j].bad == "" && batch[j].cmd.Kind == kind; j++ {
			bytes += len(batch[j].cmd.Payload)
		}
		if bytes >= SpreadMinBytes {
			return i, j - i, parts
		}
		i = j
	}
	return 0, 0, 0
}

// applySpread applies run through its kind's Spreader over parts connections, and commits the
// parts before returning: the caller records the outcomes and commits its own transaction. A
// refusal of the data (DataError) is ErrApplySerially, so that the refused command fails alone.
func (r *Replica) applySpread(ctx context.Context, tx pgx.Tx, parts int, run []pending) ([]Outcome, error) {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("savepoint: %w", err)
	}
	txs := make([]pgx.Tx, 0, parts)
	defer func() {
		for _, p := range txs {
			p.Rollback(ctx) //nolint:errcheck // a no-op after Commit
		}
	}()
	for range parts {
		p, err := r.pool.Begin(ctx)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("begin a part: %w", err), sp.Rollback(ctx))
		}
		txs = append(txs, p)
	}
	cmds := make([]Numbered, len(run))
	for i, p := range run {
		cmds[i] = Numbered{Seq: p.seq, Cmd: p.cmd}
	}
	outs, err := r.spreaders[run[0].cmd.Kind](WithAnnounces(ctx, r.announce), sp, txs, cmds)
	if err == nil && len(outs) != len(run) {
		err = fmt.Errorf("the spreader returned %d outcomes for %d commands", len(outs), len(run))
	}
	for i := range outs {
		if err == nil && outs[i].Status != Applied {
			err = fmt.Errorf("the spreader returned status %q (only applied runs may be spread)", outs[i].Status)
		}
	}
	if err != nil {
		if DataError(err) != nil {
			// One command of the run is refused: applied one by one, it fails alone.
			err = ErrApplySerially
		}
		return nil, errors.Join(err, sp.Rollback(ctx))
	}
	for i, p := range txs {
		if err := p.Commit(ctx); err != nil {
			// Parts committed before this one hold rows the copy has not recorded: the
			// caller rolls back, and the next round applies the run again.
			return nil, fmt.Errorf("commit part %d of %d: %w", i+1, len(txs), err)
		}
	}
	if r.afterParts != nil {
		if err := r.afterParts(); err != nil {
			return nil, err
		}
	}
	if err := sp.Commit(ctx); err != nil {
		return nil, fmt.Errorf("release savepoint: %w", err)
	}
	return outs, nil
}
