package account

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/changefeed"
	"github.com/dostupno/dostupno/shared/jsoncodec"
	"github.com/dostupno/dostupno/shared/token"
	"github.com/dostupno/dostupno/shared/userkeys"
	"github.com/dostupno/dostupno/shared/writelog"
)

// Command kinds of accounts.
const (
	KindRegister = "user.register" // a new user
	KindAdmin    = "user.admin"    // create an admin or promote a user (optionally a new password)
	KindPassword = "user.password" // replace a password hash (rehash on login)
	KindNeeds    = "user.needs"    // replace the user's saved needs
	KindErase    = "user.erase"    // erase the user from every copy and destroy its key
)

// CommandKey is the write log's business key of every command about user id, which its
// Nats-Msg-Id begins with: the id, never the email.
func CommandKey(id string) string { return "user:" + id }

// Kinds are the account command kinds, opening the sealed personal data of user commands with
// the users' keys in keys (and destroying them on erasure).
func Kinds(keys *userkeys.Store) []writelog.Kind {
	a := applier{keys: keys}
	return []writelog.Kind{
		{Name: KindRegister, Apply: a.register},
		{Name: KindAdmin, Apply: a.admin},
		{Name: KindPassword, Apply: a.password},
		{Name: KindNeeds, Apply: a.needs},
		{Name: KindErase, Apply: a.erase, Scrubs: true},
	}
}

// Payload is the payload of every user command: the user's id; for the kinds that may create
// a user, EmailHash, the keyed hash (userkeys.Blind) of the email key, on which a copy decides
// whether the email is taken without reading it; and the personal fields (Personal) sealed with
// the user's key, so that the stream holds nothing readable about the user once the key is
// destroyed. Commands written before personal data was sealed carry Personal in clear, and
// are still applied when a copy replays them.
type Payload struct {
	ID        string `json:"id"`
	EmailHash string `json:"email_hash,omitempty"`
	Sealed    []byte `json:"sealed,omitempty"`
	// Role is the role user.admin gives (admin when empty, as in the commands written before
	// other roles): admin or ticketing.
	Role string `json:"role,omitempty"`
	Personal
}

// Personal are the personal fields of a user command; each kind uses its own.
type Personal struct {
	Email        string   `json:"email,omitempty"`
	EmailKey     string   `json:"email_key,omitempty"`
	Name         string   `json:"name,omitempty"`
	PasswordHash string   `json:"password_hash,omitempty"` // register; admin (optional)
	Needs        []string `json:"needs,omitempty"`         // register, needs
	OldHash      string   `json:"old_hash,omitempty"`      // password: applied only while the hash is still this
	NewHash      string   `json:"new_hash,omitempty"`      // password
}

func (p Personal) empty() bool {
	return p.Email == "" && p.EmailKey == "" && p.Name == "" && p.PasswordHash == "" && p.Needs == nil && p.OldHash == "" && p.NewHash == ""
}

// aad binds a sealed value to its command kind and user.
func aad(kind, id string) []byte { return []byte(kind + "/" + id) }

// Seal seals the personal fields per of a command of kind about user id with the user's key.
func Seal(k userkeys.Key, kind, id string, per Personal) ([]byte, error) {
	b, err := jsoncodec.Marshal(per)
	if err != nil {
		return nil, fmt.Errorf("encode the personal fields of %s: %w", kind, err)
	}
	return k.Seal(b, aad(kind, id)), nil
}

