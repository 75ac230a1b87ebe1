package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/devservices"
	"github.com/dostupno/dostupno/cmd/dostupno/internal/gateway"
	"github.com/dostupno/dostupno/cmd/dostupno/internal/natsauth"
	"github.com/dostupno/dostupno/cmd/dostupno/internal/stack"
	"github.com/dostupno/dostupno/cmd/dostupno/internal/webpage"
	"github.com/dostupno/dostupno/migrations"
	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/logging"
	"github.com/dostupno/dostupno/shared/writelog"
)

func init() {
	register(command{name: "up", usage: "[--addr 127.0.0.1:8080] [--web-addr 127.0.0.1:8081] [--web-dir web] [--data ./.dostupno] [--stack stack.yml] [--edge=false] run every function locally behind an edge and a gateway-shaped router, and the web page on its own origin, starting the services the environment does not name", run: runUp})
}

// upOptions are up's flags, plus what tests need.
type upOptions struct {
	Addr, Data, Stack string
	// WebAddr is where the web page is served ("" for no page); WebDir holds its files.
	WebAddr, WebDir string
	Edge            bool                         // play the edge in front of the gateway (--edge)
	Out             io.Writer                    // the lines a person reads: what was started, where
	Log             *slog.Logger                 // the runner's own JSON log
	Lookup          func(string) (string, bool)  // the environment (nil: the process's)
	Ready           func(api string, web string) // called once both serve, with their addresses ("" for no page)
	// Services, when set, is called once the services are up, with the configuration the
	// functions get and the Postgres cluster up started (nil when DATABASE_URL was given):
	// tests restart it under load.
	Services func(cfg config.Config, pg *devservices.Postgres)
}

func runUp(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	o := upOptions{Out: os.Stdout, Log: logging.New(os.Stderr, "up"), Edge: true}
	fs.StringVar(&o.Addr, "addr", "127.0.0.1:8080", "address the gateway-shaped router listens on")
	fs.StringVar(&o.WebAddr, "web-addr", "127.0.0.1:8081", "address the web page is served on, an origin of its own (\"\" for no page)")
	fs.StringVar(&o.WebDir, "web-dir", "web", "folder of the web page")
	fs.StringVar(&o.Data, "data", "./.dostupno", "folder for the services up starts and the development secrets")
	fs.StringVar(&o.Stack, "stack", "stack.yml", "the faas-cli stack file listing the functions")
	fs.BoolVar(&o.Edge, "edge", true, "play the deployment's edge in front of the gateway: it writes the client's address (X-Real-IP) from the TCP peer; --edge=false serves the bare gateway")
	if err := parseArgs(fs, args, 0); err != nil {
		return err
	}
	return up(ctx, o)
}

// Server timeouts, as faasd's gateway has them.
const (
	upReadTimeout  = 60 * time.Second
	upWriteTimeout = 60 * time.Second
	upDrain        = 30 * time.Second
)

