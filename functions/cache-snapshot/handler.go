// Package function is the cache-snapshot OpenFaaS function: POST / (every 5 minutes from the
// cron-connector; anyone may call it) stores the read functions' hot set, recomputed from this
// copy, as a new snapshot generation, at most once a minute, and answers 204 with no body.
// One snapshot runs at a time: a call while one runs, here or in another instance, answers at
// once (shared/apidoc/openapi.yaml, /function/cache-snapshot).
package function

import (
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/hotcache"
	"github.com/dostupno/dostupno/shared/httpjson"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/middleware"
	"github.com/dostupno/dostupno/shared/search"
)

// Name is the function's name in stack.yml.
const Name = "cache-snapshot"

// Handle is the OpenFaaS entry point.
var Handle = instance.Handle(Name, New)

// New builds the function's handler from its dependencies.
func New(d *instance.Deps) (http.Handler, error) {
	s, err := newServer(d)
	if err != nil {
		return nil, err
	}
	return s.handler(), nil
}

type server struct {
	deps    *instance.Deps
	pool    *pgxpool.Pool
	opts    hotcache.SnapshotOptions
	running sync.Mutex // held while this instance takes a snapshot
}

// newServer recomputes answers on this instance's copy as the read functions build them.
// Without NATS_URL no instance is asked for its hot keys: the scores stored by earlier
// snapshots are used.
func newServer(d *instance.Deps) (*server, error) {
	rd, err := instance.OpenPrimary(d)
	if err != nil {
		return nil, err
	}
	s := &server{deps: d, pool: rd.DB, opts: hotcache.SnapshotOptions{
		Sources:   search.Sources(rd.Vocab, rd.PhotoURL, time.Now),
		Namespace: d.Config.Namespace, Log: d.Log,
	}}
	if d.Config.NatsURL != "" {
		if s.opts.NATS, err = d.NATS(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *server) handler() http.Handler {
	return middleware.Wrap(s.deps, middleware.Answer(s.deps, s.snapshot))
}

func (s *server) snapshot(w http.ResponseWriter, r *http.Request) error {
	if err := httpjson.Root(w, r, Name, http.MethodPost); err != nil {
		return err
	}
	if !s.running.TryLock() {
		w.WriteHeader(http.StatusNoContent) // one is being taken: this call adds nothing
		return nil
	}
	defer s.running.Unlock()
	if _, err := hotcache.TakeSnapshot(r.Context(), s.pool, s.opts); err != nil {
		return apperr.Wrap(err, "cache snapshot")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