// AdminResult is the Result of an applied "user.admin".
type AdminResult struct {
	User    User `json:"user"`
	Created bool `json:"created"`
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

// errUnreadable marks sealed personal fields that cannot be opened with the user's key: the
// same in every copy (they hold the same key), so the command fails.
var errUnreadable = errors.New("unreadable personal fields")

// applier applies user commands, opening their personal fields with keys.
type applier struct{ keys *userkeys.Store }

// decode decodes cmd's payload and checks its id; a failed outcome says why it cannot be
// applied.
func decode(cmd writelog.Command) (Payload, *writelog.Outcome) {
	var p Payload
	if err := writelog.DecodePayload(cmd, &p); err != nil {
		o := writelog.Fail(err)
		return p, &o
	}
	if !validID(p.ID) {
		o := incomplete(cmd, "a user id")
		return p, &o
	}
	if p.Sealed != nil && !p.Personal.empty() {
		o := writelog.Fail(fmt.Errorf("%s payload: personal fields both sealed and in clear", cmd.Kind))
		return p, &o
	}
	return p, nil
}

// open returns the personal fields of p: opened with its user's key, or in clear for a command
// written before they were sealed. ok is false when the user's key is gone (erased). An error
// wrapping errUnreadable fails the command; any other is transient.
func (a applier) open(ctx context.Context, cmd writelog.Command, p Payload) (Personal, bool, error) {
	if p.Sealed == nil {
		return p.Personal, true, nil
	}
	k, ok, err := a.keys.Get(ctx, p.ID)
	if err != nil || !ok {
		return Personal{}, false, err
	}
	b, err := k.Open(p.Sealed, aad(cmd.Kind, p.ID))
	if err != nil {
		return Personal{}, false, fmt.Errorf("%w of %s: %w", errUnreadable, cmd.Kind, err)
	}
	var per Personal
	if err := jsoncodec.DecodeStrict(b, &per); err != nil {
		return Personal{}, false, fmt.Errorf("%w of %s: %w", errUnreadable, cmd.Kind, err)
	}
	return per, true, nil
}

// opened runs open and turns its result into an outcome when the command goes no further: a
// failure, or Erased when the key is gone.
func (a applier) opened(ctx context.Context, cmd writelog.Command, p Payload) (Personal, *writelog.Outcome, error) {
	per, ok, err := a.open(ctx, cmd, p)
	switch {
	case errors.Is(err, errUnreadable):
		o := writelog.Fail(err)
		return per, &o, nil
	case err != nil:
		return per, nil, err
	case !ok:
		o := writelog.Erase()
		return per, &o, nil
	}
	return per, nil, nil
}

// holder is the user whose row or claim holds the email hash h ("" for none).
func holder(ctx context.Context, tx pgx.Tx, h string) (string, error) {
	var id string
	err := tx.QueryRow(ctx, `SELECT id::text FROM users WHERE email_hash = $1
		UNION ALL SELECT user_id::text FROM user_claims WHERE email_hash = $1 LIMIT 1`, h).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("find the holder of an email: %w", err)
	}
	return id, nil
}

// claim keeps email hash h taken for user id, whose command cannot be read any more, until the
// user's erasure is applied.
func claim(ctx context.Context, tx pgx.Tx, id, h string) (writelog.Outcome, error) {
	if h != "" {
		if _, err := tx.Exec(ctx, `INSERT INTO user_claims (user_id, email_hash) VALUES ($1, $2) ON CONFLICT DO NOTHING`, id, h); err != nil {
			return writelog.Outcome{}, fmt.Errorf("claim an email: %w", err)
		}
	}
	return writelog.Erase(), nil
}

var errTaken = writelog.Reject(apperr.Conflict, "this email is already registered")

// register applies "user.register": the user is inserted unless its email (its hash, or for
// users registered before emails were hashed its key) or its id is taken, which rejects the
// command with conflict. Whether the email is taken is decided on the hash before anything is
// opened, so a copy that can no longer open the command (its user erased) decides the same,
// and keeps the email taken (claim) until the erasure, as the user's row does elsewhere.
func (a applier) register(ctx context.Context, tx pgx.Tx, seq uint64, cmd writelog.Command) (writelog.Outcome, error) {
	p, bad := decode(cmd)
	if bad != nil {
		return *bad, nil
	}
	if p.Sealed != nil && p.EmailHash == "" {
		return incomplete(cmd, "email_hash"), nil
	}
	if p.EmailHash != "" {
		if id, err := holder(ctx, tx, p.EmailHash); err != nil || id != "" {
			return errTaken, err
		}
	}
	per, stop, err := a.opened(ctx, cmd, p)
	if err != nil || stop != nil {
		if err == nil && stop.Status == writelog.Erased {
			return claim(ctx, tx, p.ID, p.EmailHash)
		}
		return deref(stop), err
	}
	if per.EmailKey == "" || per.EmailKey != EmailKey(per.Email) || per.PasswordHash == "" {
		return incomplete(cmd, "email, email_key and password_hash"), nil
	}
	if per.Needs == nil {
		per.Needs = []string{}
	}
	var id string
	err = tx.QueryRow(ctx, `
		INSERT INTO users (id, email, email_key, email_hash, name, password_hash, role, needs, created_at, updated_at, version)
		VALUES ($1, $2, $3, nullif($4, ''), $5, $6, 'user', $7, $8, $8, $9)
		ON CONFLICT DO NOTHING
		RETURNING id::text`,
		p.ID, per.Email, per.EmailKey, p.EmailHash, per.Name, per.PasswordHash, per.Needs, cmd.At, int64(seq)).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return errTaken, nil
	}
	if err != nil {
		return writelog.Outcome{}, fmt.Errorf("insert user: %w", err)
	}
	return applied(seq, User{ID: id, Email: per.Email, Name: per.Name, Needs: per.Needs, Role: token.RoleUser})
}

