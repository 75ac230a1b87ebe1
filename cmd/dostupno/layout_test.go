package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/dostupno/dostupno"

// goList runs go list in the repository root with args and returns its lines.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return strings.Fields(string(out))
}

// domains are the packages that hold the logic: they take plain values (a pool, a
// vocabulary, a user id, a clock), never the per-instance wiring, the middleware, the
// configuration or an HTTP request (README, "Layout").
var domains = []string{"search", "catalog", "account", "photo", "writelog", "hotcache", "userkeys"}

// TestDomainFreeOfWiringAndHTTP: no domain package imports, even indirectly, the wiring
// (shared/instance) or the middleware, nor imports the configuration itself (the wiring reads
// it and passes values), nor uses net/http's server side.
func TestDomainFreeOfWiringAndHTTP(t *testing.T) {
	forbidden := []string{module + "/shared/instance", module + "/shared/middleware"}
	server := []string{"Request", "ResponseWriter", "Handler", "HandlerFunc", "ServeMux", "Server"}
	for _, d := range domains {
		pkgs := goList(t, "./shared/"+d+"/...")
		for _, pkg := range pkgs {
			if strings.HasSuffix(pkg, "test") { // the domain's own test harness (e.g. writelogtest)
				continue
			}
			for _, dep := range goList(t, "-deps", pkg) {
				if slices.Contains(forbidden, dep) {
					t.Errorf("%s imports %s: a domain package takes plain values", pkg, dep)
				}
			}
			if slices.Contains(goList(t, "-f", `{{join .Imports " "}}`, pkg), module+"/shared/config") {
				t.Errorf("%s imports shared/config: the wiring reads the configuration and passes values", pkg)
			}
			files := goList(t, "-f", `{{$d := .Dir}}{{range .GoFiles}}{{$d}}/{{.}} {{end}}`, pkg)
			for _, f := range files {
				for _, use := range httpServerUses(t, f, server) {
					t.Errorf("%s: uses http.%s: HTTP belongs to functions/ and the middleware", use.pos, use.name)
				}
			}
		}
	}
}

type use struct{ pos, name string }

// httpServerUses lists the selectors http.<name> of file whose name is in names.
func httpServerUses(t *testing.T, file string, names []string) []use {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	local := ""
	for _, imp := range f.Imports {
		if imp.Path.Value == `"net/http"` {
			local = "http"
			if imp.Name != nil {
				local = imp.Name.Name
			}
		}
	}
	if local == "" {
		return nil
	}
	var out []use
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if x, ok := sel.X.(*ast.Ident); ok && x.Name == local && slices.Contains(names, sel.Sel.Name) {
			out = append(out, use{fset.Position(sel.Pos()).String(), sel.Sel.Name})
		}
		return true
	})
	return out
}

// harness are the packages under shared/ that tests use and no function runs.
var harness = []string{"pgtest", "natstest", "s3test", "apitest", "apidoc", "writelog/writelogtest", "photo/phototest"}

// TestBuildContextsHoldWhatFunctionsRun: stack.yml copies shared/ into every function's build
// context, so every package there is one some function or the template's entrypoint (every
// function's process, a module of its own) imports, or a test harness; what only the ops CLI,
// the local runner or a benchmark uses lives under cmd/dostupno/internal.
func TestBuildContextsHoldWhatFunctionsRun(t *testing.T) {
	run := map[string]bool{}
	roots := []string{"./functions/..."}
	f, err := parser.ParseFile(token.NewFileSet(), "../../template/dostupno-go/main.go", nil, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range f.Imports {
		if p := strings.Trim(imp.Path.Value, `"`); strings.HasPrefix(p, module+"/shared/") {
			roots = append(roots, p)
		}
	}
	for _, p := range goList(t, append([]string{"-deps"}, roots...)...) {
		run[p] = true
	}
	for _, pkg := range goList(t, "./shared/...") {
		rel := strings.TrimPrefix(pkg, module+"/shared/")
		if run[pkg] || slices.Contains(harness, rel) {
			continue
		}
		t.Errorf("shared/%s: no function imports it and it is no test harness; move it under cmd/dostupno/internal (%s)",
			rel, filepath.Join("cmd", "dostupno", "internal", filepath.Base(rel)))
	}
}
