package writelog

import (
	"testing"

	"github.com/dostupno/dostupno/shared/apperr"
)

func TestOutcomeErr(t *testing.T) {
	tests := []struct {
		name string
		o    Outcome
		want apperr.Code
	}{
		{"OKApplied", Outcome{Status: Applied}, ""},
		{"RejectedKeepsItsCode", Outcome{Status: Rejected, Code: apperr.Conflict, Message: "email taken"}, apperr.Conflict},
		{"RejectedWithoutCodeIsInternal", Outcome{Status: Rejected}, apperr.Internal},
		{"FailedIsInternal", Outcome{Status: Failed, Code: apperr.InvalidArgument, Message: "unknown kind"}, apperr.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := apperr.CodeOf(tt.o.Err()); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}
