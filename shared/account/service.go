package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/pgdb"
	"github.com/dostupno/dostupno/shared/throttle"
	"github.com/dostupno/dostupno/shared/token"
	"github.com/dostupno/dostupno/shared/writelog"
)

// Login throttling limits, per sliding throttle.Window (15 minutes).
const (
	MaxEmailFailures = 5  // failed logins for one email
	MaxAddrFailures  = 50 // failed logins from one client address
)

// Session is the answer of register and login.
type Session struct {
	User      User      `json:"user"`
	Token     string    `json:"token"`
	TokenType string    `json:"token_type"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Service registers users, logs them in and makes admins. Writes go through Writer, whose
// copy is the one DB reads.
type Service struct {
	DB       pgdb.DBTX
	Vocab    *catalog.Vocabulary
	Keys     *token.Keys
	Writer   *writelog.Writer
	Throttle *throttle.Throttle // login failures (needed by Login only)
	Logger   *slog.Logger
	Now      func() time.Time // the command's time; time.Now when nil

	// EmailLimit and AddrLimit override MaxEmailFailures and MaxAddrFailures when not 0.
	EmailLimit, AddrLimit int
}

func (s *Service) limits() (email, addr int) {
	email, addr = MaxEmailFailures, MaxAddrFailures
	if s.EmailLimit > 0 {
		email = s.EmailLimit
	}
	if s.AddrLimit > 0 {
		addr = s.AddrLimit
	}
	return email, addr
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) session(u User) (Session, error) {
	tok, exp, err := s.Keys.Issue(u.ID, u.Role, u.TokenVersion)
	if err != nil {
		return Session{}, apperr.Wrap(err, "issue token")
	}
	return Session{User: u, Token: tok, TokenType: "Bearer", ExpiresAt: exp}, nil
}

// submit writes one command through the writer and, once the copy applied it, decodes its
// result into result (nil: none); a rejected command is its error.
func (s *Service) submit(ctx context.Context, kind, key string, payload, result any) error {
	res, err := s.Writer.Submit(ctx, s.now(), writelog.Write{Kind: kind, Key: key, Payload: payload})
	if err != nil {
		return err
	}
	return res.Outcomes[0].DecodeResult(result)
}

// Register creates the user of r (checked here) and returns a session for it. A taken email
// is a conflict.
func (s *Service) Register(ctx context.Context, r Registration) (Session, error) {
	if err := r.Check(s.Vocab); err != nil {
		return Session{}, err
	}
	hash, err := Hash(r.Password)
	if err != nil {
		return Session{}, apperr.Wrap(err, "hash password")
	}
	p := RegisterPayload{ID: uuid.NewString(), Email: r.Email, EmailKey: EmailKey(r.Email), Name: r.Name, PasswordHash: hash, Needs: r.Needs}
	var u User
	if err := s.submit(ctx, KindRegister, "user:"+p.EmailKey, p, &u); err != nil {
		return Session{}, err
	}
	return s.session(u)
}

// stored is a user row with its hash.
type stored struct {
	User
	hash string
}

func (s *Service) lookup(ctx context.Context, emailKey string) (stored, bool, error) {
	var u stored
	err := s.DB.QueryRow(ctx, `SELECT id::text, email, name, needs, role, token_version, password_hash FROM users WHERE email_key = $1`, emailKey).
		Scan(&u.ID, &u.Email, &u.Name, &u.Needs, &u.Role, &u.TokenVersion, &u.hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return u, false, nil
	}
	if err != nil {
		return u, false, fmt.Errorf("load user: %w", err)
	}
	return u, true, nil
}

// errLogin is the one answer to an unknown email and to a wrong password.
var errLogin = apperr.New(apperr.Unauthenticated, "the email or the password is wrong")

func throttled(retry time.Duration) error {
	return &apperr.Error{Code: apperr.RateLimited, Message: "too many failed logins; try again later", RetryAfter: retry}
}

func unavailable(err error) error {
	return &apperr.Error{Code: apperr.Unavailable, Message: "login is unavailable; try again shortly", RetryAfter: 2 * time.Second, Err: err}
}

// Login checks email and password and returns a session. An unknown email and a wrong password
// get the same error after the same work (a hash is verified either way). Attempts are counted
// per email (a success clears the count) and failures per client address addr; past the
// limits the answer is rate_limited with the time until the oldest counted one leaves the
// window.
func (s *Service) Login(ctx context.Context, email, password, addr string) (Session, error) {
	switch {
	case email == "":
		return Session{}, apperr.Invalid("email", "email is required")
	case password == "":
		return Session{}, apperr.Invalid("password", "password is required")
	case len(email) > 4*MaxEmail:
		return Session{}, apperr.Invalid("email", "email must have at most %d bytes", MaxEmail)
	case len(password) > 4*MaxPassword:
		return Session{}, apperr.Invalid("password", "password must have at most %d characters", MaxPassword)
	}
	key := EmailKey(email)
	emailLimit, addrLimit := s.limits()
	emailKey, addrKey := throttle.Key("email", key), throttle.Key("addr", addr)
	// The address limit is coarse (checked, counted after a failure); the email's attempt is
	// taken before the password is checked, so parallel guesses cannot overrun its limit.
	retry, err := s.Throttle.Check(ctx, addrKey, addrLimit)
	if err == nil && retry == 0 {
		retry, err = s.Throttle.Take(ctx, emailKey, emailLimit)
	}
	if err != nil {
		return Session{}, unavailable(err)
	}
	if retry > 0 {
		return Session{}, throttled(retry)
	}
	u, found, err := s.lookup(ctx, key)
	if err != nil {
		return Session{}, apperr.Wrap(err, "login")
	}
	ok, rehash := false, false
	if found {
		if ok, rehash, err = VerifyPassword(password, u.hash); err != nil {
			s.Logger.ErrorContext(ctx, "stored password hash unreadable", "user", u.ID, "err", err)
		}
	} else {
		VerifyDummy(password)
	}
	if !ok {
		if err := s.Throttle.Fail(ctx, addrKey, addrLimit); err != nil {
			return Session{}, unavailable(err)
		}
		return Session{}, errLogin
	}
	if err := s.Throttle.Reset(ctx, emailKey); err != nil {
		s.Logger.WarnContext(ctx, "clear login failures", "err", err) // they expire by themselves
	}
	if rehash {
		s.rehash(ctx, u, password)
	}
	return s.session(u.User)
}

// rehash replaces a hash made with old parameters, through the write log; a failure only
// delays it to the next login.
func (s *Service) rehash(ctx context.Context, u stored, password string) {
	h, err := Hash(password)
	if err == nil {
		err = s.submit(ctx, KindPassword, "user:"+u.ID, PasswordPayload{ID: u.ID, OldHash: u.hash, NewHash: h}, nil)
	}
	if err != nil {
		s.Logger.WarnContext(ctx, "rehash password", "user", u.ID, "err", err)
	}
}

// CreateAdmin makes the user with email an admin, creating it when there is none (which needs
// a password); a non-empty password replaces the user's. It returns once the copy applied it.
func (s *Service) CreateAdmin(ctx context.Context, email, password string) (AdminResult, error) {
	email, err := CheckEmail(email)
	if err != nil {
		return AdminResult{}, err
	}
	p := AdminPayload{ID: uuid.NewString(), Email: email, EmailKey: EmailKey(email), Name: localPart(email)}
	if password != "" {
		if err := CheckPassword(password); err != nil {
			return AdminResult{}, err
		}
		if p.PasswordHash, err = Hash(password); err != nil {
			return AdminResult{}, apperr.Wrap(err, "hash password")
		}
	}
	var res AdminResult
	if err := s.submit(ctx, KindAdmin, "user:"+p.EmailKey, p, &res); err != nil {
		return AdminResult{}, err
	}
	return res, nil
}

// localPart is the part of email before its last '@', at most MaxName characters: the name
// of an admin created from the command line.
func localPart(email string) string {
	name := []rune(email[:max(strings.LastIndexByte(email, '@'), 0)])
	if len(name) > MaxName {
		name = name[:MaxName]
	}
	return string(name)
}
