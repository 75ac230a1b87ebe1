// Package function is the upsert-event OpenFaaS function (role admin): PUT / with one Event
// (application/json) or many (application/x-ndjson, one per line) writes them through the
// write log and answers once the primary copy serves them: 200 {"id","version"}, or
// {"count","version"} for NDJSON, version being the write-log sequence.
package function

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/dostupno/dostupno/shared/account/setup"
	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/commands"
	"github.com/dostupno/dostupno/shared/httpjson"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/middleware"
	"github.com/dostupno/dostupno/shared/token"
)

// Name is the function's name in stack.yml.
const Name = "upsert-event"

// waitTimeout bounds the wait for the primary copy (below the function's exec timeout).
const waitTimeout = 30 * time.Second

var handler = instance.Once(Name, New)

// Handle is the OpenFaaS entry point.
func Handle(w http.ResponseWriter, r *http.Request) { instance.Serve(w, r, handler) }

// New builds the function's handler from its dependencies.
func New(d *instance.Deps) (http.Handler, error) {
	lazy, err := setup.New(d)
	if err != nil {
		return nil, err
	}
	s := &server{deps: d, svc: lazy}
	return middleware.Wrap(d, http.HandlerFunc(s.upsert)), nil
}

type server struct {
	deps *instance.Deps
	svc  *setup.Lazy
}

type oneResponse struct {
	ID      int64  `json:"id"`
	Version uint64 `json:"version"`
}

type manyResponse struct {
	Count   int    `json:"count"`
	Version uint64 `json:"version"`
}

func (s *server) upsert(w http.ResponseWriter, r *http.Request) {
	if err := s.serve(w, r); err != nil {
		httpjson.Error(w, r, s.deps.Log, err)
	}
}

func (s *server) serve(w http.ResponseWriter, r *http.Request) error {
	if err := httpjson.Root(w, r, Name, http.MethodPut); err != nil {
		return err
	}
	if _, err := middleware.RequireRole(r, token.RoleAdmin); err != nil {
		return err
	}
	events, ndjson, err := readEvents(w, r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	svc, err := s.svc.Service(ctx)
	if err != nil {
		return err
	}
	parts, err := batches(events, svc.Log.MaxPayload()-4096)
	if err != nil {
		return apperr.Wrap(err, "upsert")
	}
	// Every request is its own command: a repeated PUT of an older state must still win over
	// what came in between, so the key is unique rather than a content hash.
	key := "event:" + uuid.NewString()
	at := time.Now()
	var seqs []uint64
	for i, p := range parts {
		seq, err := svc.Log.Publish(ctx, commands.KindEventUpsert, key+"/"+strconv.Itoa(i), at, p)
		if err != nil {
			return &apperr.Error{Code: apperr.Unavailable, Message: "the write log is unavailable; try again", RetryAfter: 2 * time.Second, Err: err}
		}
		seqs = append(seqs, seq)
	}
	if err := svc.Log.Ring(ctx); err != nil {
		s.deps.Log.WarnContext(ctx, "doorbell", "err", err) // other copies catch up on the next write
	}
	wctx, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	last := seqs[len(seqs)-1]
	if _, err := svc.Replica.WaitApplied(wctx, last); err != nil {
		return err
	}
	for _, seq := range seqs {
		o, _, err := svc.Replica.Outcome(wctx, seq)
		if err != nil {
			return apperr.Wrap(err, "upsert outcome %d", seq)
		}
		if err := o.Err(); err != nil {
			return err
		}
	}
	if !ndjson {
		httpjson.Write(w, http.StatusOK, oneResponse{ID: events[0].ID, Version: last})
		return nil
	}
	httpjson.Write(w, http.StatusOK, manyResponse{Count: len(events), Version: last})
	return nil
}
