package buildctx

import (
	"bytes"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"go.yaml.in/yaml/v3"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/devservices"
	"github.com/dostupno/dostupno/cmd/dostupno/internal/natsauth"
	"github.com/dostupno/dostupno/cmd/dostupno/internal/stack"
	"github.com/dostupno/dostupno/migrations"
)

// The part of the compose format faasd reads; unknown keys fail the test.
type composeFile struct {
	Version  string                    `yaml:"version"`
	Services map[string]composeService `yaml:"services"`
}

type composeService struct {
	Image       string          `yaml:"image"`
	Command     []string        `yaml:"command"`
	Environment []string        `yaml:"environment"`
	Volumes     []composeVolume `yaml:"volumes"`
	Ports       []string        `yaml:"ports"`
	CapAdd      []string        `yaml:"cap_add"`
	DependsOn   []string        `yaml:"depends_on"`
	User        string          `yaml:"user"`
}

type composeVolume struct {
	Type   string `yaml:"type"`
	Source string `yaml:"source"`
	Target string `yaml:"target"`
}

// faasdBridge is the address of faasd's bridge (openfaas0) on the VM: functions reach the
// services there.
const faasdBridge = "10.62.0.1"

func (s composeService) env(key string) (string, bool) {
	for _, kv := range s.Environment {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			return v, true
		}
	}
	return "", false
}

// mounted returns the host source bound at target.
func (s composeService) mounted(target string) (string, bool) {
	for _, v := range s.Volumes {
		if v.Target == target {
			return v.Source, true
		}
	}
	return "", false
}

// published lists the host addresses "ip:port" of s.
func (s composeService) published() []string {
	var out []string
	for _, p := range s.Ports {
		if parts := strings.Split(p, ":"); len(parts) == 3 {
			out = append(out, parts[0]+":"+parts[1])
		}
	}
	return out
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return c
}

// credentialKey names variables that would hold a credential; only their _FILE form may appear.
var credentialKey = regexp.MustCompile(`(?i)pass|secret|token|access_key|root_user|api_key`)

// The compose file's Postgres runs with the settings the local runner gives its own cluster.
func TestComposePostgresSettings(t *testing.T) {
	repository(t)
	pg := loadCompose(t).Services["postgres"]
	var got []string
	for i := 0; i < len(pg.Command); i++ {
		if pg.Command[i] == "-c" && i+1 < len(pg.Command) {
			got = append(got, pg.Command[i+1])
			i++
		}
	}
	if !slices.Equal(got, devservices.PostgresSettings) {
		t.Errorf("docker-compose.yml postgres: got settings %q, want %q (cmd/dostupno/internal/devservices.PostgresSettings)", got, devservices.PostgresSettings)
	}
	if len(pg.Command) == 0 || pg.Command[0] != "postgres" {
		t.Errorf("docker-compose.yml postgres: got command %q, want it to start with \"postgres\"", pg.Command)
	}
}

