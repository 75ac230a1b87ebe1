package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/gateway"
	"github.com/dostupno/dostupno/cmd/dostupno/internal/stack"
	"github.com/dostupno/dostupno/shared/apitest"
	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/natstest"
	"github.com/dostupno/dostupno/shared/pgtest"
	"github.com/dostupno/dostupno/shared/s3test"
	"github.com/dostupno/dostupno/shared/token"
	"github.com/dostupno/dostupno/shared/writelog"
)

// testRunner is a runner as up starts it, on this test's own databases, NATS namespace and
// bucket, served at URL (up's address: the edge, unless off).
type testRunner struct {
	*runner
	URL    string
	Config config.Config
}

// testEnv is the environment a test gives the runner's functions.
type testEnv map[string]string

func (e testEnv) lookup(k string) (string, bool) { v, ok := e[k]; return v, ok }

// runnerEnv gives t its own database, NATS namespace, bucket and secrets directory (with a
// token key pair), as the environment variables the runner reads.
func runnerEnv(t *testing.T) testEnv {
	t.Helper()
	dbURL := pgtest.NewURL(t)
	n := natstest.New(t)
	s3 := s3test.New(t)
	secrets := secretsDir(t, s3)
	return testEnv{
		"DATABASE_URL": dbURL, "NATS_URL": n.URL, "DOSTUPNO_NAMESPACE": n.Namespace,
		"S3_ENDPOINT": s3.Endpoint, "S3_BUCKET": s3.Bucket, "S3_USE_SSL": "false",
		"SECRETS_DIR": secrets,
	}
}

// secretsDir is a secrets directory with a token key pair and the keys of s3.
func secretsDir(t *testing.T, s3 *s3test.Env) string {
	t.Helper()
	secrets := t.TempDir()
	writeKeyPair(t, secrets, true)
	for name, v := range map[string]string{"s3-access-key": s3.AccessKey, "s3-secret-key": s3.SecretKey} {
		if err := os.WriteFile(filepath.Join(secrets, name), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return secrets
}

// startTestRunner serves st (nil: the repository's stack.yml) as up does, with copies more
// database copies than the primary; each function has the secrets stack.yml lists for it and
// connects to the primary copy as its database role, unless o.Runtime says otherwise.
func startTestRunner(t *testing.T, st *stack.Stack, o runnerOptions, copies int) *testRunner {
	t.Helper()
	env := runnerEnv(t)
	var replicas []string
	for range copies {
		replicas = append(replicas, pgtest.NewURL(t))
	}
	env["DATABASE_REPLICA_URLS"] = strings.Join(replicas, ",")
	env["CORS_ALLOWED_ORIGINS"] = oaOrigin
	cfg, err := config.Load(env.lookup)
	if err != nil {
		t.Fatal(err)
	}
	if o.Runtime.Secrets == "" && !o.Runtime.NATSCreds && !o.Runtime.Roles {
		o.Runtime.Secrets, o.Runtime.Roles = t.TempDir(), true
	}
	return serveRunner(t, st, cfg, o)
}

// serveRunner starts a runner of st (nil: the repository's stack.yml) on cfg's services, as
// startTestRunner does, and serves it until t ends.
func serveRunner(t *testing.T, st *stack.Stack, cfg config.Config, o runnerOptions) *testRunner {
	t.Helper()
	if st == nil {
		st = repoStack(t)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	var cleanups []func()
	t.Cleanup(func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	})
	rn, err := startRunner(context.Background(), st, cfg, o, &cleanups)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rn.Handler)
	t.Cleanup(func() {
		srv.Close()
		if err := rn.Stop(); err != nil {
			t.Errorf("stop the runner: %v", err)
		}
	})
	return &testRunner{runner: rn, URL: srv.URL, Config: cfg}
}

// status reads the position of db-writer fn's copy through the runner, as an admin.
func (tr *testRunner) status(t *testing.T, fn string) (applied, stream uint64) {
	t.Helper()
	keys, err := token.Load(tr.Config)
	if err != nil {
		t.Fatal(err)
	}
	admin, _, err := keys.Issue(apitest.AdminID, token.RoleAdmin, 0)
	if err != nil {
		t.Fatal(err)
	}
	resp, b := apitest.Do(t, http.MethodGet, tr.URL+"/function/"+fn+"/status", nil, "Authorization", apitest.Bearer(admin))
	var st struct {
		AppliedSeq uint64 `json:"applied_seq"`
		StreamSeq  uint64 `json:"stream_seq"`
	}
	if err := json.Unmarshal(b, &st); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%s/status: got %d %s (%v), want 200", fn, resp.StatusCode, b, err)
	}
	return st.AppliedSeq, st.StreamSeq
}

