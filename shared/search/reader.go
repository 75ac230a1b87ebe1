package search

import "github.com/jackc/pgx/v5/pgxpool"

// Reader is what the read functions share: the copy they query, its vocabulary (reloaded at
// most once a minute) and the maker of photo URLs. The wiring opens it (instance.OpenReader).
type Reader struct {
	DB       *pgxpool.Pool
	Vocab    *Vocab
	PhotoURL func(objectKey string) string
}
