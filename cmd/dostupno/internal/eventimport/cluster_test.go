package eventimport_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/devservices"
	"github.com/dostupno/dostupno/cmd/dostupno/internal/eventimport"
	"github.com/dostupno/dostupno/cmd/dostupno/internal/natsauth"
	"github.com/dostupno/dostupno/shared/account"
	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/pgtest"
	"github.com/dostupno/dostupno/shared/throttle"
	"github.com/dostupno/dostupno/shared/userkeys"
	"github.com/dostupno/dostupno/shared/writelog"
	"github.com/dostupno/dostupno/shared/writelog/writelogtest"
)

// A node of the test cluster is this test binary run again with these variables set: it
// serves one deploy/nats-cluster-N.conf (beside it the keys and routes files that `dostupno
// nats-keys --routes` writes, the routes to the test's nodes) with its own addresses and store,
// until it is killed. A process of its own, so that killing it is a crash (no leader handed over, no
// file closed), as losing a machine is.
const (
	nodeConf  = "DOSTUPNO_TEST_NATS_CONF"
	nodePort  = "DOSTUPNO_TEST_NATS_PORT"
	nodeRoute = "DOSTUPNO_TEST_NATS_CLUSTER_PORT"
	nodeStore = "DOSTUPNO_TEST_NATS_STORE"
)

func TestMain(m *testing.M) {
	if conf := os.Getenv(nodeConf); conf != "" {
		os.Exit(runNode(conf))
	}
	os.Exit(m.Run())
}

// nodeOptions reads a cluster node's configuration file and replaces what differs on one
// machine: the client and route addresses (loopback), the store; the monitoring port is
// turned off. The users, their permissions, the route authentication and the routes are the
// files'.
func nodeOptions(conf string, port, routePort int, store string) (*server.Options, error) {
	o, err := server.ProcessConfigFile(conf)
	if err != nil {
		return nil, err
	}
	o.Host, o.Port = "127.0.0.1", port
	o.Cluster.Host, o.Cluster.Port = "127.0.0.1", routePort
	o.StoreDir = store
	o.HTTPHost, o.HTTPPort = "", 0
	o.LogFile = store + ".log"
	return o, nil
}

func runNode(conf string) int {
	port, err1 := strconv.Atoi(os.Getenv(nodePort))
	routePort, err2 := strconv.Atoi(os.Getenv(nodeRoute))
	o, err := nodeOptions(conf, port, routePort, os.Getenv(nodeStore))
	if err = errors.Join(err1, err2, err); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	s, err := server.NewServer(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	s.ConfigureLogger()
	s.Start() // handles SIGTERM (a clean stop); SIGKILL is the crash
	s.WaitForShutdown()
	return 0
}

// cluster is three nodes of deploy/nats-cluster-*.conf on loopback.
type cluster struct {
	t       *testing.T
	dir     string
	secrets string // every identity's credential, the token keys and the route password
	ports   [3]int
	routes  [3]int
	mu      sync.Mutex
	procs   [3]*exec.Cmd
}

// startCluster lays out the deploy files as a deployment does, each in its folder beside the
// files `dostupno nats-keys --routes` writes (every identity's public key; the route password
// and the routes to the nodes' loopback ports), and starts the three nodes.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	c := &cluster{t: t, dir: t.TempDir()}
	c.secrets = filepath.Join(c.dir, "secrets")
	var routes []string
	for i := range 3 {
		var err1, err2 error
		c.ports[i], err1 = devservices.FreePort()
		c.routes[i], err2 = devservices.FreePort()
		if err := errors.Join(err1, err2); err != nil {
			t.Fatal(err)
		}
		routes = append(routes, fmt.Sprintf("127.0.0.1:%d", c.routes[i]))
	}
	if _, err := devservices.EnsureSecrets(c.secrets); err != nil {
		t.Fatal(err)
	}
	keys, _, err := natsauth.EnsureSeeds(c.secrets, natsauth.Identities())
	if err != nil {
		t.Fatal(err)
	}
	password, _, err := natsauth.EnsureRoutePassword(c.secrets)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		deployed, err := os.ReadFile(deployConf(i))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(c.confDir(i), 0o700); err != nil {
			t.Fatal(err)
		}
		for name, body := range map[string]string{
			filepath.Base(deployConf(i)): string(deployed),
			natsauth.KeysFile:            natsauth.RenderKeys(keys),
			natsauth.RoutesFile:          natsauth.RenderRoutes(password, routes),
		} {
			if err := os.WriteFile(filepath.Join(c.confDir(i), name), []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := range 3 {
		c.start(i)
	}
	t.Cleanup(c.stop)
	return c
}

// deployConf is node i's configuration file in deploy/.
func deployConf(i int) string {
	return filepath.Join("..", "..", "..", "..", "deploy", fmt.Sprintf("nats-cluster-%d.conf", i+1))
}

// confDir is node i's folder, as its machine's: its configuration file and what it includes.
func (c *cluster) confDir(i int) string { return filepath.Join(c.dir, fmt.Sprintf("conf-%d", i+1)) }

// conf is node i's configuration file as it runs.
func (c *cluster) conf(i int) string {
	return filepath.Join(c.confDir(i), filepath.Base(deployConf(i)))
}

func (c *cluster) start(i int) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), nodeConf+"="+c.conf(i), nodePort+"="+strconv.Itoa(c.ports[i]),
		nodeRoute+"="+strconv.Itoa(c.routes[i]), nodeStore+"="+filepath.Join(c.dir, fmt.Sprintf("nats-%d", i+1)))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlives a test binary killed on timeout
	if err := cmd.Start(); err != nil {
		c.t.Errorf("start nats-%d: %v", i+1, err) // also called from the goroutine that restarts a node
		return
	}
	c.mu.Lock()
	c.procs[i] = cmd
	c.mu.Unlock()
}