func deref(o *writelog.Outcome) writelog.Outcome {
	if o == nil {
		return writelog.Outcome{}
	}
	return *o
}

// admin applies "user.admin": the user ID (found by its email) becomes an admin, with the
// password hash when one is given; when nobody has the email, the user is created, which needs
// a name and a password hash. An email held by another user rejects the command. Promoting a
// user or replacing an admin's password bumps the user's token version, so that no token
// issued before keeps admin power (CheckAdmin).
func (a applier) admin(ctx context.Context, tx pgx.Tx, seq uint64, cmd writelog.Command) (writelog.Outcome, error) {
	p, bad := decode(cmd)
	if bad != nil {
		return *bad, nil
	}
	role := p.Role
	if role == "" {
		role = token.RoleAdmin
	}
	if role != token.RoleAdmin && role != token.RoleTicketing {
		return writelog.Fail(fmt.Errorf("%s payload: role %q cannot be given", cmd.Kind, role)), nil
	}
	held := ""
	if p.Sealed != nil {
		if p.EmailHash == "" {
			return incomplete(cmd, "email_hash"), nil
		}
		var err error
		if held, err = holder(ctx, tx, p.EmailHash); err != nil {
			return writelog.Outcome{}, err
		}
		if held != "" && held != p.ID {
			return writelog.Reject(apperr.Conflict, "another account has this email"), nil
		}
	}
	per, stop, err := a.opened(ctx, cmd, p)
	if err != nil || stop != nil {
		if err == nil && stop.Status == writelog.Erased && held == "" {
			return claim(ctx, tx, p.ID, p.EmailHash)
		}
		return deref(stop), err
	}
	if per.EmailKey == "" || per.EmailKey != EmailKey(per.Email) {
		return incomplete(cmd, "email and email_key"), nil
	}
	// A command written before emails were hashed names the user by its email alone.
	var u User
	err = tx.QueryRow(ctx, `
		UPDATE users SET role = $7, password_hash = coalesce(nullif($3, ''), password_hash),
		       token_version = token_version + CASE WHEN role <> $7 OR $3 <> '' THEN 1 ELSE 0 END,
		       email_hash = coalesce(email_hash, nullif($4, '')), updated_at = $5, version = $6
		WHERE email_key = $1 AND (id = $2::uuid OR $4 = '')
		RETURNING id::text, email, name, needs, role`,
		per.EmailKey, p.ID, per.PasswordHash, p.EmailHash, cmd.At, int64(seq), role).Scan(&u.ID, &u.Email, &u.Name, &u.Needs, &u.Role)
	if err == nil {
		return applied(seq, AdminResult{User: u}, u.ID)
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return writelog.Outcome{}, fmt.Errorf("promote user: %w", err)
	}
	if per.PasswordHash == "" || per.Name == "" {
		return writelog.Reject(apperr.NotFound, "no user has this email; give a password to create one"), nil
	}
	err = tx.QueryRow(ctx, `
		INSERT INTO users (id, email, email_key, email_hash, name, password_hash, role, needs, created_at, updated_at, version)
		VALUES ($1, $2, $3, nullif($4, ''), $5, $6, $9, '{}', $7, $7, $8)
		ON CONFLICT DO NOTHING
		RETURNING id::text`,
		p.ID, per.Email, per.EmailKey, p.EmailHash, per.Name, per.PasswordHash, cmd.At, int64(seq), role).Scan(&u.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		return writelog.Reject(apperr.Conflict, "another account has this email or id"), nil
	}
	if err != nil {
		return writelog.Outcome{}, fmt.Errorf("insert admin: %w", err)
	}
	u = User{ID: u.ID, Email: per.Email, Name: per.Name, Needs: []string{}, Role: role}
	return applied(seq, AdminResult{User: u, Created: true}, u.ID)
}

