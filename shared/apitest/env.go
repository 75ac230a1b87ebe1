package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dostupno/dostupno/migrations"
	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/natstest"
	"github.com/dostupno/dostupno/shared/pgdb"
	"github.com/dostupno/dostupno/shared/pgtest"
	"github.com/dostupno/dostupno/shared/s3test"
	"github.com/dostupno/dostupno/shared/token"
	"github.com/dostupno/dostupno/shared/writelog"
)

// Builder is a function's constructor: every function exports one as New.
type Builder func(*instance.Deps) (http.Handler, error)

// Fixed user ids of the tokens an Env hands out.
const (
	AdminID     = "6f1e0c2a-1b3d-4e5f-8a9b-0c1d2e3f4a5b"
	UserID      = "7a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c8d"
	TicketingID = "8b3c4d5e-6f7a-4b2c-8d3e-4f5a6b7c8d9e"
)

// Env is one function under test: its dependencies, served over HTTP, with its own database
// copy, NATS namespace, secrets and bucket as asked, tokens signed with its keys and a pool on
// its copy.
type Env struct {
	Name   string
	Config config.Config
	Deps   *instance.Deps
	Server *httptest.Server
	URL    string        // the server's URL: the function's root path
	Pool   *pgxpool.Pool // on the function's copy as the test's superuser; nil without a database
	// AdminDatabaseURL is the function's copy as the test's superuser reaches it; the
	// function itself connects as its deployment role (migrations.FunctionRole): the read
	// functions as the read-only role, so a write from one fails its test.
	AdminDatabaseURL string
	NATS             *natstest.Env // nil without NATS
	S3               *s3test.Env   // nil without S3
	Keys             *token.Keys   // the issuers' keys (jwt-private-key); nil WithoutSecret

	// Admin and User are bearer tokens (without the "Bearer " prefix) of AdminID and UserID.
	// With a database, AdminID is an admin there (token version 0), so Admin passes the
	// admin writes' account check.
	Admin, User string
}

type options struct {
	like      *Env   // run with this Env's whole configuration
	database  string // "" for a database of its own
	noDB      bool
	nats      *natstest.Env
	withNATS  bool
	withS3    bool
	noSecret  bool
	configure []func(*config.Config)
}

// Option shapes an Env.
type Option func(*options)

// WithNATS gives the function a NATS namespace of its own.
func WithNATS() Option { return func(o *options) { o.withNATS = true } }

// WithNATSOf puts the function in the NATS namespace of another Env (functions that talk
// through the change feed or the write log).
func WithNATSOf(e *Env) Option { return func(o *options) { o.nats, o.withNATS = e.NATS, true } }

// WithS3 gives the function a bucket of its own on the test MinIO.
func WithS3() Option { return func(o *options) { o.withS3 = true } }

// WithConfigOf gives the function the whole configuration of another Env (its database,
// NATS namespace, bucket and secrets): another function of the same deployment.
func WithConfigOf(e *Env) Option { return func(o *options) { o.like = e } }

// WithDatabaseOf points the function at another Env's copy.
func WithDatabaseOf(e *Env) Option { return func(o *options) { o.database = e.AdminDatabaseURL } }

// WithoutDatabase leaves DATABASE_URL unset.
func WithoutDatabase() Option { return func(o *options) { o.noDB = true } }

// WithoutSecret leaves the token keys (jwt-private-key, jwt-public-key) out of the secrets
// directory.
func WithoutSecret() Option { return func(o *options) { o.noSecret = true } }

// WithConfig edits the configuration before the function is built.
func WithConfig(f func(*config.Config)) Option {
	return func(o *options) { o.configure = append(o.configure, f) }
}

// New builds the function name with build and serves it until t ends. By default it has a
// database of its own (migrated, cloned from the template), a secrets directory with a fresh
// token key pair (jwt-private-key, jwt-public-key), copy name "primary", and no NATS or S3. A
// constructor that fails fails t.
func New(t testing.TB, name string, build Builder, opts ...Option) *Env {
	t.Helper()
	e, err := Build(t, name, build, opts...)
	if err != nil {
		t.Fatalf("build %s: %v", name, err)
	}
	return e
}

