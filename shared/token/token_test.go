package token

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/config"
)

var userID = "3f1c0b9e-8d4a-4b7e-9a2f-0c1d2e3f4a5b"

// pair is a key pair made from a fixed seed byte, so failures are reproducible.
func pair(b byte) (ed25519.PrivateKey, ed25519.PublicKey) {
	priv := ed25519.NewKeyFromSeed([]byte(strings.Repeat(string(rune(b)), 32)))
	return priv, priv.Public().(ed25519.PublicKey)
}

func mustKeys(t *testing.T, priv ed25519.PrivateKey, pub ...ed25519.PublicKey) *Keys {
	t.Helper()
	k, err := NewKeys(priv, pub...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// issued is a token k issues for userID with role and token version tv, and its expiry.
func issued(t *testing.T, k *Keys, role string, tv int64) (string, time.Time) {
	t.Helper()
	s, exp, err := k.Issue(userID, role, tv)
	if err != nil {
		t.Fatal(err)
	}
	return s, exp
}

// sign builds a token by hand, for the cases Issue never produces.
func sign(t *testing.T, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func claims(now time.Time, over map[string]any) jwt.MapClaims {
	c := jwt.MapClaims{"iss": Issuer, "aud": Audience, "sub": userID, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "role": "user", "tv": 0}
	for k, v := range over {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func TestIssueVerify(t *testing.T) {
	priv, pub := pair('a')
	issuer := mustKeys(t, priv)
	s, exp := issued(t, issuer, RoleAdmin, 7)
	verifier := mustKeys(t, nil, pub)
	p, err := verifier.Verify(s)
	if err != nil {
		t.Fatal(err)
	}
	if p.UserID != userID || p.Role != RoleAdmin || p.TokenVersion != 7 || !p.ExpiresAt.Equal(exp) || !p.Admin() {
		t.Fatalf("got %+v, want user %s admin, token version 7, until %v", p, userID, exp)
	}
	if d := time.Until(exp); d < Lifetime-time.Minute || d > Lifetime {
		t.Fatalf("got lifetime %v, want about %v", d, Lifetime)
	}
	if _, _, err := issuer.Issue("not-a-uuid", RoleUser, 0); err == nil {
		t.Fatal("got a token for a non-uuid user, want an error")
	}
	if _, _, err := issuer.Issue(userID, "root", 0); err == nil {
		t.Fatal("got a token for role root, want an error")
	}
	if verifier.CanIssue() {
		t.Fatal("got a verifier that can issue, want verify only")
	}
	if _, _, err := verifier.Issue(userID, RoleAdmin, 0); err == nil {
		t.Fatal("got a token from public keys only, want an error")
	}
}

func TestVerifyRefuses(t *testing.T) {
	now := time.Now()
	priv, pub := pair('a')
	otherPriv, _ := pair('b')
	k := mustKeys(t, nil, pub)
	kid := KeyID(pub)
	pubPEM := func() []byte {
		_, b, err := EncodeKeyPair(priv, pub)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}()
	none := func() string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims(now, map[string]any{"role": "admin"})).SignedString(jwt.UnsafeAllowNoneSignatureType)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}()
	good := sign(t, jwt.SigningMethodEdDSA, priv, kid, claims(now, nil))
	if _, err := k.Verify(good); err != nil {
		t.Fatalf("got %v for a well-made token, want it accepted", err)
	}
	parts := strings.Split(good, ".")
	// The same header and signature with the payload edited to role admin.
	forgedPayload := base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"dostupno","aud":"dostupno-api","sub":"` + userID + `","iat":` + itoa(now.Unix()) + `,"exp":` + itoa(now.Add(time.Hour).Unix()) + `,"role":"admin","tv":0}`))
	admin := claims(now, map[string]any{"role": "admin"})
	tests := []struct {
		name string
		tok  string
	}{
		{"ErrAlgNone", none},
		{"ErrAlgNoneWithKid", func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodNone, admin)
			tok.Header["kid"] = kid
			s, _ := tok.SignedString(jwt.UnsafeAllowNoneSignatureType) // cannot fail for none
			return s
		}()},
		// Algorithm confusion: HMAC keyed with what every function holds, the public key.
		{"ErrHS256WithPublicKeyPEM", sign(t, jwt.SigningMethodHS256, pubPEM, kid, admin)},
		{"ErrHS256WithPublicKeyBytes", sign(t, jwt.SigningMethodHS256, []byte(pub), kid, admin)},
		{"ErrHS256WithPublicKeyHex", sign(t, jwt.SigningMethodHS256, []byte(hex.EncodeToString(pub)), kid, admin)},
		{"ErrOtherKeyAdmin", sign(t, jwt.SigningMethodEdDSA, otherPriv, kid, admin)},
		{"ErrOtherKeyOwnKid", sign(t, jwt.SigningMethodEdDSA, otherPriv, KeyID(otherPriv.Public().(ed25519.PublicKey)), admin)},
		{"ErrEditedPayload", parts[0] + "." + forgedPayload + "." + parts[2]},
		{"ErrExpired", sign(t, jwt.SigningMethodEdDSA, priv, kid, claims(now, map[string]any{"exp": now.Add(-time.Minute).Unix()}))},
		{"ErrNoExp", sign(t, jwt.SigningMethodEdDSA, priv, kid, claims(now, map[string]any{"exp": nil}))},
		{"ErrNoIat", sign(t, jwt.SigningMethodEdDSA, priv, kid, claims(now, map[string]any{"iat": nil}))},
		{"ErrIatFuture", sign(t, jwt.SigningMethodEdDSA, priv, kid, claims(now, map[string]any{"iat": now.Add(time.Hour).Unix()}))},
		{"ErrWrongIssuer", sign(t, jwt.SigningMethodEdDSA, priv, kid, claims(now, map[string]any{"iss": "evil"}))},
		{"ErrWrongAudience", sign(t, jwt.SigningMethodEdDSA, priv, kid, claims(now, map[string]any{"aud": "other"}))},
		{"ErrNoSubject", sign(t, jwt.SigningMethodEdDSA, priv, kid, claims(now, map[string]any{"sub": nil}))},
		{"ErrSubjectNotUUID", sign(t, jwt.SigningMethodEdDSA, priv, kid, claims(now, map[string]any{"sub": "admin"}))},
		{"ErrUnknownRole", sign(t, jwt.SigningMethodEdDSA, priv, kid, claims(now, map[string]any{"role": "root"}))},
		{"ErrNoTokenVersion", sign(t, jwt.SigningMethodEdDSA, priv, kid, claims(now, map[string]any{"tv": nil}))},
		{"ErrNegativeTokenVersion", sign(t, jwt.SigningMethodEdDSA, priv, kid, claims(now, map[string]any{"tv": -1}))},
		{"ErrNoKid", sign(t, jwt.SigningMethodEdDSA, priv, "", claims(now, nil))},
		{"ErrUnknownKid", sign(t, jwt.SigningMethodEdDSA, priv, "0011223344556677", claims(now, nil))},
		{"ErrGarbage", "garbage"},
		{"ErrThreeDots", "a.b.c"},
		{"ErrEmpty", ""},
		{"ErrHuge", strings.Repeat("a", MaxLength+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := k.Verify(tt.tok)
			if apperr.CodeOf(err) != apperr.Unauthenticated {
				t.Fatalf("got %+v, %v; want unauthenticated", p, err)
			}
			if msg := apperr.As(err).Message; msg != "the access token is invalid or expired" {
				t.Fatalf("got message %q, want the one generic message", msg)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestLeeway(t *testing.T) {
	priv, _ := pair('a')
	k := mustKeys(t, priv)
	s, exp := issued(t, k, RoleUser, 0)
	for _, tt := range []struct {
		name string
		at   time.Time
		ok   bool
	}{
		{"OKWithinLeeway", exp.Add(Leeway - time.Second), true},
		{"ErrPastLeeway", exp.Add(Leeway + time.Second), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			k.SetClock(func() time.Time { return tt.at })
			_, err := k.Verify(s)
			if (err == nil) != tt.ok {
				t.Fatalf("at exp%+v: got %v, want ok=%v", tt.at.Sub(exp), err, tt.ok)
			}
		})
	}
}

// A rotation: the verifiers first accept the new public key beside the old one, then the
// issuers switch to the new private key, and the old key is dropped a token lifetime later.
func TestRotation(t *testing.T) {
	oldPriv, oldPub := pair('a')
	newPriv, newPub := pair('b')
	oldTok, _ := issued(t, mustKeys(t, oldPriv), RoleUser, 0)
	rotating := mustKeys(t, nil, newPub, oldPub)
	if _, err := rotating.Verify(oldTok); err != nil {
		t.Fatalf("got %v for a token of the previous key, want it accepted", err)
	}
	newTok, _ := issued(t, mustKeys(t, newPriv, newPub, oldPub), RoleUser, 0)
	if h := decode(t, strings.Split(newTok, ".")[0]); !strings.Contains(h, `"kid":"`+KeyID(newPub)+`"`) || !strings.Contains(h, `"alg":"EdDSA"`) {
		t.Fatalf("got header %s, want alg EdDSA and kid %s", h, KeyID(newPub))
	}
	if _, err := rotating.Verify(newTok); err != nil {
		t.Fatalf("got %v for a token of the new key, want it accepted", err)
	}
	done := mustKeys(t, nil, newPub)
	if _, err := done.Verify(oldTok); apperr.CodeOf(err) != apperr.Unauthenticated {
		t.Fatalf("got %v for a token of a retired key, want unauthenticated", err)
	}
}

// The kid is the RFC 7638 thumbprint: the example key of RFC 8037, appendix A.3.
func TestKeyIDIsTheJWKThumbprint(t *testing.T) {
	x, err := base64.RawURLEncoding.DecodeString("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := KeyID(x), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"; got != want {
		t.Fatalf("got kid %s, want %s", got, want)
	}
}

func decode(t *testing.T, s string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLoad(t *testing.T) {
	priv, pub := pair('a')
	_, otherPub := pair('b')
	privPEM, pubPEM, err := EncodeKeyPair(priv, pub)
	if err != nil {
		t.Fatal(err)
	}
	_, otherPEM, err := EncodeKeyPair(priv, otherPub)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	ecPub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: ecDER})
	seed := priv.Seed()
	write := func(t *testing.T, files map[string]string) config.Config {
		dir := t.TempDir()
		for n, v := range files {
			if err := os.WriteFile(filepath.Join(dir, n), []byte(v), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return config.Config{SecretsDir: dir}
	}
	tests := []struct {
		name      string
		files     map[string]string
		wantOK    bool
		wantIssue bool
	}{
		{"OKVerifier", map[string]string{PublicKeyFile: string(pubPEM)}, true, false},
		{"OKVerifierRotating", map[string]string{PublicKeyFile: string(otherPEM) + string(pubPEM)}, true, false},
		{"OKVerifierRawBase64", map[string]string{PublicKeyFile: base64.StdEncoding.EncodeToString(pub) + "\n"}, true, false},
		{"OKIssuer", map[string]string{PrivateKeyFile: string(privPEM), PublicKeyFile: string(pubPEM)}, true, true},
		{"OKIssuerAlone", map[string]string{PrivateKeyFile: string(privPEM)}, true, true},
		{"OKIssuerSeedHex", map[string]string{PrivateKeyFile: hex.EncodeToString(seed)}, true, true},
		{"OKIssuerSeedBase64", map[string]string{PrivateKeyFile: base64.StdEncoding.EncodeToString(seed)}, true, true},
		{"ErrMissing", map[string]string{}, false, false},
		{"ErrIssuerNotAmongPublic", map[string]string{PrivateKeyFile: string(privPEM), PublicKeyFile: string(otherPEM)}, false, false},
		{"ErrNotAKey", map[string]string{PublicKeyFile: "a 32-byte secret of the old days!"}, false, false},
		{"ErrNotEd25519", map[string]string{PublicKeyFile: string(ecPub)}, false, false},
		{"ErrShortSeed", map[string]string{PrivateKeyFile: hex.EncodeToString(seed[:31])}, false, false},
		{"ErrTrailingText", map[string]string{PublicKeyFile: string(pubPEM) + "junk"}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := Load(write(t, tt.files))
			if (err == nil) != tt.wantOK {
				t.Fatalf("got %v, want ok=%v", err, tt.wantOK)
			}
			if err == nil && k.CanIssue() != tt.wantIssue {
				t.Fatalf("got CanIssue %v, want %v", k.CanIssue(), tt.wantIssue)
			}
		})
	}
}

func TestGenerateKeyPair(t *testing.T) {
	privPEM, pubPEM, err := GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	priv, err := ParsePrivateKey(privPEM)
	if err != nil {
		t.Fatal(err)
	}
	pubs, err := ParsePublicKeys(pubPEM)
	if err != nil || len(pubs) != 1 || !pubs[0].Equal(priv.Public()) {
		t.Fatalf("got %v, %v; want the private key's public key", pubs, err)
	}
	if b, _ := pem.Decode(privPEM); b == nil || b.Type != "PRIVATE KEY" {
		t.Fatalf("got %q, want a PEM PRIVATE KEY", privPEM)
	} else if _, err := x509.ParsePKCS8PrivateKey(b.Bytes); err != nil {
		t.Fatal(err)
	}
}

func TestFromHeader(t *testing.T) {
	tests := []struct {
		name           string
		h, wantTok     string
		wantOK, wantEr bool
	}{
		{"Absent", "", "", false, false},
		{"Bearer", "Bearer abc", "abc", true, false},
		{"BearerAnyCase", "bearer abc", "abc", true, false},
		{"ErrBasic", "Basic dXNlcjpwYXNz", "", true, true},
		{"ErrEmptyBearer", "Bearer ", "", true, true},
		{"ErrNoScheme", "abc", "", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, ok, err := FromHeader(tt.h)
			if tok != tt.wantTok || ok != tt.wantOK || (err != nil) != tt.wantEr {
				t.Fatalf("got %q %v %v, want %q %v err=%v", tok, ok, err, tt.wantTok, tt.wantOK, tt.wantEr)
			}
		})
	}
}
