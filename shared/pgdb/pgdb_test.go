package pgdb

import (
	"context"
	"testing"
)

// sizeCase is a pool's URL, the options' MaxConns and the pool's size wanted.
type sizeCase struct {
	url       string
	opt, want int32
}

// TestConnectMaxConns: the options' MaxConns first, then pool_max_conns of the URL or DSN,
// else DefaultMaxConns.
func TestConnectMaxConns(t *testing.T) {
	const base = "postgres://u@127.0.0.1:5432/db"
	for _, c := range []sizeCase{
		{base, 0, DefaultMaxConns()}, {base + "?pool_max_conns=9", 0, 9}, {base + "?pool_max_conns=4", 2, 2},
		{"host=127.0.0.1 user=u dbname=db pool_max_conns=3", 0, 3}, {"host=127.0.0.1 user=u dbname=db", 0, DefaultMaxConns()},
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
