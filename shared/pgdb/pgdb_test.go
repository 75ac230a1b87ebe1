package pgdb

import (
	"context"
	"testing"
)

// TestConnectMaxConns: the options' MaxConns first, then pool_max_conns of the URL or DSN,
// else 8.
func TestConnectMaxConns(t *testing.T) {
	for _, c := range []struct {
		url  string
		opt  int32
		want int32
	}{
		{"postgres://u@127.0.0.1:5432/db", 0, 8},
		{"postgres://u@127.0.0.1:5432/db?pool_max_conns=4", 0, 4},
		{"postgres://u@127.0.0.1:5432/db?pool_max_conns=4", 2, 2},
		{"host=127.0.0.1 user=u dbname=db pool_max_conns=3", 0, 3},
		{"host=127.0.0.1 user=u dbname=db", 0, 8},
	} {
		p, err := Connect(context.Background(), c.url, Options{MaxConns: c.opt})
		if err != nil {
			t.Fatalf("Connect(%q): %v", c.url, err)
		}
		if got := p.Config().MaxConns; got != c.want {
			t.Errorf("Connect(%q, MaxConns %d): got %d connections at most, want %d", c.url, c.opt, got, c.want)
		}
		p.Close()
	}
}
