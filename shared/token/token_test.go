package token

import (
	"encoding/base64"
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

var (
	secretA = []byte(strings.Repeat("a", 32))
	secretB = []byte(strings.Repeat("b", 40))
	userID  = "3f1c0b9e-8d4a-4b7e-9a2f-0c1d2e3f4a5b"
)

func mustKeys(t *testing.T, cur, prev []byte) *Keys {
	t.Helper()
	k, err := NewKeys(cur, prev)
	if err != nil {
		t.Fatal(err)
	}
	return k
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
	c := jwt.MapClaims{"iss": Issuer, "aud": Audience, "sub": userID, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "role": "user"}
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
	k := mustKeys(t, secretA, nil)
	s, exp, err := k.Issue(userID, RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	p, err := k.Verify(s)
	if err != nil {
		t.Fatal(err)
	}
	if p.UserID != userID || p.Role != RoleAdmin || !p.ExpiresAt.Equal(exp) || !p.Admin() {
		t.Fatalf("got %+v, want user %s admin until %v", p, userID, exp)
	}
	if d := time.Until(exp); d < Lifetime-time.Minute || d > Lifetime {
		t.Fatalf("got lifetime %v, want about %v", d, Lifetime)
	}
	if _, _, err := k.Issue("not-a-uuid", RoleUser); err == nil {
		t.Fatal("got a token for a non-uuid user, want an error")
	}
	if _, _, err := k.Issue(userID, "root"); err == nil {
		t.Fatal("got a token for role root, want an error")
	}
}

func TestVerifyRefuses(t *testing.T) {
	now := time.Now()
	k := mustKeys(t, secretA, nil)
	kid := KeyID(secretA)
	none := func() string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims(now, map[string]any{"role": "admin"})).SignedString(jwt.UnsafeAllowNoneSignatureType)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}()
	good := sign(t, jwt.SigningMethodHS256, secretA, kid, claims(now, nil))
	parts := strings.Split(good, ".")
	// The same header and signature with the payload edited to role admin.
	forgedPayload := base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"dostupno","aud":"dostupno-api","sub":"` + userID + `","iat":` + itoa(now.Unix()) + `,"exp":` + itoa(now.Add(time.Hour).Unix()) + `,"role":"admin"}`))
	tests := []struct {
		name string
		tok  string
	}{
		{"ErrAlgNone", none},
		{"ErrAlgNoneWithKid", func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodNone, claims(now, map[string]any{"role": "admin"}))
			tok.Header["kid"] = kid
			s, _ := tok.SignedString(jwt.UnsafeAllowNoneSignatureType) // cannot fail for none
			return s
		}()},
		{"ErrOtherSecretAdmin", sign(t, jwt.SigningMethodHS256, secretB, kid, claims(now, map[string]any{"role": "admin"}))},
		{"ErrEditedPayload", parts[0] + "." + forgedPayload + "." + parts[2]},
		{"ErrHS512", sign(t, jwt.SigningMethodHS512, secretA, kid, claims(now, nil))},
		{"ErrExpired", sign(t, jwt.SigningMethodHS256, secretA, kid, claims(now, map[string]any{"exp": now.Add(-time.Minute).Unix()}))},
		{"ErrNoExp", sign(t, jwt.SigningMethodHS256, secretA, kid, claims(now, map[string]any{"exp": nil}))},
		{"ErrNoIat", sign(t, jwt.SigningMethodHS256, secretA, kid, claims(now, map[string]any{"iat": nil}))},
		{"ErrIatFuture", sign(t, jwt.SigningMethodHS256, secretA, kid, claims(now, map[string]any{"iat": now.Add(time.Hour).Unix()}))},
		{"ErrWrongIssuer", sign(t, jwt.SigningMethodHS256, secretA, kid, claims(now, map[string]any{"iss": "evil"}))},
		{"ErrWrongAudience", sign(t, jwt.SigningMethodHS256, secretA, kid, claims(now, map[string]any{"aud": "other"}))},
		{"ErrNoSubject", sign(t, jwt.SigningMethodHS256, secretA, kid, claims(now, map[string]any{"sub": nil}))},
		{"ErrSubjectNotUUID", sign(t, jwt.SigningMethodHS256, secretA, kid, claims(now, map[string]any{"sub": "admin"}))},
		{"ErrUnknownRole", sign(t, jwt.SigningMethodHS256, secretA, kid, claims(now, map[string]any{"role": "root"}))},
		{"ErrNoKid", sign(t, jwt.SigningMethodHS256, secretA, "", claims(now, nil))},
		{"ErrUnknownKid", sign(t, jwt.SigningMethodHS256, secretA, "0011223344556677", claims(now, nil))},
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
	k := mustKeys(t, secretA, nil)
	s, exp, err := k.Issue(userID, RoleUser)
	if err != nil {
		t.Fatal(err)
	}
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

func TestRotation(t *testing.T) {
	old := mustKeys(t, secretA, nil)
	oldTok, _, err := old.Issue(userID, RoleUser)
	if err != nil {
		t.Fatal(err)
	}
	rotated := mustKeys(t, secretB, secretA)
	if _, err := rotated.Verify(oldTok); err != nil {
		t.Fatalf("got %v for a token of the previous secret, want it accepted", err)
	}
	newTok, _, err := rotated.Issue(userID, RoleUser)
	if err != nil {
		t.Fatal(err)
	}
	if h := strings.Split(newTok, ".")[0]; !strings.Contains(decode(t, h), KeyID(secretB)) {
		t.Fatalf("got header %s, want kid %s", decode(t, h), KeyID(secretB))
	}
	done := mustKeys(t, secretB, nil)
	if _, err := done.Verify(oldTok); apperr.CodeOf(err) != apperr.Unauthenticated {
		t.Fatalf("got %v for a token of a retired secret, want unauthenticated", err)
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
		name   string
		files  map[string]string
		wantOK bool
	}{
		{"OK", map[string]string{SecretFile: string(secretA) + "\n"}, true},
		{"OKWithPrevious", map[string]string{SecretFile: string(secretA), PreviousSecretFile: string(secretB)}, true},
		{"OKEmptyPrevious", map[string]string{SecretFile: string(secretA), PreviousSecretFile: "\n"}, true},
		{"ErrMissing", map[string]string{}, false},
		{"ErrShort", map[string]string{SecretFile: strings.Repeat("x", 31)}, false},
		{"ErrShortPrevious", map[string]string{SecretFile: string(secretA), PreviousSecretFile: "short"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(write(t, tt.files))
			if (err == nil) != tt.wantOK {
				t.Fatalf("got %v, want ok=%v", err, tt.wantOK)
			}
		})
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
