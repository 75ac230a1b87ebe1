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
	"github.com/dostupno/dostupno/shared/userkeys"
	"github.com/dostupno/dostupno/shared/writelog"
)

// Limits are the abuse limits of accounts, each a count per sliding window.
//
// Password guessing is limited per pair of account and address, and per account across the
// addresses that never logged into it; addresses that did are exempt from the account's limit,
// so that nobody can lock an owner out by failing on purpose: an attacker's failures from one
// address stop that address alone (Pair), and those from many addresses stop only addresses
// new to the account (Account). Addr bounds one address's failures over every account (a
// spray of common passwords), Register its registrations.
type Limits struct {
	Pair     throttle.Limit // password attempts for one account from one address
	Account  throttle.Limit // attempts for one account from the addresses not known to it
	Addr     throttle.Limit // failed attempts from one address, whatever the account
	Register throttle.Limit // registrations from one address
}

// DefaultLimits: one address gets 5 guesses per account per quarter hour (Pair), a quarter of
// the account's 20 (Account), so locking new addresses out of an account takes four addresses
// guessing at once, and guessing across addresses runs at most 80 an hour per account; 50
// failures a quarter hour from one address; 20 registrations an hour from one address.
var DefaultLimits = Limits{
	Pair:     throttle.Limit{Count: 5, Window: 15 * time.Minute},
	Account:  throttle.Limit{Count: 20, Window: 15 * time.Minute},
	Addr:     throttle.Limit{Count: 50, Window: 15 * time.Minute},
	Register: throttle.Limit{Count: 20, Window: time.Hour},
}

