// Package function is the register OpenFaaS function: POST / with
// {"email","password","name","needs"} creates a user through the write log and answers 201
// with the user and an access token (shared/apidoc/openapi.yaml, /function/register).
package function

import (
	"net/http"

	"github.com/dostupno/dostupno/shared/account"
	"github.com/dostupno/dostupno/shared/httpjson"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/middleware"
)

// Name is the function's name in stack.yml.
const Name = "register"

var handler = instance.Once(Name, New)

// Handle is the OpenFaaS entry point.
func Handle(w http.ResponseWriter, r *http.Request) { instance.Serve(w, r, handler) }

// New builds the function's handler from its dependencies; it refuses to start without its
// database, NATS or jwt-private-key.
func New(d *instance.Deps) (http.Handler, error) {
	return middleware.Writes(d, instance.IssueTokens, middleware.Answer(d, func(w http.ResponseWriter, r *http.Request) error {
		return register(w, r, d)
	}))
}

func register(w http.ResponseWriter, r *http.Request, d *instance.Deps) error {
	if err := httpjson.Root(w, r, Name, http.MethodPost); err != nil {
		return err
	}
	var req account.Registration
	if err := httpjson.Decode(w, r, 0, &req); err != nil {
		return err
	}
	svc, err := d.Accounts(r.Context())
	if err != nil {
		return err
	}
	sess, err := svc.Register(r.Context(), req, middleware.ClientAddr(r))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpjson.Write(w, http.StatusCreated, sess)
	return nil
}
