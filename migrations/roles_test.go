package migrations_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dostupno/dostupno/migrations"
	"github.com/dostupno/dostupno/shared/pgtest"
)

// connectAs connects to the database of url as role.
func connectAs(t *testing.T, url, role string) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, migrations.RoleURL(url, role))
	if err != nil {
		t.Fatalf("connect as %s: %v", role, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// sqlState runs sql on c in a transaction that is rolled back, and returns the SQLSTATE of
// its failure ("" when it succeeded).
func sqlState(t *testing.T, c *pgx.Conn, sql string) string {
	t.Helper()
	ctx := context.Background()
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // the transaction is thrown away either way
	_, err = tx.Exec(ctx, sql)
	if err == nil {
		return ""
	}
	var pg *pgconn.PgError
	if !errors.As(err, &pg) {
		t.Fatalf("%s: got %v, want a PostgreSQL error", sql, err)
	}
	return pg.Code
}

const (
	denied   = "42501" // insufficient_privilege
	readOnly = "25006" // read_only_sql_transaction
)

func TestRolePrivileges(t *testing.T) {
	t.Parallel()
	url := pgtest.NewURL(t)
	owner := connectAs(t, url, migrations.OwnerRole)
	if _, err := owner.Exec(context.Background(), `INSERT INTO cities (slug, name) VALUES ('roles-test', 'Roles')`); err != nil {
		t.Fatal(err)
	}
	writer := connectAs(t, url, migrations.WriterRole)
	reader := connectAs(t, url, migrations.ReaderRole)
	snapshot := connectAs(t, url, migrations.SnapshotRole)
	// The reader's sessions are read-only by default; the grants hold even when it turns
	// that off.
	unlocked := connectAs(t, url, migrations.ReaderRole)
	if _, err := unlocked.Exec(context.Background(), `SET default_transaction_read_only = off`); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		c    *pgx.Conn
		sql  string
		want string
	}{
		{"ReaderSelects", reader, `SELECT count(*) FROM events JOIN event_accessibility ON event_id = id`, ""},
		{"ReaderVenueFacts", reader, `SELECT v.sheet, a.excluded_ids FROM venue_accessibility v, event_accessibility a`, ""},
		{"ReaderSavedNeeds", reader, `SELECT needs FROM users WHERE id = gen_random_uuid()`, ""},
		{"ErrReaderEmails", reader, `SELECT email FROM users`, denied},
		{"ErrReaderPasswordHashes", reader, `SELECT password_hash FROM users`, denied},
		{"ErrReaderOutcomes", reader, `SELECT result FROM writelog_outcomes`, denied},
		{"ErrReaderEmailHashes", reader, `SELECT email_hash FROM users`, denied},
		{"ErrReaderClaims", reader, `SELECT email_hash FROM user_claims`, denied},
		{"ErrReaderInsertReadOnly", reader, `INSERT INTO cities (slug, name) VALUES ('x', 'X')`, readOnly},
		{"ErrReaderInsert", unlocked, `INSERT INTO cities (slug, name) VALUES ('x', 'X')`, denied},
		{"ErrReaderUpdate", unlocked, `UPDATE cities SET name = 'Y' WHERE slug = 'roles-test'`, denied},
		{"ErrReaderDelete", unlocked, `DELETE FROM cities WHERE slug = 'roles-test'`, denied},
		{"ErrReaderUpdatePosition", unlocked, `UPDATE writelog_position SET applied_seq = 99`, denied},
		{"ErrReaderVenueFacts", unlocked, `INSERT INTO venue_accessibility (venue_id, version, updated_at) VALUES (1, 1, now())`, denied},
		{"ReaderSeats", reader, `SELECT wheelchair_spaces, companion_seats, as_of FROM event_availability`, ""},
		{"ErrReaderSeats", unlocked, `INSERT INTO event_availability VALUES (1, 1, 1, now(), 1)`, denied},
		{"ErrReaderCreate", unlocked, `CREATE TABLE sneaky (x int)`, denied},

		{"WriterInserts", writer, `INSERT INTO cities (slug, name) VALUES ('x', 'X')`, ""},
		{"WriterUpdates", writer, `UPDATE writelog_position SET applied_seq = applied_seq`, ""},
		{"WriterDeletes", writer, `DELETE FROM cities WHERE slug = 'roles-test'`, ""},
		{"WriterVenueFacts", writer, `INSERT INTO venue_accessibility (venue_id, version, updated_at) VALUES (1, 1, now())
			ON CONFLICT (venue_id) DO UPDATE SET sheet = excluded.sheet`, ""},
		{"WriterSeats", writer, `INSERT INTO event_availability VALUES (1, 1, 1, now(), 1)
			ON CONFLICT (event_id) DO UPDATE SET wheelchair_spaces = excluded.wheelchair_spaces`, ""},
		{"WriterReadsUsers", writer, `SELECT email, password_hash, token_version, email_hash FROM users`, ""},
		{"WriterClaims", writer, `INSERT INTO user_claims (user_id, email_hash) VALUES (gen_random_uuid(), 'h')`, ""},
		{"WriterErasesClaims", writer, `DELETE FROM user_claims`, ""},
		// A deletion is recorded whoever deletes (migration 031: the trigger's function runs as
		// its owner), and the readers and cache-snapshot read the record.
		{"WriterDeletesAnEvent", writer, `DELETE FROM events WHERE id = -1`, ""},
		{"ReaderDeletions", reader, `SELECT event_id, xid FROM events_deleted`, ""},
		{"ErrReaderDeletions", unlocked, `DELETE FROM events_deleted`, denied},
		{"SnapshotDropsDeletions", snapshot, `DELETE FROM events_deleted WHERE xid < '1'`, ""},
		// The details' generation moves with any writer's write of the catalog (migration
		// 032: the trigger's function runs as its owner); the readers read it, nobody writes it.
		{"WriterMovesTheDetailsGeneration", writer, `UPDATE events SET title = title WHERE id = -1`, ""},
		{"WriterGivesACover", writer, `DELETE FROM event_photos WHERE event_id = -1`, ""},
		{"ReaderDetailsGeneration", reader, `SELECT (SELECT epoch FROM details_epoch), sum(n) FROM details_generation`, ""},
		{"ErrReaderDetailsGeneration", unlocked, `UPDATE details_generation SET n = 0`, denied},
		{"ErrWriterDetailsGeneration", writer, `UPDATE details_generation SET n = 0`, denied},
		{"ErrWriterDetailsEpoch", writer, `UPDATE details_epoch SET epoch = 0`, denied},
		{"ErrWriterNewDetailsGeneration", writer, `INSERT INTO details_generation (n) VALUES (0)`, denied},
		{"ErrSnapshotDetailsGeneration", snapshot, `UPDATE details_generation SET n = 0`, denied},
		{"ErrWriterMovesTheGenerationAlone", writer, `SELECT details_generation_add()`, denied},
		{"ErrWriterCreate", writer, `CREATE TABLE sneaky (x int)`, denied},
		{"ErrWriterDrop", writer, `DROP TABLE events`, denied},
		{"ErrWriterAlter", writer, `ALTER TABLE users ADD COLUMN sneaky int`, denied},
		{"ErrWriterTruncate", writer, `TRUNCATE writelog_outcomes`, denied},
		{"ErrWriterCreateFunction", writer, `CREATE FUNCTION sneaky() RETURNS int LANGUAGE sql AS 'SELECT 1'`, denied},

		{"SnapshotWritesItsTables", snapshot, `INSERT INTO cache_hot_keys (key, kind, score, seen_at) VALUES ('k', 'search', 1, now())`, ""},
		{"SnapshotNewGeneration", snapshot, `INSERT INTO cache_snapshots (taken_at, applied_seq, entries, bytes, took_ms) VALUES (now(), 0, 0, 0, 0)`, ""},
		{"SnapshotReadsFacts", snapshot, `SELECT v.sheet, a.excluded_ids FROM venue_accessibility v, event_accessibility a`, ""},
		{"SnapshotReadsSeats", snapshot, `SELECT wheelchair_spaces FROM event_availability`, ""},
		{"SnapshotVenueIDs", snapshot, `UPDATE cache_snapshot_entries SET venue_ids = '{1}'`, ""},
		{"ErrSnapshotWritesCatalog", snapshot, `UPDATE cities SET name = 'Y'`, denied},
		{"ErrSnapshotWritesFacts", snapshot, `DELETE FROM venue_accessibility`, denied},
		{"ErrSnapshotPosition", snapshot, `UPDATE writelog_position SET applied_seq = 99`, denied},
		{"ErrSnapshotUsers", snapshot, `SELECT needs FROM users`, denied},
		{"ErrSnapshotEmailHashes", snapshot, `SELECT email_hash FROM users`, denied},
		{"ErrSnapshotClaims", snapshot, `SELECT email_hash FROM user_claims`, denied},
		{"ErrSnapshotCreate", snapshot, `CREATE TABLE sneaky (x int)`, denied},

		{"OwnerCreates", owner, `CREATE TABLE fine (x int)`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sqlState(t, tt.c, tt.sql); got != tt.want {
				t.Fatalf("%s: got SQLSTATE %q, want %q", tt.sql, got, tt.want)
			}
		})
	}
	// The writer cannot pass on what it holds (PostgreSQL warns and grants nothing).
	if _, err := writer.Exec(context.Background(), `GRANT SELECT ON users TO dostupno_reader`); err != nil {
		t.Fatal(err)
	}
	if got := sqlState(t, reader, `SELECT email FROM users`); got != denied {
		t.Fatalf("got SQLSTATE %q reading emails after the writer's GRANT, want %q", got, denied)
	}
}

