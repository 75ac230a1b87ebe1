package pgdb_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/dostupno/dostupno/shared/pgdb"
	"github.com/dostupno/dostupno/shared/pgtest"
)

// TestConnectOneLeavesPoolSettingsAside: a URL that sets a pool's size (as the deployment's
// DATABASE_URL may) opens one connection, where pgx alone would pass pool_max_conns to
// Postgres, which refuses it; a URL that is not one is refused without being echoed.
func TestConnectOneLeavesPoolSettingsAside(t *testing.T) {
	u, err := url.Parse(pgtest.NewURL(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("pool_max_conns", "3")
	u.RawQuery = q.Encode()
	ctx := context.Background()
	c, err := pgdb.ConnectOne(ctx, u.String())
	if err != nil {
		t.Fatalf("connect with pool_max_conns: %v", err)
	}
	defer c.Close(ctx)
	var db string
	if err := c.QueryRow(ctx, `SELECT current_database()`).Scan(&db); err != nil || "/"+db != u.Path {
		t.Fatalf("connected to %q (%v), want %s", db, err, u.Path)
	}
	const secret = "s3cret-in-the-url"
	if _, err := pgdb.ConnectOne(ctx, "postgres://u:"+secret+"@127.0.0.1:5432/db?pool_max_conns=x"); err == nil {
		t.Fatal("a pool size that is not a number was taken")
	} else if got := err.Error(); strings.Contains(got, secret) {
		t.Fatalf("the error shows the URL's password: %s", got)
	}
}
