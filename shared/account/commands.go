package account

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/changefeed"
	"github.com/dostupno/dostupno/shared/token"
	"github.com/dostupno/dostupno/shared/writelog"
)

// Command kinds of accounts.
const (
	KindRegister = "user.register" // a new user
	KindAdmin    = "user.admin"    // create an admin or promote a user (optionally a new password)
	KindPassword = "user.password" // replace a password hash (rehash on login)
)

// Kinds are the account command kinds.
func Kinds() []writelog.Kind {
	return []writelog.Kind{
		{Name: KindRegister, Apply: ApplyRegister},
		{Name: KindAdmin, Apply: ApplyAdmin},
		{Name: KindPassword, Apply: ApplyPassword},
	}
}

// RegisterPayload is the payload of "user.register". The publisher chose the id and hashed
// the password: a copy only stores what the command says.
type RegisterPayload struct {
	ID           string   `json:"id"`
	Email        string   `json:"email"`
	EmailKey     string   `json:"email_key"`
	Name         string   `json:"name"`
	PasswordHash string   `json:"password_hash"`
	Needs        []string `json:"needs"`
}

// AdminPayload is the payload of "user.admin": the user with EmailKey becomes an admin (with
// PasswordHash, when given); when there is none, one is created with ID, Email and Name, which
// needs a PasswordHash.
type AdminPayload struct {
	ID           string `json:"id"`
	Email        string `json:"email"`
	EmailKey     string `json:"email_key"`
	Name         string `json:"name"`
	PasswordHash string `json:"password_hash,omitempty"`
}

// AdminResult is the Result of an applied "user.admin".
type AdminResult struct {
	User    User `json:"user"`
	Created bool `json:"created"`
}

// PasswordPayload is the payload of "user.password": user ID's hash becomes NewHash if it is
// still OldHash (a change in between wins over a rehash). It is a rehash of the same password
// (login's, with new parameters), so the user's tokens stay valid; a command that changes a
// password bumps users.token_version, as "user.admin" does.
type PasswordPayload struct {
	ID      string `json:"id"`
	OldHash string `json:"old_hash"`
	NewHash string `json:"new_hash"`
}

// validID reports whether id is a user id in canonical form (a malformed one would make the
// insert fail and the command be retried for ever).
func validID(id string) bool {
	u, err := uuid.Parse(id)
	return err == nil && u.String() == id
}

func applied(seq uint64, result any, users ...string) (writelog.Outcome, error) {
	return writelog.Succeed(result, changefeed.Change{Seq: seq, Users: users})
}

// incomplete is the outcome of a payload without what its kind needs.
func incomplete(cmd writelog.Command, needs string) writelog.Outcome {
	return writelog.Fail(fmt.Errorf("%s payload: %s are required", cmd.Kind, needs))
}

// ApplyRegister applies "user.register": the user is inserted unless its email key (or id)
// is taken, which rejects the command with conflict. The stream order decides, so every copy
// decides alike.
func ApplyRegister(ctx context.Context, tx pgx.Tx, seq uint64, cmd writelog.Command) (writelog.Outcome, error) {
	var p RegisterPayload
	if err := writelog.DecodePayload(cmd, &p); err != nil {
		return writelog.Fail(err), nil
	}
	if !validID(p.ID) || p.EmailKey == "" || p.EmailKey != EmailKey(p.Email) || p.PasswordHash == "" {
		return incomplete(cmd, "id, email, email_key and password_hash"), nil
	}
	if p.Needs == nil {
		p.Needs = []string{}
	}
	var id string
	err := tx.QueryRow(ctx, `
		INSERT INTO users (id, email, email_key, name, password_hash, role, needs, created_at, updated_at, version)
		VALUES ($1, $2, $3, $4, $5, 'user', $6, $7, $7, $8)
		ON CONFLICT DO NOTHING
		RETURNING id::text`,
		p.ID, p.Email, p.EmailKey, p.Name, p.PasswordHash, p.Needs, cmd.At, int64(seq)).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return writelog.Reject(apperr.Conflict, "this email is already registered"), nil
	}
	if err != nil {
		return writelog.Outcome{}, fmt.Errorf("insert user: %w", err)
	}
	return applied(seq, User{ID: id, Email: p.Email, Name: p.Name, Needs: p.Needs, Role: token.RoleUser})
}

// ApplyAdmin applies "user.admin". Promoting a user or replacing an admin's password bumps the
// user's token version, so that no token issued before keeps admin power (CheckAdmin).
func ApplyAdmin(ctx context.Context, tx pgx.Tx, seq uint64, cmd writelog.Command) (writelog.Outcome, error) {
	var p AdminPayload
	if err := writelog.DecodePayload(cmd, &p); err != nil {
		return writelog.Fail(err), nil
	}
	if p.EmailKey == "" || p.EmailKey != EmailKey(p.Email) {
		return incomplete(cmd, "email and email_key"), nil
	}
	var u User
	err := tx.QueryRow(ctx, `
		UPDATE users SET role = 'admin', password_hash = coalesce(nullif($2, ''), password_hash),
		       token_version = token_version + CASE WHEN role <> 'admin' OR $2 <> '' THEN 1 ELSE 0 END,
		       updated_at = $3, version = $4
		WHERE email_key = $1
		RETURNING id::text, email, name, needs, role`,
		p.EmailKey, p.PasswordHash, cmd.At, int64(seq)).Scan(&u.ID, &u.Email, &u.Name, &u.Needs, &u.Role)
	if err == nil {
		return applied(seq, AdminResult{User: u}, u.ID)
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return writelog.Outcome{}, fmt.Errorf("promote user: %w", err)
	}
	if p.PasswordHash == "" || !validID(p.ID) || p.Name == "" {
		return writelog.Reject(apperr.NotFound, "no user has this email; give a password to create one"), nil
	}
	err = tx.QueryRow(ctx, `
		INSERT INTO users (id, email, email_key, name, password_hash, role, needs, created_at, updated_at, version)
		VALUES ($1, $2, $3, $4, $5, 'admin', '{}', $6, $6, $7)
		ON CONFLICT DO NOTHING
		RETURNING id::text`,
		p.ID, p.Email, p.EmailKey, p.Name, p.PasswordHash, cmd.At, int64(seq)).Scan(&u.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		return writelog.Reject(apperr.Conflict, "user id is taken"), nil
	}
	if err != nil {
		return writelog.Outcome{}, fmt.Errorf("insert admin: %w", err)
	}
	u = User{ID: u.ID, Email: p.Email, Name: p.Name, Needs: []string{}, Role: token.RoleAdmin}
	return applied(seq, AdminResult{User: u, Created: true}, u.ID)
}

// ApplyPassword applies "user.password".
func ApplyPassword(ctx context.Context, tx pgx.Tx, seq uint64, cmd writelog.Command) (writelog.Outcome, error) {
	var p PasswordPayload
	if err := writelog.DecodePayload(cmd, &p); err != nil {
		return writelog.Fail(err), nil
	}
	if !validID(p.ID) || p.OldHash == "" || p.NewHash == "" {
		return incomplete(cmd, "id, old_hash and new_hash"), nil
	}
	tag, err := tx.Exec(ctx, `
		UPDATE users SET password_hash = $3, updated_at = $4, version = $5
		WHERE id = $1 AND password_hash = $2`,
		p.ID, p.OldHash, p.NewHash, cmd.At, int64(seq))
	if err != nil {
		return writelog.Outcome{}, fmt.Errorf("update password: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return writelog.Reject(apperr.Conflict, "the password changed meanwhile"), nil
	}
	return applied(seq, struct{}{})
}
