package main

import "testing"

// The cold starts connect as the deployed functions do (stack.yml: sslmode=disable) unless the
// URL states its own mode.
func TestDeployedMode(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://postgres@127.0.0.1:5432/bench":                  "postgres://postgres@127.0.0.1:5432/bench?sslmode=disable",
		"postgres://postgres@127.0.0.1:5432/bench?pool_max_conns=4": "postgres://postgres@127.0.0.1:5432/bench?pool_max_conns=4&sslmode=disable",
		"postgres://postgres@127.0.0.1:5432/bench?sslmode=require":  "postgres://postgres@127.0.0.1:5432/bench?sslmode=require",
	} {
		if got := deployedMode(in); got != want {
			t.Errorf("deployedMode(%q) = %q, want %q", in, got, want)
		}
	}
}