func TestCompose(t *testing.T) {
	repository(t)
	c := loadCompose(t)
	for _, name := range []string{"postgres", "nats-jetstream", "minio"} {
		if _, ok := c.Services[name]; !ok {
			t.Errorf("docker-compose.yml: got no service %s, want one", name)
		}
	}
	for _, name := range []string{"nats-connector", "cron-connector"} {
		if _, ok := c.Services[name]; ok {
			t.Errorf("docker-compose.yml: got service %s, want it run by deploy/dostupno-connector@.service (faasd restarts no service)", name)
		}
	}
	for _, name := range []string{"gateway", "nats", "prometheus", "queue-worker", "basic-auth-plugin", "faasd-provider"} {
		if _, ok := c.Services[name]; ok {
			t.Errorf("docker-compose.yml: service %s is faasd's own; a second one would replace it", name)
		}
	}
	for name, s := range c.Services {
		t.Run(name, func(t *testing.T) {
			if err := checkPinned(s.Image); err != nil {
				t.Error(err)
			}
			for _, p := range s.Ports {
				parts := strings.Split(p, ":")
				if len(parts) != 3 || (parts[0] != "127.0.0.1" && parts[0] != faasdBridge) {
					t.Errorf("port %q: want it bound to 127.0.0.1 or %s (ip:host:container)", p, faasdBridge)
				}
			}
			for _, kv := range s.Environment {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					t.Errorf("environment %q: want KEY=value", kv)
					continue
				}
				if credentialKey.MatchString(k) && !strings.HasSuffix(k, "_FILE") && k != "secret_mount_path" && k != "basic_auth" {
					t.Errorf("environment %s: a credential given literally; use %s_FILE and a file", k, k)
				}
				if strings.HasSuffix(k, "_FILE") {
					if _, ok := s.mounted(v); !ok {
						t.Errorf("environment %s=%s: no volume is mounted there", k, v)
					}
				}
			}
			for _, v := range s.Volumes {
				if v.Type != "bind" || !strings.HasPrefix(v.Source, "/var/lib/faasd/") || path.Clean(v.Source) != v.Source {
					t.Errorf("volume %+v: want a bind mount from under /var/lib/faasd/", v)
				}
			}
			for _, d := range s.DependsOn {
				if _, ok := c.Services[d]; !ok && d != "gateway" && d != "nats" {
					t.Errorf("depends_on %s: no such service here or in faasd", d)
				}
			}
		})
	}

	pg := c.Services["postgres"]
	if _, ok := pg.env("POSTGRES_PASSWORD_FILE"); !ok {
		t.Error("postgres: want POSTGRES_PASSWORD_FILE")
	}
	minio := c.Services["minio"]
	for _, k := range []string{"MINIO_ROOT_USER_FILE", "MINIO_ROOT_PASSWORD_FILE"} {
		if _, ok := minio.env(k); !ok {
			t.Errorf("minio: want %s", k)
		}
	}
	for name, port := range map[string]string{"postgres": "5432", "nats-jetstream": "4222", "minio": "9000"} {
		got := c.Services[name].published()
		for _, want := range []string{"127.0.0.1:" + port, faasdBridge + ":" + port} {
			if !slices.Contains(got, want) {
				t.Errorf("%s: got ports %v, want %s published", name, got, want)
			}
		}
	}
}

// TestNATSSyncAlways reads the NATS server's configuration the way nats-server does and
// checks that the server runs JetStream on its data volume and syncs every write to disk.
func TestNATSSyncAlways(t *testing.T) {
	repository(t)
	c := loadCompose(t)
	n := c.Services["nats-jetstream"]
	args := strings.Join(n.Command, " ")
	for _, want := range []string{" -js", " -sd /data", " --config /etc/nats/dostupno.conf"} {
		if !strings.Contains(args, want) {
			t.Errorf("nats-jetstream: command %q lacks %q", args, want)
		}
	}
	if src, ok := n.mounted("/data"); !ok || !strings.HasPrefix(src, "/var/lib/faasd/") {
		t.Errorf("nats-jetstream: got data volume %q, want one under /var/lib/faasd", src)
	}
	src, ok := n.mounted("/etc/nats/dostupno.conf")
	if !ok || filepath.Base(src) != "nats.conf" {
		t.Fatalf("nats-jetstream: got config mounted from %q, want .../nats.conf (deploy/nats.conf)", src)
	}
	keysSrc, ok := n.mounted("/etc/nats/" + natsauth.KeysFile)
	if !ok || keysSrc != filepath.Join(filepath.Dir(src), natsauth.KeysFile) {
		t.Fatalf("nats-jetstream: got the public keys mounted from %q, want %s beside nats.conf", keysSrc, natsauth.KeysFile)
	}
	// As on the VM: the configuration beside the keys file dostupno nats-keys writes.
	dir := t.TempDir()
	conf, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "nats.conf"))
	if err != nil {
		t.Fatal(err)
	}
	keys, _, err := natsauth.EnsureSeeds(filepath.Join(dir, "secrets"), natsauth.Identities())
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string]string{"nats.conf": string(conf), natsauth.KeysFile: natsauth.RenderKeys(keys)} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	opts, err := server.ProcessConfigFile(filepath.Join(dir, "nats.conf"))
	if err != nil {
		t.Fatalf("deploy/nats.conf: %v", err)
	}
	if !opts.SyncAlways {
		t.Fatal("deploy/nats.conf: got sync_interval not always, want jetstream { sync_interval: always }")
	}
	if len(opts.Nkeys) != len(natsauth.Identities())+1 || opts.NoAuthUser != natsauth.DoorbellKey {
		t.Fatalf("deploy/nats.conf: got %d users and no_auth_user %q, want every identity's and the doorbell", len(opts.Nkeys), opts.NoAuthUser)
	}
}

