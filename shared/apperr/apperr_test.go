package apperr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

func TestFromDB(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Code
	}{
		{"NoRowsIsNotFound", fmt.Errorf("load: %w", pgx.ErrNoRows), NotFound},
		{"UniqueIsConflict", &pgconn.PgError{Code: "23505", Message: "duplicate key"}, Conflict},
		{"CanceledIsUnavailable", &pgconn.PgError{Code: "57014"}, Unavailable},
		{"OtherStaysInternal", &pgconn.PgError{Code: "42P01"}, Internal},
		{"AdminShutdownIsUnavailable", fmt.Errorf("search: %w", &pgconn.PgError{Code: "57P01"}), Unavailable},
		{"CannotConnectNowIsUnavailable", &pgconn.PgError{Code: "57P03"}, Unavailable},
		{"ConnectionExceptionIsUnavailable", &pgconn.PgError{Code: "08006"}, Unavailable},
		{"TooManyConnectionsIsUnavailable", &pgconn.PgError{Code: "53300"}, Unavailable},
		{"RefusedIsUnavailable", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, Unavailable},
		{"LostIsUnavailable", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), Unavailable},
		{"AcquireTimeoutIsUnavailable", fmt.Errorf("acquire: %w", context.DeadlineExceeded), Unavailable},
		{"PlainIsInternal", errors.New("boom"), Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CodeOf(FromDB(tt.err, "event 1")); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
	if FromDB(nil, "x") != nil {
		t.Fatal("got an error for nil, want nil")
	}
}

func TestStatus(t *testing.T) {
	for code, want := range map[Code]int{
		InvalidArgument: 400, Unauthenticated: 401, Forbidden: 403, NotFound: 404,
		MethodNotAllowed: 405, Conflict: 409, PayloadTooLarge: 413, UnsupportedMediaType: 415,
		RateLimited: 429, Internal: 500, Unavailable: 503, Code("nonsense"): http.StatusInternalServerError,
	} {
		if got := code.Status(); got != want {
			t.Errorf("%s: got %d, want %d", code, got, want)
		}
	}
}

func TestWrapHidesCause(t *testing.T) {
	e := As(Wrap(errors.New("password=secret"), "connect"))
	if e.Code != Internal || e.Message != "internal error" {
		t.Fatalf("got %q %q, want internal with a generic message", e.Code, e.Message)
	}
	if !errors.Is(e, e.Err) || e.Err.Error() != "connect: password=secret" {
		t.Fatalf("got cause %v, want the wrapped one", e.Err)
	}
}

// A statement the database cancelled (its statement timeout), a connection refused by a
// Postgres that is down, a pool that could not get a connection in time, or a session ended by
// a shutdown: wherever the error was wrapped (Wrap, or not an *Error at all), so that a handler
// that marks whatever it did not expect as internal still answers 503 with a Retry-After,
// never 500.
func TestUnavailableWherever(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	_, connErr := pgconn.Connect(ctx, "postgres://postgres@"+addr+"/x?sslmode=disable&connect_timeout=1")
	if connErr == nil {
		t.Fatal("got a connection to a closed port")
	}
	timeout := &pgconn.PgError{Code: "57014", Message: "canceling statement due to statement timeout"}
	for name, err := range map[string]error{
		"Timeout":              fmt.Errorf("load event: %w", timeout),
		"TimeoutWrappedAsBug":  Wrap(fmt.Errorf("search: %w", timeout), "search"),
		"TimeoutWrappedTwice":  fmt.Errorf("handler: %w", Wrap(timeout, "vocabulary")),
		"TimeoutJoinedWithBug": errors.Join(errors.New("rollback"), timeout),
		"Connect":              connErr,
		"ConnectWrapped":       Wrap(connErr, "search: vocabulary"),
		"Shutdown":             fmt.Errorf("search: %w", &pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}),
		"StartingWrappedTwice": fmt.Errorf("get-event: %w", Wrap(&pgconn.PgError{Code: "57P03"}, "load")),
	} {
		t.Run(name, func(t *testing.T) {
			e := As(err)
			if e.Code != Unavailable || e.RetryAfter <= 0 || e.Code.Status() != http.StatusServiceUnavailable || !errors.Is(e, e.Err) {
				t.Fatalf("got %q (retry after %v), want unavailable with a Retry-After and the cause kept", e.Code, e.RetryAfter)
			}
		})
	}
	if e := As(Wrap(&pgconn.PgError{Code: "42P01"}, "search")); e.Code != Internal {
		t.Fatalf("got %q for a missing table, want internal", e.Code)
	}
	if e := As(&Error{Code: NotFound, Err: io.EOF}); e.Code != NotFound {
		t.Fatalf("got %q, want a domain error kept as it is", e.Code)
	}
}
