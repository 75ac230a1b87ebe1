// Package apperr is the one error type of the project: a code from the HTTP contract, a message
// meant for people and, where one input is at fault, the field. Driver errors become these
// errors in one place (FromDB), so handlers never look at driver types.
package apperr

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Code is one of the error codes of the HTTP contract.
type Code string

// The codes of the error envelope (shared/apidoc/openapi.yaml, Error).
const (
	InvalidArgument      Code = "invalid_argument"
	Unauthenticated      Code = "unauthenticated"
	Forbidden            Code = "forbidden"
	NotFound             Code = "not_found"
	MethodNotAllowed     Code = "method_not_allowed"
	Conflict             Code = "conflict"
	PayloadTooLarge      Code = "payload_too_large"
	UnsupportedMediaType Code = "unsupported_media_type"
	RateLimited          Code = "rate_limited"
	Internal             Code = "internal"
	Unavailable          Code = "unavailable"
)

var statuses = map[Code]int{
	InvalidArgument:      http.StatusBadRequest,
	Unauthenticated:      http.StatusUnauthorized,
	Forbidden:            http.StatusForbidden,
	NotFound:             http.StatusNotFound,
	MethodNotAllowed:     http.StatusMethodNotAllowed,
	Conflict:             http.StatusConflict,
	PayloadTooLarge:      http.StatusRequestEntityTooLarge,
	UnsupportedMediaType: http.StatusUnsupportedMediaType,
	RateLimited:          http.StatusTooManyRequests,
	Internal:             http.StatusInternalServerError,
	Unavailable:          http.StatusServiceUnavailable,
}

// Status is the HTTP status of a code; an unknown code is 500.
func (c Code) Status() int {
	if s, ok := statuses[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Error is a domain error. Message is shown to clients, so it never carries internal detail;
// Err (optional) is the cause, logged for internal errors and never shown.
type Error struct {
	Code       Code
	Message    string
	Field      string
	RetryAfter time.Duration // for rate_limited and unavailable
	Err        error
}

func (e *Error) Error() string {
	s := string(e.Code) + ": " + e.Message
	if e.Field != "" {
		s += " (" + e.Field + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error with a code and a message for people.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid is an invalid_argument error about one input field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: InvalidArgument, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Wrap marks err as internal: the client sees a generic message, the log sees err.
func Wrap(err error, format string, args ...any) *Error {
	return &Error{Code: Internal, Message: "internal error", Err: fmt.Errorf(format+": %w", append(args, err)...)}
}

// As finds the *Error in err's chain; any other error is internal, except a statement the
// database cancelled (its statement timeout, as the read role's 2 s): that is unavailable
// wherever it surfaces, never a 500.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) && e.Code != Internal {
		return e
	}
	if t := timedOut(err); t != nil {
		return t
	}
	if e != nil {
		return e
	}
	return &Error{Code: Internal, Message: "internal error", Err: err}
}

// timedOut is the unavailable error of a statement the database cancelled (SQLSTATE 57014,
// query_canceled: its statement timeout ran out, or the request's deadline), nil otherwise.
func timedOut(err error) *Error {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "57014" {
		return &Error{Code: Unavailable, Message: "the request took too long; try again", RetryAfter: time.Second, Err: err}
	}
	return nil
}

// CodeOf is the code of err (internal for foreign errors, "" for nil).
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	return As(err).Code
}

// FromDB turns driver errors into domain errors: no rows → not found (with what, e.g.
// "event 12"), unique violation → conflict, anything else stays as it is for the caller to wrap.
func FromDB(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return &Error{Code: NotFound, Message: what + " not found", Err: err}
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case "23505": // unique_violation
			return &Error{Code: Conflict, Message: what + " already exists", Err: err}
		case "57014":
			return timedOut(err)
		}
	}
	return err
}
