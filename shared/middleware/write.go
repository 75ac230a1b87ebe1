package middleware

import (
	"net/http"

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
