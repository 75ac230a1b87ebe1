// Package function is the login OpenFaaS function: POST / with {"email","password"} answers
// 200 with the user and an access token. An unknown email and a wrong password get the same
// 401; failures are throttled per email and per client address (shared/apidoc/openapi.yaml,
// /function/login).
package function

import (
	"context"
	"net/http"

	"github.com/dostupno/dostupno/shared/account"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/middleware"
)

// Name is the function's name in stack.yml.
const Name = "login"

var handler = instance.Once(Name, New)

// Handle is the OpenFaaS entry point.
func Handle(w http.ResponseWriter, r *http.Request) { instance.Serve(w, r, handler) }

// New builds the function's handler from its dependencies; it refuses to start without its
// database, NATS or jwt-private-key.
func New(d *instance.Deps) (http.Handler, error) {
	return middleware.Writes(d, instance.IssueTokens, middleware.AnswerChallenge(d,
		middleware.AccountPost(d, http.StatusOK, func(ctx context.Context, svc *account.Service, req request, addr string) (account.Session, error) {
			return svc.Login(ctx, req.Email, req.Password, addr)
		})))
}

// request is the body of POST /.
type request struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}
