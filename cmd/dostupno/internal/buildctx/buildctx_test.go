package buildctx

import (
	"bufio"
	"bytes"
	"context"
	"debug/buildinfo"
	"debug/elf"
	"fmt"
	"go/format"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/stack"
)

const repoRoot = "../../../.."

// repository returns the stack of the repository checkout, or skips: inside a function's
// image build the tests run in the build context, which holds no template/ folder.
func repository(t *testing.T) *stack.Stack {
	t.Helper()
	if _, err := os.Stat(filepath.Join(repoRoot, "template")); err != nil {
		t.Skip("not in a repository checkout (no template/): nothing to assemble")
	}
	s, err := stack.Load(filepath.Join(repoRoot, "stack.yml"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func listFiles(t *testing.T, root string) []string {
	t.Helper()
	var got []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		got = append(got, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestAssemble(t *testing.T) {
	repo := t.TempDir()
	writeFiles(t, repo, map[string]string{
		"template/go-x/template.yml":    "language: go-x\nfprocess: ./handler\n",
		"template/go-x/Dockerfile":      "FROM scratch\n",
		"template/go-x/main.go":         "package main\n",
		"functions/a/handler.go":        "package function\n",
		"functions/a/testdata/x.json":   "{}",
		"functions/a/build/stale.txt":   "skipped",
		"functions/a/template/old.yml":  "skipped",
		"go.mod":                        "module m\n",
		"shared/p/p.go":                 "package p\n",
		"stack.yml":                     "",
		"../outside.txt":                "x",
		"functions/b/handler.go":        "package function\n",
		"functions/b/nested/deep/f.txt": "f",
	})
	stackWith := func(copyPaths ...string) *stack.Stack {
		s := &stack.Stack{Functions: []stack.Function{
			{Name: "a", Lang: "go-x", Handler: "./functions/a", Image: "a:1"},
			{Name: "nolang", Lang: "missing", Handler: "./functions/a", Image: "a:1"},
			{Name: "escape", Lang: "go-x", Handler: "../", Image: "a:1"},
		}}
		s.Configuration.Copy = copyPaths
		return s
	}

	t.Run("OK", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "ctx")
		if err := Assemble(repo, stackWith("./go.mod", "./shared", "stack.yml"), "a", dst); err != nil {
			t.Fatal(err)
		}
		got := strings.Join(listFiles(t, dst), " ")
		want := "Dockerfile function/go.mod function/handler.go function/shared/p/p.go function/stack.yml function/testdata/x.json main.go template.yml"
		if got != want {
			t.Fatalf("got files %s\nwant %s", got, want)
		}
	})
	errs := []struct {
		name, fn string
		copy     []string
		want     string
		dst      func(t *testing.T) string
	}{
		{"ErrUnknownFunction", "zzz", nil, "no function zzz", nil},
		{"ErrUnknownTemplate", "nolang", nil, "template missing", nil},
		{"ErrHandlerOutside", "escape", nil, "outside the repository", nil},
		{"ErrCopyOutside", "a", []string{"../outside.txt"}, "outside the repository", nil},
		{"ErrCopyWholeRepository", "a", []string{"."}, "whole repository", nil},
		{"ErrCopyMissing", "a", []string{"./nothing"}, "no such file", nil},
		{"ErrDestinationNotEmpty", "a", nil, "not empty", func(t *testing.T) string {
			d := t.TempDir()
			writeFiles(t, d, map[string]string{"x": "x"})
			return d
		}},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "ctx")
			if tt.dst != nil {
				dst = tt.dst(t)
			}
			err := Assemble(repo, stackWith(tt.copy...), tt.fn, dst)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error %v, want one saying %q", err, tt.want)
			}
		})
	}
}

// TestTemplate checks the template's files for what the image build relies on.
func TestTemplate(t *testing.T) {
	s := repository(t)
	langs := map[string]bool{}
	for _, f := range s.Functions {
		langs[f.Lang] = true
	}
	if len(s.Configuration.Templates) == 0 {
		t.Fatal("got no configuration.templates in stack.yml, want the template named")
	}
	for lang := range langs {
		dir := filepath.Join(repoRoot, "template", lang)
		t.Run(lang, func(t *testing.T) {
			var tpl struct {
				Language string `yaml:"language"`
				FProcess string `yaml:"fprocess"`
				Welcome  string `yaml:"welcome_message"`
			}
			b, err := os.ReadFile(filepath.Join(dir, "template.yml"))
			if err != nil {
				t.Fatal(err)
			}
			if err := yaml.Unmarshal(b, &tpl); err != nil {
				t.Fatal(err)
			}
			if tpl.Language != lang || tpl.FProcess != "./handler" || tpl.Welcome == "" {
				t.Fatalf("template.yml: got %+v, want language %s, fprocess ./handler and a welcome message", tpl, lang)
			}
			checkDockerfile(t, filepath.Join(dir, "Dockerfile"))
			checkGoMod(t, filepath.Join(dir, "go.mod"))
		})
	}
}

