package writelog

import (
	"context"
	"testing"
	"time"
)

// A write waits at most WaitTimeout, and never past the request's deadline less AnswerMargin.
func TestWaitContext(t *testing.T) {
	tests := []struct {
		name     string
		deadline time.Duration // of the request, from now; 0 for none
		want     time.Duration // from now, or from the call when the request's deadline is far
	}{
		{"NoDeadline", 0, WaitTimeout},
		{"FarDeadline", 5 * WaitTimeout, WaitTimeout},
		{"NearDeadline", 3 * time.Second, 3*time.Second - AnswerMargin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Now()
			ctx := context.Background()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, now.Add(tt.deadline))
				defer cancel()
			}
			before := time.Now()
			wctx, cancel := waitContext(ctx)
			defer cancel()
			after := time.Now()
			got, ok := wctx.Deadline()
			switch {
			case !ok:
				t.Fatal("got no deadline, want one")
			case tt.want == WaitTimeout && (got.Before(before.Add(WaitTimeout)) || got.After(after.Add(WaitTimeout))):
				t.Fatalf("got deadline %v after the call, want %v", got.Sub(before), WaitTimeout)
			case tt.want != WaitTimeout && !got.Equal(now.Add(tt.want)):
				t.Fatalf("got deadline %v after the start, want %v", got.Sub(now), tt.want)
			}
		})
	}
}
