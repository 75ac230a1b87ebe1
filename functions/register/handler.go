// Package function is the register OpenFaaS function: POST / with
// {"email","password","name","needs"} creates a user through the write log and answers 201
// with the user and an access token (API.md, "register, login").
package function

import (
	"net/http"

	"github.com/dostupno/dostupno/shared/account"
	"github.com/dostupno/dostupno/shared/account/setup"
	"github.com/dostupno/dostupno/shared/httpjson"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/middleware"
)

// Name is the function's name in stack.yml.
const Name = "register"

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
	return middleware.Wrap(d, http.HandlerFunc(s.register)), nil
}

type server struct {
	deps *instance.Deps
	svc  *setup.Lazy
}

func (s *server) register(w http.ResponseWriter, r *http.Request) {
	if err := s.serve(w, r); err != nil {
		httpjson.Error(w, r, s.deps.Log, err)
	}
}

func (s *server) serve(w http.ResponseWriter, r *http.Request) error {
	if err := httpjson.Root(w, r, Name, http.MethodPost); err != nil {
		return err
	}
	var req account.Registration
	if err := httpjson.Decode(w, r, 0, &req); err != nil {
		return err
	}
	svc, err := s.svc.Service(r.Context())
	if err != nil {
		return err
	}
	sess, err := svc.Register(r.Context(), req)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpjson.Write(w, http.StatusCreated, sess)
	return nil
}
