package middleware

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/dostupno/dostupno/shared/account"
	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/httpjson"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/token"
)

// keyCache holds the token keys read from each secrets directory, so the secret files are
// read once per instance (and once per process for the local runner).
var keyCache sync.Map // SecretsDir -> *token.Keys

// Keys returns the token keys of cfg's secrets (`jwt-public-key`, and `jwt-private-key` for
// the issuers), read once per secrets directory.
func Keys(cfg config.Config) (*token.Keys, error) {
	if k, ok := keyCache.Load(cfg.SecretsDir); ok {
		return k.(*token.Keys), nil
	}
	k, err := token.Load(cfg)
	if err != nil {
		return nil, err
	}
	got, _ := keyCache.LoadOrStore(cfg.SecretsDir, k)
	return got.(*token.Keys), nil
}

// WithPrincipal returns ctx carrying p (token.NewContext).
func WithPrincipal(ctx context.Context, p token.Principal) context.Context {
	return token.NewContext(ctx, p)
}

// Principal is the verified caller of the request; ok is false for an anonymous request.
func Principal(ctx context.Context) (p token.Principal, ok bool) { return token.FromContext(ctx) }

// RequireUser returns the caller, or unauthenticated for an anonymous request.
func RequireUser(r *http.Request) (token.Principal, error) {
	p, ok := Principal(r.Context())
	if !ok {
		return p, apperr.New(apperr.Unauthenticated, "an access token is required (Authorization: Bearer <token>)")
	}
	return p, nil
}

// RequireRole returns the caller if it holds role (admin holds every role): anonymous is
// unauthenticated, any other role is forbidden.
func RequireRole(r *http.Request, role string) (token.Principal, error) {
	p, err := RequireUser(r)
	if err != nil {
		return p, err
	}
	if p.Role != role && !p.Admin() {
		return p, apperr.New(apperr.Forbidden, "this needs the %s role", role)
	}
	return p, nil
}

// RequireAdmin returns the caller if it may write as an admin: its token says admin and the
// account check (account.CheckAdmin, on the instance's own copy) finds the user still an
// admin with the token's version. Every admin write calls it before doing anything.
func RequireAdmin(r *http.Request, d *instance.Deps) (token.Principal, error) {
	return RequireWriter(r, d, token.RoleAdmin)
}

// RequireWriter returns the caller if it may do the writes of role (an admin may do every
// write): its token says so and the account check (account.CheckRole, on the instance's own
// copy) finds the user still holding that role with the token's version.
func RequireWriter(r *http.Request, d *instance.Deps, role string) (token.Principal, error) {
	p, err := RequireRole(r, role)
	if err != nil {
		return p, err
	}
	db, err := d.Pool()
	if err != nil {
		return p, apperr.Wrap(err, "check %s", role)
	}
	return p, account.CheckRole(r.Context(), db, p, role)
}

// Authenticate verifies the bearer token of every request that carries one and puts its
// principal in the context. A request without Authorization is anonymous; a request whose
// Authorization is not a valid token is refused with 401 even where no token is needed.
func Authenticate(log *slog.Logger, cfg config.Config, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, present, err := token.FromHeader(r.Header.Get("Authorization"))
		if !present {
			next.ServeHTTP(w, r)
			return
		}
		if err == nil {
			var keys *token.Keys
			if keys, err = Keys(cfg); err != nil {
				httpjson.Error(w, r, log, &apperr.Error{Code: apperr.Unavailable, Message: "tokens cannot be checked: the service is misconfigured", RetryAfter: 30 * time.Second, Err: err})
				return
			}
			var p token.Principal
			if p, err = keys.Verify(tok); err == nil {
				next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
				return
			}
		}
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		httpjson.Error(w, r, log, err)
	})
}