var fromRE = regexp.MustCompile(`^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$`)

func checkDockerfile(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	var stages []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "FROM ") {
			continue
		}
		m := fromRE.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("Dockerfile: cannot read %q", line)
		}
		image := m[1]
		if err := checkPinned(image); err != nil {
			t.Errorf("Dockerfile: %v", err)
		}
		stages = append(stages, image)
	}
	if len(stages) != 3 {
		t.Fatalf("Dockerfile: got stages %v, want watchdog, build and ship", stages)
	}
	if !strings.HasPrefix(stages[0], "ghcr.io/openfaas/of-watchdog:") {
		t.Errorf("Dockerfile: got first stage %s, want the of-watchdog image", stages[0])
	}
	goVersion := goDirective(t, filepath.Join(repoRoot, "go.mod"))
	if !strings.HasPrefix(stages[1], "golang:"+goVersion) {
		t.Errorf("Dockerfile: got build stage %s, want golang:%s (go.mod's go directive)", stages[1], goVersion)
	}
	for _, want := range []string{
		`gofmt -l`,
		`DOSTUPNO_SERVICES_OPTIONAL=1 CGO_ENABLED=0 go test ./...`,
		`CGO_ENABLED=0`, `-trimpath`, `-ldflags "-s -w"`,
		`ca-certificates tzdata`,
		"USER app",
		`ENV fprocess="./handler"`,
		`ENV mode="http"`,
		`ENV upstream_url="http://127.0.0.1:8082"`,
		"HEALTHCHECK ",
		`CMD ["fwatchdog"]`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("Dockerfile: missing %q", want)
		}
	}
}

// checkPinned refuses an image reference without a tag, or tagged latest.
func checkPinned(image string) error {
	ref := image
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		ref = ref[i+1:]
	}
	_, tag, ok := strings.Cut(ref, ":")
	if !ok || tag == "" || tag == "latest" || strings.Contains(tag, "$") {
		return fmt.Errorf("image %s: want a pinned version tag", image)
	}
	return nil
}

func goDirective(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s: no go directive", path)
	}
	return string(m[1])
}

func checkGoMod(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"module handler\n",
		"require github.com/dostupno/dostupno v0.0.0\n",
		"replace github.com/dostupno/dostupno => ./function\n",
	} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("template go.mod: missing %q", strings.TrimSpace(want))
		}
	}
}

// goCmd runs go in dir offline, sharing this machine's module and build caches. -trimpath
// (which the image build uses too) makes the compiled packages independent of the context's
// temporary path, so every context after the first is mostly cache hits.
func goCmd(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod -buildvcs=false -trimpath", "GOPROXY=off", "GOWORK=off", "CGO_ENABLED=0")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return string(out)
}

// TestBuildContexts assembles the build context of every function of stack.yml and runs there,
// offline, the build stage of the template's Dockerfile as docker would (its ARG, ENV, WORKDIR,
// COPY . . and RUN lines, the RUNs by /bin/sh): the gofmt check, the module's tests with
// services optional, the static build of the handler binary. It then vets the entrypoint and
// the handler package with its tests. The test step runs in the first context only: every
// context holds the same module (./functions is copied into each), so it would repeat itself.
func TestBuildContexts(t *testing.T) {
	s := repository(t)
	stage := buildStage(t, filepath.Join(repoRoot, "template", "dostupno-go", "Dockerfile"))
	for i, f := range s.Functions {
		t.Run(f.Name, func(t *testing.T) {
			start := time.Now()
			ctx := filepath.Join(t.TempDir(), f.Name)
			if err := Assemble(repoRoot, s, f.Name, ctx); err != nil {
				t.Fatal(err)
			}
			if bad := unformatted(t, ctx); len(bad) > 0 {
				t.Fatalf("gofmt would change: %s", strings.Join(bad, " "))
			}
			runStage(t, stage, ctx, i == 0)
			checkStatic(t, filepath.Join(ctx, "handler"))
			checkFastCodec(t, filepath.Join(ctx, "handler"), f.Name == bulkDecoder)
			goCmd(t, ctx, nil, "vet", ".")
			goCmd(t, filepath.Join(ctx, "function"), nil, "vet", ".")
			if i == 0 {
				goCmd(t, ctx, nil, "test", ".") // the entrypoint's own tests
			}
			t.Logf("%s: built and vetted in %s", f.Name, time.Since(start).Round(time.Millisecond))
		})
	}
}

// contextDir is the build stage's WORKDIR of the context root.
const contextDir = "/go/src/handler"

// instruction is one line of a Dockerfile, continuations joined.
type instruction struct{ op, args string }