// The compose file's Postgres makes the roles at its first start, as the superuser, from the
// repository's scripts, and gives each role its pgpass file's password.
func TestComposePostgresRoles(t *testing.T) {
	repository(t)
	pg := loadCompose(t).Services["postgres"]
	if u, _ := pg.env("POSTGRES_USER"); u == "" || strings.HasPrefix(u, "dostupno") {
		t.Errorf("postgres: got POSTGRES_USER %q, want a superuser apart from the application's roles", u)
	}
	if src, ok := pg.mounted("/docker-entrypoint-initdb.d"); !ok || !strings.HasPrefix(src, "/var/lib/faasd/dostupno/") {
		t.Errorf("postgres: got init scripts from %q, want a folder under /var/lib/faasd/dostupno", src)
	}
	script, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "postgres-roles.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range []string{migrations.OwnerRole, migrations.WriterRole, migrations.ReaderRole, migrations.SnapshotRole} {
		secret := migrations.PassfileSecret(role)
		if src, ok := pg.mounted("/run/secrets/" + secret); !ok || filepath.Base(src) != secret {
			t.Errorf("postgres: got %s mounted from %q, want the secret %s", secret, src, secret)
		}
		if !strings.Contains(string(script), strings.TrimPrefix(role, "dostupno_")) || !strings.Contains(migrations.RolesSQL, "'"+role+"'") {
			t.Errorf("role %s: missing from deploy/postgres-roles.sh or migrations/roles.sql", role)
		}
	}
}

// connectorEnv reads deploy/<name>.env, the variables of one connector's systemd unit.
func connectorEnv(t *testing.T, name string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "deploy", name+".env"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" || strings.ContainsAny(k, " #") {
			t.Fatalf("deploy/%s.env line %d: got %q, want KEY=value (ctr reads no comments)", name, i+1, line)
		}
		env[k] = v
	}
	return env
}

// TestConnectorUnits: the connectors run from deploy/dostupno-connector@.service, which starts
// them again whenever they exit, on the host's network, with the gateway's credentials; each
// points at the gateway and NATS on loopback, where docker-compose.yml and
// deploy/faasd-gateway.sh publish them.
func TestConnectorUnits(t *testing.T) {
	repository(t)
	b, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "dostupno-connector@.service"))
	if err != nil {
		t.Fatal(err)
	}
	unit := string(b)
	for _, want := range []string{"Restart=always", "StartLimitIntervalSec=0", "EnvironmentFile=/var/lib/faasd/dostupno/%i.env",
		"--env-file /var/lib/faasd/dostupno/%i.env", "--net-host", "--rm", "${IMAGE} %i",
		"src=/var/lib/faasd/secrets/basic-auth-user,dst=/run/secrets/basic-auth-user",
		"src=/var/lib/faasd/secrets/basic-auth-password,dst=/run/secrets/basic-auth-password"} {
		if !strings.Contains(unit, want) {
			t.Errorf("deploy/dostupno-connector@.service: lacks %q", want)
		}
	}
	jetstream := loadCompose(t).Services["nats-jetstream"].published()
	for _, name := range []string{"nats-connector", "cron-connector"} {
		env := connectorEnv(t, name)
		if err := checkPinned(env["IMAGE"]); err != nil || !strings.Contains(env["IMAGE"], "/openfaas/"+name+":") {
			t.Errorf("%s: got IMAGE %q, want openfaas's %s pinned (%v)", name, env["IMAGE"], name, err)
		}
		if env["gateway_url"] != "http://127.0.0.1:8080" || env["basic_auth"] != "true" || env["secret_mount_path"] != "/run/secrets/" {
			t.Errorf("%s: got %v, want gateway_url http://127.0.0.1:8080 with basic auth from /run/secrets/", name, env)
		}
	}
	nats := connectorEnv(t, "nats-connector")
	// broker_host is a host alone: the connector always dials port 4222.
	if h := nats["broker_host"]; h != "127.0.0.1" || !slices.Contains(jetstream, h+":4222") {
		t.Errorf("nats-connector: got broker_host %q, want 127.0.0.1 with nats-jetstream published on 127.0.0.1:4222 (%v)", h, jetstream)
	}
}

