package natsauth

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/stack"
	"github.com/dostupno/dostupno/shared/account"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/changefeed"
	"github.com/dostupno/dostupno/shared/commands"
	"github.com/dostupno/dostupno/shared/hotcache"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/throttle"
	"github.com/dostupno/dostupno/shared/userkeys"
	"github.com/dostupno/dostupno/shared/writelog"
)

var update = flag.Bool("update", false, "rewrite deploy/nats.conf and deploy/nats-cluster-*.conf from the table")

const deployDir = "../../../../deploy"

// deployFiles are the NATS configuration files of deploy/ and what the table says each holds
// for the default namespace: nats.conf, and nats-cluster-1.conf to -3.
func deployFiles() map[string]string {
	files := map[string]string{"nats.conf": Render("dostupno")}
	for node := 1; node <= Nodes; node++ {
		files[fmt.Sprintf("nats-cluster-%d.conf", node)] = RenderCluster("dostupno", node)
	}
	return files
}

// deploy/nats.conf and deploy/nats-cluster-*.conf are what the table says for the default
// namespace.
func TestDeployConfig(t *testing.T) {
	for name, want := range deployFiles() {
		path := filepath.Join(deployDir, name)
		if *update {
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("deploy/%s differs from what natsauth renders for \"dostupno\"; run go test ./cmd/dostupno/internal/natsauth -run TestDeployConfig -update", name)
		}
	}
}

// The server reads each of deploy/nats.conf and deploy/nats-cluster-*.conf (with the keys file,
// and the routes file for a cluster node, beside it) into the same users and permissions as
// Configure gives the runner's embedded server; a cluster node also requires the route
// password of its routes file from the other nodes, and solicits routes carrying it.
func TestDeployConfigMatchesConfigure(t *testing.T) {
	dir := t.TempDir()
	secrets := filepath.Join(dir, "secrets")
	keys, _, err := EnsureSeeds(secrets, Identities())
	if err != nil {
		t.Fatal(err)
	}
	password, _, err := EnsureRoutePassword(secrets)
	if err != nil {
		t.Fatal(err)
	}
	routes := []string{"nats-1:6222", "nats-2:6222", "nats-3:6222"}
	for name, body := range map[string]string{KeysFile: RenderKeys(keys), RoutesFile: RenderRoutes(password, routes)} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var fromTable server.Options
	if err := Configure(&fromTable, "dostupno", keys); err != nil {
		t.Fatal(err)
	}
	perms := func(users []*server.NkeyUser) map[string]string {
		out := map[string]string{}
		for _, u := range users {
			out[u.Nkey] = describe(u.Permissions)
		}
		return out
	}
	want := perms(fromTable.Nkeys)
	for name, body := range deployFiles() {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			fromFile, err := server.ProcessConfigFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !fromFile.SyncAlways || fromFile.NoAuthUser != DoorbellKey {
				t.Errorf("got sync always %v, no_auth_user %q; want true and the doorbell", fromFile.SyncAlways, fromFile.NoAuthUser)
			}
			got := perms(fromFile.Nkeys)
			if len(got) != len(want) {
				t.Fatalf("got %d users from the file, want %d", len(got), len(want))
			}
			for k, w := range want {
				if got[k] != w {
					t.Errorf("user %s: got %s from the file, want %s", k, got[k], w)
				}
			}
			if name == "nats.conf" {
				if fromFile.Cluster.Port != 0 || len(fromFile.Routes) != 0 {
					t.Errorf("got a cluster on port %d with routes %v, want none", fromFile.Cluster.Port, fromFile.Routes)
				}
				return
			}
			if fromFile.Cluster.Name != "dostupno" || fromFile.Cluster.Username != RouteUser || fromFile.Cluster.Password != password {
				t.Errorf("got cluster %q with route user %q, want dostupno requiring %s and the password of %s", fromFile.Cluster.Name, fromFile.Cluster.Username, RouteUser, RoutePasswordSecret)
			}
			if len(fromFile.Routes) != len(routes) {
				t.Fatalf("got routes %v, want %v", fromFile.Routes, routes)
			}
			for i, r := range fromFile.Routes {
				if p, _ := r.User.Password(); r.Host != routes[i] || r.User.Username() != RouteUser || p != password {
					t.Errorf("got route %s, want %s carrying the route password", r.Redacted(), routes[i])
				}
			}
		})
	}
}

