// Package pgtest gives each test its own Postgres database, cloned from a migrated template
// database, on TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres, a
// superuser). The template is named after a hash of the migrations, built once per change of
// them, and shared by every test process; clones are dropped when the test ends. As in a
// deployment, the database roles exist (migrations.RolesSQL, run as the superuser), the
// migrations run as migrations.OwnerRole and the databases belong to it, so a test can connect
// as any role (RoleURL; the roles have no password, so the server must trust them, as it
// trusts the superuser on loopback).
package pgtest

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dostupno/dostupno/migrations"
	"github.com/dostupno/dostupno/shared/pgdb"
)

// DefaultURL is used when TEST_DATABASE_URL is not set.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// AdminURL is the server URL tests create databases on.
func AdminURL() string {
	return cmp.Or(os.Getenv("TEST_DATABASE_URL"), DefaultURL)
}

// ServicesOptional reports whether a missing service skips tests instead of failing them
// (set only in the OpenFaaS image build, which has no services).
func ServicesOptional() bool { return os.Getenv("DOSTUPNO_SERVICES_OPTIONAL") == "1" }

// Missing fails (or, with services optional, skips) t because a service cannot be reached.
func Missing(t testing.TB, service, variable, how string, err error) {
	t.Helper()
	msg := fmt.Sprintf("%s is not reachable (%v); set %s or %s", service, err, variable, how)
	if ServicesOptional() {
		t.Skip("DOSTUPNO_SERVICES_OPTIONAL=1: " + msg)
	}
	t.Fatal(msg)
}

// templateLock serialises template creation and cloning across test processes.
const templateLock = 0x70677473 // "pgts"