// TestStackDeployment checks stack.yml against the conventions of the deployment and against
// docker-compose.yml and deploy/: pinned images, secrets, limits, the connectors' annotations
// served by the connectors, catch-up calling every db-writer, and service addresses that
// docker-compose.yml publishes on faasd's bridge.
func TestStackDeployment(t *testing.T) {
	s := repository(t)
	c := loadCompose(t)
	nc := connectorEnv(t, "nats-connector")
	delim := nc["topic_delimiter"]
	if delim == "" {
		delim = ","
	}
	topics := strings.Split(nc["topics"], delim)
	published := map[string]bool{}
	for _, svc := range c.Services {
		for _, p := range svc.published() {
			published[p] = true
		}
	}
	if s.Functions[0].Name != "search-events" {
		t.Errorf("got first function %s, want search-events", s.Functions[0].Name)
	}
	var writers []string
	for _, f := range s.Functions {
		if f.Annotations["topic"] == "dostupno.doorbell" {
			writers = append(writers, f.Name)
		}
	}
	for _, f := range s.Functions {
		t.Run(f.Name, func(t *testing.T) {
			if err := checkPinned(f.Image); err != nil {
				t.Error(err)
			}
			if _, ok := s.Function(f.Name); !ok || f.Lang != "dostupno-go" {
				t.Errorf("got lang %q, want dostupno-go", f.Lang)
			}
			checkSecrets(t, f)
			if f.Limits["memory"] == "" {
				t.Error("got no memory limit, want one")
			}
			if h := f.Environment["CLIENT_ADDR_HEADER"]; h != "X-Real-Ip" {
				t.Errorf("got CLIENT_ADDR_HEADER %q, want X-Real-Ip, the header deploy/Caddyfile writes", h)
			}
			checkServiceURLs(t, f, published)
			switch topic := f.Annotations["topic"]; {
			case topic == "cron-function":
				if f.Annotations["schedule"] == "" {
					t.Error("cron-function topic without a schedule")
				}
			case topic != "":
				if !slices.Contains(topics, topic) {
					t.Errorf("topic %s: nats-connector listens on %q only", topic, topics)
				}
			}
			if f.Name == "catch-up" {
				if u := f.Environment["GATEWAY_URL"]; u != "http://"+faasdBridge+":8080" {
					t.Errorf("got GATEWAY_URL %q, want the gateway on faasd's bridge (deploy/faasd-gateway.sh publishes it there)", u)
				}
				if got := f.Environment["DB_WRITERS"]; got != strings.Join(writers, ",") {
					t.Errorf("got DB_WRITERS %q, want every function on the doorbell: %q", got, strings.Join(writers, ","))
				}
			}
		})
	}
	want := map[string]map[string]string{
		"cache-snapshot": {"topic": "cron-function", "schedule": "*/5 * * * *"},
		"catch-up":       {"topic": "cron-function", "schedule": "* * * * *"},
		"db-writer":      {"topic": "dostupno.doorbell"},
	}
	for name, ann := range want {
		f, ok := s.Function(name)
		if !ok {
			t.Errorf("stack.yml: got no function %s, want one", name)
			continue
		}
		for k, v := range ann {
			if f.Annotations[k] != v {
				t.Errorf("%s: got annotation %s=%q, want %q", name, k, f.Annotations[k], v)
			}
		}
	}
}

