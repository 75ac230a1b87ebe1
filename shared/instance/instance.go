// Package instance holds the per-instance dependencies of a function (configuration, logger,
// pools, NATS, S3), built lazily once and shared by every request of that instance. A function
// obtains them once (Handle) and builds its handler from them (New), so tests and the local
// runner build the same handler with their own Deps.
package instance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dostupno/dostupno/shared/account"
	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/httpjson"
	"github.com/dostupno/dostupno/shared/logging"
	"github.com/dostupno/dostupno/shared/pgdb"
	"github.com/dostupno/dostupno/shared/token"
	"github.com/dostupno/dostupno/shared/userkeys"
	"github.com/dostupno/dostupno/shared/writelog"
)

// Deps are one function instance's dependencies. Each getter builds its value on first use
// and returns the same one afterwards; a getter whose first build failed fails alike (a bad
// URL does not heal by itself; services that are down are retried by the clients).
type Deps struct {
	Name   string // function name, e.g. "search-events"
	Config config.Config
	Log    *slog.Logger
	// NATSUser is the identity the instance connects to NATS as (its credential is the
	// secret NATSSecret(NATSUser)); Name when empty. The ops CLI's commands share one.
	NATSUser string

	pool     func() (*pgxpool.Pool, error)
	readPool func() (*pgxpool.Pool, error)
	natsConn func() (*nats.Conn, error)
	s3       func() (*minio.Client, error)
	keys     func() (*token.Keys, error)
	vocab    lazy[*catalog.Vocabulary]
	writer   lazy[*writelog.Writer]
	accounts lazy[*account.Service]
	userKeys lazy[*userkeys.Store]
	hasher   func() *account.Hasher

	mu      sync.Mutex
	closers []func()
}

// New returns Deps for the function name with cfg.
func New(name string, cfg config.Config, log *slog.Logger) *Deps {
	d := &Deps{Name: name, Config: cfg, Log: log}
	d.pool = sync.OnceValues(func() (*pgxpool.Pool, error) { return d.connect(cfg.DatabaseURL, "DATABASE_URL") })
	d.readPool = sync.OnceValues(func() (*pgxpool.Pool, error) {
		if cfg.DatabaseReadURL == "" {
			return d.pool()
		}
		return d.connect(cfg.DatabaseReadURL, "DATABASE_READ_URL")
	})
	d.natsConn = sync.OnceValues(d.connectNATS)
	d.s3 = sync.OnceValues(d.connectS3)
	d.keys = sync.OnceValues(func() (*token.Keys, error) { return token.Load(cfg) })
	d.hasher = sync.OnceValue(func() *account.Hasher { return newHasher(log) })
	return d
}

// FromEnv returns Deps configured from the process environment, logging JSON to stderr.
func FromEnv(name string) (*Deps, error) {
	cfg, err := config.FromEnv()
	if err != nil {
		return nil, err
	}
	return New(name, cfg, logging.New(os.Stderr, name)), nil
}

func (d *Deps) onClose(f func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closers = append(d.closers, f)
}

// Close releases what was built, newest first.
func (d *Deps) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := len(d.closers) - 1; i >= 0; i-- {
		d.closers[i]()
	}
	d.closers = nil
}

func (d *Deps) connect(url, variable string) (*pgxpool.Pool, error) {
	if url == "" {
		return nil, fmt.Errorf("%s is not set", variable)
	}
	p, err := pgdb.Connect(context.Background(), url, pgdb.Options{AppName: d.Name})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", variable, err)
	}
	d.onClose(p.Close)
	return p, nil
}

// Pool is the pool on this instance's own copy (DATABASE_URL): writes' read-your-writes checks
// and db-writer use it.
func (d *Deps) Pool() (*pgxpool.Pool, error) { return d.pool() }

// ReadPool is the pool the read functions query (DATABASE_READ_URL, else DATABASE_URL).
func (d *Deps) ReadPool() (*pgxpool.Pool, error) { return d.readPool() }

// NATSSecret is the OpenFaaS secret holding the NKEY seed of the NATS identity user (a
// function's name, or the ops CLI's).
func NATSSecret(user string) string { return "nats-nkey-" + user }

// NATSInbox is the inbox prefix of the NATS identity user: replies to its requests arrive
// under NATSInbox(user) + ".>", which only it may subscribe to, so that no other connection
// reads the answers it gets (the write log's commands among them).
func NATSInbox(user string) string { return "_INBOX." + user }

// natsUser is the identity d connects to NATS as.
func (d *Deps) natsUser() string {
	if d.NATSUser != "" {
		return d.NATSUser
	}
	return d.Name
}

// natsAuth is the connection option of d's NATS credential: the NKEY seed in the secret
// NATSSecret, signing the server's challenge. Without the secret the connection presents no
// credential, which only a development server accepts, and the log says so.
func (d *Deps) natsAuth() (nats.Option, error) {
	name := NATSSecret(d.natsUser())
	if _, err := d.Config.Secret(name); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			d.Log.Warn("NATS is unauthenticated: no secret " + name + " (development only; a deployment's NATS refuses this connection)")
			return nil, nil
		}
		return nil, err
	}
	opt, err := nats.NkeyOptionFromSeed(filepath.Join(d.Config.SecretsDir, name))
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	return opt, nil
}