// kill crashes node i (SIGKILL) and waits until its process is gone.
func (c *cluster) kill(i int) {
	c.mu.Lock()
	p := c.procs[i]
	c.procs[i] = nil
	c.mu.Unlock()
	_ = p.Process.Kill() // already gone is fine
	_ = p.Wait()         // the exit status of a killed process is expected
}

func (c *cluster) stop() {
	defer func() {
		if !c.t.Failed() {
			return
		}
		for i := range 3 { // what the servers said, for the failure's reader
			b, err := os.ReadFile(filepath.Join(c.dir, fmt.Sprintf("nats-%d", i+1)) + ".log")
			c.t.Logf("the log of nats-%d (%v):\n%s", i+1, err, b)
		}
	}()
	for i := range 3 {
		c.mu.Lock()
		p := c.procs[i]
		c.mu.Unlock()
		if p == nil {
			continue
		}
		_ = p.Process.Signal(syscall.SIGTERM) // already gone is fine
		done := make(chan struct{})
		go func() { _ = p.Wait(); close(done) }() // its exit status does not matter now
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			c.kill(i)
		}
	}
}

// url is the NATS_URL of the cluster: its three servers.
func (c *cluster) url() string {
	var urls []string
	for _, p := range c.ports {
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", p))
	}
	return strings.Join(urls, ",")
}

// node is the index of the server named name (nats-1 is 0).
func node(name string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(name, "nats-"))
	if err != nil || n < 1 || n > 3 {
		return -1
	}
	return n - 1
}

// streamLeader is the index of the node leading stream (-1 when none does), and whether its
// two other replicas are online and current.
func streamLeader(ctx context.Context, js jetstream.JetStream, stream string) (leader int, current bool) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return -1, false
	}
	info := s.CachedInfo()
	if info.Cluster == nil || info.Cluster.Leader == "" {
		return -1, false
	}
	current = len(info.Cluster.Replicas) == 2
	for _, r := range info.Cluster.Replicas {
		current = current && r.Current && !r.Offline
	}
	return node(info.Cluster.Leader), current
}

// until polls ok until it holds or d has passed.
func until(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// replicas is the replica count of stream (a bucket's stream is KV_<bucket>), 0 when it
// cannot be read.
func replicas(ctx context.Context, js jetstream.JetStream, stream string) int {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return 0
	}
	return s.CachedInfo().Config.Replicas
}

