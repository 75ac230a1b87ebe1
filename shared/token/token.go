// Package token issues and verifies the access tokens of the HTTP contract
// (shared/apidoc/openapi.yaml, securitySchemes.bearer): JWTs signed with EdDSA (Ed25519), with
// the claims iss "dostupno", aud "dostupno-api", sub (the user id), iat, exp, role and tv (the
// user's token version). Only the issuers (register, login, the ops CLI) hold the private key
// (secret `jwt-private-key`); every function verifies with the public keys (secret
// `jwt-public-key`, one or more PEM blocks), so a function that only verifies cannot mint a
// token. The header's kid names the public key (its RFC 7638 thumbprint); during a rotation
// `jwt-public-key` holds the new and the previous key. Verification follows RFC 8725: one
// algorithm only, every registered claim required, a small leeway.
package token

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
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
	// MaxLength is the longest token string looked at; ours are about 400 bytes.
	MaxLength = 4096

	// PrivateKeyFile and PublicKeyFile are the OpenFaaS secret names: the issuers' signing
	// key (PEM PKCS #8, or the 32-byte seed in base64 or hex) and the public keys every
	// function verifies with (PEM "PUBLIC KEY" blocks, or one key's 32 bytes in base64 or hex).
	PrivateKeyFile = "jwt-private-key"
	PublicKeyFile  = "jwt-public-key"
)

// Roles of a user.
const (
	RoleUser  = "user"
	RoleAdmin = "admin"
	// RoleTicketing is an integration account of the ticketing side: it may write seat
	// availability and nothing else an admin may.
	RoleTicketing = "ticketing"
)

// ValidRole reports whether role is one of the contract's roles.
func ValidRole(role string) bool {
	return role == RoleUser || role == RoleAdmin || role == RoleTicketing
}

// Principal is who a verified token speaks for.
type Principal struct {
	UserID string
	Role   string
	// TokenVersion is the user's token version when the token was issued: an admin write
	// checks it against the user's current one (a password or role change bumps it).
	TokenVersion int64
	ExpiresAt    time.Time
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
	Role         string `json:"role"`
	TokenVersion *int64 `json:"tv"`
	jwt.RegisteredClaims
}

// Keys sign with the private key (issuers only) and verify with the public keys, chosen by kid.
type Keys struct {
	signer   ed25519.PrivateKey // nil: this instance only verifies
	signerID string
	public   map[string]ed25519.PublicKey // kid -> key
	now      func() time.Time
	parser   *jwt.Parser
}

// KeyID is the kid of pub: its JWK thumbprint (RFC 7638: SHA-256 of the canonical
// {"crv","kty","x"} members, base64url). It names the key without configuring anything.
func KeyID(pub ed25519.PublicKey) string {
	jwk := `{"crv":"Ed25519","kty":"OKP","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`
	sum := sha256.Sum256([]byte(jwk))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// NewKeys returns Keys that verify with public (at least one key, unless private is given)
// and, when private is not nil, also with private's public key and issue with private.
func NewKeys(private ed25519.PrivateKey, public ...ed25519.PublicKey) (*Keys, error) {
	k := &Keys{public: map[string]ed25519.PublicKey{}, now: time.Now}
	for _, p := range public {
		if len(p) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("an Ed25519 public key has %d bytes, want %d", len(p), ed25519.PublicKeySize)
		}
		k.public[KeyID(p)] = p
	}
	if private != nil {
		if len(private) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("an Ed25519 private key has %d bytes, want %d", len(private), ed25519.PrivateKeySize)
		}
		pub := private.Public().(ed25519.PublicKey)
		k.signer, k.signerID = private, KeyID(pub)
		k.public[k.signerID] = pub
	}
	if len(k.public) == 0 {
		return nil, errors.New("no key to verify tokens with")
	}
	k.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
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

