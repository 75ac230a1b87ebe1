// Package setup builds an account.Service from a function instance's dependencies: the
// token keys (at start, so a missing or short secret stops the function), then on first use
// the write log, the copy's applier with every command kind, the throttle bucket and the
// vocabulary, rebuilt after a failure so that a function outlives a restart of NATS or
// Postgres.
package setup

import (
	"context"
	"sync"
	"time"

	"github.com/dostupno/dostupno/shared/account"
	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/commands"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/middleware"
	"github.com/dostupno/dostupno/shared/throttle"
)

// Lazy builds the service once, on first use.
type Lazy struct {
	d   *instance.Deps
	mu  sync.Mutex
	svc *account.Service
}

// New checks d's configuration (DATABASE_URL, NATS_URL, the jwt-secret) and returns a Lazy.
func New(d *instance.Deps) (*Lazy, error) {
	if err := d.Config.Require("DATABASE_URL", "NATS_URL"); err != nil {
		return nil, err
	}
	if _, err := middleware.Keys(d.Config); err != nil {
		return nil, err
	}
	return &Lazy{d: d}, nil
}

// Service returns the service, building it if need be; a failure is unavailable.
func (l *Lazy) Service(ctx context.Context) (*account.Service, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.svc != nil {
		return l.svc, nil
	}
	svc, err := Build(ctx, l.d)
	if err != nil {
		return nil, &apperr.Error{Code: apperr.Unavailable, Message: "the service cannot reach its database or message broker; try again later", RetryAfter: 5 * time.Second, Err: err}
	}
	l.svc = svc
	return svc, nil
}

// Build builds the service of d now.
func Build(ctx context.Context, d *instance.Deps) (*account.Service, error) {
	keys, err := middleware.Keys(d.Config)
	if err != nil {
		return nil, err
	}
	wr, err := commands.OpenFor(ctx, d)
	if err != nil {
		return nil, err
	}
	js, err := d.JetStream()
	if err != nil {
		return nil, err
	}
	th, err := throttle.Open(ctx, js, d.Config.Namespace)
	if err != nil {
		return nil, err
	}
	return &account.Service{
		DB: wr.Pool, Vocab: wr.Vocab, Keys: keys, Log: wr.Log, Throttle: th, Logger: d.Log,
		Replica: wr.Replica,
	}, nil
}
