package account

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/natstest"
	"github.com/dostupno/dostupno/shared/pgtest"
	"github.com/dostupno/dostupno/shared/throttle"
	"github.com/dostupno/dostupno/shared/token"
	"github.com/dostupno/dostupno/shared/userkeys"
	"github.com/dostupno/dostupno/shared/writelog"
	"github.com/dostupno/dostupno/shared/writelog/writelogtest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type env struct {
	svc  *Service
	pool *pgxpool.Pool
	nats *natstest.Env
	log  *writelog.Log
	keys *userkeys.Store
}

func newEnv(t *testing.T) *env {
	t.Helper()
	w := writelogtest.New(t, func(_ *catalog.Vocabulary, k *userkeys.Store) []writelog.Kind { return Kinds(k) })
	th, err := throttle.Open(context.Background(), w.NATS.JS, w.NATS.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	known, err := throttle.OpenKnown(context.Background(), w.NATS.JS, w.NATS.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	_, private, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := token.NewKeys(private)
	if err != nil {
		t.Fatal(err)
	}
	svc := &Service{DB: w.Pool, Vocab: w.Vocab, Keys: keys, Writer: w.Writer, UserKeys: w.Keys, Throttle: th, Known: known,
		Hasher: NewHasher(2, 16), Logger: quiet}
	return &env{svc: svc, pool: w.Pool, nats: w.NATS, log: w.Log, keys: w.Keys}
}

func registration(email string) Registration {
	return Registration{Email: email, Password: "violet kettle 42", Name: "Anna", Needs: []string{"hearing_loop", "subtitles"}}
}

// register registers registration(email) from 192.0.2.100 and returns its session.
func (e *env) register(t *testing.T, email string) Session {
	t.Helper()
	s, err := e.svc.Register(context.Background(), registration(email), "192.0.2.100")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRegister(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	s := e.register(t, "  Anna@Example.RU ")
	if s.User.Email != "Anna@Example.RU" || s.User.Role != token.RoleUser || s.TokenType != "Bearer" || s.User.ID == "" {
		t.Fatalf("got %+v, want the trimmed email, role user, a Bearer token", s)
	}
	if strings.Join(s.User.Needs, ",") != "subtitles,hearing_loop" {
		t.Fatalf("got needs %v, want catalog order subtitles,hearing_loop", s.User.Needs)
	}
	p, err := e.svc.Keys.Verify(s.Token)
	if err != nil || p.UserID != s.User.ID || !p.ExpiresAt.Equal(s.ExpiresAt) {
		t.Fatalf("got %+v, %v; want a token for %s expiring %v", p, err, s.User.ID, s.ExpiresAt)
	}
	var hash, key string
	var version int64
	if err := e.pool.QueryRow(ctx, `SELECT password_hash, email_key, version FROM users WHERE id = $1`, s.User.ID).Scan(&hash, &key, &version); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") || key != "anna@example.ru" || version != 1 {
		t.Fatalf("got hash %q key %q version %d, want argon2id, lower-case key, version = seq 1", hash, key, version)
	}

	tests := []struct {
		name     string
		reg      Registration
		wantCode apperr.Code
	}{
		{"ErrSameEmailOtherCase", registration("anna@example.ru"), apperr.Conflict},
		{"ErrSameEmailSpaces", registration(" ANNA@EXAMPLE.RU"), apperr.Conflict},
		{"ErrCommonPassword", Registration{Email: "b@example.ru", Password: "iloveyou", Name: "B"}, apperr.InvalidArgument},
		{"ErrUnknownNeed", Registration{Email: "b@example.ru", Password: "violet kettle 42", Name: "B", Needs: []string{"x"}}, apperr.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.Register(ctx, tt.reg, "192.0.2.100")
			if got := apperr.CodeOf(err); got != tt.wantCode {
				t.Fatalf("got %v, want %s", err, tt.wantCode)
			}
		})
	}
	var n int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("got %d users (%v), want 1", n, err)
	}
}

