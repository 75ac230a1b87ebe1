// Package function is the account OpenFaaS function: a user's own account, with the user's
// token. DELETE / with {"password"} erases the user from every copy and every cache, and
// destroys the key of its personal data in the write log (204); PUT /needs with {"needs"}
// replaces the user's saved needs (200 with the user), which personalised searches use at once
// (shared/apidoc/openapi.yaml, /function/account).
package function

import (
	"net/http"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/httpjson"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/middleware"
	"github.com/dostupno/dostupno/shared/token"
)

// Name is the function's name in stack.yml.
const Name = "account"

var handler = instance.Once(Name, New)

// Handle is the OpenFaaS entry point.
func Handle(w http.ResponseWriter, r *http.Request) { instance.Serve(w, r, handler) }

// New builds the function's handler from its dependencies; it refuses to start without its
// database, NATS or token keys.
func New(d *instance.Deps) (http.Handler, error) {
	s := &server{deps: d}
	mux := http.NewServeMux()
	// Errors are answered in the contract's envelope, a 401 with WWW-Authenticate.
	mux.HandleFunc("/needs", middleware.AnswerChallenge(d, s.needs))
	mux.HandleFunc("/", middleware.AnswerChallenge(d, s.erase))
	return middleware.Writes(d, instance.VerifyTokens, mux)
}

type server struct{ deps *instance.Deps }

// userBody is the signed-in user of r (401 without one), whose JSON body it decodes into req.
func userBody(w http.ResponseWriter, r *http.Request, req any) (token.Principal, error) {
	p, err := middleware.RequireUser(r)
	if err != nil {
		return p, err
	}
	return p, httpjson.Decode(w, r, 0, req)
}

// eraseRequest is the body of DELETE /: the password, entered again.
type eraseRequest struct {
	Password string `json:"password"`
}

func (s *server) erase(w http.ResponseWriter, r *http.Request) error {
	if err := httpjson.Root(w, r, Name, http.MethodDelete); err != nil {
		return err
	}
	var req eraseRequest
	p, err := userBody(w, r, &req)
	if err != nil {
		return err
	}
	svc, err := s.deps.Accounts(r.Context())
	if err != nil {
		return err
	}
	if err := svc.Erase(r.Context(), p.UserID, req.Password, middleware.ClientAddr(r)); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// needsRequest is the body of PUT /needs.
type needsRequest struct {
	Needs []string `json:"needs"`
}

func (s *server) needs(w http.ResponseWriter, r *http.Request) error {
	if err := httpjson.Method(w, r, http.MethodPut); err != nil {
		return err
	}
	var req needsRequest
	p, err := userBody(w, r, &req)
	if err != nil {
		return err
	}
	if req.Needs == nil {
		return apperr.Invalid("needs", "needs is required (an empty list clears them)")
	}
	svc, err := s.deps.Accounts(r.Context())
	if err != nil {
		return err
	}
	u, err := svc.SaveNeeds(r.Context(), p.UserID, req.Needs)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpjson.Write(w, http.StatusOK, u)
	return nil
}
