// Package commands is the registry of the write log's command kinds: each domain owns its
// kinds (catalog: event.upsert; account: user.*; photo: photo.add), and this package
// assembles them, so that every copy applies every kind alike.
package commands

import (
	"log/slog"
	"slices"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dostupno/dostupno/shared/account"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/photo"
	"github.com/dostupno/dostupno/shared/userkeys"
	"github.com/dostupno/dostupno/shared/writelog"
)

// Kinds are every command kind: those of the catalog applied with vocab, those of accounts
// opening personal data with the users' keys in keys. A new kind is added by its domain and
// listed here.
func Kinds(vocab *catalog.Vocabulary, keys *userkeys.Store) []writelog.Kind {
	return slices.Concat(catalog.Kinds(vocab), account.Kinds(keys), photo.Kinds())
}

// NewReplica is the applier of the copy pool, named name, with every command kind.
func NewReplica(l *writelog.Log, pool *pgxpool.Pool, name string, vocab *catalog.Vocabulary, keys *userkeys.Store, log *slog.Logger) *writelog.Replica {
	return writelog.NewReplica(l, pool, name, Kinds(vocab, keys), log)
}