func describe(p *server.Permissions) string {
	if p == nil {
		return "all"
	}
	s := func(sp *server.SubjectPermission) string {
		if sp == nil {
			return "-"
		}
		return "allow " + strings.Join(sp.Allow, " ") + " deny " + strings.Join(sp.Deny, " ")
	}
	r := "no responses"
	if p.Response != nil {
		r = "responses"
	}
	return "publish " + s(p.Publish) + "; subscribe " + s(p.Subscribe) + "; " + r
}

// Every function of stack.yml that uses NATS (names NATS_URL) has its line in the table and
// its credential, and no other; a function that does not (catch-up) has neither.
func TestFunctionsMatchStack(t *testing.T) {
	st, err := stack.Load("../../../../stack.yml")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range st.Functions {
		if f.Environment["NATS_URL"] != "" {
			names = append(names, f.Name)
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, Functions()) {
		t.Fatalf("got table %v, want stack.yml's functions that use NATS %v", Functions(), names)
	}
	for _, f := range st.Functions {
		uses := f.Environment["NATS_URL"] != ""
		if slices.Contains(f.Secrets, SecretName(f.Name)) != uses {
			t.Errorf("%s: got secrets %v, want its NATS credential %s exactly when it names NATS_URL (%v)", f.Name, f.Secrets, SecretName(f.Name), uses)
		}
		for _, s := range f.Secrets {
			if strings.HasPrefix(s, "nats-nkey-") && s != SecretName(f.Name) {
				t.Errorf("%s: got another identity's credential %s", f.Name, s)
			}
		}
	}
}

// Every command kind is published by some function or by the ops CLI alone; the kinds that
// make admins by the ops CLI alone.
func TestEveryKindIsGranted(t *testing.T) {
	granted := map[string][]string{}
	for name, g := range grants {
		for _, k := range g.kinds {
			granted[k] = append(granted[k], name)
		}
	}
	for _, k := range commands.Kinds(nil, nil) {
		switch {
		case slices.Contains(opsOnly, k.Name) && len(granted[k.Name]) > 0:
			t.Errorf("kind %s: granted to %v, want the ops CLI alone", k.Name, granted[k.Name])
		case !slices.Contains(opsOnly, k.Name) && len(granted[k.Name]) == 0:
			t.Errorf("kind %s: no function may publish it; add it to the kinds of the one that does (or to opsOnly)", k.Name)
		}
	}
	if !slices.Contains(opsOnly, account.KindAdmin) {
		t.Errorf("got %s outside opsOnly, want it reserved to the ops CLI", account.KindAdmin)
	}
}

// authServer is an embedded NATS server with JetStream that requires the table's credentials
// for namespace ns, each identity's seed in secrets.
type authServer struct {
	url, ns, secrets string
	srv              *server.Server
}

func startAuthServer(t *testing.T) *authServer {
	t.Helper()
	dir := t.TempDir()
	a := &authServer{ns: "perm", secrets: filepath.Join(dir, "secrets")}
	keys, _, err := EnsureSeeds(a.secrets, Identities())
	if err != nil {
		t.Fatal(err)
	}
	opts := &server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: filepath.Join(dir, "js"), NoSigs: true, NoLog: true}
	if err := Configure(opts, a.ns, keys); err != nil {
		t.Fatal(err)
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("the NATS server did not start")
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	a.url, a.srv = srv.ClientURL(), srv
	return a
}

// conn connects as name (its seed; "" for no credential) and returns the connection and its
// asynchronous errors (permission violations arrive there).
func (a *authServer) conn(t *testing.T, name string) (*nats.Conn, chan error) {
	t.Helper()
	errs := make(chan error, 16)
	opts := []nats.Option{nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		select {
		case errs <- err:
		default:
		}
	})}
	if name != "" {
		opt, err := nats.NkeyOptionFromSeed(filepath.Join(a.secrets, SecretName(name)))
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, opt, nats.CustomInboxPrefix(instance.NATSInbox(name)))
	}
	nc, err := nats.Connect(a.url, opts...)
	if err != nil {
		t.Fatalf("connect as %q: %v", name, err)
	}
	t.Cleanup(nc.Close)
	return nc, errs
}