// password applies "user.password": user ID's hash becomes NewHash if it is still OldHash (a
// change in between wins over a rehash). It is a rehash of the same password (login's, with
// new parameters), so the user's tokens stay valid; a command that changes a password bumps
// users.token_version, as "user.admin" does.
func (a applier) password(ctx context.Context, tx pgx.Tx, seq uint64, cmd writelog.Command) (writelog.Outcome, error) {
	p, bad := decode(cmd)
	if bad != nil {
		return *bad, nil
	}
	per, stop, err := a.opened(ctx, cmd, p)
	if err != nil || stop != nil {
		return deref(stop), err
	}
	if per.OldHash == "" || per.NewHash == "" {
		return incomplete(cmd, "old_hash and new_hash"), nil
	}
	tag, err := tx.Exec(ctx, `
		UPDATE users SET password_hash = $3, updated_at = $4, version = $5
		WHERE id = $1 AND password_hash = $2`,
		p.ID, per.OldHash, per.NewHash, cmd.At, int64(seq))
	if err != nil {
		return writelog.Outcome{}, fmt.Errorf("update password: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return writelog.Reject(apperr.Conflict, "the password changed meanwhile"), nil
	}
	return applied(seq, struct{}{})
}

// needs applies "user.needs": the user's saved needs become the command's (checked by the
// publisher). The change names the user, so every instance drops its saved needs at once.
func (a applier) needs(ctx context.Context, tx pgx.Tx, seq uint64, cmd writelog.Command) (writelog.Outcome, error) {
	p, bad := decode(cmd)
	if bad != nil {
		return *bad, nil
	}
	if p.Sealed == nil {
		return incomplete(cmd, "sealed needs"), nil
	}
	per, stop, err := a.opened(ctx, cmd, p)
	if err != nil || stop != nil {
		return deref(stop), err
	}
	if per.Needs == nil {
		per.Needs = []string{}
	}
	var u User
	err = tx.QueryRow(ctx, `
		UPDATE users SET needs = $2, updated_at = $3, version = $4 WHERE id = $1
		RETURNING id::text, email, name, needs, role`,
		p.ID, per.Needs, cmd.At, int64(seq)).Scan(&u.ID, &u.Email, &u.Name, &u.Needs, &u.Role)
	if errors.Is(err, pgx.ErrNoRows) {
		return writelog.Reject(apperr.NotFound, "no such user"), nil
	}
	if err != nil {
		return writelog.Outcome{}, fmt.Errorf("update needs: %w", err)
	}
	return applied(seq, u, u.ID)
}

// erase applies "user.erase": the user's row (or claim) goes, the outcomes of its commands are
// rewritten to what a copy replaying them without the key records (writelog.ScrubOutcomes;
// commands written before emails were hashed are keyed by the email, which is renamed), and
// its key is destroyed, so that no copy, now or replayed later, holds anything of the user.
// Destroying a key that is gone does nothing, so every copy's applier does it: the erasure
// holds as soon as any copy applied it.
func (a applier) erase(ctx context.Context, tx pgx.Tx, seq uint64, cmd writelog.Command) (writelog.Outcome, error) {
	p, bad := decode(cmd)
	if bad != nil {
		return *bad, nil
	}
	keys := []string{CommandKey(p.ID)}
	var emailKey string
	err := tx.QueryRow(ctx, `DELETE FROM users WHERE id = $1 RETURNING email_key`, p.ID).Scan(&emailKey)
	switch {
	case err == nil:
		keys = append(keys, CommandKey(emailKey))
	case !errors.Is(err, pgx.ErrNoRows):
		return writelog.Outcome{}, fmt.Errorf("delete user: %w", err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM user_claims WHERE user_id = $1`, p.ID); err != nil {
		return writelog.Outcome{}, fmt.Errorf("delete the user's claim: %w", err)
	}
	if err := writelog.ScrubOutcomes(ctx, tx, CommandKey(p.ID), keys...); err != nil {
		return writelog.Outcome{}, err
	}
	if err := a.keys.Destroy(ctx, p.ID); err != nil {
		return writelog.Outcome{}, err
	}
	return applied(seq, nil, p.ID)
}
