package middleware

import (
	"context"
	"net/http"

	"github.com/dostupno/dostupno/shared/account"
	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/httpjson"
	"github.com/dostupno/dostupno/shared/instance"
)

// Writes is the handler of a function of d that writes: it refuses to start without what
// d.CheckWriter(need) asks for (a database, NATS and the token keys need names), and serves h
// behind the common chain (Wrap).
func Writes(d *instance.Deps, need instance.TokenNeed, h http.Handler) (http.Handler, error) {
	if err := d.CheckWriter(need); err != nil {
		return nil, err
	}
	return Wrap(d, h), nil
}

// Answer serves h and answers the error it returns in the contract's envelope
// (httpjson.Error).
func Answer(d *instance.Deps, h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			httpjson.Error(w, r, d.Log, err)
		}
	}
}

// AnswerChallenge is Answer that, on a 401, names the scheme the caller must use
// (WWW-Authenticate: Bearer realm="dostupno"), as the functions that check a user's
// credentials answer (login, account).
func AnswerChallenge(d *instance.Deps, h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return Answer(d, func(w http.ResponseWriter, r *http.Request) error {
		err := h(w, r)
		if apperr.CodeOf(err) == apperr.Unauthenticated {
			w.Header().Set("WWW-Authenticate", `Bearer realm="dostupno"`)
		}
		return err
	})
}

// AccountPost is the handler of a function of d that answers POST / with the account service
// (register, login): the JSON body Req, with the client's address, goes to call, and the
// session it returns is answered with status and Cache-Control: no-store.
func AccountPost[Req any](d *instance.Deps, status int, call func(ctx context.Context, svc *account.Service, req Req, addr string) (account.Session, error)) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := httpjson.Root(w, r, d.Name, http.MethodPost); err != nil {
			return err
		}
		var req Req
		if err := httpjson.Decode(w, r, 0, &req); err != nil {
			return err
		}
		svc, err := d.Accounts(r.Context())
		if err != nil {
			return err
		}
		sess, err := call(r.Context(), svc, req, ClientAddr(r))
		if err != nil {
			return err
		}
		w.Header().Set("Cache-Control", "no-store")
		httpjson.Write(w, status, sess)
		return nil
	}
}