// Load reads the keys of cfg's secrets: `jwt-public-key` (required unless `jwt-private-key`
// is there) and `jwt-private-key` (issuers only). An issuer whose public key is not among
// those of `jwt-public-key`, when that file exists, is refused: every other function would
// refuse its tokens.
func Load(cfg config.Config) (*Keys, error) {
	var private ed25519.PrivateKey
	b, err := cfg.Secret(PrivateKeyFile)
	switch {
	case err == nil:
		if private, err = ParsePrivateKey(b); err != nil {
			return nil, fmt.Errorf("secret %s: %w", PrivateKeyFile, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, err
	}
	var public []ed25519.PublicKey
	b, err = cfg.Secret(PublicKeyFile)
	switch {
	case err == nil:
		if public, err = ParsePublicKeys(b); err != nil {
			return nil, fmt.Errorf("secret %s: %w", PublicKeyFile, err)
		}
	case private == nil || !errors.Is(err, os.ErrNotExist):
		return nil, err
	}
	k, err := NewKeys(private, public...)
	if err != nil {
		return nil, err
	}
	if private != nil && public != nil && !containsKey(public, k.signerID) {
		return nil, fmt.Errorf("the public key of %s (kid %s) is not in %s: the other functions would refuse its tokens", PrivateKeyFile, k.signerID, PublicKeyFile)
	}
	return k, nil
}

func containsKey(keys []ed25519.PublicKey, kid string) bool {
	for _, p := range keys {
		if KeyID(p) == kid {
			return true
		}
	}
	return false
}

// ParsePrivateKey reads an Ed25519 private key: PEM (PKCS #8, as `openssl genpkey -algorithm
// ed25519` writes it), or the 32-byte seed in base64 or hex.
func ParsePrivateKey(b []byte) (ed25519.PrivateKey, error) {
	b = bytes.TrimSpace(b)
	if block, _ := pem.Decode(b); block != nil {
		key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("read PEM private key: %w", err)
		}
		k, ok := key.(ed25519.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("the PEM private key is a %T, want Ed25519", key)
		}
		return k, nil
	}
	seed, ok := raw32(string(b))
	if !ok {
		return nil, errors.New("want a PEM private key or a 32-byte Ed25519 seed in base64 or hex")
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// ParsePublicKeys reads one or more Ed25519 public keys: PEM "PUBLIC KEY" blocks (as `openssl
// pkey -pubout` writes them), or one key's 32 bytes in base64 or hex.
func ParsePublicKeys(b []byte) ([]ed25519.PublicKey, error) {
	b = bytes.TrimSpace(b)
	var out []ed25519.PublicKey
	for rest := b; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			if len(bytes.TrimSpace(rest)) > 0 && out != nil {
				return nil, errors.New("text after the last PEM block")
			}
			break
		}
		key, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("read PEM public key %d: %w", len(out)+1, err)
		}
		k, ok := key.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("PEM public key %d is a %T, want Ed25519", len(out)+1, key)
		}
		out = append(out, k)
	}
	if out != nil {
		return out, nil
	}
	k, ok := raw32(string(b))
	if !ok {
		return nil, errors.New("want PEM public keys or one 32-byte Ed25519 key in base64 or hex")
	}
	return []ed25519.PublicKey{k}, nil
}

// raw32 decodes 32 bytes written in hex or base64 (standard or URL alphabet, padded or not).
func raw32(s string) ([]byte, bool) {
	for _, dec := range []func(string) ([]byte, error){hex.DecodeString, base64.StdEncoding.DecodeString,
		base64.RawStdEncoding.DecodeString, base64.URLEncoding.DecodeString, base64.RawURLEncoding.DecodeString} {
		if b, err := dec(s); err == nil && len(b) == 32 {
			return b, true
		}
	}
	return nil, false
}

// GenerateKeyPair makes a new key pair in the files' formats: the private key as PEM PKCS #8
// and the public key as a PEM "PUBLIC KEY" block.
func GenerateKeyPair() (privatePEM, publicPEM []byte, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate an Ed25519 key: %w", err)
	}
	return EncodeKeyPair(priv, pub)
}

// EncodeKeyPair writes priv and pub in the files' formats (see GenerateKeyPair).
func EncodeKeyPair(priv ed25519.PrivateKey, pub ed25519.PublicKey) (privatePEM, publicPEM []byte, err error) {
	p8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, fmt.Errorf("encode the private key: %w", err)
	}
	pk, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, nil, fmt.Errorf("encode the public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pk}), nil
}

// SetClock replaces the clock (tests).
func (k *Keys) SetClock(now func() time.Time) { k.now = now }

// CanIssue reports whether k holds the private key.
func (k *Keys) CanIssue() bool { return k.signer != nil }

// KeyID is the kid of the signing key ("" for verify-only keys).
func (k *Keys) KeyID() string { return k.signerID }

// Issue signs a token for user with role and the user's token version, valid for Lifetime
// from now. Keys without the private key cannot issue.
func (k *Keys) Issue(userID, role string, tokenVersion int64) (string, time.Time, error) {
	if k.signer == nil {
		return "", time.Time{}, fmt.Errorf("issue token: no %s: this function only verifies tokens", PrivateKeyFile)
	}
	if _, err := uuid.Parse(userID); err != nil {
		return "", time.Time{}, fmt.Errorf("issue token: user id %q: %w", userID, err)
	}
	if !ValidRole(role) {
		return "", time.Time{}, fmt.Errorf("issue token: unknown role %q", role)
	}
	now := k.now().UTC().Truncate(time.Second)
	exp := now.Add(Lifetime)
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, Claims{
		Role:         role,
		TokenVersion: &tokenVersion,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			Audience:  jwt.ClaimStrings{Audience},
			Subject:   userID,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
	})
	t.Header["kid"] = k.signerID
	s, err := t.SignedString(k.signer)
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
	_, err := k.parser.ParseWithClaims(s, &c, k.keyFor)
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
	if c.TokenVersion == nil || *c.TokenVersion < 0 {
		return Principal{}, errInvalid(errors.New("no token version"))
	}
	return Principal{UserID: c.Subject, Role: c.Role, TokenVersion: *c.TokenVersion, ExpiresAt: c.ExpiresAt.Time.UTC()}, nil
}

// keyFor picks the public key named by the token's kid; a token without a kid or with an
// unknown one is refused rather than tried against every key, and so is any algorithm but
// EdDSA (an HMAC token "signed" with a public key as its secret never reaches a key).
func (k *Keys) keyFor(t *jwt.Token) (any, error) {
	if _, ok := t.Method.(*jwt.SigningMethodEd25519); !ok {
		return nil, fmt.Errorf("algorithm %v", t.Header["alg"])
	}
	kid, _ := t.Header["kid"].(string) // a missing or non-string kid is "" and refused below
	if pub, ok := k.public[kid]; ok {
		return pub, nil
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
