package search

import (
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dostupno/dostupno/shared/instance"
)

// Reader is what the read functions share: the copy they query, its vocabulary (reloaded at
// most once a minute) and the maker of photo URLs.
type Reader struct {
	DB       *pgxpool.Pool
	Vocab    *Vocab
	PhotoURL func(objectKey string) string
}

// OpenReader builds the Reader of a read function's instance: DATABASE_READ_URL, else
// DATABASE_URL.
func OpenReader(d *instance.Deps) (*Reader, error) {
	if err := d.Config.Require("DATABASE_URL"); err != nil {
		return nil, err
	}
	pool, err := d.ReadPool()
	if err != nil {
		return nil, err
	}
	photoURL, err := PhotoURL(d.Config)
	if err != nil {
		return nil, err
	}
	return &Reader{DB: pool, Vocab: NewVocab(pool, time.Minute), PhotoURL: photoURL}, nil
}