// Build is New for tests of a constructor's refusals: it returns the constructor's error
// (with a nil Env) instead of failing t.
func Build(t testing.TB, name string, build Builder, opts ...Option) (*Env, error) {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	e := &Env{Name: name, NATS: o.nats}
	cfg := configure(t, e, o)
	if e.AdminDatabaseURL != "" {
		cfg.DatabaseURL = migrations.RoleURL(e.AdminDatabaseURL, migrations.FunctionRole(name))
	}
	for _, f := range o.configure {
		f(&cfg)
	}
	e.Config = cfg
	e.Deps = instance.New(name, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(e.Deps.Close)
	h, err := build(e.Deps)
	if err != nil {
		return nil, err
	}
	e.Server = httptest.NewServer(h)
	t.Cleanup(e.Server.Close)
	e.URL = e.Server.URL
	if e.AdminDatabaseURL != "" && cfg.DatabaseURL != "" {
		pool, err := pgdb.Connect(context.Background(), e.AdminDatabaseURL, pgdb.Options{AppName: "test"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		e.Pool = pool
	}
	if !o.noSecret && (o.like == nil || o.like.Keys != nil) {
		keys, err := token.Load(cfg)
		if err != nil {
			t.Fatal(err)
		}
		e.Keys = keys
		e.Admin = e.Token(t, AdminID, token.RoleAdmin)
		e.User = e.Token(t, UserID, token.RoleUser)
		if e.Pool != nil {
			// The admin the Admin token speaks for, as `dostupno admin create` leaves one.
			e.account(t, AdminID, token.RoleAdmin)
		}
	}
	return e, nil
}

// configure is the configuration of e by o (before WithConfig's edits), making what it needs:
// a database, a NATS namespace, a bucket, a secrets directory.
func configure(t testing.TB, e *Env, o options) config.Config {
	t.Helper()
	if o.like != nil {
		e.NATS, e.S3, e.AdminDatabaseURL = o.like.NATS, o.like.S3, o.like.AdminDatabaseURL
		return o.like.Config
	}
	secrets := t.TempDir()
	if !o.noSecret {
		pair, err := keyPair()
		if err != nil {
			t.Fatal(err)
		}
		writeSecret(t, secrets, token.PrivateKeyFile, string(pair[0]))
		writeSecret(t, secrets, token.PublicKeyFile, string(pair[1]))
	}
	cfg := config.Config{SecretsDir: secrets, Replica: "primary", Namespace: config.DefaultNamespace}
	switch {
	case o.noDB:
	case o.database != "":
		e.AdminDatabaseURL = o.database
	default:
		e.AdminDatabaseURL = pgtest.NewURL(t)
	}
	if o.withNATS {
		if e.NATS == nil {
			e.NATS = natstest.New(t)
		}
		cfg.NatsURL, cfg.Namespace = e.NATS.URL, e.NATS.Namespace
	}
	if o.withS3 {
		e.S3 = s3test.New(t)
		cfg.S3Endpoint, cfg.S3Bucket = e.S3.Endpoint, e.S3.Bucket
		writeSecret(t, secrets, "s3-access-key", e.S3.AccessKey)
		writeSecret(t, secrets, "s3-secret-key", e.S3.SecretKey)
	}
	return cfg
}

// keyPair is the token key pair of every Env of the test process, as the functions of one
// deployment share theirs: a token one function issues is good at another.
var keyPair = sync.OnceValues(func() ([2][]byte, error) {
	private, public, err := token.GenerateKeyPair()
	return [2][]byte{private, public}, err
})

func writeSecret(t testing.TB, dir, name, value string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(value), 0o600); err != nil {
		t.Fatal(err)
	}
}

// LastSeq is the last sequence of the write log of the function's NATS namespace: how many
// commands were published (0 when there is no log yet).
func (e *Env) LastSeq(t testing.TB) uint64 {
	t.Helper()
	if e.NATS == nil {
		t.Fatal("apitest: this Env has no NATS (WithNATS)")
	}
	ctx := context.Background()
	s, err := e.NATS.JS.Stream(ctx, writelog.StreamName(e.NATS.Namespace))
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.LastSeq
}

// Ticketing is a bearer token (without "Bearer ") of TicketingID, a ticketing integration
// account it makes in the function's copy (token version 0), as `dostupno admin create --role
// ticketing` leaves one.
func (e *Env) Ticketing(t testing.TB) string {
	t.Helper()
	if e.Pool == nil {
		t.Fatal("apitest: Ticketing needs a database")
	}
	e.account(t, TicketingID, token.RoleTicketing)
	return e.Token(t, TicketingID, token.RoleTicketing)
}

// account makes the account id of role in the function's copy (apitest-ROLE@example.invalid,
// no usable password, token version 0), as `dostupno admin create --role` leaves one.
func (e *Env) account(t testing.TB, id, role string) {
	t.Helper()
	email := "apitest-" + role + "@example.invalid"
	if _, err := e.Pool.Exec(context.Background(), `
		INSERT INTO users (id, email, email_key, name, password_hash, role, created_at, updated_at, version)
		VALUES ($1, $2, $2, $3, 'none', $4, now(), now(), 0)
		ON CONFLICT DO NOTHING`, id, email, "apitest "+role, role); err != nil {
		t.Fatalf("apitest: create the %s account: %v", role, err)
	}
}

// Token is a bearer token of userID with role and token version 0, signed with the
// function's keys.
func (e *Env) Token(t testing.TB, userID, role string) string {
	t.Helper()
	return e.TokenVersion(t, userID, role, 0)
}

// TokenVersion is Token with the token version tv.
func (e *Env) TokenVersion(t testing.TB, userID, role string, tv int64) string {
	t.Helper()
	if e.Keys == nil {
		t.Fatal("apitest: this Env has no token keys (WithoutSecret)")
	}
	tok, _, err := e.Keys.Issue(userID, role, tv)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Do sends method to the function's path (e.g. "/", "/42?x=1") with body (a string, []byte,
// io.Reader or nil) and header pairs as Do, and returns the answer and its body.
func (e *Env) Do(t testing.TB, method, path string, body any, header ...string) (*http.Response, []byte) {
	t.Helper()
	return Do(t, method, e.URL+path, Body(body), header...)
}

// Body turns a string, []byte or io.Reader into a request body (nil: none).
func Body(b any) io.Reader {
	switch v := b.(type) {
	case nil:
		return nil
	case string:
		return strings.NewReader(v)
	case []byte:
		return bytes.NewReader(v)
	case io.Reader:
		return v
	}
	panic("apitest: a body is a string, []byte or io.Reader")
}

// Bearer is the Authorization header value of tok ("" stays "": no header).
func Bearer(tok string) string {
	if tok == "" {
		return ""
	}
	return "Bearer " + tok
}

// Error is the contract's error envelope.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// ErrorOf decodes body as the error envelope {"error":{code,message[,field]}}; anything else
// (an unknown member, no code or message, trailing data) fails t.
func ErrorOf(t testing.TB, body []byte) Error {
	t.Helper()
	var env struct {
		Error *Error `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil || env.Error == nil || env.Error.Code == "" || env.Error.Message == "" || dec.More() {
		t.Fatalf("got body %s, want the error envelope (%v)", body, err)
	}
	return *env.Error
}

// WantError fails t unless the answer has status and the envelope with code, and returns the
// envelope.
func WantError(t testing.TB, resp *http.Response, body []byte, status int, code string) Error {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("got %d %s, want %d %s", resp.StatusCode, body, status, code)
	}
	e := ErrorOf(t, body)
	if e.Code != code {
		t.Fatalf("got code %q (%s), want %q", e.Code, e.Message, code)
	}
	return e
}

// Refusal is a request to / that a function refuses: sent with Method, Content-Type
// ContentType and the Authorization Auth names (see WantRefusals) carrying Body, it is answered
// Status with the envelope's Code and Field and a message beginning with Message.
type Refusal struct {
	Name, Method, ContentType, Auth, Body string
	Status                                int
	Code, Field, Message                  string
}

// WantRefusals sends each refusal to / in a subtest of its name and fails it unless the answer
// is the refusal's. A refusal's Auth is a key of auth (e.g. "admin" for an admin's bearer
// token) or, if auth has no such key, the Authorization value itself ("" for none).
func (e *Env) WantRefusals(t *testing.T, auth map[string]string, refusals []Refusal) {
	t.Helper()
	for _, tt := range refusals {
		t.Run(tt.Name, func(t *testing.T) {
			a, ok := auth[tt.Auth]
			if !ok {
				a = tt.Auth
			}
			resp, b := e.Do(t, tt.Method, "/", tt.Body, "Content-Type", tt.ContentType, "Authorization", a)
			got := WantError(t, resp, b, tt.Status, tt.Code)
			if got.Field != tt.Field || !strings.HasPrefix(got.Message, tt.Message) {
				t.Fatalf("got %+v, want field %q message %q...", got, tt.Field, tt.Message)
			}
		})
	}
}

// Lock takes an ACCESS EXCLUSIVE lock on tables of the function's copy (as its superuser)
// and holds it until release is called or t ends: every statement that reads them waits, as
// behind a long migration, until it ends or times out.
func (e *Env) Lock(t testing.TB, tables ...string) (release func()) {
	t.Helper()
	if e.Pool == nil {
		t.Fatal("apitest: this Env has no database")
	}
	ctx := context.Background()
	tx, err := e.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			if err := tx.Rollback(context.Background()); err != nil {
				t.Errorf("apitest: release the lock: %v", err)
			}
		})
	}
	t.Cleanup(release)
	if _, err := tx.Exec(ctx, "LOCK TABLE "+pgdb.Identifiers(tables)+" IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatalf("apitest: lock %v: %v", tables, err)
	}
	return release
}

// DatabaseUser is the role the function's own pool (Deps.ReadPool) connects as.
func (e *Env) DatabaseUser(t testing.TB) string {
	t.Helper()
	pool, err := e.Deps.ReadPool()
	if err != nil {
		t.Fatal(err)
	}
	var user string
	if err := pool.QueryRow(context.Background(), `SELECT current_user`).Scan(&user); err != nil {
		t.Fatal(err)
	}
	return user
}
