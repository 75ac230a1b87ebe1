// Package function is the login OpenFaaS function: POST / with {"email","password"} answers
// 200 with the user and an access token. An unknown email and a wrong password get the same
// 401; failures are throttled per email and per client address (shared/apidoc/openapi.yaml,
// /function/login).
package function

import (
	"net/http"

	"github.com/dostupno/dostupno/shared/httpjson"
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
	return middleware.Writes(d, instance.IssueTokens, middleware.AnswerChallenge(d, func(w http.ResponseWriter, r *http.Request) error {
		return login(w, r, d)
	}))
}

// request is the body of POST /.
type request struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func login(w http.ResponseWriter, r *http.Request, d *instance.Deps) error {
	if err := httpjson.Root(w, r, Name, http.MethodPost); err != nil {
		return err
	}
	var req request
	if err := httpjson.Decode(w, r, 0, &req); err != nil {
		return err
	}
	svc, err := d.Accounts(r.Context())
	if err != nil {
		return err
	}
	sess, err := svc.Login(r.Context(), req.Email, req.Password, middleware.ClientAddr(r))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpjson.Write(w, http.StatusOK, sess)
	return nil
}
