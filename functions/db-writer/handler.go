// Package function is the db-writer OpenFaaS function: one is deployed per Postgres copy
// (REPLICA_NAME names the copy, DATABASE_URL points at it). POST / applies what is pending in
// the write log to the copy (the NATS connector rings it on the doorbell subject after
// writes) and answers 204 with no body, so anyone may ring it; GET /status reports its
// progress to an admin (shared/apidoc/openapi.yaml, /function/db-writer).
package function

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/httpjson"
	"github.com/dostupno/dostupno/shared/instance"
	// db-writer decodes every command of an import: the fast codec, whose start the other
	// functions leave out (shared/jsoncodec/fast).
	_ "github.com/dostupno/dostupno/shared/jsoncodec/fast"
	"github.com/dostupno/dostupno/shared/middleware"
	"github.com/dostupno/dostupno/shared/token"
	"github.com/dostupno/dostupno/shared/writelog"
)

// Name is the function's name in stack.yml.
const Name = "db-writer"

// applyBudget bounds one POST below the function's exec_timeout (52 s in stack.yml); a
// backlog longer than that is applied over several calls.
const applyBudget = 45 * time.Second

// Handle is the OpenFaaS entry point.
var Handle = instance.Handle(Name, New)

// New builds the function's handler from its dependencies. The copy's applier (the
// instance's Writer) is built on first use and rebuilt after a failure, so the function
// starts even while NATS or Postgres restart.
func New(d *instance.Deps) (http.Handler, error) {
	s := &server{deps: d}
	mux := http.NewServeMux()
	mux.Handle("/status", middleware.Answer(d, s.status))
	mux.Handle("/", middleware.Answer(d, s.apply))
	return middleware.Writes(d, instance.NoTokens, mux)
}

type server struct {
	deps *instance.Deps

	mu      sync.Mutex
	running bool // a POST is applying
	again   bool // a POST came while one was applying: it goes round once more
}

func (s *server) replica(ctx context.Context) (*writelog.Replica, error) {
	w, err := s.deps.Writer(ctx)
	if err != nil {
		return nil, err
	}
	return w.Replica, nil
}

// apply applies what is pending, for at most applyBudget. One run at a time per instance: a
// call while one runs answers at once and has the running one go round once more, so a
// command published after its last read is not left for the next doorbell. The answer is
// 204, whatever was applied: the caller learns nothing of the copy (GET /status tells an
// admin).
func (s *server) apply(w http.ResponseWriter, r *http.Request) error {
	if err := httpjson.Root(w, r, Name, http.MethodPost); err != nil {
		return err
	}
	if !s.start() {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), applyBudget)
	defer cancel()
	err := s.run(ctx)
	if err != nil && ctx.Err() == nil {
		// NATS or Postgres is restarting, or a command cannot be applied yet: the
		// connector rings again, and the next call resumes where this one stopped.
		return err
	}
	// Out of budget is not a failure: what was committed stays, and the next call goes on.
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// start reports whether this call runs the applier; if one runs already, it is asked to go
// round once more.
func (s *server) start() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		s.again = true
		return false
	}
	s.running = true
	return true
}

// run applies what is pending, again while calls came in meanwhile.
func (s *server) run(ctx context.Context) error {
	for {
		s.mu.Lock()
		s.again = false
		s.mu.Unlock()
		err := s.applyPending(ctx)
		s.mu.Lock()
		again := s.again && err == nil && ctx.Err() == nil
		if !again {
			s.running = false
		}
		s.mu.Unlock()
		if !again {
			return err
		}
	}
}

func (s *server) applyPending(ctx context.Context) error {
	rep, err := s.replica(ctx)
	if err != nil {
		return err
	}
	if _, err := rep.ApplyPending(ctx); err != nil {
		return writelog.Unavailable(fmt.Errorf("apply pending to %s: %w", rep.Name(), err))
	}
	return nil
}

// status reports the copy's progress to an admin: how far a copy lags tells an outsider when
// writes happen. It is a read, so the token's admin role suffices (the token version guards
// admin writes, middleware.RequireAdmin): a copy that lags, the case status is for, may not
// hold the admin's account yet.
func (s *server) status(w http.ResponseWriter, r *http.Request) error {
	if err := httpjson.Method(w, r, http.MethodGet, http.MethodHead); err != nil {
		return err
	}
	if _, err := middleware.RequireRole(r, token.RoleAdmin); err != nil {
		return err
	}
	rep, err := s.replica(r.Context())
	if err != nil {
		return err
	}
	st, err := rep.Status(r.Context())
	if err != nil {
		return apperr.Wrap(err, "status of %s", rep.Name())
	}
	httpjson.Write(w, http.StatusOK, st)
	return nil
}
