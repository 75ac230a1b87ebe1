package commands

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/writelog"
)

// Writer is what a writer needs to publish commands and read its own writes, and what
// db-writer needs to apply them: the write log, the applier of one copy with the handlers of
// every command kind, and the vocabulary they were built with.
type Writer struct {
	Log     *writelog.Log
	Replica *writelog.Replica
	Vocab   *catalog.Vocabulary
}

// Open opens the write log of namespace and the applier of the copy pool, named replica.
func Open(ctx context.Context, pool *pgxpool.Pool, js jetstream.JetStream, namespace, replica string, log *slog.Logger) (*Writer, error) {
	l, err := writelog.Open(ctx, js, namespace)
	if err != nil {
		return nil, err
	}
	vocab, err := catalog.LoadVocabulary(ctx, pool)
	if err != nil {
		return nil, fmt.Errorf("load vocabulary: %w", err)
	}
	return &Writer{Log: l, Replica: NewReplica(l, pool, replica, vocab, log), Vocab: vocab}, nil
}