// Session is the answer of register and login.
type Session struct {
	User      User      `json:"user"`
	Token     string    `json:"token"`
	TokenType string    `json:"token_type"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Service registers users, logs them in, saves their needs, erases them and makes admins.
// Writes go through Writer, whose copy is the one DB reads; personal fields are sealed with
// the users' keys in UserKeys.
type Service struct {
	DB       pgdb.DBTX
	Vocab    *catalog.Vocabulary
	Keys     *token.Keys
	Writer   *writelog.Writer
	UserKeys *userkeys.Store
	Throttle *throttle.Throttle // login, erasure and registration limits
	Known    *throttle.Known    // addresses that logged into each account
	Hasher   *Hasher            // DefaultHasher when nil
	Logger   *slog.Logger
	Now      func() time.Time // the command's time; time.Now when nil
	Limits   Limits           // DefaultLimits when zero
}

func (s *Service) limits() Limits {
	if s.Limits == (Limits{}) {
		return DefaultLimits
	}
	return s.Limits
}

func (s *Service) hasher() *Hasher {
	if s.Hasher == nil {
		return DefaultHasher
	}
	return s.Hasher
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

func unavailable(err error) error {
	return &apperr.Error{Code: apperr.Unavailable, Message: "accounts are unavailable; try again shortly", RetryAfter: 2 * time.Second, Err: err}
}

// blind is the keyed hash of value in the domain kind (userkeys.Blind with the deployment's
// pepper).
func (s *Service) blind(ctx context.Context, kind, value string) (string, error) {
	pepper, err := s.UserKeys.Pepper(ctx)
	if err != nil {
		return "", unavailable(err)
	}
	return userkeys.Blind(pepper, kind, value), nil
}

// throttleKey names a throttle counter of kind for value, without value in clear.
func (s *Service) throttleKey(ctx context.Context, kind, value string) (string, error) {
	h, err := s.blind(ctx, kind, value)
	if err != nil {
		return "", err
	}
	return kind + "." + h[:32], nil
}

// sealed seals per for a command of kind about user id with the user's key (made now for a
// user registered before personal fields were sealed, who has none).
func (s *Service) sealed(ctx context.Context, kind, id string, per Personal) ([]byte, error) {
	k, ok, err := s.UserKeys.Get(ctx, id)
	if err == nil && !ok {
		k, err = s.UserKeys.Create(ctx, id)
	}
	if err != nil {
		return nil, unavailable(err)
	}
	return Seal(k, kind, id, per)
}

// Register creates the user of r (checked here), coming from client address addr, and
// returns a session for it. A taken email is a conflict; more than Limits.Register
// registrations from addr are rate_limited.
func (s *Service) Register(ctx context.Context, r Registration, addr string) (Session, error) {
	if err := r.Check(s.Vocab); err != nil {
		return Session{}, err
	}
	key, err := s.throttleKey(ctx, "register", addr)
	if err != nil {
		return Session{}, err
	}
	if retry, err := s.Throttle.Take(ctx, key, s.limits().Register); err != nil {
		return Session{}, unavailable(err)
	} else if retry > 0 {
		return Session{}, &apperr.Error{Code: apperr.RateLimited, Message: "too many registrations from this address; try again later", RetryAfter: retry}
	}
	hash, err := s.hasher().Hash(ctx, r.Password)
	if err != nil {
		return Session{}, err
	}
	emailKey := EmailKey(r.Email)
	p := Payload{ID: uuid.NewString()}
	if p.EmailHash, err = s.blind(ctx, "email", emailKey); err != nil {
		return Session{}, err
	}
	k, err := s.UserKeys.Create(ctx, p.ID)
	if err != nil {
		return Session{}, unavailable(err)
	}
	if p.Sealed, err = Seal(k, KindRegister, p.ID, Personal{Email: r.Email, EmailKey: emailKey, Name: r.Name, PasswordHash: hash, Needs: r.Needs}); err != nil {
		return Session{}, apperr.Wrap(err, "register")
	}
	var u User
	if err := s.submit(ctx, KindRegister, CommandKey(p.ID), p, &u); err != nil {
		if code := apperr.CodeOf(err); code == apperr.Conflict || code == apperr.InvalidArgument {
			// Nobody can erase a registration that was refused (a taken email) or failed (its
			// data refused by the database): it is erased now, so that its personal data does
			// not stay readable in the log.
			s.discard(ctx, p.ID)
		}
		return Session{}, err
	}
	return s.session(u)
}

// discard erases the refused registration of user id through the write log, and its key.
func (s *Service) discard(ctx context.Context, id string) {
	err := s.submit(ctx, KindErase, CommandKey(id), Payload{ID: id}, nil)
	if err == nil {
		err = s.UserKeys.Destroy(ctx, id)
	}
	if err != nil {
		s.Logger.WarnContext(ctx, "erase a refused registration; its key stays until erased", "user", id, "err", err)
	}
}

// stored is a user row with its hash.
type stored struct {
	User
	hash string
}

func (s *Service) lookup(ctx context.Context, where string, arg any) (stored, bool, error) {
	var u stored
	err := s.DB.QueryRow(ctx, `SELECT id::text, email, name, needs, role, token_version, password_hash FROM users WHERE `+where, arg).
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

// errGone answers a token whose user no longer exists (erased).
var errGone = apperr.New(apperr.Unauthenticated, "the account of this token no longer exists")

func throttled(retry time.Duration) error {
	return &apperr.Error{Code: apperr.RateLimited, Message: "too many failed attempts; try again later", RetryAfter: retry}
}

// attempt is one password attempt for the account of emailKey from addr, admitted by guard.
type attempt struct {
	account, pair, addr string // throttle keys
	addrHash            string // for Known
}

// guard admits a password attempt for the account of emailKey from client address addr, or
// answers rate_limited: the address's failures (checked: counted after a failure), then the
// pair's attempts, then, unless addr logged into the account before, the account's attempts
// (both taken before the password is checked, so parallel guesses cannot overrun them; the
// pair first, so that what the pair refuses does not use up the account's). Every key is a
// keyed hash: an unknown email is throttled exactly like a known one.
func (s *Service) guard(ctx context.Context, emailKey, addr string) (attempt, error) {
	var a attempt
	var err error
	if a.addr, err = s.throttleKey(ctx, "addr", addr); err != nil {
		return a, err
	}
	if a.pair, err = s.throttleKey(ctx, "pair", emailKey+"\x00"+addr); err != nil {
		return a, err
	}
	if a.account, err = s.throttleKey(ctx, "account", emailKey); err != nil {
		return a, err
	}
	a.addrHash = a.addr
	l := s.limits()
	retry, err := s.Throttle.Check(ctx, a.addr, l.Addr)
	if err == nil && retry == 0 {
		retry, err = s.Throttle.Take(ctx, a.pair, l.Pair)
	}
	if err == nil && retry == 0 {
		var known bool
		if known, err = s.Known.Has(ctx, a.account, a.addrHash); err == nil && !known {
			retry, err = s.Throttle.Take(ctx, a.account, l.Account)
		}
	}
	if err != nil {
		return a, unavailable(err)
	}
	if retry > 0 {
		return a, throttled(retry)
	}
	return a, nil
}

// failed counts a failed attempt against its address.
func (s *Service) failed(ctx context.Context, a attempt) error {
	if err := s.Throttle.Fail(ctx, a.addr, s.limits().Addr); err != nil {
		return unavailable(err)
	}
	return nil
}

// succeeded clears the pair's attempts and remembers the address for the account; failures
// only delay what they would have done.
func (s *Service) succeeded(ctx context.Context, a attempt) {
	if err := s.Throttle.Reset(ctx, a.pair); err != nil {
		s.Logger.WarnContext(ctx, "clear login attempts", "err", err) // they expire by themselves
	}
	if err := s.Known.Add(ctx, a.account, a.addrHash); err != nil {
		s.Logger.WarnContext(ctx, "remember a login address", "err", err)
	}
}

// Login checks email and password from client address addr and returns a session. An unknown
// email and a wrong password get the same error after the same work (a hash is verified
// either way). Attempts are limited as Limits says (guard); past a limit the answer is
// rate_limited with the time until the oldest counted attempt leaves its window.
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
	a, err := s.guard(ctx, key, addr)
	if err != nil {
		return Session{}, err
	}
	u, found, err := s.lookup(ctx, "email_key = $1", key)
	if err != nil {
		return Session{}, apperr.Wrap(err, "login")
	}
	ok, rehash := false, false
	if found {
		if ok, rehash, err = s.hasher().Verify(ctx, password, u.hash); apperr.CodeOf(err) == apperr.Unavailable {
			return Session{}, err
		} else if err != nil {
			s.Logger.ErrorContext(ctx, "stored password hash unreadable", "user", u.ID, "err", err)
		}
	} else if err := s.hasher().VerifyDummy(ctx, password); err != nil {
		return Session{}, err
	}
	if !ok {
		if err := s.failed(ctx, a); err != nil {
			return Session{}, err
		}
		return Session{}, errLogin
	}
	s.succeeded(ctx, a)
	if rehash {
		s.rehash(ctx, u, password)
	}
	return s.session(u.User)
}

// rehash replaces a hash made with old parameters, through the write log; a failure only
// delays it to the next login.
func (s *Service) rehash(ctx context.Context, u stored, password string) {
	h, err := s.hasher().Hash(ctx, password)
	var sealed []byte
	if err == nil {
		sealed, err = s.sealed(ctx, KindPassword, u.ID, Personal{OldHash: u.hash, NewHash: h})
	}
	if err == nil {
		err = s.submit(ctx, KindPassword, CommandKey(u.ID), Payload{ID: u.ID, Sealed: sealed}, nil)
	}
	if err != nil {
		s.Logger.WarnContext(ctx, "rehash password", "user", u.ID, "err", err)
	}
}

// SaveNeeds replaces the saved needs of user userID (checked against the vocabulary) through
// the write log, and returns the user once this copy applied it; every instance drops the
// user's needs from its cache as the change is announced. A user that no longer exists is
// unauthenticated (its token outlived it).
func (s *Service) SaveNeeds(ctx context.Context, userID string, needs []string) (User, error) {
	needs, err := CheckNeeds(needs, s.Vocab)
	if err != nil {
		return User{}, err
	}
	if !validID(userID) {
		return User{}, errGone
	}
	if _, found, err := s.lookup(ctx, "id = $1", userID); err != nil {
		return User{}, apperr.Wrap(err, "save needs")
	} else if !found {
		return User{}, errGone
	}
	sealed, err := s.sealed(ctx, KindNeeds, userID, Personal{Needs: needs})
	if err != nil {
		return User{}, err
	}
	var u User
	err = s.submit(ctx, KindNeeds, CommandKey(userID), Payload{ID: userID, Sealed: sealed}, &u)
	if apperr.CodeOf(err) == apperr.NotFound {
		return User{}, errGone // erased meanwhile
	}
	return u, err
}

// Erase erases user userID, whose password must be password, asked from client address addr:
// the user is deleted from every copy through the write log (with the outcomes of its
// commands), its key is destroyed, so that the personal data of its commands can no longer be
// read by anyone, and what the throttle remembers of it goes. Password attempts count as
// logins do. A wrong password is unauthenticated and erases nothing.
func (s *Service) Erase(ctx context.Context, userID, password, addr string) error {
	switch {
	case password == "":
		return apperr.Invalid("password", "password is required")
	case len(password) > 4*MaxPassword:
		return apperr.Invalid("password", "password must have at most %d characters", MaxPassword)
	case !validID(userID):
		return errGone
	}
	u, found, err := s.lookup(ctx, "id = $1", userID)
	if err != nil {
		return apperr.Wrap(err, "erase")
	}
	if !found {
		return errGone
	}
	a, err := s.guard(ctx, EmailKey(u.Email), addr)
	if err != nil {
		return err
	}
	ok, _, err := s.hasher().Verify(ctx, password, u.hash)
	if apperr.CodeOf(err) == apperr.Unavailable {
		return err
	}
	if !ok {
		if err := s.failed(ctx, a); err != nil {
			return err
		}
		return apperr.New(apperr.Unauthenticated, "the password is wrong")
	}
	if err := s.submit(ctx, KindErase, CommandKey(userID), Payload{ID: userID}, nil); err != nil {
		return err
	}
	// Every copy's applier destroys the key as it applies the erasure; this copy did, and
	// this is in case it could not. The throttle's entries expire by themselves.
	if err := s.UserKeys.Destroy(ctx, userID); err != nil {
		s.Logger.WarnContext(ctx, "destroy an erased user's key; the next copy to apply the erasure does", "user", userID, "err", err)
	}
	if err := s.Known.Forget(ctx, a.account); err != nil {
		s.Logger.WarnContext(ctx, "forget an erased user's addresses; they expire in a month", "err", err)
	}
	if err := s.Throttle.Reset(ctx, a.pair); err != nil {
		s.Logger.WarnContext(ctx, "clear an erased user's attempts; they expire by themselves", "err", err)
	}
	return nil
}

// CreateAdmin makes the user with email an admin, creating it when there is none (which needs
// a password); a non-empty password replaces the user's. It returns once the copy applied it.
func (s *Service) CreateAdmin(ctx context.Context, email, password string) (AdminResult, error) {
	return s.CreateWithRole(ctx, email, password, token.RoleAdmin)
}

// CreateWithRole is CreateAdmin for role: admin, or ticketing (an integration account that may
// write seat availability alone). Giving a user another role ends the tokens issued before.
func (s *Service) CreateWithRole(ctx context.Context, email, password, role string) (AdminResult, error) {
	if role != token.RoleAdmin && role != token.RoleTicketing {
		return AdminResult{}, apperr.Invalid("role", "role must be %s or %s", token.RoleAdmin, token.RoleTicketing)
	}
	email, err := CheckEmail(email)
	if err != nil {
		return AdminResult{}, err
	}
	emailKey := EmailKey(email)
	per := Personal{Email: email, EmailKey: emailKey, Name: localPart(email)}
	if password != "" {
		if err := CheckPassword(password); err != nil {
			return AdminResult{}, err
		}
		if per.PasswordHash, err = s.hasher().Hash(ctx, password); err != nil {
			return AdminResult{}, err
		}
	}
	// The user this copy knows by the email is the one to promote; the copy applying the
	// command decides again, by the email's hash.
	p := Payload{ID: uuid.NewString()}
	if role != token.RoleAdmin {
		p.Role = role // an admin's command stays as it was written before roles
	}
	if u, found, err := s.lookup(ctx, "email_key = $1", emailKey); err != nil {
		return AdminResult{}, apperr.Wrap(err, "create admin")
	} else if found {
		p.ID = u.ID
	}
	if p.EmailHash, err = s.blind(ctx, "email", emailKey); err != nil {
		return AdminResult{}, err
	}
	if p.Sealed, err = s.sealed(ctx, KindAdmin, p.ID, per); err != nil {
		return AdminResult{}, err
	}
	var res AdminResult
	if err := s.submit(ctx, KindAdmin, CommandKey(p.ID), p, &res); err != nil {
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
