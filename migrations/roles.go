package migrations

import (
	"context"
	_ "embed" // roles.sql
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/dostupno/dostupno/shared/pgdb"
)

// The database roles of a deployment (roles.sql; README, "Security").
const (
	OwnerRole    = "dostupno_owner"    // owns the schema: migrations run as it
	WriterRole   = "dostupno_writer"   // applies the write log: rows, never the schema
	ReaderRole   = "dostupno_reader"   // the read functions: read only, statements of at most 2 s
	SnapshotRole = "dostupno_snapshot" // cache-snapshot: reads, and writes the cache's tables
)

// RolesSQL makes the roles and gives the database to OwnerRole; a superuser runs it once per
// database, before the migrations (which grant the roles their privileges).
//
//go:embed roles.sql
var RolesSQL string

// SetUpRoles runs RolesSQL on conn, which a superuser holds on the application database.
func SetUpRoles(ctx context.Context, conn *pgx.Conn) error {
	if _, err := conn.Exec(ctx, RolesSQL); err != nil {
		return fmt.Errorf("set up the database roles (a superuser must run migrations/roles.sql): %w", err)
	}
	return nil
}

// SetUpRolesURL connects to url as a superuser, runs SetUpRoles and disconnects.
func SetUpRolesURL(ctx context.Context, url string) error {
	conn, err := pgdb.ConnectOne(ctx, url)
	if err != nil {
		return fmt.Errorf("connect to set up the database roles: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return SetUpRoles(ctx, conn)
}

// FunctionRole is the role function name connects as: the read functions as ReaderRole,
// cache-snapshot as SnapshotRole, every function that writes (they apply the write log to
// their copy) as WriterRole; "" for catch-up, which uses no database (it only calls the
// db-writers through the gateway). stack.yml's DATABASE_URLs say the same (a test keeps them
// alike).
func FunctionRole(name string) string {
	switch name {
	case "search-events", "get-event":
		return ReaderRole
	case "cache-snapshot":
		return SnapshotRole
	case "catch-up":
		return ""
	}
	return WriterRole
}

// PassfileSecret is the OpenFaaS secret holding role's .pgpass line (pgpass-writer, ...): a
// function gets its own role's and no other.
func PassfileSecret(role string) string { return "pgpass-" + strings.TrimPrefix(role, "dostupno_") }

// RoleURL is the database URL (or key=value DSN) base with its user replaced by role and its
// password dropped: a role's password comes from a passfile (or trust authentication).
func RoleURL(base, role string) string {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return strings.TrimSpace(base) + " user=" + role
	}
	u.User = url.User(role)
	return u.String()
}