// Two copies apply the same registrations in stream order and decide the duplicate alike.
func TestRegisterSameInEveryCopy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.register(t, "ivan@example.ru")
	_, err := e.svc.Register(ctx, registration("IVAN@example.ru"), "192.0.2.100")
	if apperr.CodeOf(err) != apperr.Conflict {
		t.Fatalf("got %v, want conflict", err)
	}
	// The refused registration was erased at once (its personal data must not stay readable):
	// seq 3 erased it, and its outcome reads erased in every copy.
	copy2 := pgtest.New(t)
	r2 := writelog.NewReplica(e.log, copy2, "copy-2", Kinds(e.keys), quiet)
	last, err := e.log.LastSeq(ctx)
	if err != nil || last != 3 {
		t.Fatalf("got last sequence %d (%v), want 3: the registration, the refused one, its erasure", last, err)
	}
	if _, err := r2.WaitApplied(ctx, last); err != nil {
		t.Fatal(err)
	}
	for seq, want := range map[uint64]string{1: writelog.Applied, 2: writelog.Erased, 3: writelog.Applied} {
		for _, r := range []*writelog.Replica{e.svc.Writer.Replica, r2} {
			if o, ok, err := r.Outcome(ctx, seq); err != nil || !ok || o.Status != want {
				t.Fatalf("%s seq %d: got %+v, %v, %v; want %s", r.Name(), seq, o, ok, err, want)
			}
		}
	}
	writelogtest.Equal(t, e.pool, copy2)
}

func TestLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	reg := e.register(t, "olga@example.ru")
	tests := []struct {
		name, email, password string
		wantCode              apperr.Code
		wantField             string
	}{
		{"OK", "olga@example.ru", "violet kettle 42", "", ""},
		{"OKEmailAnyCaseAndSpaces", "  OLGA@example.RU ", "violet kettle 42", "", ""},
		{"ErrWrongPassword", "olga@example.ru", "violet kettle 43", apperr.Unauthenticated, ""},
		{"ErrPasswordNotTrimmed", "olga@example.ru", " violet kettle 42", apperr.Unauthenticated, ""},
		{"ErrUnknownEmail", "nobody@example.ru", "violet kettle 42", apperr.Unauthenticated, ""},
		{"ErrNoEmail", "", "x", apperr.InvalidArgument, "email"},
		{"ErrNoPassword", "olga@example.ru", "", apperr.InvalidArgument, "password"},
	}
	var unknownMsg, wrongMsg string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := e.svc.Login(ctx, tt.email, tt.password, "192.0.2.1")
			if got := apperr.CodeOf(err); got != tt.wantCode {
				t.Fatalf("got %v, want %q", err, tt.wantCode)
			}
			if err != nil {
				if f := apperr.As(err).Field; f != tt.wantField {
					t.Fatalf("got field %q, want %q", f, tt.wantField)
				}
				switch tt.name {
				case "ErrUnknownEmail":
					unknownMsg = apperr.As(err).Message
				case "ErrWrongPassword":
					wrongMsg = apperr.As(err).Message
				}
				return
			}
			if s.User.ID != reg.User.ID || s.User.Name != "Anna" || len(s.User.Needs) != 2 {
				t.Fatalf("got %+v, want the registered user", s.User)
			}
		})
	}
	if unknownMsg == "" || unknownMsg != wrongMsg {
		t.Fatalf("got %q for an unknown email and %q for a wrong password, want the same", unknownMsg, wrongMsg)
	}
}

