// Package account holds users: the rules of a registration (email, name, password, needs),
// argon2id password hashes, the write-log commands that create and change users and how a
// copy applies them, login with throttling, and the user's saved needs for personalised search.
package account

import (
	"net/mail"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/catalog"
)

// Field limits.
const (
	MaxEmail = 254 // RFC 5321 path limit
	MaxName  = 100
)

// User is a user as the contract shows it.
type User struct {
	ID    string   `json:"id"`
	Email string   `json:"email"`
	Name  string   `json:"name"`
	Needs []string `json:"needs"`
	Role  string   `json:"role"`
	// TokenVersion is the user's token version (users.token_version), carried by the
	// tokens issued to the user; not part of the answers.
	TokenVersion int64 `json:"-"`
}

// Registration is the body of POST /function/register.
type Registration struct {
	Email    string   `json:"email"`
	Password string   `json:"password"`
	Name     string   `json:"name"`
	Needs    []string `json:"needs"`
}

// EmailKey is the form emails are compared in: trimmed and lower-cased.
func EmailKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// CheckEmail trims email and checks it is one plain address (local@domain, no display name,
// no comments), at most 254 bytes.
func CheckEmail(email string) (string, error) {
	email = strings.TrimSpace(email)
	switch {
	case email == "":
		return "", apperr.Invalid("email", "email is required")
	case len(email) > MaxEmail:
		return "", apperr.Invalid("email", "email must have at most %d bytes", MaxEmail)
	case !utf8.ValidString(email) || strings.IndexFunc(email, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return "", apperr.Invalid("email", "email must not contain spaces or control characters")
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Name != "" || a.Address != email {
		return "", apperr.Invalid("email", "email must be an address such as name@example.com")
	}
	at := strings.LastIndexByte(email, '@')
	domain := email[at+1:]
	if at < 1 || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.HasPrefix(domain, "[") {
		return "", apperr.Invalid("email", "email must be an address such as name@example.com")
	}
	return email, nil
}

// CheckName trims name and checks it has 1..100 characters and no control characters.
func CheckName(name string) (string, error) {
	name = strings.TrimSpace(name)
	n := utf8.RuneCountInString(name)
	switch {
	case !utf8.ValidString(name):
		return "", apperr.Invalid("name", "name must be valid UTF-8 text")
	case n == 0:
		return "", apperr.Invalid("name", "name is required")
	case n > MaxName:
		return "", apperr.Invalid("name", "name must have at most %d characters", MaxName)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "", apperr.Invalid("name", "name must not contain control characters")
	}
	return name, nil
}

// CheckNeeds checks every code is a constraint of vocab and returns them without repeats in
// catalog order (never nil).
func CheckNeeds(needs []string, vocab *catalog.Vocabulary) ([]string, error) {
	out := []string{}
	for _, c := range vocab.Constraints {
		if slices.Contains(needs, c.Code) {
			out = append(out, c.Code)
		}
	}
	for _, n := range needs {
		if _, ok := vocab.Constraint(n); !ok {
			return nil, apperr.Invalid("needs", "unknown constraint code %q; see GET /function/search-events/constraints", n)
		}
	}
	return out, nil
}

// Check validates and normalises r (email and name trimmed, needs in catalog order). The
// password is checked as given: it is never trimmed.
func (r *Registration) Check(vocab *catalog.Vocabulary) error {
	var err error
	if r.Email, err = CheckEmail(r.Email); err != nil {
		return err
	}
	if err = CheckPassword(r.Password); err != nil {
		return err
	}
	if r.Name, err = CheckName(r.Name); err != nil {
		return err
	}
	r.Needs, err = CheckNeeds(r.Needs, vocab)
	return err
}