// checkServiceURLs checks that the services f is pointed at are published on faasd's bridge,
// and that a Postgres password comes from a secret file of f.
func checkServiceURLs(t *testing.T, f stack.Function, published map[string]bool) {
	t.Helper()
	addr := func(variable, raw string) string {
		if !strings.Contains(raw, "://") {
			return raw
		}
		u, err := url.Parse(raw)
		if err != nil {
			t.Errorf("%s: %v", variable, err)
			return ""
		}
		if u.User != nil {
			if _, has := u.User.Password(); has {
				t.Errorf("%s: got a password in the URL, want it from a secret (passfile)", variable)
			}
		}
		if pf := u.Query().Get("passfile"); pf != "" && !slices.Contains(f.Secrets, filepath.Base(pf)) {
			t.Errorf("%s: passfile %s is not one of the function's secrets %v", variable, pf, f.Secrets)
		}
		return u.Host
	}
	for _, variable := range []string{"DATABASE_URL", "DATABASE_READ_URL", "NATS_URL", "S3_ENDPOINT"} {
		raw := f.Environment[variable]
		if raw == "" {
			// A function that reaches none of the services (catch-up) names none of them.
			if variable != "DATABASE_READ_URL" && f.Environment["DATABASE_URL"] != "" {
				t.Errorf("got no %s, want one", variable)
			}
			continue
		}
		host := addr(variable, raw)
		if h, _, err := net.SplitHostPort(host); err != nil || h != faasdBridge || !published[host] {
			t.Errorf("%s: got %s, want an address docker-compose.yml publishes on %s", variable, host, faasdBridge)
		}
	}
}

// tokenIssuers are the functions that sign tokens; every other function only verifies them.
var tokenIssuers = []string{"register", "login"}

// photoSigners are the functions that store photos or sign their URLs with the S3 keys.
var photoSigners = []string{"search-events", "get-event", "cache-snapshot", "upload-photo"}

// checkSecrets wants f to list exactly the secrets it needs: the public token key for every
// function, the private one for the issuers alone (a function that only verifies must not be
// able to mint an admin token), and the S3 keys only where photos are handled.
func checkSecrets(t *testing.T, f stack.Function) {
	t.Helper()
	has := func(s string) bool { return slices.Contains(f.Secrets, s) }
	if !has("jwt-public-key") {
		t.Errorf("got secrets %v, want jwt-public-key: every function verifies the tokens it is sent", f.Secrets)
	}
	if issuer := slices.Contains(tokenIssuers, f.Name); has("jwt-private-key") != issuer {
		t.Errorf("got secrets %v: jwt-private-key belongs to the token issuers %v alone", f.Secrets, tokenIssuers)
	}
	if signer := slices.Contains(photoSigners, f.Name); has("s3-access-key") != signer || has("s3-secret-key") != signer {
		t.Errorf("got secrets %v: the S3 keys belong to %v alone", f.Secrets, photoSigners)
	}
	for _, old := range []string{"jwt-secret", "jwt-secret-previous", "pgpass"} {
		if has(old) {
			t.Errorf("got secrets %v, want no %s (tokens are EdDSA now; each role has its own pgpass)", f.Secrets, old)
		}
	}
	// The function connects as its database role, with that role's passfile and no other; a
	// function with no role (catch-up) names no database and holds no passfile.
	role := migrations.FunctionRole(f.Name)
	if role == "" {
		if f.Environment["DATABASE_URL"] != "" || slices.ContainsFunc(f.Secrets, func(s string) bool { return strings.HasPrefix(s, "pgpass") }) {
			t.Errorf("got DATABASE_URL %q and secrets %v, want neither a database nor a passfile", f.Environment["DATABASE_URL"], f.Secrets)
		}
		return
	}
	u, err := url.Parse(f.Environment["DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	if u.User.Username() != role || filepath.Base(u.Query().Get("passfile")) != migrations.PassfileSecret(role) {
		t.Errorf("got DATABASE_URL as %s with passfile %s, want %s with %s", u.User.Username(), u.Query().Get("passfile"), role, migrations.PassfileSecret(role))
	}
	for _, s := range f.Secrets {
		if strings.HasPrefix(s, "pgpass") && s != migrations.PassfileSecret(role) {
			t.Errorf("got secret %s, want only %s's passfile", s, role)
		}
	}
}