func TestLoginThrottle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.register(t, "petr@example.ru")
	now := time.Now()
	e.svc.Throttle.SetClock(func() time.Time { return now })
	// Eight wrong passwords in a row from one address: five are refused as wrong, then the
	// pair of account and address is throttled.
	var got []apperr.Code
	for i := 0; i < 8; i++ {
		_, err := e.svc.Login(ctx, "petr@example.ru", "wrong password", "192.0.2.2")
		got = append(got, apperr.CodeOf(err))
		if i == 7 {
			if ra := apperr.As(err).RetryAfter; ra <= 0 || ra > DefaultLimits.Pair.Window {
				t.Fatalf("got Retry-After %v, want within the window", ra)
			}
		}
	}
	want := "unauthenticated,unauthenticated,unauthenticated,unauthenticated,unauthenticated,rate_limited,rate_limited,rate_limited"
	if s := codes(got); s != want {
		t.Fatalf("got %s, want %s", s, want)
	}
	// Even the right password waits from that address: the throttle does not reveal it.
	if _, err := e.svc.Login(ctx, "petr@example.ru", "violet kettle 42", "192.0.2.2"); apperr.CodeOf(err) != apperr.RateLimited {
		t.Fatalf("got %v with the right password from the throttled address, want rate_limited", err)
	}
	// An unknown email is throttled alike (no hint that an email is registered).
	for i := 0; i < 6; i++ {
		_, err := e.svc.Login(ctx, "ghost@example.ru", "wrong password", "192.0.2.4")
		if i == 5 && apperr.CodeOf(err) != apperr.RateLimited {
			t.Fatalf("got %v on the sixth failure for an unknown email, want rate_limited", err)
		}
	}
	// The window slides: once the attempts are old, the address may log in, which clears them.
	now = now.Add(DefaultLimits.Pair.Window + time.Second)
	if _, err := e.svc.Login(ctx, "petr@example.ru", "violet kettle 42", "192.0.2.2"); err != nil {
		t.Fatalf("got %v after the window, want a login", err)
	}
	for i := 0; i < 4; i++ {
		if _, err := e.svc.Login(ctx, "petr@example.ru", "wrong password", "192.0.2.2"); apperr.CodeOf(err) != apperr.Unauthenticated {
			t.Fatalf("got %v after a success cleared the count, want unauthenticated", err)
		}
	}
}

// Throttling cannot be turned into a lock-out: an attacker's failures from one address do not
// stop the owner logging in from another, and an attacker rotating addresses is throttled per
// account, while the addresses the owner logged in from before stay open.
func TestLoginCannotLockTheOwnerOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.register(t, "owner@example.ru")
	login := func(password, addr string) apperr.Code {
		t.Helper()
		_, err := e.svc.Login(ctx, "owner@example.ru", password, addr)
		return apperr.CodeOf(err)
	}
	// Five failures from address A (and more, refused), then the owner from B.
	for i := 0; i < 7; i++ {
		login("wrong guess", "203.0.113.10")
	}
	if got := login("violet kettle 42", "203.0.113.10"); got != apperr.RateLimited {
		t.Fatalf("got %q for A, want it throttled", got)
	}
	if got := login("violet kettle 42", "198.51.100.20"); got != "" {
		t.Fatalf("got %q for the owner from B after A's failures, want a login", got)
	}
	// An attacker rotating addresses: each new address gets its pair's five guesses until the
	// account's twenty are used (the owner's login from B counted one, A five).
	guesses, addr := 0, 0
	for ; addr < 10; addr++ {
		a := "203.0.113." + string(rune('a'+addr))
		code := login("wrong guess", a)
		if code == apperr.RateLimited {
			break
		}
		guesses++
		for i := 0; i < 4; i++ {
			if login("wrong guess", a) == apperr.Unauthenticated {
				guesses++
			}
		}
	}
	limit := DefaultLimits.Account.Count
	if want := limit - 6; guesses != want {
		t.Fatalf("got %d guesses from rotating addresses, want %d (the account's %d, less the 6 before)", guesses, want, limit)
	}
	if got := login("wrong guess", "203.0.113.200"); got != apperr.RateLimited {
		t.Fatalf("got %q for yet another address, want the account throttled", got)
	}
	// The owner's known address is not.
	if got := login("violet kettle 42", "198.51.100.20"); got != "" {
		t.Fatalf("got %q for the owner from B, which logged in before, want a login", got)
	}
	// A new address of the owner waits with everyone else (the price of the account's limit).
	if got := login("violet kettle 42", "198.51.100.21"); got != apperr.RateLimited {
		t.Fatalf("got %q for the owner from a new address, want rate_limited until the window passes", got)
	}
}

func TestLoginThrottlePerAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.register(t, "sveta@example.ru")
	// Spread over many emails, failures from one address hit the address limit (lowered here
	// from 50 to keep the test short).
	e.svc.Limits = DefaultLimits
	e.svc.Limits.Addr.Count = 8
	for i := 0; i < e.svc.Limits.Addr.Count; i++ {
		email := "guess" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "@example.ru"
		if _, err := e.svc.Login(ctx, email, "wrong password", "198.51.100.9"); apperr.CodeOf(err) != apperr.Unauthenticated {
			t.Fatalf("failure %d: got %v, want unauthenticated", i+1, err)
		}
	}
	if _, err := e.svc.Login(ctx, "sveta@example.ru", "violet kettle 42", "198.51.100.9"); apperr.CodeOf(err) != apperr.RateLimited {
		t.Fatalf("got %v from a throttled address, want rate_limited", err)
	}
	if _, err := e.svc.Login(ctx, "sveta@example.ru", "violet kettle 42", "198.51.100.10"); err != nil {
		t.Fatalf("got %v from another address, want a login", err)
	}
}

// Registrations from one address stop at the limit; another address goes on.
func TestRegisterLimitPerAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	limit := DefaultLimits.Register.Count
	for i := 0; i < limit; i++ {
		if _, err := e.svc.Register(ctx, registration(fmt.Sprintf("r%d@example.ru", i)), "203.0.113.50"); err != nil {
			t.Fatalf("registration %d: %v", i+1, err)
		}
	}
	_, err := e.svc.Register(ctx, registration("one-more@example.ru"), "203.0.113.50")
	if ae := apperr.As(err); apperr.CodeOf(err) != apperr.RateLimited || ae.RetryAfter <= 0 || ae.RetryAfter > time.Hour {
		t.Fatalf("got %v, want rate_limited with a Retry-After within the hour", err)
	}
	if _, err := e.svc.Register(ctx, registration("one-more@example.ru"), "203.0.113.51"); err != nil {
		t.Fatalf("got %v from another address, want a registration", err)
	}
}

func codes(cs []apperr.Code) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = string(c)
	}
	return strings.Join(s, ",")
}

