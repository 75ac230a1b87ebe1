// Package function is the db-writer OpenFaaS function: one is deployed per Postgres copy
// (REPLICA_NAME names the copy, DATABASE_URL points at it). POST / applies what is pending in
// the write log to the copy (the NATS connector rings it on the doorbell subject after
// writes); GET /status reports its progress.
package function

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/httpjson"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/middleware"
	"github.com/dostupno/dostupno/shared/writelog"
)

// Name is the function's name in stack.yml.
const Name = "db-writer"

// applyBudget bounds one POST below the function's exec_timeout (60 s in stack.yml); a
// backlog longer than that is applied over several calls ("more": true).
const applyBudget = 45 * time.Second

var handler = instance.Once(Name, New)

// Handle is the OpenFaaS entry point.
func Handle(w http.ResponseWriter, r *http.Request) { instance.Serve(w, r, handler) }

// New builds the function's handler from its dependencies. The copy's applier (the
// instance's Writer) is built on first use and rebuilt after a failure, so the function
// starts even while NATS or Postgres restart.
func New(d *instance.Deps) (http.Handler, error) {
	if err := d.CheckWriter(instance.NoTokens); err != nil {
		return nil, err
	}
	s := &server{deps: d}
	mux := http.NewServeMux()
	mux.HandleFunc("/status", s.status)
	mux.HandleFunc("/", s.apply)
	return middleware.Wrap(d, mux), nil
}

type server struct {
	deps *instance.Deps
}

// applyResponse is the answer to POST.
type applyResponse struct {
	writelog.Status
	Applied int  `json:"applied"`
	More    bool `json:"more"` // the budget ran out with commands still pending
}

func (s *server) replica(ctx context.Context) (*writelog.Replica, error) {
	w, err := s.deps.Writer(ctx)
	if err != nil {
		return nil, err
	}
	return w.Replica, nil
}

func (s *server) apply(w http.ResponseWriter, r *http.Request) {
	if err := httpjson.Root(w, r, Name, http.MethodPost); err != nil {
		httpjson.Error(w, r, s.deps.Log, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), applyBudget)
	defer cancel()
	rep, err := s.replica(ctx)
	if err != nil {
		httpjson.Error(w, r, s.deps.Log, err)
		return
	}
	n, err := rep.ApplyPending(ctx)
	if err != nil && ctx.Err() == nil {
		// NATS or Postgres is restarting, or a command cannot be applied yet: the
		// connector rings again, and the next call resumes where this one stopped.
		httpjson.Error(w, r, s.deps.Log, writelog.Unavailable(fmt.Errorf("apply pending to %s: %w", rep.Name(), err)))
		return
	}
	// Out of budget is not a failure: what was committed stays, and the next call goes on.
	sctx, scancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer scancel()
	st, err := rep.Status(sctx)
	if err != nil {
		httpjson.Error(w, r, s.deps.Log, apperr.Wrap(err, "status of %s", rep.Name()))
		return
	}
	httpjson.Write(w, http.StatusOK, applyResponse{Status: st, Applied: n, More: st.Lag > 0})
}

func (s *server) status(w http.ResponseWriter, r *http.Request) {
	if err := httpjson.Method(w, r, http.MethodGet, http.MethodHead); err != nil {
		httpjson.Error(w, r, s.deps.Log, err)
		return
	}
	rep, err := s.replica(r.Context())
	if err != nil {
		httpjson.Error(w, r, s.deps.Log, err)
		return
	}
	st, err := rep.Status(r.Context())
	if err != nil {
		httpjson.Error(w, r, s.deps.Log, apperr.Wrap(err, "status of %s", rep.Name()))
		return
	}
	httpjson.Write(w, http.StatusOK, st)
}
