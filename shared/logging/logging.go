// Package logging builds the structured JSON logger (log/slog) used by every function and the
// ops CLI, and carries the gateway's call id through the request context so every line of one
// call can be found together.
package logging

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
)

type ctxKey struct{}

// WithCallID returns a context that carries the gateway's X-Call-Id.
func WithCallID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// CallID is the call id carried by ctx, or "".
func CallID(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

type callIDHandler struct{ slog.Handler }

func (h callIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := CallID(ctx); id != "" {
		r.AddAttrs(slog.String("call_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h callIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return callIDHandler{h.Handler.WithAttrs(as)}
}

func (h callIDHandler) WithGroup(name string) slog.Handler {
	return callIDHandler{h.Handler.WithGroup(name)}
}

// New returns a JSON logger writing to w at the level named by LOG_LEVEL (debug, info, warn,
// error; default info), tagged with the component name.
func New(w io.Writer, component string) *slog.Logger {
	var level slog.Level
	switch strings.ToLower(os.Getenv("LOG_LEVEL")) {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})
	return slog.New(callIDHandler{h}).With(slog.String("component", component))
}

// Buffer holds what a logger writes, for a test or a tool that reads it back while goroutines
// may still be logging: a bytes.Buffer behind a mutex.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String is what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