// buildStage returns the instructions of the stage named "build" of the Dockerfile at path.
func buildStage(t *testing.T, path string) []instruction {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(b), "\\\n", " ")
	var stage []instruction
	in := false
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		op, args, _ := strings.Cut(line, " ")
		op = strings.ToUpper(op)
		if op == "FROM" {
			in = strings.HasSuffix(line, " AS build")
			continue
		}
		if in {
			stage = append(stage, instruction{op, strings.TrimSpace(args)})
		}
	}
	if len(stage) == 0 {
		t.Fatalf("%s: no stage named build", path)
	}
	return stage
}

// runStage runs the build stage in the context ctx with the environment of an offline image
// build: build arguments GOPROXY=off and GOFLAGS sharing this machine's caches, services
// optional and none reachable, no minio binary. With tests false, RUN lines that run go test
// are left out.
func runStage(t *testing.T, stage []instruction, ctx string, tests bool) {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	// The stage below runs offline on a machine whose module cache may never have held the
	// modules of the build's graph.
	if err := FetchModules(context.Background(), ctx); err != nil {
		t.Fatal(err)
	}
	modCache := strings.TrimSpace(goCmd(t, ctx, nil, "env", "GOMODCACHE"))
	buildCache := strings.TrimSpace(goCmd(t, ctx, nil, "env", "GOCACHE"))
	buildArgs := map[string]string{
		"TARGETPLATFORM": "linux/amd64", "BUILDPLATFORM": "linux/amd64", "TARGETOS": "linux", "TARGETARCH": "amd64",
		"GOPROXY": "off", "GOFLAGS": "-buildvcs=false -trimpath",
	}
	env := []string{
		"HOME=" + t.TempDir(),
		"PATH=" + filepath.Dir(goBin) + ":/usr/bin:/bin",
		"GOPATH=" + t.TempDir(), // no GOPATH/bin/minio
		"GOMODCACHE=" + modCache,
		"GOCACHE=" + buildCache,
		"GOTOOLCHAIN=local",
		"TEST_DATABASE_URL=postgres://postgres@127.0.0.1:1/postgres?sslmode=disable",
		"TEST_NATS_URL=nats://127.0.0.1:1",
	}
	dir := ctx
	for _, in := range stage {
		switch in.op {
		case "ARG":
			name, def, _ := strings.Cut(in.args, "=")
			v, ok := buildArgs[name]
			if !ok {
				v = strings.Trim(def, `"`)
			}
			env = append(env, name+"="+v)
		case "ENV":
			k, v, ok := strings.Cut(in.args, "=")
			if !ok {
				k, v, _ = strings.Cut(in.args, " ")
			}
			env = append(env, k+"="+strings.Trim(strings.TrimSpace(v), `"`))
		case "WORKDIR":
			rel, ok := strings.CutPrefix(in.args, contextDir)
			if !ok {
				t.Fatalf("Dockerfile: WORKDIR %s is outside %s", in.args, contextDir)
			}
			dir = filepath.Join(ctx, filepath.FromSlash(rel))
		case "COPY":
			if in.args != ". ." {
				t.Fatalf("Dockerfile: build stage COPY %s: only COPY . . is emulated", in.args)
			}
		case "RUN":
			if !tests && strings.Contains(in.args, "go test") {
				continue
			}
			cmd := exec.Command("/bin/sh", "-c", in.args)
			cmd.Dir = dir
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("Dockerfile: RUN %s (in %s): %v\n%s", in.args, dir, err, out)
			}
		default:
			t.Fatalf("Dockerfile: build stage instruction %s is not emulated", in.op)
		}
	}
}

// unformatted lists the Go files of dir that gofmt would change.
func unformatted(t *testing.T, dir string) []string {
	t.Helper()
	var bad []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") {
			return err
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out, err := format.Source(src)
		if err != nil || !bytes.Equal(out, src) {
			rel, _ := filepath.Rel(dir, p) // p is under dir
			bad = append(bad, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return bad
}

// bulkDecoder is the one function that links the fast JSON codec (shared/jsoncodec/fast): it
// decodes every command of an import, and the codec's initialisation would cost every other
// function's start about 20 ms.
const bulkDecoder = "db-writer"

// checkFastCodec fails t unless the handler binary at path links the fast codec's module
// exactly when want says.
func checkFastCodec(t *testing.T, path string, want bool) {
	t.Helper()
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		t.Fatalf("handler binary: %v", err)
	}
	got := slices.ContainsFunc(bi.Deps, func(m *debug.Module) bool { return m.Path == "github.com/bytedance/sonic" })
	if got != want {
		t.Errorf("handler binary links github.com/bytedance/sonic: %v, want %v (shared/jsoncodec/fast)", got, want)
	}
}

// checkStatic fails unless path is an ELF executable with no program interpreter, i.e. one
// that runs on the final stage without a C library.
func checkStatic(t *testing.T, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("handler binary: %v", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("handler binary: got a dynamically linked executable, want a static one")
		}
	}
}