// provisionAsOps connects as the ops CLI (dostupno migrate and import) to the cluster of cfg
// and provisions its streams and buckets, as soon as the cluster serves JetStream.
func provisionAsOps(ctx context.Context, t *testing.T, cfg config.Config, log *slog.Logger) (*instance.Deps, *nats.Conn) {
	t.Helper()
	d := instance.New("import", cfg, log)
	d.NATSUser = natsauth.Ops
	t.Cleanup(d.Close)
	ops, err := d.NATS()
	if err != nil {
		t.Fatal(err)
	}
	until(t, 30*time.Second, "the cluster serves JetStream and the R3 streams and buckets are provisioned", func() bool {
		pctx, pcancel := context.WithTimeout(ctx, 3*time.Second) // a request made before the cluster has a leader goes unanswered
		defer pcancel()
		return natsauth.Provision(pctx, ops, cfg.Namespace, cfg.WritelogReplicas) == nil
	})
	return d, ops
}

// TestClusterLeaderKilledDuringImport runs the write log on a three-node JetStream cluster
// (deploy/nats-cluster-*.conf as they are: every connection with its own credential and the
// permissions of the table, the servers' routes authenticated; WRITELOG_REPLICAS=3, NATS_URL
// listing the three servers), provisions it as the ops CLI does, imports 30,000 events as the
// ops CLI and registers users meanwhile as the register function, from many client addresses,
// and crashes the stream's leader a third of the way through the file, then restarts it. The
// import completes, or fails loudly and completes when run again; no command is stored twice
// (every Nats-Msg-Id once in the stream), every event is in the copy, every registration that
// was acknowledged is there, and a second copy applying the same log on its own (as
// db-writer) ends identical to the first.
func TestClusterLeaderKilledDuringImport(t *testing.T) {
	c := startCluster(t)
	for i := range 3 {
		o, err := nodeOptions(c.conf(i), 4222, 6222, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if o.ServerName != fmt.Sprintf("nats-%d", i+1) || !o.SyncAlways || o.JetStreamDomain != "dostupno" || o.Cluster.Name != "dostupno" ||
			o.Cluster.Username != natsauth.RouteUser || len(o.Routes) != 3 || len(o.Nkeys) != len(natsauth.Identities())+1 || o.NoAuthUser != natsauth.DoorbellKey {
			t.Fatalf("%s: got server %q, sync always %v, domain %q, cluster %q, route user %q, %d routes, %d users; want nats-%d, true, dostupno, dostupno, %s, 3 and every identity with the doorbell",
				deployConf(i), o.ServerName, o.SyncAlways, o.JetStreamDomain, o.Cluster.Name, o.Cluster.Username, len(o.Routes), len(o.Nkeys), i+1, natsauth.RouteUser)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tlog := quiet()

	// The permissions of the deploy files name the default namespace's subjects.
	cfg := config.Config{NatsURL: c.url(), Namespace: config.DefaultNamespace, WritelogReplicas: 3, SecretsDir: c.secrets,
		DatabaseURL: pgtest.NewURL(t), Replica: writelog.PrimaryName}
	// The ops CLI as dostupno migrate and import run it: NATS_URL lists the three servers, and
	// the client moves to another when its server is lost. It provisions the streams and
	// buckets (no function may), then imports.
	d, ops := provisionAsOps(ctx, t, cfg, tlog)
	w, err := d.Writer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	js := w.Log.JetStream()
	stream := writelog.StreamName(cfg.Namespace)
	provisioned := []string{stream, userkeys.StreamName(cfg.Namespace), "KV_" + throttle.Bucket(cfg.Namespace), "KV_" + throttle.KnownBucket(cfg.Namespace)}
	// Provisioned again without the setting (an ops command run without WRITELOG_REPLICAS,
	// say), every stream and bucket keeps its three replicas.
	if err := natsauth.Provision(ctx, ops, cfg.Namespace, 1); err != nil {
		t.Fatal(err)
	}
	for _, s := range provisioned {
		if n := replicas(ctx, js, s); n != 3 {
			t.Fatalf("got %s with %d replicas, want 3", s, n)
		}
	}
	// Registrations as the register function, with its own credential; configured with fewer
	// replicas than the streams have, it binds them as they are.
	cfgR := cfg
	cfgR.WritelogReplicas = 1
	dr := instance.New("register", cfgR, tlog)
	t.Cleanup(dr.Close)
	acc, err := dr.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A second copy applies the same log on its own, as its db-writer would.
	cfg2 := cfg
	cfg2.DatabaseURL, cfg2.Replica = pgtest.NewURL(t), "copy-2"
	d2 := instance.New("db-writer-2", cfg2, tlog)
	d2.NATSUser = "db-writer" // a further copy's db-writer is the same function, with its credential
	t.Cleanup(d2.Close)
	w2, err := d2.Writer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stopCopy := make(chan struct{})
	copyDone := make(chan struct{})
	go func() {
		defer close(copyDone)
		for {
			_, _ = w2.Replica.ApplyPending(ctx) // a lost leader fails a round; the next one goes on
			select {
			case <-stopCopy:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()

	// Users register throughout, each with a new email and from a client address of its own
	// (the register limit counts per address, as a crowd's would be); an acknowledged one
	// must stay.
	stopUsers := make(chan struct{})
	usersDone := make(chan struct{})
	var (
		umu      sync.Mutex
		acked    []string // user ids
		refused  int
		accounts int
	)
	go func() {
		defer close(usersDone)
		for i := 0; ; i++ {
			select {
			case <-stopUsers:
				return
			case <-time.After(50 * time.Millisecond):
			}
			email := fmt.Sprintf("user%d@example.ru", i)
			rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
			addr := fmt.Sprintf("10.1.%d.%d", i/250, i%250+1)
			sess, err := acc.Register(rctx, account.Registration{Email: email, Password: "a long cluster password", Name: "Кластер"}, addr)
			rcancel()
			umu.Lock()
			accounts++
			if err == nil {
				acked = append(acked, sess.User.ID)
			} else {
				refused++
			}
			umu.Unlock()
		}
	}()

	const events, batch = 30000, 250
	var in bytes.Buffer
	if err := Generate(&in, events); err != nil {
		t.Fatal(err)
	}
	data := in.Bytes()
	killed := make(chan int, 1)
	var leaderWork sync.WaitGroup
	leaderWork.Add(1)
	tr := &triggerReader{r: bytes.NewReader(data), n: len(data) / 3, fire: func() {
		go func() {
			defer leaderWork.Done()
			leader, _ := streamLeader(ctx, js, stream)
			if leader < 0 {
				t.Error("no stream leader to kill")
				return
			}
			c.kill(leader)
			killed <- leader
			at := time.Now()
			// Restarted once the other two have elected a new leader of the stream.
			for ctx.Err() == nil {
				if l, _ := streamLeader(ctx, js, stream); l >= 0 && l != leader {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			t.Logf("killed nats-%d, the stream's leader; a new leader after %v", leader+1, time.Since(at).Round(time.Millisecond))
			c.start(leader)
		}()
	}}
	start := time.Now()
	opt := eventimport.Options{Batch: batch, Log: tlog}
	sum, err := eventimport.Run(ctx, tr, w, opt)
	t.Logf("import: %d events applied of %d published in %v, err %v", sum.Applied, sum.Published, time.Since(start).Round(time.Millisecond), err)
	if err != nil {
		// Failing loudly is allowed; running it again must complete.
		if sum, err = eventimport.Run(ctx, bytes.NewReader(data), w, opt); err != nil {
			t.Fatalf("the import run again: %v", err)
		}
	}
	if sum.Applied != events || sum.Rejected != 0 {
		t.Errorf("got %d events applied, %d commands rejected, want %d and none", sum.Applied, sum.Rejected, events)
	}
	leaderWork.Wait()
	select {
	case <-killed:
	default:
		t.Fatal("the stream's leader was never killed")
	}
	until(t, 30*time.Second, "all three replicas current again", func() bool {
		l, current := streamLeader(ctx, js, stream)
		return l >= 0 && current
	})
	close(stopUsers)
	<-usersDone

	last, err := w.Log.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Replica.WaitApplied(ctx, last); err != nil {
		t.Fatal(err)
	}
	until(t, 60*time.Second, "the second copy applied everything", func() bool {
		st, err := w2.Replica.Status(ctx)
		return err == nil && st.AppliedSeq == last
	})
	close(stopCopy)
	<-copyDone

	// Every command once in the stream: the leader change lost no deduplication.
	ids := map[string]uint64{}
	st, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	for seq := uint64(1); seq <= last; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("get %d: %v", seq, err)
		}
		id := m.Header.Get(jetstream.MsgIDHeader)
		if first, dup := ids[id]; dup {
			t.Errorf("command %s stored twice, at %d and %d", id, first, seq)
		}
		ids[id] = seq
	}
	p1, err := d.Pool()
	if err != nil {
		t.Fatal(err)
	}
	p2, err := d2.Pool()
	if err != nil {
		t.Fatal(err)
	}
	var stored, users int
	if err := p1.QueryRow(ctx, `SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM users WHERE id = ANY($1::uuid[]))`, acked).Scan(&stored, &users); err != nil {
		t.Fatal(err)
	}
	if stored != events || users != len(acked) {
		t.Errorf("got %d events and %d of %d acknowledged users, want %d and all", stored, users, len(acked), events)
	}
	writelogtest.Equal(t, p1, p2)
	umu.Lock()
	t.Logf("%d commands in the stream; %d registrations tried, %d acknowledged, %d refused (no stream leader, or the copy still applying the import after 10 s)",
		last, accounts, len(acked), refused)
	umu.Unlock()
}

// TestClusterKeyReadAtOnceThroughEveryServer creates users' keys through one server of the
// cluster and reads each at once through every server, as copies applying a registration do
// (deploy/nats-cluster-*.conf as they are, the keys' stream with three replicas), then again
// with keys created while one server was down, read through it as soon as it is back (a
// server catching up holds an old state of the stream for a while). A key that exists must be
// found wherever it is asked for: a copy that does not find it takes the user for erased and
// records the registration so, while the others apply it.
func TestClusterKeyReadAtOnceThroughEveryServer(t *testing.T) {
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tlog := quiet()
	cfg := config.Config{NatsURL: c.url(), Namespace: config.DefaultNamespace, WritelogReplicas: 3, SecretsDir: c.secrets}
	_, ops := provisionAsOps(ctx, t, cfg, tlog)
	// The register function creates keys and copies read them, each instance with its own
	// connection to one server.
	var stores [3]*userkeys.Store
	for i := range 3 {
		ci := cfg
		ci.NatsURL = fmt.Sprintf("nats://127.0.0.1:%d", c.ports[i])
		di := instance.New("register", ci, tlog)
		t.Cleanup(di.Close)
		var err error
		if stores[i], err = di.UserKeys(ctx); err != nil {
			t.Fatal(err)
		}
	}
	missed := 0
	read := func(id string, servers ...int) {
		t.Helper()
		for _, i := range servers {
			_, ok, err := stores[i].Get(ctx, id)
			if err != nil {
				t.Fatalf("read the key of %s through nats-%d: %v", id, i+1, err)
			}
			if !ok {
				missed++
				t.Errorf("the key of %s is not found through nats-%d", id, i+1)
			}
		}
		if missed > 5 {
			t.Fatalf("stopped after %d misses", missed)
		}
	}
	id := func(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }
	// Many keys before the crash, few during it: a server back with most of the stream
	// (nine tenths) answers direct gets while it still catches up.
	const users, during = 1000, 40
	for n := range users {
		if _, err := stores[n%3].Create(ctx, id(n)); err != nil {
			t.Fatal(err)
		}
		read(id(n), 0, 1, 2)
	}
	// The keys' leader crashes: keys made meanwhile through the others reach it only when it
	// is back and catching up, and they are read through it as soon as it answers.
	js, err := jetstream.New(ops)
	if err != nil {
		t.Fatal(err)
	}
	keys := userkeys.StreamName(cfg.Namespace)
	leader, _ := streamLeader(ctx, js, keys)
	if leader < 0 {
		t.Fatal("the keys' stream has no leader")
	}
	c.kill(leader)
	other := (leader + 1) % 3
	n := users
	for created := 0; created < during; n++ {
		cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := stores[other].Create(cctx, id(n))
		ccancel()
		if err == nil {
			created++ // refused while the others elect a new leader
		}
	}
	c.start(leader)
	for m := users; m < n; m++ {
		if _, ok, err := stores[other].Get(ctx, id(m)); err != nil || !ok {
			continue // a Create refused above may or may not have stored its key
		}
		read(id(m), leader)
	}
}