func up(ctx context.Context, o upOptions) (err error) {
	say := func(format string, a ...any) { fmt.Fprintf(o.Out, "dostupno up: "+format+"\n", a...) }
	st, err := stack.Load(o.Stack)
	if err != nil {
		return err
	}
	var missing []string
	for _, f := range st.Functions {
		if builders[f.Name] == nil {
			missing = append(missing, f.Name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s lists functions this runner cannot serve: %s (each needs a line in builders, cmd/dostupno/functions.go)", o.Stack, strings.Join(missing, ", "))
	}
	lookup := o.Lookup
	if lookup == nil {
		lookup = os.LookupEnv
	}
	cfg, err := config.Load(lookup)
	if err != nil {
		return err
	}
	data, err := filepath.Abs(o.Data)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(data, 0o755); err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	// Listen before starting anything, so that a taken port fails at once; requests wait in
	// the backlog until the functions are built.
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.Addr, err)
	}
	defer ln.Close() // closed by Shutdown when serving began; a second close is harmless
	var page http.Handler
	var webLn net.Listener
	if o.WebAddr != "" {
		if page, err = webpage.Handler(o.WebDir, webpage.URL(ln.Addr())); err != nil {
			return fmt.Errorf("%w (run up from the repository's root, pass --web-dir, or --web-addr '' for no page)", err)
		}
		if webLn, err = net.Listen("tcp", o.WebAddr); err != nil {
			return fmt.Errorf("listen on %s for the web page: %w", o.WebAddr, err)
		}
		defer webLn.Close()
		// The page calls the API from its own origin: the API lets it.
		for _, origin := range webpage.Origins(webLn.Addr()) {
			if !slices.Contains(cfg.CORSOrigins, origin) {
				cfg.CORSOrigins = append(cfg.CORSOrigins, origin)
			}
		}
	}

	// What up starts is stopped in reverse order on the way out, also after a failed start.
	var cleanups []func()
	defer func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}()

	v, _ := lookup("SECRETS_DIR")
	ownSecrets := strings.TrimSpace(v) == ""
	if ownSecrets {
		dir := filepath.Join(data, "secrets")
		created, err := devservices.EnsureSecrets(dir)
		if err != nil {
			return fmt.Errorf("development secrets: %w", err)
		}
		cfg.SecretsDir = dir
		if len(created) > 0 {
			say("secrets: SECRETS_DIR is not set: generated development secrets %s in %s", strings.Join(created, ", "), dir)
		} else {
			say("secrets: SECRETS_DIR is not set: using the development secrets in %s", dir)
		}
	} else {
		say("secrets: SECRETS_DIR=%s", cfg.SecretsDir)
	}

	run := runtime{Secrets: filepath.Join(data, "functions")}
	var pg *devservices.Postgres
	if cfg.DatabaseURL == "" {
		run.Roles = true
		pg, err = devservices.StartPostgres(ctx, filepath.Join(data, "postgres"))
		if err != nil {
			return fmt.Errorf("DATABASE_URL is not set and a private PostgreSQL cluster could not start: %w", err)
		}
		cleanups = append(cleanups, func() {
			if err := pg.Stop(); err != nil {
				say("postgres: stop: %v", err)
			} else {
				say("postgres: stopped")
			}
		})
		cfg.DatabaseURL = pg.URL
		if pg.Restarted {
			say("postgres: stopped the cluster an earlier run left running")
		}
		if pg.Moved != "" {
			say("postgres: %s", pg.Moved)
		}
		say("postgres: DATABASE_URL is not set: started a private PostgreSQL %s cluster (running as %s) at %s, data in %s", pg.Version, pg.User, pg.URL, pg.Dir)
		say("postgres: the database roles: migrations run as %s; search-events and get-event connect as %s (read only, statements of at most 2 s), cache-snapshot as %s, the functions that write as %s",
			migrations.OwnerRole, migrations.ReaderRole, migrations.SnapshotRole, migrations.WriterRole)
	} else {
		say("postgres: DATABASE_URL=%s: migrations and every function use it as it is (a deployment gives each function its role: README, Security)", redact(cfg.DatabaseURL))
	}

	if cfg.NatsURL == "" {
		keys, created, err := natsauth.EnsureSeeds(cfg.SecretsDir, natsIdentities(st, cfg))
		if err != nil {
			return fmt.Errorf("NATS credentials: %w", err)
		}
		n, err := devservices.StartNATS(filepath.Join(data, "nats"), 0, func(o *server.Options) error {
			return natsauth.Configure(o, cfg.Namespace, keys)
		})
		if err != nil {
			return fmt.Errorf("NATS_URL is not set and the embedded NATS server could not start: %w", err)
		}
		cleanups = append(cleanups, func() { n.Stop(); say("nats: stopped") })
		cfg.NatsURL, run.NATSCreds = n.URL, true
		say("nats: NATS_URL is not set: embedded NATS with JetStream (every write synced to disk) at %s, store in %s", n.URL, n.Dir)
		say("nats: credentials required: each function connects with its own (nats-nkey-<function> in %s%s) and may do what it does and nothing else (the permissions of deploy/nats.conf); a connection without credentials may only listen to the doorbell",
			cfg.SecretsDir, createdNote(created))
	} else {
		servers := fmt.Sprintf("NATS_URL=%s (%d server(s)), WRITELOG_REPLICAS=%d", redact(cfg.NatsURL), len(config.List(cfg.NatsURL)), cfg.WritelogReplicas)
		run.NATSCreds = !ownSecrets
		if run.NATSCreds {
			say("nats: %s: each function presents its credential nats-nkey-<function> from SECRETS_DIR where it is there", servers)
		} else {
			say("nats: %s: the functions connect without NATS credentials (development only: set SECRETS_DIR to a folder holding nats-nkey-<function> for a server that requires them)", servers)
		}
	}

	if cfg.S3Endpoint == "" {
		ak, err := cfg.Secret("s3-access-key")
		if err == nil {
			var sk []byte
			if sk, err = cfg.Secret("s3-secret-key"); err == nil {
				var s3 *devservices.S3
				if s3, err = devservices.StartS3(filepath.Join(data, "s3"), string(ak), string(sk)); err == nil {
					cleanups = append(cleanups, func() { s3.Stop(); say("s3: stopped") })
					cfg.S3Endpoint, cfg.S3UseSSL = s3.Endpoint, false
					if s3.Kind == "minio" {
						say("s3: S3_ENDPOINT is not set: started minio (%s) at http://%s, data in %s", s3.Bin, s3.Endpoint, s3.Dir)
					} else {
						say("s3: S3_ENDPOINT is not set and no minio binary was found: embedded S3-compatible server at http://%s, data in %s (it does not check keys; install minio for a real one)", s3.Endpoint, s3.Dir)
					}
					bctx, cancel := context.WithTimeout(ctx, 30*time.Second)
					err = s3.EnsureBucket(bctx, cfg.S3Bucket)
					cancel()
				}
			}
		}
		if err != nil {
			return fmt.Errorf("S3_ENDPOINT is not set and an S3 server could not start: %w", err)
		}
	} else {
		say("s3: S3_ENDPOINT=%s", cfg.S3Endpoint)
	}

	copies := append([]string{cfg.DatabaseURL}, cfg.ReplicaURLs...)
	for i, u := range copies {
		if i == 0 && run.Roles {
			// Up's own cluster: the roles are made as its superuser, the schema as the owner.
			if err := migrations.SetUpRolesURL(ctx, u); err != nil {
				return err
			}
			u = migrations.RoleURL(u, migrations.OwnerRole)
		}
		done, err := migrations.ApplyURL(ctx, u)
		if err != nil {
			return fmt.Errorf("migrate copy %d (%s): %w", i+1, redact(u), err)
		}
		if len(done) == 0 {
			say("migrations: copy %d is up to date", i+1)
		} else {
			say("migrations: copy %d: applied %v", i+1, done)
		}
	}

	ops, err := opsNATS(cfg, run.NATSCreds)
	if err != nil {
		return err
	}
	cleanups = append(cleanups, ops.Close)
	if err := natsauth.Provision(ctx, ops, cfg.Namespace, cfg.WritelogReplicas); err != nil {
		return err
	}
	if o.Services != nil {
		o.Services(cfg, pg)
	}

	cli := cfg
	if run.Roles {
		cli.DatabaseURL = migrations.RoleURL(cfg.DatabaseURL, migrations.WriterRole)
	}
	envFile, err := writeCLIEnv(o.Data, cli)
	if err != nil {
		return err
	}
	say("ops CLI: '. %s' points dostupno import, seed and admin at these services", envFile)

	// The connector presents no credentials, as OpenFaaS's nats-connector cannot: the server
	// lets it listen to the doorbell and nothing else.
	nc, err := nats.Connect(cfg.NatsURL, nats.Name("dostupno-up-connector"), nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1), nats.ReconnectWait(500*time.Millisecond))
	if err != nil {
		return fmt.Errorf("NATS connector: %w", err)
	}
	cleanups = append(cleanups, nc.Close)
	rn, err := startRunner(ctx, st, cfg, runnerOptions{Runtime: run, Edge: o.Edge, Cron: true, NATS: nc, Log: o.Log, Say: say}, &cleanups)
	if err != nil {
		return err
	}
	defer func() {
		if serr := rn.Stop(); serr != nil {
			say("%v", serr)
		}
	}()

	srv := &http.Server{Handler: rn.Handler, ReadTimeout: upReadTimeout, WriteTimeout: upWriteTimeout, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 2)
	go func() { served <- srv.Serve(ln) }()
	webSrv := &http.Server{Handler: page, ReadTimeout: upReadTimeout, WriteTimeout: upWriteTimeout, ReadHeaderTimeout: 10 * time.Second}
	if webLn != nil {
		go func() { served <- webSrv.Serve(webLn) }()
	}
	// Copies left behind while nothing ran (the runner stopped during an import, say) catch
	// up now rather than at the next write. The ops connection rings: the connector's may only
	// listen.
	if err := ops.Publish(writelog.DoorbellSubject(cfg.Namespace), []byte(cfg.Namespace)); err != nil {
		o.Log.Warn("ring the doorbell at start", "err", err)
	} else {
		say("rang %s: every copy applies what it missed while stopped", writelog.DoorbellSubject(cfg.Namespace))
	}
	addr := ln.Addr().String()
	say("serving %d functions at http://%s/function/<name> (GET /system/functions lists them, GET /healthz); %s; Ctrl-C stops", len(rn.Router.Functions()), addr, edgeLine(o.Edge))
	webAddr := ""
	if webLn != nil {
		webAddr = webLn.Addr().String()
		say("web page: open %s/ in a browser (the files of %s; it calls the API at %s, whose CORS_ALLOWED_ORIGINS include %s)",
			webpage.URL(webLn.Addr()), o.WebDir, webpage.URL(ln.Addr()), strings.Join(webpage.Origins(webLn.Addr()), " and "))
	}
	if o.Ready != nil {
		o.Ready(addr, webAddr)
	}

	select {
	case <-ctx.Done():
		say("stopping: draining requests")
	case err = <-served:
		err = fmt.Errorf("serve: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), upDrain)
	defer cancel()
	if serr := srv.Shutdown(sctx); serr != nil && err == nil {
		err = fmt.Errorf("drain: %w", serr)
	}
	if serr := webSrv.Shutdown(sctx); serr != nil && err == nil {
		err = fmt.Errorf("drain the web page: %w", serr)
	}
	return err
}

// runtime is what up gives each function beyond the shared configuration, as faasd would.
type runtime struct {
	// Secrets, when not "", holds a folder per function with (links to) the secrets stack.yml
	// lists for it, taken from SECRETS_DIR, which is what faasd mounts: a function that only
	// verifies tokens has no private key. "": every function reads SECRETS_DIR.
	Secrets string
	// NATSCreds puts each function's NATS credential (nats-nkey-<function>) in its folder;
	// without it the functions connect without credentials.
	NATSCreds bool
	// Roles connects each function to DATABASE_URL as its database role
	// (migrations.FunctionRole), which the server trusts (up's own cluster), and a function
	// with no role (catch-up) to no database.
	Roles bool
	// Deps, when not nil, receives each function's Deps by name (tests reach into an
	// instance through them).
	Deps map[string]*instance.Deps
}

// buildFunctions builds every function of st with its own Deps, and one db-writer per
// further copy (db-writer-2, -3, ...); catch-up is told every db-writer (DB_WRITERS). A
// function's environment in stack.yml is not applied: it holds faasd's service addresses; only
// exec_timeout is, as each call's limit, the way the watchdog bounds a call, and write_timeout,
// as each request's deadline, the way the template's entrypoint sets it. The environment,
// secrets, limits and requests are listed by /system/functions as faasd lists them. The
// functions' Deps are closed through cleanups.
func buildFunctions(st *stack.Stack, cfg config.Config, run runtime, cleanups *[]func()) ([]gateway.Function, error) {
	cfg.DBWriters = nil
	if _, ok := st.Function("db-writer"); ok {
		cfg.DBWriters = append([]string{"db-writer"}, copyWriters(st, cfg)...)
	}
	build := func(name string, f stack.Function, cfg config.Config) (gateway.Function, error) {
		if run.Secrets != "" {
			dir, err := functionSecrets(filepath.Join(run.Secrets, name), cfg.SecretsDir, name, f.Secrets, run.NATSCreds)
			if err != nil {
				return gateway.Function{}, fmt.Errorf("secrets of %s: %w", name, err)
			}
			cfg.SecretsDir = dir
		}
		d := instance.New(name, cfg, logging.New(os.Stderr, name))
		*cleanups = append(*cleanups, d.Close)
		if run.Deps != nil {
			run.Deps[name] = d
		}
		h, err := builders[f.Name](d)
		if err != nil {
			return gateway.Function{}, fmt.Errorf("build function %s: %w", name, err)
		}
		g := gateway.Function{Name: name, Image: f.Image, Annotations: doorbellTopic(f.Annotations, cfg.Namespace), Labels: f.Labels,
			// The template's image sets fprocess (template/dostupno-go/Dockerfile).
			EnvProcess: cmp.Or(f.Environment["fprocess"], "./handler"), EnvVars: f.Environment,
			Secrets: f.Secrets, Limits: f.Limits, Requests: f.Requests, Handler: h}
		if v := f.Environment["exec_timeout"]; v != "" {
			if g.Timeout, err = time.ParseDuration(v); err != nil {
				return gateway.Function{}, fmt.Errorf("function %s: exec_timeout %q: %w", name, v, err)
			}
		}
		if v := f.Environment["write_timeout"]; v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				return gateway.Function{}, fmt.Errorf("function %s: write_timeout %q: %w", name, v, err)
			}
			g.Handler = withDeadline(h, d)
		}
		return g, nil
	}
	var fns []gateway.Function
	for _, f := range st.Functions {
		c := cfg
		if run.Roles {
			c.DatabaseURL = ""
			if role := migrations.FunctionRole(f.Name); role != "" {
				c.DatabaseURL = migrations.RoleURL(cfg.DatabaseURL, role)
			}
		}
		g, err := build(f.Name, f, c)
		if err != nil {
			return nil, err
		}
		fns = append(fns, g)
	}
	if w, ok := st.Function("db-writer"); ok {
		for i, name := range copyWriters(st, cfg) {
			u := cfg.ReplicaURLs[i]
			if slices.ContainsFunc(st.Functions, func(f stack.Function) bool { return f.Name == name }) {
				return nil, fmt.Errorf("stack.yml lists %s and DATABASE_REPLICA_URLS asks for it too: keep one", name)
			}
			c := cfg
			c.DatabaseURL, c.DatabaseReadURL, c.Replica, c.ReplicaURLs = u, "", fmt.Sprintf("copy-%d", i+2), nil
			g, err := build(name, w, c)
			if err != nil {
				return nil, err
			}
			fns = append(fns, g)
		}
	} else if len(cfg.ReplicaURLs) > 0 {
		return nil, errors.New("DATABASE_REPLICA_URLS is set but the stack has no db-writer to copy")
	}
	return fns, nil
}