func TestRolesAreNotSuperusers(t *testing.T) {
	t.Parallel()
	url := pgtest.NewURL(t)
	for _, role := range []string{migrations.OwnerRole, migrations.WriterRole, migrations.ReaderRole, migrations.SnapshotRole} {
		var super, createRole, createDB bool
		err := connectAs(t, url, role).QueryRow(context.Background(),
			`SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user`).Scan(&super, &createRole, &createDB)
		if err != nil || super || createRole || createDB {
			t.Fatalf("%s: got superuser %v, createrole %v, createdb %v (%v); want none", role, super, createRole, createDB, err)
		}
	}
	var owner string
	if err := connectAs(t, url, migrations.ReaderRole).QueryRow(context.Background(),
		`SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()`).Scan(&owner); err != nil || owner != migrations.OwnerRole {
		t.Fatalf("got the database owned by %q (%v), want %s", owner, err, migrations.OwnerRole)
	}
}

// A read function's statement ends after 2 s: here one that waits on a lock held by a writer.
func TestReaderStatementTimeout(t *testing.T) {
	t.Parallel()
	url := pgtest.NewURL(t)
	ctx := context.Background()
	writer := connectAs(t, url, migrations.WriterRole)
	tx, err := writer.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // only the lock mattered
	if _, err := tx.Exec(ctx, `LOCK TABLE writelog_position IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	reader := connectAs(t, url, migrations.ReaderRole)
	var timeout string
	if err := reader.QueryRow(ctx, `SHOW statement_timeout`).Scan(&timeout); err != nil || timeout != "2s" {
		t.Fatalf("got statement_timeout %q (%v), want 2s", timeout, err)
	}
	start := time.Now()
	_, err = reader.Exec(ctx, `SELECT applied_seq FROM writelog_position`)
	var pg *pgconn.PgError
	if !errors.As(err, &pg) || pg.Code != "57014" {
		t.Fatalf("got %v after %v, want query_canceled (57014) by the statement timeout", err, time.Since(start))
	}
}

// TestApplyURLWithPoolSettings: migrating a copy through the URL the functions use, which
// may set their pool's size (pool_max_conns), connects (Postgres itself would refuse the
// setting as an unknown parameter): an up-to-date copy has nothing to apply.
func TestApplyURLWithPoolSettings(t *testing.T) {
	u := migrations.RoleURL(pgtest.NewURL(t), migrations.OwnerRole)
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	done, err := migrations.ApplyURL(context.Background(), u+sep+"pool_max_conns=3")
	if err != nil || len(done) != 0 {
		t.Fatalf("applied %v, %v; want nothing to apply and no error", done, err)
	}
}