// waitApplied waits until db-writer fn's copy has applied seq, or fails after limit.
func (tr *testRunner) waitApplied(t *testing.T, fn string, seq uint64, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		applied, _ := tr.status(t, fn)
		if applied >= seq {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: applied %d after %v, want %d", fn, applied, limit, seq)
		}
		<-tick.C
	}
}

// adminToken makes an admin as `dostupno admin create` does on cfg's services, logs it in
// through the runner at api and returns its token.
func adminToken(t *testing.T, cfg config.Config, api, email string) string {
	t.Helper()
	return roleToken(t, cfg, api, email, token.RoleAdmin)
}

// roleToken is adminToken for role (`dostupno admin create --role`).
func roleToken(t *testing.T, cfg config.Config, api, email, role string) string {
	t.Helper()
	if err := adminCreate(context.Background(), cfg, email, role, stdin(t, "granite meadow 11\n"), io.Discard, io.Discard); err != nil {
		t.Fatalf("admin create --role %s: %v", role, err)
	}
	resp, b := apitest.Do(t, http.MethodPost, api+"/function/login", strings.NewReader(`{"email":"`+email+`","password":"granite meadow 11"}`),
		"Content-Type", "application/json")
	var session struct{ Token string }
	if err := json.Unmarshal(b, &session); resp.StatusCode != http.StatusOK || err != nil || session.Token == "" {
		t.Fatalf("log the %s in: got %d %s, want 200 and a token", role, resp.StatusCode, b)
	}
	return session.Token
}

// upsert writes one event through upsert-event as an admin; the primary copy has it when the
// answer comes, the others only once their db-writer runs. It returns the stream's sequence.
func (tr *testRunner) upsert(t *testing.T, id int) uint64 {
	t.Helper()
	tok := adminToken(t, tr.Config, tr.URL, fmt.Sprintf("admin%d@example.ru", id))
	ev := fmt.Sprintf(`{"id":%d,"title":"Вечер %d","category":"concert","city":"kazan","venue":{"id":3,"name":"Клуб"},`+
		`"starts_at":"2027-05-01T19:00:00+03:00","timezone":"Europe/Moscow","accessibility":{"sign_language":"yes"}}`, id, id)
	resp, b := apitest.Do(t, http.MethodPut, tr.URL+"/function/upsert-event", strings.NewReader(ev), "Content-Type", "application/json", "Authorization", "Bearer "+tok)
	if resp.StatusCode != 200 {
		t.Fatalf("upsert %d: got %d %s, want 200", id, resp.StatusCode, b)
	}
	_, stream := tr.status(t, "db-writer")
	return stream
}

// TestClientAddressThroughTheRunner: 51 failed logins from one address meet 429 by the 51st,
// with the per-address limit of 50 failures (51 emails, so the per-email limit of 5 never
// counts), however the client varies what it controls, when the edge writes the address as
// the deployment's does. Without an edge, the runner behaves as the real gateway: a new
// connection each time is still one address (the port is dropped), but a client that writes
// its own X-Forwarded-For picks its own key.
func TestClientAddressThroughTheRunner(t *testing.T) {
	t.Parallel()
	const attempts = 51
	tests := []struct {
		name      string
		edge      bool
		xff       func(i int) string // the client's X-Forwarded-For ("" for none)
		want429At int                // the attempt that meets 429 (0: none does)
	}{
		{"EdgeNoHeaderNewConnections", true, func(int) string { return "" }, 51},
		{"EdgeClientWritesXFFEachTime", true, func(i int) string { return fmt.Sprintf("198.51.100.%d", i) }, 51},
		{"EdgeClientWritesHopsEachTime", true, func(i int) string { return fmt.Sprintf("203.0.113.%d, 198.51.100.%d", i, i) }, 51},
		{"NoEdgeNoHeaderNewConnections", false, func(int) string { return "" }, 51},
		{"NoEdgeClientPicksItsKey", false, func(i int) string { return fmt.Sprintf("198.51.100.%d", i) }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := startTestRunner(t, nil, runnerOptions{Edge: tt.edge}, 0)
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			for i := 1; i <= attempts; i++ {
				reused := false
				ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{GotConn: func(c httptrace.GotConnInfo) { reused = c.Reused }})
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, tr.URL+"/function/login",
					strings.NewReader(fmt.Sprintf(`{"email":"nobody%d@example.ru","password":"a wrong password %d"}`, i, i)))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/json")
				if x := tt.xff(i); x != "" {
					req.Header.Set("X-Forwarded-For", x)
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body) // shown if the status is wrong
				resp.Body.Close()
				if reused {
					t.Fatalf("attempt %d reused a connection, want a new one each time", i)
				}
				want := http.StatusUnauthorized
				if tt.want429At != 0 && i >= tt.want429At {
					want = http.StatusTooManyRequests
				}
				if resp.StatusCode != want {
					t.Fatalf("attempt %d: got %d %s, want %d", i, resp.StatusCode, b, want)
				}
			}
		})
	}
}

