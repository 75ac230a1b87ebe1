// Package apperr is the one error type of the project: a code from the HTTP contract, a message
// meant for people and, where one input is at fault, the field. Driver errors become these
// errors in one place (FromDB), so handlers never look at driver types.
package apperr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
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

// As finds the *Error in err's chain; any other error is internal, except that an error the
// database or the network gave because it could not answer now is unavailable, wherever it was
// wrapped (Wrap, or not an *Error at all), so that such a request answers 503, never 500: a
// statement the database cancelled (its statement timeout, as the read role's 2 s) or a service
// out of reach (Unreachable: Postgres restarting, say).
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) && e.Code != Internal {
		return e
	}
	if u := unavailable(err); u != nil {
		return u
	}
	if e != nil {
		return e
	}
	return &Error{Code: Internal, Message: "internal error", Err: err}
}

// unavailable is the unavailable error of err when the database could not answer it now: a
// statement it cancelled (SQLSTATE 57014, query_canceled: its statement timeout ran out, or
// the request's deadline), or a service out of reach (Unreachable); nil otherwise.
func unavailable(err error) *Error {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "57014" {
		return &Error{Code: Unavailable, Message: "the request took too long; try again", RetryAfter: time.Second, Err: err}
	}
	if Unreachable(err) {
		return &Error{Code: Unavailable, Message: "a service behind this function is not reachable now; try again shortly",
			RetryAfter: UnreachableRetryAfter, Err: err}
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

// UnreachableRetryAfter is the Retry-After of an answer refused because a service (the
// database, mostly) is out of reach: a restart takes a few seconds.
const UnreachableRetryAfter = time.Second

// FromDB turns driver errors into domain errors: no rows → not found (with what, e.g.
// "event 12"), unique violation → conflict, a statement the database cancelled or the database
// out of reach (Unreachable) → unavailable, anything else stays as it is for the caller to wrap.
func FromDB(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return &Error{Code: NotFound, Message: what + " not found", Err: err}
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "23505" { // unique_violation
		return &Error{Code: Conflict, Message: what + " already exists", Err: err}
	}
	if u := unavailable(err); u != nil {
		return u
	}
	return err
}

// Unreachable reports whether err says that the database (or another service reached over
// the network) could not be reached or is going away, rather than that the request or the
// code is wrong: the one place that sorts such driver errors. They are Postgres's connection
// exceptions (SQLSTATE class 08), admin_shutdown (57P01), crash_shutdown (57P02),
// cannot_connect_now (57P03: a server starting or shutting down) and too_many_connections
// (53300); a connection that could not be made (pgconn.ConnectError) or was lost (a network
// error, an unexpected EOF, "conn closed"); and a deadline that ran out while waiting (a pool
// acquiring a connection, say).
func Unreachable(err error) bool {
	if err == nil {
		return false
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case "57P01", "57P02", "57P03", "53300":
			return true
		}
		return strings.HasPrefix(pg.Code, "08")
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, context.DeadlineExceeded)
}
