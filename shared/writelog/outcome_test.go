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
		{"FailedForItsDataIsInvalid", Outcome{Status: Failed, Code: apperr.InvalidArgument, Message: "SQLSTATE 22021"}, apperr.InvalidArgument},
		{"FailedOtherwiseIsInternal", Outcome{Status: Failed, Code: apperr.Internal, Message: "broken"}, apperr.Internal},
		{"FailedWithoutCodeIsInternal", Outcome{Status: Failed}, apperr.Internal},
		{"ErasedIsNotFound", Outcome{Status: Erased, Message: ErasedMessage}, apperr.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := apperr.CodeOf(tt.o.Err()); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}
