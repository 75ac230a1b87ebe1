package commands

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/writelog"
)

// Writer is what a writer needs to publish commands and read its own writes, and what
// db-writer needs to apply them: the copy, the write log, the applier of the copy with the
// handlers of every command kind, and the vocabulary they were built with.
type Writer struct {
	Pool    *pgxpool.Pool
	Log     *writelog.Log
	Replica *writelog.Replica
	Vocab   *catalog.Vocabulary
}

// OpenFor opens the writer of a function instance: its copy (DATABASE_URL), its NATS
// connection, and the namespace and copy name of its configuration.
func OpenFor(ctx context.Context, d *instance.Deps) (*Writer, error) {
	pool, err := d.Pool()
	if err != nil {
		return nil, err
	}
	js, err := d.JetStream()
	if err != nil {
		return nil, err
	}
	return Open(ctx, pool, js, d.Config.Namespace, d.Config.Replica, d.Log)
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
	return &Writer{Pool: pool, Log: l, Replica: NewReplica(l, pool, replica, vocab, log), Vocab: vocab}, nil
}
