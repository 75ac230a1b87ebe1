// Package function is the cache-snapshot OpenFaaS function: POST / (every 5 minutes from the
// cron-connector; anyone may call it) stores the read functions' hot set, recomputed from this
// copy, as a new snapshot generation, at most once a minute, and answers
// {"snapshot_id","entries","bytes","took_ms"}.
package function

import (
	"net/http"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/hotcache"
	"github.com/dostupno/dostupno/shared/hotcache/sources"
	"github.com/dostupno/dostupno/shared/httpjson"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/middleware"
)

// Name is the function's name in stack.yml.
const Name = "cache-snapshot"

var handler = instance.Once(Name, New)

// Handle is the OpenFaaS entry point.
func Handle(w http.ResponseWriter, r *http.Request) { instance.Serve(w, r, handler) }

// New builds the function's handler from its dependencies. Without NATS_URL no instance is
// asked for its hot keys: the scores stored by earlier snapshots are used.
func New(d *instance.Deps) (http.Handler, error) {
	if err := d.Config.Require("DATABASE_URL"); err != nil {
		return nil, err
	}
	pool, err := d.Pool()
	if err != nil {
		return nil, err
	}
	s := &server{deps: d, pool: pool}
	if d.Config.NatsURL != "" {
		if s.nc, err = d.NATS(); err != nil {
			return nil, err
		}
	}
	srcs, err := sources.All(d, pool)
	if err != nil {
		return nil, err
	}
	s.opts = hotcache.SnapshotOptions{Sources: srcs, NATS: s.nc, Namespace: d.Config.Namespace, Log: d.Log}
	return middleware.Wrap(d, http.HandlerFunc(s.snapshot)), nil
}

type server struct {
	deps *instance.Deps
	pool *pgxpool.Pool
	nc   *nats.Conn
	opts hotcache.SnapshotOptions
}

func (s *server) snapshot(w http.ResponseWriter, r *http.Request) {
	if err := httpjson.Root(w, r, Name, http.MethodPost); err != nil {
		httpjson.Error(w, r, s.deps.Log, err)
		return
	}
	res, err := hotcache.TakeSnapshot(r.Context(), s.pool, s.opts)
	if err != nil {
		httpjson.Error(w, r, s.deps.Log, apperr.Wrap(err, "cache snapshot"))
		return
	}
	httpjson.Write(w, http.StatusOK, res)
}
