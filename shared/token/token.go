// Package token issues and verifies the access tokens of the HTTP contract
// (shared/apidoc/openapi.yaml, securitySchemes.bearer): JWTs signed with HS256 by a secret of
// at least 32 bytes read from the `jwt-secret` secret file, with the claims iss "dostupno", aud
// "dostupno-api", sub (the user id), iat, exp and role. The header's kid names the key; a previous secret
// (`jwt-secret-previous`) still verifies during a rotation. Verification follows RFC 8725: one
// algorithm only, every registered claim required, a small leeway.
package token

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/config"
)

// Fixed claims and limits of every token.
const (
	Issuer   = "dostupno"
	Audience = "dostupno-api"
	// Lifetime is how long an issued token is valid.
	Lifetime = 24 * time.Hour
	// Leeway is the clock skew tolerated on exp and iat.
	Leeway = 30 * time.Second
	// MinSecret is the shortest secret accepted (HS256 wants at least the hash size).
	MinSecret = 32
	// MaxLength is the longest token string looked at; ours are about 300 bytes.
	MaxLength = 4096

	// SecretFile and PreviousSecretFile are the OpenFaaS secret names.
	SecretFile         = "jwt-secret"
	PreviousSecretFile = "jwt-secret-previous"
)

// Roles of a user.
const (
	RoleUser  = "user"
	RoleAdmin = "admin"
)

// ValidRole reports whether role is one of the contract's roles.
func ValidRole(role string) bool { return role == RoleUser || role == RoleAdmin }

// Principal is who a verified token speaks for.
type Principal struct {
	UserID    string
	Role      string
	ExpiresAt time.Time
}

// Admin reports whether p holds the admin role.
func (p Principal) Admin() bool { return p.Role == RoleAdmin }

type principalKey struct{}

// NewContext returns ctx carrying p, the verified caller of a request.
func NewContext(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext is the principal ctx carries; ok is false for an anonymous request.
func FromContext(ctx context.Context) (p Principal, ok bool) {
	p, ok = ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Claims are the claims of our tokens.
type Claims struct {
	Role string `json:"role"`
	jwt.RegisteredClaims
}

type key struct {
	id     string
	secret []byte
}

// Keys sign with the current secret and verify with the current or the previous one.
type Keys struct {
	current  key
	previous *key
	now      func() time.Time
	parser   *jwt.Parser
}

// KeyID is the kid of secret: the first 8 bytes of its SHA-256, in hex. It names the key
// without revealing it, so no separate key id needs configuring.
func KeyID(secret []byte) string {
	sum := sha256.Sum256(secret)
	return hex.EncodeToString(sum[:8])
}

// NewKeys returns Keys for current and, if not empty, previous. A secret shorter than
// MinSecret bytes is refused.
func NewKeys(current, previous []byte) (*Keys, error) {
	if len(current) < MinSecret {
		return nil, fmt.Errorf("secret %s has %d bytes, want at least %d", SecretFile, len(current), MinSecret)
	}
	k := &Keys{current: key{KeyID(current), current}, now: time.Now}
	if len(previous) > 0 {
		if len(previous) < MinSecret {
			return nil, fmt.Errorf("secret %s has %d bytes, want at least %d", PreviousSecretFile, len(previous), MinSecret)
		}
		k.previous = &key{KeyID(previous), previous}
	}
	k.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(Issuer),
		jwt.WithAudience(Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(func() time.Time { return k.now() }),
		jwt.WithStrictDecoding(),
	)
	return k, nil
}

// Load reads the secrets of cfg: `jwt-secret` is required; `jwt-secret-previous` is optional
// (absent or empty means no rotation is in progress).
func Load(cfg config.Config) (*Keys, error) {
	cur, err := cfg.Secret(SecretFile)
	if err != nil {
		return nil, err
	}
	prev, err := cfg.Secret(PreviousSecretFile)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		prev = nil
	}
	return NewKeys(cur, prev)
}

// SetClock replaces the clock (tests).
func (k *Keys) SetClock(now func() time.Time) { k.now = now }

// KeyID is the kid of the current secret.
func (k *Keys) KeyID() string { return k.current.id }

// Issue signs a token for user with role, valid for Lifetime from now.
func (k *Keys) Issue(userID, role string) (string, time.Time, error) {
	if _, err := uuid.Parse(userID); err != nil {
		return "", time.Time{}, fmt.Errorf("issue token: user id %q: %w", userID, err)
	}
	if !ValidRole(role) {
		return "", time.Time{}, fmt.Errorf("issue token: unknown role %q", role)
	}
	now := k.now().UTC().Truncate(time.Second)
	exp := now.Add(Lifetime)
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, Claims{
		Role: role,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			Audience:  jwt.ClaimStrings{Audience},
			Subject:   userID,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
	})
	t.Header["kid"] = k.current.id
	s, err := t.SignedString(k.current.secret)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign token: %w", err)
	}
	return s, exp, nil
}

// errInvalid is the one answer to every bad token: which check failed is not the client's
// business (it goes to the debug log through Err).
func errInvalid(err error) error {
	return &apperr.Error{Code: apperr.Unauthenticated, Message: "the access token is invalid or expired", Err: err}
}

// Verify checks s and returns its principal, or an unauthenticated error.
func (k *Keys) Verify(s string) (Principal, error) {
	if s == "" || len(s) > MaxLength {
		return Principal{}, errInvalid(fmt.Errorf("token of %d bytes", len(s)))
	}
	var c Claims
	_, err := k.parser.ParseWithClaims(s, &c, k.secretFor)
	if err != nil {
		return Principal{}, errInvalid(err)
	}
	if c.IssuedAt == nil {
		return Principal{}, errInvalid(errors.New("no iat"))
	}
	if u, err := uuid.Parse(c.Subject); err != nil || u.String() != c.Subject {
		return Principal{}, errInvalid(fmt.Errorf("sub %q is not a user id", c.Subject))
	}
	if !ValidRole(c.Role) {
		return Principal{}, errInvalid(fmt.Errorf("role %q", c.Role))
	}
	return Principal{UserID: c.Subject, Role: c.Role, ExpiresAt: c.ExpiresAt.Time.UTC()}, nil
}

// secretFor picks the secret named by the token's kid; a token without a kid or with an
// unknown one is refused rather than tried against every key.
func (k *Keys) secretFor(t *jwt.Token) (any, error) {
	if t.Method != jwt.SigningMethodHS256 {
		return nil, fmt.Errorf("algorithm %v", t.Header["alg"])
	}
	kid, _ := t.Header["kid"].(string) // a missing or non-string kid is "" and refused below
	switch {
	case kid == k.current.id:
		return k.current.secret, nil
	case k.previous != nil && kid == k.previous.id:
		return k.previous.secret, nil
	}
	return nil, fmt.Errorf("unknown kid %q", kid)
}

// FromHeader extracts the bearer token of an Authorization header value. ok is false when
// the header is absent; a present header that is not "Bearer <token>" gives ok true and an
// error (it is an invalid credential, not an anonymous request).
func FromHeader(h string) (tok string, ok bool, err error) {
	if h == "" {
		return "", false, nil
	}
	scheme, rest, found := strings.Cut(h, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(rest) == "" {
		return "", true, errInvalid(errors.New("authorization header is not a bearer token"))
	}
	return strings.TrimSpace(rest), true, nil
}