func (d *Deps) connectNATS() (*nats.Conn, error) {
	if d.Config.NatsURL == "" {
		return nil, fmt.Errorf("NATS_URL is not set")
	}
	auth, err := d.natsAuth()
	if err != nil {
		return nil, err
	}
	log := d.Log
	nc, err := nats.Connect(d.Config.NatsURL, auth,
		nats.Name(d.Name),
		nats.CustomInboxPrefix(NATSInbox(d.natsUser())),
		nats.Timeout(5*time.Second),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500*time.Millisecond),
		// Publishes made while NATS restarts are buffered and sent on reconnect: room for the
		// commands an import keeps in flight (eventimport.DefaultInFlight of up to 1 MiB).
		nats.ReconnectBufSize(64<<20),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("nats reconnected", "url", c.ConnectedUrlRedacted()) }),
		// A permissions violation (the server refused a publish or a subscription this
		// identity is not granted: deploy/nats.conf) arrives here.
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { log.Error("nats", "err", err) }),
	)
	if err != nil {
		return nil, fmt.Errorf("connect to NATS: %w", err)
	}
	d.onClose(nc.Close)
	return nc, nil
}

// NATS is this instance's NATS connection (NATS_URL: one server or a comma list of a
// cluster's servers; it reconnects by itself, to another server of the list when one is lost).
func (d *Deps) NATS() (*nats.Conn, error) { return d.natsConn() }

// JetStream is a JetStream context on NATS.
func (d *Deps) JetStream() (jetstream.JetStream, error) {
	nc, err := d.NATS()
	if err != nil {
		return nil, err
	}
	return jetstream.New(nc)
}

func (d *Deps) connectS3() (*minio.Client, error) {
	if d.Config.S3Endpoint == "" {
		return nil, fmt.Errorf("S3_ENDPOINT is not set")
	}
	ak, err := d.Config.Secret("s3-access-key")
	if err != nil {
		return nil, err
	}
	sk, err := d.Config.Secret("s3-secret-key")
	if err != nil {
		return nil, err
	}
	return minio.New(d.Config.S3Endpoint, &minio.Options{Creds: credentials.NewStaticV4(string(ak), string(sk), ""), Secure: d.Config.S3UseSSL})
}

// S3 is this instance's MinIO client.
func (d *Deps) S3() (*minio.Client, error) { return d.s3() }

// Serve is the body of every function's Handle: it gets the handler built once from the
// environment and serves r with it, or answers 503 in the contract's envelope when the
// instance cannot be built (the cause goes to the log, not to the client).
func Serve(w http.ResponseWriter, r *http.Request, handler func() (http.Handler, error)) {
	h, err := handler()
	if err != nil {
		slog.Error("function cannot start", "err", err)
		httpjson.Error(w, r, slog.Default(), &apperr.Error{Code: apperr.Unavailable, Message: "the service is starting or misconfigured; try again later", RetryAfter: 5 * time.Second, Err: err})
		return
	}
	h.ServeHTTP(w, r)
}

// Handle is every function's Handle: the handler built once per instance by build from the
// environment, serving each request (Serve). A build that fails (a service not up yet when
// faasd starts the function) is not kept: its Deps are closed and the next request after
// RetryBuild tries again, so the instance heals once the service is back instead of answering
// 503 for good. The builder is registered for Prepare.
func Handle(name string, build func(*Deps) (http.Handler, error)) func(http.ResponseWriter, *http.Request) {
	b := newBuilder(func() (*Deps, error) { return FromEnv(name) }, build, RetryBuild)
	builders.Lock()
	builders.all = append(builders.all, b)
	builders.Unlock()
	return func(w http.ResponseWriter, r *http.Request) { Serve(w, r, b.get) }
}

// builders are the handlers' builders this process registered (Handle): one in a function's
// process, several in a test's.
var builders struct {
	sync.Mutex
	all []*builder
}

// Prepare starts building, in the background, the handler of every function this process
// registered (Handle). The template's main calls it first, so that an instance connects to
// its services and warms its cache while its HTTP server starts, not after its first request
// arrived (the watchdog's health check answers before the handler is ready, so that request may
// come at once). A request that arrives meanwhile waits for the build; a build that fails is
// logged and not kept, so that the first request tries again.
func Prepare() {
	builders.Lock()
	defer builders.Unlock()
	for _, b := range builders.all {
		go b.prepare()
	}
}

// RetryBuild is how long Handle keeps answering 503 after a failed build before it tries
// again.
const RetryBuild = 2 * time.Second

// builder builds a handler once (Handle, Prepare).
type builder struct {
	deps  func() (*Deps, error)
	build func(*Deps) (http.Handler, error)
	wait  time.Duration // after a failed build, before the next try

	mu      sync.Mutex // held while building: a request waits for a build under way
	h       http.Handler
	lastErr error
	lastTry time.Time
}

func newBuilder(deps func() (*Deps, error), build func(*Deps) (http.Handler, error), wait time.Duration) *builder {
	return &builder{deps: deps, build: build, wait: wait}
}

// get returns the handler, building it unless a build failed less than b.wait ago (that
// build's error then).
func (b *builder) get() (http.Handler, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.h != nil {
		return b.h, nil
	}
	if b.lastErr != nil && time.Since(b.lastTry) < b.wait {
		return nil, b.lastErr
	}
	b.lastTry = time.Now()
	b.h, b.lastErr = b.try()
	return b.h, b.lastErr
}

// prepare builds the handler ahead of any request; a failure is logged, and the next get
// tries again at once.
func (b *builder) prepare() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.h != nil {
		return
	}
	h, err := b.try()
	if err != nil {
		slog.Warn("function cannot start yet; its first request tries again", "err", err)
		return
	}
	b.h = h
}

// try builds the handler once, closing the Deps of a build that failed.
func (b *builder) try() (http.Handler, error) {
	d, err := b.deps()
	if err != nil {
		return nil, err
	}
	h, err := b.build(d)
	if err != nil {
		d.Close()
		return nil, err
	}
	return h, nil
}
