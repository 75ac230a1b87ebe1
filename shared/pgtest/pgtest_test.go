package pgtest

import (
	"context"
	"testing"
)

func TestNewIsMigratedAndIsolated(t *testing.T) {
	t.Parallel()
	a, b := New(t), New(t)
	ctx := context.Background()
	var n int
	if err := a.QueryRow(ctx, `SELECT count(*) FROM accessibility_constraints`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 18 {
		t.Fatalf("got %d constraints, want 18", n)
	}
	if _, err := a.Exec(ctx, `INSERT INTO cities (slug, name) VALUES ('moscow', 'Москва')`); err != nil {
		t.Fatal(err)
	}
	if err := b.QueryRow(ctx, `SELECT count(*) FROM cities`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("got %d cities in the other database, want 0", n)
	}
}

func TestWithDatabase(t *testing.T) {
	got := WithDatabase("postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "x1")
	if want := "postgres://postgres@127.0.0.1:5432/x1?sslmode=disable"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}