// wantViolation fails t unless the server reports a permissions violation on errs.
func wantViolation(t *testing.T, errs chan error, what string) {
	t.Helper()
	select {
	case err := <-errs:
		if !errors.Is(err, nats.ErrPermissionViolation) && !strings.Contains(strings.ToLower(err.Error()), "permissions violation") {
			t.Fatalf("%s: got %v, want a permissions violation", what, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: got no error from the server in 5 s, want a permissions violation", what)
	}
}

// The server refuses what a function's credential does not grant, and the write log holds
// nothing of it.
func TestServerRefusesWhatIsNotGranted(t *testing.T) {
	a := startAuthServer(t)
	ctx := context.Background()
	ops, _ := a.conn(t, Ops)
	js, err := jetstream.New(ops)
	if err != nil {
		t.Fatal(err)
	}
	if err := writelog.Provision(ctx, js, a.ns); err != nil {
		t.Fatal(err)
	}
	admin := []byte(`{"v":1,"kind":"user.admin","key":"user:evil@example.ru","at":"2026-01-01T00:00:00Z","payload":{}}`)

	publish := func(subject string, data []byte) func(nc *nats.Conn) error {
		return func(nc *nats.Conn) error { return nc.Publish(subject, data) }
	}
	tests := []struct {
		name, as string
		do       func(nc *nats.Conn) error
	}{
		{"SearchEventsPublishesAdmin", "search-events", publish(writelog.Subject(a.ns, account.KindAdmin), admin)},
		{"UpsertEventPublishesRegister", "upsert-event", publish(writelog.Subject(a.ns, account.KindRegister), admin)},
		{"UpsertVenuePublishesEvents", "upsert-venue", publish(writelog.Subject(a.ns, catalog.KindEventUpsert), admin)},
		{"UpsertEventPublishesVenues", "upsert-event", publish(writelog.Subject(a.ns, catalog.KindVenueUpsert), admin)},
		{"RegisterPublishesAdmin", "register", publish(writelog.Subject(a.ns, account.KindAdmin), admin)},
		{"LoginPublishesAdmin", "login", publish(writelog.Subject(a.ns, account.KindAdmin), admin)},
		{"AnonymousPublishesAdmin", "", publish(writelog.Subject(a.ns, account.KindAdmin), admin)},
		{"AnonymousAnnouncesChanges", "", publish(changefeed.Subject(a.ns), []byte(`{"seq":1}`))},
		{"SearchEventsReadsTheLog", "search-events", publish("$JS.API.DIRECT.GET."+writelog.StreamName(a.ns), []byte(`{"seq":1}`))},
		{"SearchEventsReadsTheLogFromItsLeader", "search-events", publish("$JS.API.STREAM.MSG.GET."+writelog.StreamName(a.ns), []byte(`{"seq":1}`))},
		{"AccountReadsAUserKeyDirectly", "account", publish("$JS.API.DIRECT.GET."+userkeys.StreamName(a.ns)+"."+userkeys.Subject(a.ns, "pepper"), nil)},
		{"DBWriterUpdatesTheStream", "db-writer", publish("$JS.API.STREAM.UPDATE."+writelog.StreamName(a.ns), []byte(`{}`))},
		{"RegisterDeletesTheStream", "register", publish("$JS.API.STREAM.DELETE."+writelog.StreamName(a.ns), nil)},
		{"GetEventSnoopsAnInbox", "get-event", func(nc *nats.Conn) error {
			_, err := nc.SubscribeSync(instance.NATSInbox("register") + ".>")
			return err
		}},
		{"CacheSnapshotSnoopsTheFeed", "cache-snapshot", func(nc *nats.Conn) error {
			_, err := nc.SubscribeSync(changefeed.Subject(a.ns))
			return err
		}},
		{"SearchEventsAsksForHotKeys", "search-events", publish(hotcache.HotSubject(a.ns), []byte(`{}`))},
		{"LoginErasesAUser", "login", publish(writelog.Subject(a.ns, account.KindErase), admin)},
		{"UpsertEventStoresAUserKey", "upsert-event", publish(userkeys.Subject(a.ns, "0b8f6c1e-2a3d-4e5f-8a9b-0c1d2e3f4a5b"), make([]byte, userkeys.KeySize))},
		{"DBWriterStoresAUserKey", "db-writer", publish(userkeys.Subject(a.ns, "0b8f6c1e-2a3d-4e5f-8a9b-0c1d2e3f4a5b"), make([]byte, userkeys.KeySize))},
		{"SearchEventsReadsTheUserKeys", "search-events", publish("$JS.API.STREAM.MSG.GET."+userkeys.StreamName(a.ns), []byte(`{"last_by_subj":"`+userkeys.Subject(a.ns, "pepper")+`"}`))},
		{"GetEventDestroysAUserKey", "get-event", publish("$JS.API.STREAM.MSG.DELETE."+userkeys.StreamName(a.ns), []byte(`{"seq":1}`))},
		{"AccountPurgesTheUserKeys", "account", publish("$JS.API.STREAM.PURGE."+userkeys.StreamName(a.ns), nil)},
		{"AccountUpdatesTheUserKeys", "account", publish("$JS.API.STREAM.UPDATE."+userkeys.StreamName(a.ns), []byte(`{}`))},
		{"RegisterUpdatesTheKnownAddresses", "register", publish("$JS.API.STREAM.UPDATE.KV_"+throttle.KnownBucket(a.ns), []byte(`{}`))},
		{"CacheSnapshotCountsLogins", "cache-snapshot", publish("$KV."+throttle.Bucket(a.ns)+".addr.x", []byte(`[]`))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, errs := a.conn(t, tt.as)
			if err := tt.do(nc); err != nil {
				t.Fatal(err)
			}
			if err := nc.Flush(); err != nil {
				t.Fatal(err)
			}
			wantViolation(t, errs, tt.name)
		})
	}
	// A JetStream publish of an admin command as search-events gets no acknowledgement, and
	// the stream holds nothing.
	nc, errs := a.conn(t, "search-events")
	sjs, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := sjs.Publish(pctx, writelog.Subject(a.ns, account.KindAdmin), admin); err == nil {
		t.Fatal("got the admin command acknowledged, want it refused")
	}
	wantViolation(t, errs, "JetStream publish of user.admin as search-events")
	s, err := js.Stream(ctx, writelog.StreamName(a.ns))
	if err != nil {
		t.Fatal(err)
	}
	if info, err := s.Info(ctx); err != nil || info.State.Msgs != 0 {
		t.Fatalf("got %v messages (%v), want none in the log", info.State.Msgs, err)
	}
	// The ops CLI publishes user.admin; the doorbell listens without credentials.
	bell, _ := a.conn(t, "")
	rung, err := bell.SubscribeSync(writelog.DoorbellSubject(a.ns))
	if err != nil {
		t.Fatal(err)
	}
	if err := bell.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, writelog.Subject(a.ns, account.KindAdmin), admin); err != nil {
		t.Fatalf("got %v publishing user.admin as the ops CLI, want it stored", err)
	}
	if err := ops.Publish(writelog.DoorbellSubject(a.ns), []byte(a.ns)); err != nil {
		t.Fatal(err)
	}
	if _, err := rung.NextMsg(5 * time.Second); err != nil {
		t.Fatalf("got %v, want the doorbell heard without credentials", err)
	}
}

