package apitest

import (
	"net/http"
	"testing"

	"github.com/dostupno/dostupno/shared/instance"
)

// Services is an Env without a function (it answers 404): a database of its own and, as opts
// ask, a NATS namespace and a bucket, with a pool and tokens. Tests in which several functions
// share them (WithDatabaseOf, WithNATSOf) and data is written before any function starts
// begin with it.
func Services(t testing.TB, opts ...Option) *Env {
	t.Helper()
	return New(t, "services", func(*instance.Deps) (http.Handler, error) { return http.NotFoundHandler(), nil }, opts...)
}
