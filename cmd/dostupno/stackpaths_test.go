package main

import (
	"testing"

	"github.com/dostupno/dostupno/shared/apidoc"
)

// TestPathsMatchStack: every function path names a function of stack.yml, every function of
// stack.yml has paths, and the only other paths are the gateway's own.
func TestPathsMatchStack(t *testing.T) {
	s := repoStack(t)
	ops, err := apidoc.Operations()
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, op := range ops {
		switch {
		case op.Function != "":
			if _, ok := s.Function(op.Function); !ok {
				t.Errorf("%s %s: got function %s, want one of stack.yml", op.Method, op.Path, op.Function)
			}
			documented[op.Function] = true
		case op.Path != "/system/functions" && op.Path != "/system/namespaces" && op.Path != "/healthz":
			t.Errorf("%s %s: neither a function's path nor the gateway's", op.Method, op.Path)
		}
	}
	for _, f := range s.Functions {
		if !documented[f.Name] {
			t.Errorf("stack.yml function %s: got no path in openapi.yaml, want its operations", f.Name)
		}
	}
}
