// Package function is the register OpenFaaS function: POST / with
// {"email","password","name","needs"} creates a user through the write log and answers 201
// with the user and an access token (shared/apidoc/openapi.yaml, /function/register).
package function

import (
	"context"
	"net/http"

	"github.com/dostupno/dostupno/shared/account"
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
	return middleware.Writes(d, instance.IssueTokens, middleware.Answer(d,
		middleware.AccountPost(d, http.StatusCreated, func(ctx context.Context, svc *account.Service, req account.Registration, addr string) (account.Session, error) {
			return svc.Register(ctx, req, addr)
		})))
}
