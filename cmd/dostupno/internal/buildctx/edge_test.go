package buildctx

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/stack"
)

// faasdTimeouts are faasd's timeouts as deploy/faasd-gateway.sh sets them.
type faasdTimeouts struct {
	service, upstream, gatewayWrite, gatewayRead time.Duration
}

// runFaasdGateway runs deploy/faasd-gateway.sh on a copy of faasd's compose file (twice: it
// may run again) and returns the gateway's entry and the provider's service_timeout.
func runFaasdGateway(t *testing.T) (composeService, map[string]composeService, faasdTimeouts) {
	t.Helper()
	dir := t.TempDir()
	fixture, err := os.ReadFile(filepath.Join("testdata", "faasd-docker-compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	compose := filepath.Join(dir, "docker-compose.yaml")
	if err := os.WriteFile(compose, fixture, 0o644); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		cmd := exec.Command("bash", filepath.Join(repoRoot, "deploy", "faasd-gateway.sh"))
		cmd.Env = append(os.Environ(), "FAASD_DIR="+dir, "SYSTEMD_DIR="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("deploy/faasd-gateway.sh: %v\n%s", err, out)
		}
	}
	b, err := os.ReadFile(compose)
	if err != nil {
		t.Fatal(err)
	}
	var before, after composeFile
	for _, f := range []struct {
		b []byte
		c *composeFile
	}{{fixture, &before}, {b, &after}} {
		dec := yaml.NewDecoder(bytes.NewReader(f.b))
		dec.KnownFields(true)
		if err := dec.Decode(f.c); err != nil {
			t.Fatalf("faasd's compose file: %v\n%s", err, f.b)
		}
	}
	dropIn, err := os.ReadFile(filepath.Join(dir, "faasd-provider.service.d", "dostupno.conf"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\[Service\]\nEnvironment="service_timeout=(\w+)"$`).FindSubmatch(dropIn)
	if m == nil {
		t.Fatalf("got provider drop-in %q, want [Service] Environment=\"service_timeout=...\"", dropIn)
	}
	gw := after.Services["gateway"]
	d := func(s string) time.Duration {
		v, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("got timeout %q: %v", s, err)
		}
		return v
	}
	env := func(k string) time.Duration { v, _ := gw.env(k); return d(v) }
	return gw, map[string]composeService{"before": before.Services["queue-worker"], "after": after.Services["queue-worker"]},
		faasdTimeouts{service: d(string(m[1])), upstream: env("upstream_timeout"), gatewayWrite: env("write_timeout"), gatewayRead: env("read_timeout")}
}

// TestFaasdGateway: deploy/faasd-gateway.sh keeps faasd's gateway off public addresses and
// gives its timeouts room over the provider's, and touches nothing but the gateway's entry.
func TestFaasdGateway(t *testing.T) {
	repository(t)
	gw, qw, to := runFaasdGateway(t)
	if !slices.Equal(gw.Ports, []string{"127.0.0.1:8080:8080", faasdBridge + ":8080:8080"}) {
		t.Errorf("gateway: got ports %q, want loopback and faasd's bridge only", gw.Ports)
	}
	if !(to.service < to.upstream && to.upstream < to.gatewayWrite && to.service <= to.gatewayRead) {
		t.Errorf("got provider %v, gateway upstream %v, write %v, read %v: want each layer to give up after the one inside it", to.service, to.upstream, to.gatewayWrite, to.gatewayRead)
	}
	if v, _ := gw.env("basic_auth"); v != "true" {
		t.Errorf("gateway: got basic_auth %q, want it kept", v)
	}
	if !slices.Equal(qw["before"].Environment, qw["after"].Environment) || !slices.Equal(qw["before"].Ports, qw["after"].Ports) {
		t.Errorf("queue-worker: got %+v after, want it as it was: %+v", qw["after"], qw["before"])
	}
}

// The write path's own wait for its copy (writelog: at most 20 s), and db-writer's budget for
// one call (functions/db-writer: 45 s of applying, then up to 5 s for the batch in flight to
// end before it answers).
const (
	writeWait     = 20 * time.Second
	dbWriterBound = 45*time.Second + 5*time.Second
)

// TestStackTimeouts: every function's timeouts sit below faasd's as deploy/faasd-gateway.sh sets
// them, each function's own work fits in its exec_timeout, and the watchdog can still write
// its 504 (README, stack.yml "Timeouts").
func TestStackTimeouts(t *testing.T) {
	s := repository(t)
	_, _, to := runFaasdGateway(t)
	timeouts := func(f stack.Function) (read, write, exec time.Duration) {
		t.Helper()
		var ds [3]time.Duration
		for i, k := range []string{"read_timeout", "write_timeout", "exec_timeout"} {
			d, err := time.ParseDuration(f.Environment[k])
			if err != nil || d <= 0 {
				t.Fatalf("%s: got %s %q, want a duration", f.Name, k, f.Environment[k])
			}
			ds[i] = d
		}
		return ds[0], ds[1], ds[2]
	}
	for _, f := range s.Functions {
		read, write, exec := timeouts(f)
		if exec+time.Second > write {
			t.Errorf("%s: got exec_timeout %v and write_timeout %v, want write at least 1s over exec (room for the watchdog's 504)", f.Name, exec, write)
		}
		if write >= to.service || read > to.service {
			t.Errorf("%s: got write_timeout %v, read_timeout %v, want them under the provider's service_timeout %v", f.Name, write, read, to.service)
		}
		if to.service-write < 3*time.Second {
			t.Errorf("%s: got write_timeout %v, want at least 3s under service_timeout %v", f.Name, write, to.service)
		}
	}
	for _, name := range []string{"register", "account", "upsert-event", "upsert-venue", "seat-availability", "upload-photo"} {
		f, _ := s.Function(name)
		if _, _, exec := timeouts(f); exec < writeWait+5*time.Second {
			t.Errorf("%s: got exec_timeout %v, want room over the write path's wait of %v", name, exec, writeWait)
		}
	}
	w, _ := s.Function("db-writer")
	_, wWrite, wExec := timeouts(w)
	if wExec < dbWriterBound+time.Second {
		t.Errorf("db-writer: got exec_timeout %v, want over its own bound %v", wExec, dbWriterBound)
	}
	c, _ := s.Function("catch-up")
	if _, _, cExec := timeouts(c); cExec < wWrite+2*time.Second {
		t.Errorf("catch-up: got exec_timeout %v, want over db-writer's write_timeout %v (it waits for every db-writer)", cExec, wWrite)
	}
}

// TestCaddyfile: the edge proxies to the gateway on loopback and writes the header the
// functions read from the TCP peer.
func TestCaddyfile(t *testing.T) {
	s := repository(t)
	b, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "Caddyfile"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, strings.Join(strings.Fields(l), " "))
		}
	}
	for _, want := range []string{"reverse_proxy 127.0.0.1:8080 {", "header_up X-Real-IP {remote_host}"} {
		if !slices.Contains(lines, want) {
			t.Errorf("deploy/Caddyfile: got no line %q", want)
		}
	}
	for _, l := range lines {
		if strings.Contains(l, "trusted_proxies") || strings.Contains(l, "header_up X-Forwarded-For") {
			t.Errorf("deploy/Caddyfile: got %q, want X-Forwarded-For left to Caddy, trusting no proxy", l)
		}
	}
	f, _ := s.Function("login")
	if h := f.Environment["CLIENT_ADDR_HEADER"]; !strings.EqualFold(h, "X-Real-IP") {
		t.Errorf("login: got CLIENT_ADDR_HEADER %q, want the header the Caddyfile writes", h)
	}
}
