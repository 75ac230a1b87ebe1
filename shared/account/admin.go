package account

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/pgdb"
	"github.com/dostupno/dostupno/shared/token"
)

// errRevoked answers an admin token that no longer grants admin writes.
var errRevoked = apperr.New(apperr.Unauthenticated, "this token no longer grants admin writes (the password or the role changed since it was issued); log in again")

// CheckAdmin is the one check of every admin write: the user p speaks for must be an admin in
// db (the writer's own copy) with the token version p carries. A token issued before the
// user's password or role changed (users.token_version moved on), or of a user who is gone,
// is unauthenticated, so the client logs in again; a token of another role is forbidden.
func CheckAdmin(ctx context.Context, db pgdb.DBTX, p token.Principal) error {
	if !p.Admin() {
		return apperr.New(apperr.Forbidden, "this needs the %s role", token.RoleAdmin)
	}
	var (
		role    string
		version int64
	)
	err := db.QueryRow(ctx, `SELECT role, token_version FROM users WHERE id = $1`, p.UserID).Scan(&role, &version)
	if errors.Is(err, pgx.ErrNoRows) {
		return errRevoked
	}
	if err != nil {
		if err = apperr.FromDB(err, "user"); apperr.CodeOf(err) == apperr.Internal {
			err = apperr.Wrap(err, "check admin %s", p.UserID)
		}
		return err
	}
	if role != token.RoleAdmin || version != p.TokenVersion {
		return errRevoked
	}
	return nil
}
