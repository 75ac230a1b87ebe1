//go:build !linux

package searchbench

import (
	"context"
	"errors"
	"time"
)

// askLoop needs Linux's epoll: the concurrent run is measured on the deployment's system.
func askLoop(context.Context, string, [][]byte, func(int) string, func() int, int, time.Duration, time.Time, time.Time, time.Time, func(int, time.Duration), *lateness) error {
	return errors.New("the concurrent run needs Linux (epoll)")
}