// TestConnectorsRequestsReachTheFunctions: the functions the connectors call answer the
// connectors' real requests through the runner: cron-connector's POST to
// /function/<name>.openfaas-fn with no body (cache-snapshot, catch-up), the NATS connector's
// /async-function/db-writer.openfaas-fn with the doorbell's bytes (chunked behind the
// watchdog), and a synchronous chunked POST to db-writer.
func TestConnectorsRequestsReachTheFunctions(t *testing.T) {
	t.Parallel()
	// The schedules never come during the test: only the calls below (made as the schedule
	// makes them) and the NATS connector reach the functions.
	st := stackWithSchedule(t, map[string]string{"cache-snapshot": "@yearly", "catch-up": "@yearly"})
	n := natstest.New(t)
	tr := startTestRunner(t, st, runnerOptions{Edge: true, Cron: true, NATS: n.Conn}, 1)
	ctx := context.Background()
	for _, fn := range []string{"cache-snapshot", "catch-up"} {
		if status, err := tr.Cron.Call(ctx, fn); err != nil || status != http.StatusNoContent {
			t.Fatalf("cron-connector's call to %s: got %d %v, want 204", fn, status, err)
		}
	}
	doorbell := writelog.DoorbellSubject(tr.Config.Namespace)
	if got := tr.runner.NATS.Topics[doorbell]; strings.Join(got, ",") != "db-writer,db-writer-2" {
		t.Fatalf("got %s -> %v, want both writers", doorbell, got)
	}

	// The write rings the doorbell; the NATS connector's /async-function call with its bytes is
	// the only way copy-2 applies it.
	seq := tr.upsert(t, 7001)
	tr.waitApplied(t, "db-writer-2", seq, 30*time.Second)

	// db-writer taking a body as the watchdog hands it (chunked) on its name.namespace path.
	resp, b := apitest.Do(t, http.MethodPost, tr.URL+"/function/db-writer-2.openfaas-fn", io.MultiReader(strings.NewReader(tr.Config.Namespace)),
		"X-Topic", doorbell, "X-Connector", "connector-sdk")
	if resp.StatusCode != 204 || len(b) != 0 {
		t.Fatalf("got %d %s, want 204 with no body", resp.StatusCode, b)
	}
	if applied, stream := tr.status(t, "db-writer-2"); applied != stream {
		t.Fatalf("got copy-2 at %d of %d, want it caught up", applied, stream)
	}
}

// stackWithSchedule is the repository's stack.yml with the schedules of some functions changed.
func stackWithSchedule(t *testing.T, schedules map[string]string) *stack.Stack {
	t.Helper()
	st := repoStack(t)
	for i, f := range st.Functions {
		if spec, ok := schedules[f.Name]; ok {
			ann := maps.Clone(f.Annotations)
			ann["schedule"] = spec
			st.Functions[i].Annotations = ann
		}
	}
	return st
}

// TestCopiesCatchUpWithoutTheNATSConnector: with no NATS connector delivering doorbells, a
// copy left behind by a write catches up through cron-connector's catch-up, which calls every
// db-writer through the gateway (on a schedule of every second here; every minute on faasd).
func TestCopiesCatchUpWithoutTheNATSConnector(t *testing.T) {
	t.Parallel()
	st := stackWithSchedule(t, map[string]string{"catch-up": "@every 1s", "cache-snapshot": "@yearly"})
	tr := startTestRunner(t, st, runnerOptions{Edge: true, Cron: true}, 1)
	seq := tr.upsert(t, 7002)
	tr.waitApplied(t, "db-writer-2", seq, time.Minute)
	if applied, stream := tr.status(t, "db-writer-2"); applied != stream {
		t.Fatalf("got copy-2 at %d of %d, want it caught up", applied, stream)
	}
}

// TestRunnerConnectorsAsDeployed: the runner's connectors invoke as deploy/'s configure the
// real ones.
func TestRunnerConnectorsAsDeployed(t *testing.T) {
	for name, conn := range map[string]gateway.Connector{"cron-connector": cronConnector, "nats-connector": natsConnector} {
		b, err := os.ReadFile(filepath.Join("..", "..", "deploy", name+".env"))
		if err != nil {
			t.Fatal(err)
		}
		env := map[string]string{}
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				env[k] = v
			}
		}
		if got := env["asynchronous_invocation"] == "true"; got != conn.Async {
			t.Errorf("%s: got asynchronous_invocation=%q in deploy/, want the runner's %v", name, env["asynchronous_invocation"], conn.Async)
		}
		if v := env["upstream_timeout"]; v != "" {
			if d, err := time.ParseDuration(v); err != nil || d != conn.Timeout {
				t.Errorf("%s: got upstream_timeout=%q in deploy/, want the runner's %v", name, v, conn.Timeout)
			}
		}
	}
}
