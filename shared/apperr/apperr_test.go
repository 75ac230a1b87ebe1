package apperr

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

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

// A statement the database cancelled is unavailable however it was wrapped, so a handler that
// marks whatever it did not expect as internal still answers 503, never 500.
func TestTimeoutIsUnavailableWherever(t *testing.T) {
	timeout := &pgconn.PgError{Code: "57014", Message: "canceling statement due to statement timeout"}
	for name, err := range map[string]error{
		"Plain":         fmt.Errorf("load event: %w", timeout),
		"WrappedAsBug":  Wrap(fmt.Errorf("search: %w", timeout), "search"),
		"WrappedTwice":  fmt.Errorf("handler: %w", Wrap(timeout, "vocabulary")),
		"JoinedWithBug": errors.Join(errors.New("rollback"), timeout),
	} {
		t.Run(name, func(t *testing.T) {
			e := As(err)
			if e.Code != Unavailable || e.RetryAfter <= 0 || e.Code.Status() != http.StatusServiceUnavailable {
				t.Fatalf("got %q with Retry-After %v, want unavailable with a Retry-After", e.Code, e.RetryAfter)
			}
		})
	}
	if got := CodeOf(Wrap(&pgconn.PgError{Code: "42P01"}, "x")); got != Internal {
		t.Fatalf("got %q for another database error, want internal", got)
	}
}