// NewURL creates a fresh migrated database for t and returns its URL; it is dropped when t
// ends.
func NewURL(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin := adminConn(ctx, t)
	defer admin.Close(context.Background())

	// Building the template and cloning it happen under one lock, so a process with another
	// set of migrations (which drops templates it does not know) cannot drop ours in between.
	name := "dostupno_test_" + randomHex(6)
	if _, err := admin.Exec(ctx, `SELECT pg_advisory_lock($1)`, templateLock); err != nil {
		t.Fatalf("pgtest: lock: %v", err)
	}
	tpl, err := ensureTemplate(ctx, admin)
	if err == nil {
		_, err = admin.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s OWNER %s`, name, tpl, migrations.OwnerRole))
	}
	if _, uerr := admin.Exec(ctx, `SELECT pg_advisory_unlock($1)`, templateLock); uerr != nil && err == nil {
		err = uerr
	}
	if err != nil {
		t.Fatalf("pgtest: create database %s from the migrated template: %v", name, err)
	}
	dropWhenDone(t, name)
	return WithDatabase(AdminURL(), name)
}

// NewEmptyURL creates a fresh database for t with the service's roles and no migration applied,
// for a test that migrates it itself (migrations.ApplyTo, as the owner role, RoleURL), and
// returns its URL; it is dropped when t ends.
func NewEmptyURL(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin := adminConn(ctx, t)
	defer admin.Close(context.Background())
	name := "dostupno_test_empty_" + randomHex(6)
	if _, err := admin.Exec(ctx, `CREATE DATABASE `+name); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	dropWhenDone(t, name)
	url := WithDatabase(AdminURL(), name)
	if err := migrations.SetUpRolesURL(ctx, url); err != nil {
		t.Fatalf("pgtest: set up the roles of %s: %v", name, err)
	}
	return url
}

// adminConn is a connection to AdminURL, or t skips or fails as Missing says.
func adminConn(ctx context.Context, t testing.TB) *pgx.Conn {
	t.Helper()
	admin, err := pgdb.ConnectOne(ctx, AdminURL())
	if err != nil {
		Missing(t, "PostgreSQL", "TEST_DATABASE_URL", "start it with 'pg_ctlcluster 15 main start'", err)
	}
	return admin
}

// dropWhenDone drops database name when t ends.
func dropWhenDone(t testing.TB, name string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgdb.ConnectOne(ctx, AdminURL())
		if err != nil {
			t.Errorf("pgtest: drop %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name)); err != nil {
			t.Errorf("pgtest: drop %s: %v", name, err)
		}
	})
}

// RoleURL is url (a database of NewURL) as role connects to it: one of migrations.OwnerRole,
// WriterRole, ReaderRole, SnapshotRole.
func RoleURL(url, role string) string { return migrations.RoleURL(url, role) }

// New creates a fresh migrated database for t and returns a pool on it, closed when t ends.
func New(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := pgdb.Connect(context.Background(), NewURL(t), pgdb.Options{AppName: "pgtest", MaxConns: 8})
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// Count is the number query q answers on db (a count(*), or any one integer), failing t if it
// cannot be read.
func Count(t testing.TB, db pgdb.DBTX, q string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// PagesHoldingRows is pgdb.PagesHoldingRows, failing t on an error.
func PagesHoldingRows(t testing.TB, db pgdb.DBTX, table string) int {
	t.Helper()
	n, err := pgdb.PagesHoldingRows(context.Background(), db, table)
	if err != nil {
		t.Fatalf("pages holding rows of %s: %v", table, err)
	}
	return int(n)
}

// WithDatabase returns base with its database name replaced by name.
func WithDatabase(base, name string) string {
	u, err := url.Parse(base)
	if err != nil || u.Scheme == "" {
		// key=value DSN
		return base + " dbname=" + name
	}
	u.Path = "/" + name
	return u.String()
}

// ensureTemplate returns the template database of the current migrations, building it if
// needed. The caller holds templateLock.
func ensureTemplate(ctx context.Context, admin *pgx.Conn) (string, error) {
	all, err := migrations.All()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", migrations.RolesSQL)
	for _, m := range all {
		fmt.Fprintf(h, "%d %s\n%s\n", m.Version, m.Name, m.SQL)
	}
	name := "dostupno_tpl_" + hex.EncodeToString(h.Sum(nil))[:12]

	var exists bool
	if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate)`, name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	building := name + "_build"
	if _, err := admin.Exec(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, building)); err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %s`, building)); err != nil {
		return "", err
	}
	buildURL := WithDatabase(AdminURL(), building)
	if err := migrations.SetUpRolesURL(ctx, buildURL); err != nil {
		return "", err
	}
	if _, err := migrations.ApplyURL(ctx, RoleURL(buildURL, migrations.OwnerRole)); err != nil {
		return "", err
	}
	for _, q := range []string{
		fmt.Sprintf(`ALTER DATABASE %s RENAME TO %s`, building, name),
		fmt.Sprintf(`ALTER DATABASE %s IS_TEMPLATE true`, name),
		fmt.Sprintf(`COMMENT ON DATABASE %s IS 'built %d'`, name, time.Now().Unix()),
	} {
		if _, err := admin.Exec(ctx, q); err != nil {
			return "", err
		}
	}
	// Old templates (from earlier migration sets) are dropped so they do not pile up; one built
	// in the last day may serve another checkout's tests running now, so it stays.
	rows, err := admin.Query(ctx, `SELECT d.datname FROM pg_database d
		WHERE d.datname LIKE 'dostupno\_tpl\_%' AND d.datname <> $1
		  AND coalesce(substring(shobj_description(d.oid, 'pg_database') FROM '^built (\d+)$')::bigint, 0) < $2`,
		name, time.Now().Add(-24*time.Hour).Unix())
	if err != nil {
		return "", err
	}
	old, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", err
	}
	for _, o := range old {
		if strings.HasSuffix(o, "_build") {
			continue
		}
		if _, err := admin.Exec(ctx, fmt.Sprintf(`ALTER DATABASE %s IS_TEMPLATE false`, o)); err == nil {
			_, _ = admin.Exec(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s`, o)) // best effort: another process may use it
		}
	}
	return name, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand never fails on Linux
	return hex.EncodeToString(b)
}

// GenericPlan is the plan Postgres makes of sql as a generic plan (plan_cache_mode
// force_generic_plan, as pgdb.QueryGeneric runs a statement), with settings (e.g.
// "enable_seqscan = off") set for it too, explained by explain ("EXPLAIN", or "EXPLAIN
// (ANALYZE, COSTS OFF, TIMING OFF)" to run it) with args. Explaining sql itself would plan it
// with args' values: it is prepared, then executed by name, inside a transaction rolled back.
func GenericPlan(t testing.TB, pool *pgxpool.Pool, explain, sql string, args []any, settings ...string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	// A prepared statement outlives the transaction: the connection goes back without it,
	// dropped after the rollback (in an aborted transaction DEALLOCATE would fail).
	defer conn.Exec(ctx, "DEALLOCATE generic_plan") //nolint:errcheck // not prepared when the test failed before
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read only, undone
	for _, s := range append([]string{"plan_cache_mode = force_generic_plan"}, settings...) {
		if _, err := tx.Exec(ctx, "SET LOCAL "+s); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx.Exec(ctx, "PREPARE generic_plan AS "+sql); err != nil {
		t.Fatal(err)
	}
	params := make([]string, len(args))
	for i := range args {
		params[i] = fmt.Sprintf("$%d", i+1)
	}
	// EXECUTE's arguments take no bind parameters: the simple protocol writes args into the
	// statement as literals.
	rows, err := tx.Query(ctx, explain+" EXECUTE generic_plan("+strings.Join(params, ", ")+")",
		append([]any{pgx.QueryExecModeSimpleProtocol}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}
