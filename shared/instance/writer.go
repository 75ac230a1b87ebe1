package instance

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/dostupno/dostupno/shared/account"
	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/commands"
	"github.com/dostupno/dostupno/shared/throttle"
	"github.com/dostupno/dostupno/shared/token"
	"github.com/dostupno/dostupno/shared/userkeys"
	"github.com/dostupno/dostupno/shared/writelog"
)

// lazy builds a value on first use and keeps it. A failed build is not kept: the next call
// builds again, so that a function outlives a restart of NATS or Postgres.
type lazy[T any] struct {
	mu    sync.Mutex
	v     T
	built bool
}

func (l *lazy[T]) get(build func() (T, error)) (T, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.built {
		return l.v, nil
	}
	v, err := build()
	if err != nil {
		var zero T
		return zero, err
	}
	l.v, l.built = v, true
	return v, nil
}

// open is get whose failure to build what is writelog.Unavailable (as it is already when a
// value it needs failed so).
func (l *lazy[T]) open(what string, build func() (T, error)) (T, error) {
	v, err := l.get(build)
	var ae *apperr.Error
	if err != nil && !(errors.As(err, &ae) && ae.Code == apperr.Unavailable) {
		err = writelog.Unavailable(fmt.Errorf("open %s: %w", what, err))
	}
	return v, err
}

// TokenNeed is which token keys a function needs to start.
type TokenNeed int

// What a function does with tokens.
const (
	NoTokens     TokenNeed = iota // it needs none to start (tokens sent to it are still verified)
	VerifyTokens                  // it requires a role: jwt-public-key
	IssueTokens                   // it issues tokens (register, login, the ops CLI): jwt-private-key
)

// CheckWriter refuses a configuration without what Writer needs (DATABASE_URL, NATS_URL) and
// without the token keys need asks for (Keys). A function that writes calls it in New, so
// that it does not start without them.
func (d *Deps) CheckWriter(need TokenNeed) error {
	if err := d.Config.Require("DATABASE_URL", "NATS_URL"); err != nil {
		return err
	}
	if need == NoTokens {
		return nil
	}
	k, err := d.Keys()
	if err != nil {
		return err
	}
	if need == IssueTokens && !k.CanIssue() {
		return fmt.Errorf("%s issues tokens: give it the secret %s", d.Name, token.PrivateKeyFile)
	}
	return nil
}

// Keys are the token keys of the instance's secrets (jwt-public-key, and jwt-private-key for
// the issuers).
func (d *Deps) Keys() (*token.Keys, error) { return d.keys() }

// Writer is this instance's one writer: the write log of its namespace (bound as the ops CLI
// provisioned it; created with WRITELOG_REPLICAS copies only where nothing did) and the
// applier of its own copy (DATABASE_URL, named REPLICA_NAME) with every command kind. Built
// on first use, and again after a failure, which is writelog.Unavailable.
func (d *Deps) Writer(ctx context.Context) (*writelog.Writer, error) {
	return d.writer.open("the writer of "+d.Name, func() (*writelog.Writer, error) {
		if err := d.CheckWriter(NoTokens); err != nil {
			return nil, err
		}
		pool, err := d.Pool()
		if err != nil {
			return nil, err
		}
		js, err := d.JetStream()
		if err != nil {
			return nil, err
		}
		l, err := writelog.Open(ctx, js, d.Config.Namespace, writelog.WithReplicas(d.Config.WritelogReplicas))
		if err != nil {
			return nil, err
		}
		vocab, err := d.vocabulary(ctx)
		if err != nil {
			return nil, err
		}
		keys, err := d.UserKeys(ctx)
		if err != nil {
			return nil, err
		}
		return writelog.NewWriter(l, commands.NewReplica(l, pool, d.Config.Replica, vocab, keys, d.Log), d.Log), nil
	})
}

// UserKeys is the store of the users' keys (shared/userkeys) in the instance's namespace. Built
// on first use, and again after a failure, which is writelog.Unavailable.
func (d *Deps) UserKeys(ctx context.Context) (*userkeys.Store, error) {
	return d.userKeys.open("the user keys of "+d.Name, func() (*userkeys.Store, error) {
		js, err := d.JetStream()
		if err != nil {
			return nil, err
		}
		return userkeys.Open(ctx, js, d.Config.Namespace, writelog.WithReplicas(d.Config.WritelogReplicas))
	})
}

// Accounts is this instance's account service: the token keys, the writer, the users' keys,
// the throttle's buckets, the password hashing queue and the vocabulary on its copy. Built on
// first use, and again after a failure, which is writelog.Unavailable.
func (d *Deps) Accounts(ctx context.Context) (*account.Service, error) {
	return d.accounts.open("the accounts of "+d.Name, func() (*account.Service, error) {
		w, err := d.Writer(ctx)
		if err != nil {
			return nil, err
		}
		svc := &account.Service{Writer: w, Logger: d.Log, Hasher: d.Hasher()}
		if svc.Keys, err = d.Keys(); err != nil {
			return nil, err
		}
		js, err := d.JetStream()
		if err == nil {
			svc.Throttle, err = throttle.Open(ctx, js, d.Config.Namespace, throttle.WithReplicas(d.Config.WritelogReplicas))
		}
		if err == nil {
			svc.Known, err = throttle.OpenKnown(ctx, js, d.Config.Namespace, throttle.WithReplicas(d.Config.WritelogReplicas))
		}
		if err == nil {
			svc.UserKeys, err = d.UserKeys(ctx)
		}
		if err == nil {
			svc.Vocab, err = d.vocabulary(ctx)
		}
		if err == nil {
			svc.DB, err = d.Pool()
		}
		if err != nil {
			return nil, err
		}
		return svc, nil
	})
}

// vocabulary is the catalog's vocabulary read from the instance's copy (DATABASE_URL).
func (d *Deps) vocabulary(ctx context.Context) (*catalog.Vocabulary, error) {
	return d.vocab.get(func() (*catalog.Vocabulary, error) {
		pool, err := d.Pool()
		if err != nil {
			return nil, err
		}
		v, err := catalog.LoadVocabulary(ctx, pool)
		if err != nil {
			return nil, fmt.Errorf("load vocabulary: %w", err)
		}
		return v, nil
	})
}