// Only the identities whose line lists a user command kind may publish it, sealed or in clear
// (the applier still applies plaintext user commands, which a log written before personal
// data was sealed holds): every other identity is refused each user kind by the server.
func TestOnlyGrantedIdentitiesPublishUserKinds(t *testing.T) {
	a := startAuthServer(t)
	plain := []byte(`{"v":1,"kind":"user.register","key":"user:evil@example.ru","at":"2026-01-01T00:00:00Z",` +
		`"payload":{"id":"0b8f6c1e-2a3d-4e5f-8a9b-0c1d2e3f4a5b","email":"evil@example.ru","email_key":"evil@example.ru","name":"E","password_hash":"x"}}`)
	var userKinds []string
	for _, k := range commands.Kinds(nil, nil) {
		if strings.HasPrefix(k.Name, "user.") {
			userKinds = append(userKinds, k.Name)
		}
	}
	for _, name := range append(Functions(), "") {
		for _, kind := range userKinds {
			if name != "" && slices.Contains(grants[name].kinds, kind) {
				continue
			}
			who := name
			if who == "" {
				who = "anonymous"
			}
			t.Run(fmt.Sprintf("%s publishes %s", who, kind), func(t *testing.T) {
				nc, errs := a.conn(t, name)
				if err := nc.Publish(writelog.Subject(a.ns, kind), plain); err != nil {
					t.Fatal(err)
				}
				if err := nc.Flush(); err != nil {
					t.Fatal(err)
				}
				wantViolation(t, errs, who+" publishing "+kind)
			})
		}
	}
}