// functionSecrets makes dir the secrets folder of function name: a link to each secret of
// listed that the folder from holds, as faasd mounts a function's secrets. A NATS credential
// is the function's own (db-writer-2 has nats-nkey-db-writer-2), and only when nats is true.
// Listed secrets that from lacks are left out (pgpass-*: up's own cluster trusts its roles).
func functionSecrets(dir, from, name string, listed []string, nats bool) (string, error) {
	from, err := filepath.Abs(from)
	if err != nil {
		return "", err
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	for _, s := range listed {
		if strings.HasPrefix(s, instance.NATSSecret("")) {
			if !nats {
				continue
			}
			s = instance.NATSSecret(name)
		}
		src := filepath.Join(from, s)
		if _, err := os.Stat(src); err != nil {
			continue
		}
		if err := os.Symlink(src, filepath.Join(dir, s)); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// copyWriters are the db-writers of the further copies, db-writer-2, -3, ... (one per
// DATABASE_REPLICA_URLS), when st has a db-writer.
func copyWriters(st *stack.Stack, cfg config.Config) []string {
	if _, ok := st.Function("db-writer"); !ok {
		return nil
	}
	names := make([]string, len(cfg.ReplicaURLs))
	for i := range names {
		names[i] = fmt.Sprintf("db-writer-%d", i+2)
	}
	return names
}

// natsIdentities are the NATS identities up's functions and commands use: the table's, and
// db-writer-N for each further copy.
func natsIdentities(st *stack.Stack, cfg config.Config) []string {
	return append(natsauth.Identities(), copyWriters(st, cfg)...)
}

// opsNATS connects to cfg's NATS as the ops CLI: with its credential when creds and
// SECRETS_DIR holds it.
func opsNATS(cfg config.Config, creds bool) (*nats.Conn, error) {
	opts := []nats.Option{nats.Name("dostupno-up"), nats.CustomInboxPrefix(instance.NATSInbox(natsauth.Ops)),
		nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1), nats.ReconnectWait(500 * time.Millisecond)}
	if creds {
		seed := filepath.Join(cfg.SecretsDir, natsauth.SecretName(natsauth.Ops))
		if _, err := os.Stat(seed); err == nil {
			opt, err := nats.NkeyOptionFromSeed(seed)
			if err != nil {
				return nil, fmt.Errorf("NATS credential %s: %w", seed, err)
			}
			opts = append(opts, opt)
		}
	}
	nc, err := nats.Connect(cfg.NatsURL, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to NATS as %s: %w", natsauth.Ops, err)
	}
	return nc, nil
}

// createdNote says which secrets were just made ("" for none).
func createdNote(created []string) string {
	if len(created) == 0 {
		return ""
	}
	return "; generated " + strings.Join(created, ", ")
}

// doorbellTopic is ann with the doorbell topic of stack.yml (the default namespace's) changed to
// namespace's, so that the runner's NATS connector hears the doorbell of the namespace it
// serves.
func doorbellTopic(ann map[string]string, namespace string) map[string]string {
	stackTopic, topic := writelog.DoorbellSubject(config.DefaultNamespace), writelog.DoorbellSubject(namespace)
	parts := strings.Split(ann["topic"], ",")
	if topic == stackTopic || !slices.ContainsFunc(parts, func(p string) bool { return strings.TrimSpace(p) == stackTopic }) {
		return ann
	}
	for i, p := range parts {
		if strings.TrimSpace(p) == stackTopic {
			parts[i] = topic
		}
	}
	out := maps.Clone(ann)
	out["topic"] = strings.Join(parts, ",")
	return out
}

// redact hides the passwords of a URL, or of a comma list of URLs (NATS_URL), for printing.
func redact(s string) string {
	list := strings.Split(s, ",")
	for i, one := range list {
		if u, err := url.Parse(one); err == nil && u.User != nil {
			list[i] = u.Redacted()
		}
	}
	return strings.Join(list, ",")
}

// writeCLIEnv writes, under data, the shell lines that point the ops CLI at the services up
// uses (the ports of what it started are chosen afresh each run). The file may hold a
// database password given in DATABASE_URL, so only its owner can read it.
func writeCLIEnv(data string, cfg config.Config) (string, error) {
	secrets, err := filepath.Abs(cfg.SecretsDir) // the file is sourced from anywhere
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, kv := range [][2]string{
		{"DATABASE_URL", cfg.DatabaseURL}, {"DATABASE_REPLICA_URLS", strings.Join(cfg.ReplicaURLs, ",")},
		{"NATS_URL", cfg.NatsURL}, {"DOSTUPNO_NAMESPACE", cfg.Namespace}, {"S3_ENDPOINT", cfg.S3Endpoint},
		{"S3_BUCKET", cfg.S3Bucket}, {"SECRETS_DIR", secrets}, {"WRITELOG_REPLICAS", strconv.Itoa(cfg.WritelogReplicas)},
	} {
		if kv[1] != "" {
			fmt.Fprintf(&b, "export %s='%s'\n", kv[0], strings.ReplaceAll(kv[1], "'", `'\''`))
		}
	}
	path := filepath.Join(data, "env")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return path, nil
}

// withDeadline gives each request's context the deadline d, as the template's entrypoint does
// with write_timeout (template/dostupno-go/main.go): a handler that waits (a write waiting for
// its copy) answers within it.
func withDeadline(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}