func TestLoginRehash(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	reg := e.register(t, "rehash@example.ru")
	old, err := HashPassword("violet kettle 42", Params{Memory: 4096, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	if err != nil {
		t.Fatal(err)
	}
	// A hash from before a parameter change (set directly: this is the test's fixture).
	if _, err := e.pool.Exec(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1`, reg.User.ID, old); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Login(ctx, "rehash@example.ru", "violet kettle 42", "192.0.2.5"); err != nil {
		t.Fatal(err)
	}
	// The rehash is applied when login answers.
	var hash string
	if err := e.pool.QueryRow(ctx, `SELECT password_hash FROM users WHERE id = $1`, reg.User.ID).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("got %q after login, want a hash with the current parameters", hash)
	}
	if _, err := e.svc.Login(ctx, "rehash@example.ru", "violet kettle 42", "192.0.2.5"); err != nil {
		t.Fatalf("got %v after the rehash, want a login", err)
	}
}

func TestCreateAdmin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	reg := e.register(t, "user@example.ru")
	tests := []struct {
		name, email, password string
		wantCode              apperr.Code
		wantCreated           bool
		loginWith             string
	}{
		{"OKCreate", "Boss@Example.ru", "admin secret phrase", "", true, "admin secret phrase"},
		{"OKPromoteKeepsPassword", "user@example.ru", "", "", false, "violet kettle 42"},
		{"OKPromoteAgainNewPassword", "USER@example.ru", "a brand new phrase", "", false, "a brand new phrase"},
		{"ErrUnknownWithoutPassword", "ghost@example.ru", "", apperr.NotFound, false, ""},
		{"ErrCommonPassword", "x@example.ru", "password1", apperr.InvalidArgument, false, ""},
		{"ErrBadEmail", "not an email", "admin secret phrase", apperr.InvalidArgument, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := e.svc.CreateAdmin(ctx, tt.email, tt.password)
			if got := apperr.CodeOf(err); got != tt.wantCode {
				t.Fatalf("got %v, want %q", err, tt.wantCode)
			}
			if err != nil {
				return
			}
			if res.Created != tt.wantCreated || res.User.Role != token.RoleAdmin {
				t.Fatalf("got %+v, want an admin, created=%v", res, tt.wantCreated)
			}
			s, err := e.svc.Login(ctx, tt.email, tt.loginWith, "192.0.2.6")
			if err != nil {
				t.Fatalf("got %v logging in, want a session", err)
			}
			if p, _ := e.svc.Keys.Verify(s.Token); p.Role != token.RoleAdmin {
				t.Fatalf("got role %q in the token, want admin", p.Role)
			}
		})
	}
	var role string
	if err := e.pool.QueryRow(ctx, `SELECT role FROM users WHERE id = $1`, reg.User.ID).Scan(&role); err != nil || role != "admin" {
		t.Fatalf("got role %q (%v), want the registered user promoted", role, err)
	}
}

// An admin's tokens lose admin power once the password or the role changes; the token of a
// login after the change has it.
func TestCheckAdmin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	principal := func(tok string) token.Principal {
		t.Helper()
		p, err := e.svc.Keys.Verify(tok)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	login := func(password string) token.Principal {
		t.Helper()
		s, err := e.svc.Login(ctx, "chief@example.ru", password, "192.0.2.7")
		if err != nil {
			t.Fatal(err)
		}
		return principal(s.Token)
	}
	reg := e.register(t, "chief@example.ru")
	asUser := principal(reg.Token)
	if _, err := e.svc.CreateAdmin(ctx, "chief@example.ru", ""); err != nil { // a role change
		t.Fatal(err)
	}
	first := login("violet kettle 42")
	if _, err := e.svc.CreateAdmin(ctx, "chief@example.ru", ""); err != nil { // no change at all
		t.Fatal(err)
	}
	stillFirst := login("violet kettle 42")
	if _, err := e.svc.CreateAdmin(ctx, "chief@example.ru", "a fresh admin phrase"); err != nil { // a password change
		t.Fatal(err)
	}
	second := login("a fresh admin phrase")
	// An admin token of someone who never was one, signed by the issuer (a stolen key aside,
	// only a forged database row could make it pass).
	ghost := asUser
	ghost.UserID, ghost.Role = "5d0f8a7e-1c2b-4a3d-9e8f-7a6b5c4d3e2f", token.RoleAdmin

	tests := []struct {
		name string
		p    token.Principal
		want apperr.Code
	}{
		{"OKAfterLastChange", second, ""},
		{"ErrUserToken", asUser, apperr.Forbidden},
		{"ErrBeforePasswordChange", first, apperr.Unauthenticated},
		{"ErrBeforePasswordChangeToo", stillFirst, apperr.Unauthenticated},
		{"ErrNoSuchUser", ghost, apperr.Unauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := apperr.CodeOf(CheckAdmin(ctx, e.pool, tt.p)); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
	if first.TokenVersion != 1 || stillFirst.TokenVersion != 1 || second.TokenVersion != 2 {
		t.Fatalf("got token versions %d, %d, %d; want 1 after the promotion, 1 after no change, 2 after the new password",
			first.TokenVersion, stillFirst.TokenVersion, second.TokenVersion)
	}
	// An erased admin's last token grants nothing.
	if err := e.svc.Erase(ctx, second.UserID, "a fresh admin phrase", "192.0.2.7"); err != nil {
		t.Fatal(err)
	}
	if got := apperr.CodeOf(CheckAdmin(ctx, e.pool, second)); got != apperr.Unauthenticated {
		t.Fatalf("got %q for an erased admin's token, want unauthenticated", got)
	}
}

// A burst of parallel guesses gets no more tries than sequential ones.
func TestLoginThrottleParallelBurst(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.register(t, "burst@example.ru")
	results := make(chan apperr.Code, 12)
	for i := 0; i < 12; i++ {
		go func() {
			_, err := e.svc.Login(ctx, "burst@example.ru", "wrong password", "192.0.2.9")
			results <- apperr.CodeOf(err)
		}()
	}
	got := map[apperr.Code]int{}
	for i := 0; i < 12; i++ {
		got[<-results]++
	}
	if n := DefaultLimits.Pair.Count; got[apperr.Unauthenticated] != n || got[apperr.RateLimited] != 12-n {
		t.Fatalf("got %v, want %d unauthenticated and the rest rate_limited", got, n)
	}
}
