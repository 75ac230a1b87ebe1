package search

import "github.com/jackc/pgx/v5/pgxpool"

// Reader is what the read functions share: the copy they query, its vocabulary (reloaded at
// most once a minute), the maker of photo URLs, and what searches share on it (Shared: the
// details of the events search pages showed, the round trips of their walks). The wiring
// opens it (instance.OpenReader).
type Reader struct {
	DB       *pgxpool.Pool
	Vocab    *Vocab
	PhotoURL func(objectKey string) string
	Shared
}
