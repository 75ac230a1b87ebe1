package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/devservices"
	"github.com/dostupno/dostupno/cmd/dostupno/internal/stack"
	"github.com/dostupno/dostupno/shared/apitest"
	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/logging"
	"github.com/dostupno/dostupno/shared/pgtest"
	"github.com/dostupno/dostupno/shared/token"
)

// repoStack is the repository's stack.yml.
func repoStack(t testing.TB) *stack.Stack {
	t.Helper()
	st, err := stack.Load(filepath.Join("..", "..", "stack.yml"))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestEveryStackFunctionHasABuilder(t *testing.T) {
	st := repoStack(t)
	for _, f := range st.Functions {
		if builders[f.Name] == nil {
			t.Errorf("stack.yml lists %s but builders has no %s: up refuses to start", f.Name, f.Name)
		}
	}
}

func TestUpRefusesAFunctionWithoutABuilder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stack.yml")
	writeStack(t, path, "no-such-function")
	err := up(context.Background(), upOptions{Addr: "127.0.0.1:0", Data: t.TempDir(), Stack: path, Out: io.Discard, Log: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "no-such-function") {
		t.Fatalf("got %v, want an error naming no-such-function", err)
	}
}

func writeStack(t *testing.T, path string, names ...string) {
	t.Helper()
	real := repoStack(t)
	var b strings.Builder
	b.WriteString("version: 1.0\nprovider: {name: openfaas, gateway: http://127.0.0.1:8080}\nfunctions:\n")
	for _, n := range names {
		b.WriteString("  " + n + ":\n    lang: dostupno-go\n    handler: ./functions/" + n + "\n    image: dostupno/" + n + ":0.1.0\n")
		b.WriteString("    environment: {DATABASE_URL: \"postgres://nowhere:5432/x\", exec_timeout: 15s}\n")
		if f, ok := real.Function(n); ok { // the secrets faasd would mount
			b.WriteString("    secrets: [" + strings.Join(f.Secrets, ", ") + "]\n")
		}
		switch n {
		case "search-events":
			b.WriteString("    labels: {com.openfaas.scale.min: \"1\"}\n")
		case "db-writer":
			b.WriteString("    annotations: {topic: dostupno.doorbell}\n")
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestUpStartsItsOwnServicesAndServes is the newcomer's run: no DATABASE_URL, NATS_URL,
// S3_ENDPOINT or SECRETS_DIR; up starts Postgres, NATS and S3 under --data, serves the stack's
// functions, and stops all it started when its context ends.
func TestUpStartsItsOwnServicesAndServes(t *testing.T) {
	for _, k := range []string{"DATABASE_URL", "DATABASE_READ_URL", "NATS_URL", "S3_ENDPOINT", "SECRETS_DIR", "DOSTUPNO_NAMESPACE"} {
		t.Setenv(k, "")
	}
	t.Setenv("DATABASE_REPLICA_URLS", pgtest.NewURL(t))
	data := upDataDir(t)
	stackPath := filepath.Join(data, "stack.yml")
	names := []string{"search-events", "db-writer"}
	writeStack(t, stackPath, names...)

	run := startUp(t, upOptions{Addr: "127.0.0.1:0", WebAddr: "127.0.0.1:0", WebDir: filepath.Join("..", "..", "web"), Data: filepath.Join(data, "d"), Stack: stackPath})
	defer func() { _ = run.stop(t) }() // stops up if the test ends early; the checked stop is below
	base, page, out := run.API, run.Web, run.Out

	getJSON := func(path string, v any) int {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if v != nil {
			if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
		}
		return resp.StatusCode
	}
	if code := getJSON("/healthz", nil); code != 200 {
		t.Fatalf("got /healthz %d, want 200", code)
	}
	var fns []struct {
		Name        string            `json:"name"`
		Annotations map[string]string `json:"annotations"`
		Labels      map[string]string `json:"labels"`
	}
	getJSON("/system/functions", &fns)
	var got []string
	for _, f := range fns {
		got = append(got, f.Name)
	}
	want := append(names, "db-writer-2")
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got functions %v, want %v", got, want)
	}
	if fns[0].Labels["com.openfaas.scale.min"] != "1" || fns[2].Annotations["topic"] != "dostupno.doorbell" {
		t.Fatalf("got %+v, want stack.yml's labels, and db-writer's topic on db-writer-2", fns)
	}
	var catalog struct {
		Constraints []json.RawMessage `json:"constraints"`
		Profiles    []json.RawMessage `json:"profiles"`
	}
	if code := getJSON("/function/search-events/constraints", &catalog); code != 200 || len(catalog.Constraints) != 18 || len(catalog.Profiles) != 5 {
		t.Fatalf("got %d with %d constraints and %d profiles, want 200 with 18 and 5", code, len(catalog.Constraints), len(catalog.Profiles))
	}
	var status struct {
		Replica string `json:"replica"`
	}
	if code := getJSON("/function/db-writer-2/status", nil); code != 401 {
		t.Fatalf("got %d from db-writer-2's status without a token, want 401", code)
	}
	keys, err := token.Load(config.Config{SecretsDir: filepath.Join(data, "d", "secrets")})
	if err != nil {
		t.Fatal(err)
	}
	admin, _, err := keys.Issue(apitest.AdminID, token.RoleAdmin, 0)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := apitest.Do(t, "GET", base+"/function/db-writer-2/status", nil, "Authorization", apitest.Bearer(admin))
	if err := json.Unmarshal(body, &status); resp.StatusCode != 200 || err != nil || status.Replica != "copy-2" {
		t.Fatalf("got %d %s from db-writer-2's status as an admin, want 200 copy-2", resp.StatusCode, body)
	}

	// The page is served on its own origin, names the API in its config.js, and the API lets
	// that origin call it (the preflight a search with a token needs).
	for _, c := range []struct {
		path, want string
		status     int
	}{{"/", `<html lang="ru">`, 200}, {"/config.js", `"` + base + `"`, 200}, {"/js/app.js", "import", 200}, {"/js/", "", 404}} {
		resp, body := apitest.Do(t, "GET", page+c.path, nil)
		if resp.StatusCode != c.status || !strings.Contains(string(body), c.want) {
			t.Fatalf("GET %s%s: got %d %.200q, want %d with %q", page, c.path, resp.StatusCode, body, c.status, c.want)
		}
	}
	resp, _ = apitest.Do(t, "OPTIONS", base+"/function/search-events", nil, "Origin", page, "Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "authorization")
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != page {
		t.Fatalf("got preflight %d allowing %q, want 204 allowing the page's origin %s", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"), page)
	}

	lines := out.String()
	for _, w := range []string{"web page: open " + page + "/ in a browser", "started a private PostgreSQL", "embedded NATS with JetStream", "s3: S3_ENDPOINT is not set", "generated development secrets", "nats connector: dostupno.doorbell -> db-writer, db-writer-2", "rang dostupno.doorbell"} {
		if !strings.Contains(lines, w) {
			t.Fatalf("got output without %q:\n%s", w, lines)
		}
	}
	env, err := os.ReadFile(filepath.Join(data, "d", "env"))
	if err != nil || !strings.Contains(string(env), "export DATABASE_URL='postgres://") || !strings.Contains(string(env), "export NATS_URL='nats://") ||
		!strings.Contains(string(env), "export SECRETS_DIR='"+filepath.Join(data, "d", "secrets")) {
		t.Fatalf("got env file %q (%v), want the CLI pointed at the started services", env, err)
	}
	for _, s := range devservices.DevSecrets {
		if _, err := os.Stat(filepath.Join(data, "d", "secrets", s)); err != nil {
			t.Fatalf("secret %s: %v", s, err)
		}
	}
	// Each function has the secrets stack.yml lists for it, as faasd mounts them, and its own
	// NATS credential; a function that only verifies tokens has no private key.
	for fn, want := range map[string][]string{
		"search-events": {"jwt-public-key", "s3-access-key", "s3-secret-key", "nats-nkey-search-events"},
		"db-writer":     {"jwt-public-key", "nats-nkey-db-writer"},
		"db-writer-2":   {"jwt-public-key", "nats-nkey-db-writer-2"},
	} {
		entries, err := os.ReadDir(filepath.Join(data, "d", "functions", fn))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range entries {
			got = append(got, e.Name())
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("%s: got secrets %v, want %v", fn, got, want)
		}
	}
	for _, w := range []string{"nats: credentials required", "search-events and get-event connect as dostupno_reader"} {
		if !strings.Contains(lines, w) {
			t.Fatalf("got output without %q:\n%s", w, lines)
		}
	}

	if err := run.stop(t); err != nil {
		t.Fatalf("got %v from a stopped up, want nil", err)
	}
	// Nothing it started is left: the cluster's pid file is gone and every printed address
	// refuses connections.
	if _, err := os.Stat(filepath.Join(data, "d", "postgres", "data", "postmaster.pid")); err == nil {
		t.Fatal("got postmaster.pid after stop, want the cluster stopped")
	}
	for _, addr := range regexp.MustCompile(`127\.0\.0\.1:\d+`).FindAllString(lines, -1) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Fatalf("got %s still accepting connections after stop, want it closed", addr)
		}
	}
	if !strings.Contains(out.String(), "postgres: stopped") {
		t.Fatalf("got no 'postgres: stopped' line:\n%s", out)
	}
}

// upRun is up running in the background; startUp starts one.
type upRun struct {
	API, Web string          // the router's and the page's base URLs ("" for no page)
	Out      *logging.Buffer // up's lines
	cancel   func()
	done     chan error
	err      error
	stopped  bool
}

// startUp runs up with o (its Out, Log and Ready set here) and waits until it serves.
// upDataDir is a folder for up's --data that the PostgreSQL server's user can enter (it runs
// as another user under root, and the test's own temporary folder is private), removed after
// the test.
func upDataDir(t *testing.T) string {
	t.Helper()
	data, err := os.MkdirTemp("", "dostupno-up-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(data) })
	if err := os.Chmod(data, 0o755); err != nil {
		t.Fatal(err)
	}
	return data
}

func startUp(t *testing.T, o upOptions) *upRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &upRun{Out: &logging.Buffer{}, cancel: cancel, done: make(chan error, 1)}
	ready := make(chan [2]string, 1)
	o.Out, o.Log = r.Out, slog.New(slog.DiscardHandler)
	o.Ready = func(api, web string) { ready <- [2]string{api, web} }
	go func() { r.done <- up(ctx, o) }()
	select {
	case a := <-ready:
		r.API = "http://" + a[0]
		if a[1] != "" {
			r.Web = "http://" + a[1]
		}
		return r
	case err := <-r.done:
		cancel()
		t.Fatalf("up ended before serving: %v\n%s", err, r.Out)
	case <-time.After(2 * time.Minute):
		cancel()
		t.Fatalf("up not ready after 2 minutes:\n%s", r.Out)
	}
	return nil
}

// stop ends up (once) and returns what it returned.
func (r *upRun) stop(t *testing.T) error {
	t.Helper()
	if r.stopped {
		return r.err
	}
	r.cancel()
	select {
	case r.err = <-r.done:
		r.stopped = true
		return r.err
	case <-time.After(time.Minute):
		t.Fatal("up did not stop within a minute")
		return nil
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:secret@db:5432/x":                      "postgres://u:xxxxx@db:5432/x",
		"nats://a:4222,nats://u:secret@b:4222,nats://c:4222": "nats://a:4222,nats://u:xxxxx@b:4222,nats://c:4222",
		"nats://127.0.0.1:4222":                              "nats://127.0.0.1:4222",
	} {
		if got := redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}
