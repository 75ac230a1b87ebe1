package account

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/pgdb"
	"github.com/dostupno/dostupno/shared/token"
)

// errRevoked answers a token that no longer grants the writes of its role.
var errRevoked = apperr.New(apperr.Unauthenticated, "this token no longer grants these writes (the password or the role changed since it was issued); log in again")

// CheckAdmin is the one check of every admin write: CheckRole for the admin role alone.
func CheckAdmin(ctx context.Context, db pgdb.DBTX, p token.Principal) error {
	return CheckRole(ctx, db, p, token.RoleAdmin)
}

// CheckRole is the one check of every privileged write: the user p speaks for must hold, in db
// (the writer's own copy), role or admin (an admin may do every write), the role its token
// carries, with the token version p carries. A token issued before the user's password or
// role changed (users.token_version moved on), or of a user who is gone, is unauthenticated,
// so the client logs in again; a token of another role is forbidden.
func CheckRole(ctx context.Context, db pgdb.DBTX, p token.Principal, role string) error {
	if p.Role != role && !p.Admin() {
		return apperr.New(apperr.Forbidden, "this needs the %s role", role)
	}
	var (
		held    string
		version int64
	)
	err := db.QueryRow(ctx, `SELECT role, token_version FROM users WHERE id = $1`, p.UserID).Scan(&held, &version)
	if errors.Is(err, pgx.ErrNoRows) {
		return errRevoked
	}
	if err != nil {
		if err = apperr.FromDB(err, "user"); apperr.CodeOf(err) == apperr.Internal {
			err = apperr.Wrap(err, "check %s %s", role, p.UserID)
		}
		return err
	}
	if held != p.Role || version != p.TokenVersion {
		return errRevoked
	}
	return nil
}