// A wrong or missing key is refused: the server requires credentials, and a seed it does not
// know is no credential.
func TestServerRequiresKnownKeys(t *testing.T) {
	a := startAuthServer(t)
	other := t.TempDir()
	if _, _, err := EnsureSeeds(other, []string{"register"}); err != nil {
		t.Fatal(err)
	}
	opt, err := nats.NkeyOptionFromSeed(filepath.Join(other, SecretName("register")))
	if err != nil {
		t.Fatal(err)
	}
	if nc, err := nats.Connect(a.url, opt, nats.MaxReconnects(0)); err == nil {
		nc.Close()
		t.Fatal("got a connection with an unknown key, want it refused")
	}
}

// Seeds are kept across runs, and their public keys are what RenderKeys writes.
func TestEnsureSeedsKeepsExisting(t *testing.T) {
	dir := t.TempDir()
	first, created, err := EnsureSeeds(dir, Identities())
	if err != nil || len(created) != len(Identities()) {
		t.Fatalf("got %v created (%v), want every identity's seed", created, err)
	}
	st, err := os.Stat(filepath.Join(dir, SecretName(Ops)))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("got %v (%v), want a seed only its owner reads", st, err)
	}
	again, created, err := EnsureSeeds(dir, Identities())
	if err != nil || len(created) != 0 {
		t.Fatalf("got %v created (%v), want none", created, err)
	}
	for name, key := range first {
		if again[name] != key || !strings.Contains(RenderKeys(again), key) {
			t.Fatalf("%s: got key %s, then %s; want it kept and written", name, key, again[name])
		}
	}
}

// The route password is kept across runs, only its owner reads it, and the routes file carries
// it in every route.
func TestEnsureRoutePasswordKeepsExisting(t *testing.T) {
	dir := t.TempDir()
	first, created, err := EnsureRoutePassword(dir)
	if err != nil || !created || len(first) != 64 {
		t.Fatalf("got %q, created %v (%v), want a new password of 64 hex digits", first, created, err)
	}
	st, err := os.Stat(filepath.Join(dir, RoutePasswordSecret))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("got %v (%v), want a password only its owner reads", st, err)
	}
	again, created, err := EnsureRoutePassword(dir)
	if err != nil || created || again != first {
		t.Fatalf("got %q, created %v (%v), want the first password kept", again, created, err)
	}
	if routes := RenderRoutes(again, []string{"a:1", "b:2"}); strings.Count(routes, RouteUser+":"+again+"@") != 2 {
		t.Fatalf("got %s, want both routes carrying the password", routes)
	}
}
