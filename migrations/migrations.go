// Package migrations holds the numbered SQL migrations (NNN_name.up.sql), embedded in every
// binary, and applies them: one transaction each, recorded in schema_migrations, serialised
// by an advisory lock so that concurrent starters do not race.
package migrations

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/dostupno/dostupno/shared/pgdb"
)

//go:embed *.up.sql
var files embed.FS

var nameRE = regexp.MustCompile(`^(\d{3})_([a-z0-9_]+)\.up\.sql$`)

// Migration is one numbered SQL file.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// All returns the migrations in order, or an error if a file is misnamed or numbers are not
// contiguous from 1.
func All() ([]Migration, error) { return parse(files) }

func parse(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, n := range names {
		m := nameRE.FindStringSubmatch(n)
		if m == nil {
			return nil, fmt.Errorf("migration %q: want NNN_name.up.sql", n)
		}
		v, _ := strconv.Atoi(m[1]) // three digits by the pattern
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: m[2], SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration %03d_%s: numbers must run 1, 2, 3... without gaps or repeats; want %03d", m.Version, m.Name, i+1)
		}
	}
	return out, nil
}

// lockKey is the advisory lock that serialises migrators on one database.
const lockKey = 0x646f7374 // "dost"

// Apply brings the database conn points at up to date and returns the versions it applied.
func Apply(ctx context.Context, conn *pgx.Conn) ([]int, error) { return ApplyTo(ctx, conn, 0) }

// ApplyTo is Apply stopping after version last (0: the newest), for tests that write rows as
// an older version of the code did and then migrate them.
func ApplyTo(ctx context.Context, conn *pgx.Conn, last int) ([]int, error) {
	all, err := All()
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, lockKey); err != nil {
		return nil, fmt.Errorf("take migration lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lockKey) //nolint:errcheck // the session ends soon; the lock goes with it
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	applied := map[int]bool{}
	rows, err := conn.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	vs, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	for _, v := range vs {
		applied[int(v)] = true
	}
	var done []int
	for _, m := range all {
		if applied[m.Version] || (last > 0 && m.Version > last) {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name)
			return err
		})
		if err != nil {
			return done, fmt.Errorf("migration %03d_%s: %w", m.Version, m.Name, err)
		}
		done = append(done, m.Version)
	}
	if len(done) > 0 {
		if err := vacuumUnmarked(ctx, conn); err != nil {
			return done, err
		}
	}
	return done, nil
}

// vacuumUnmarked vacuums and analyses the tables of the schema that hold at least
// pgdb.MaintainMinPages pages and whose visibility map marks fewer than nine in ten of them
// all-visible. A migration that rewrites a table (a column with a stored value added, as 033
// adds the text signatures; a column's type changed) leaves it with an empty visibility map and
// its new column without statistics: until a VACUUM, every walk of an index that covers a
// question (the searches' indexes in answer order) reads the table page of each row it passes,
// and autovacuum may be off or late (shared/writelog/maintain.go maintains the tables a batch
// grows, not those a migration rewrote). The tables are few and VACUUM blocks neither readers
// nor writers: on 1M events, about 5 s after 033's rewrite of event_accessibility.
func vacuumUnmarked(ctx context.Context, conn *pgx.Conn) error {
	rows, err := conn.Query(ctx, `SELECT c.relname FROM pg_class c
		CROSS JOIN LATERAL (SELECT pg_relation_size(c.oid) / current_setting('block_size')::bigint AS pages) s
		WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
		  AND s.pages >= $1 AND c.relallvisible < s.pages * 9 / 10
		ORDER BY c.relname`, pgdb.MaintainMinPages)
	if err != nil {
		return fmt.Errorf("find tables to vacuum after migrating: %w", err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("find tables to vacuum after migrating: %w", err)
	}
	for _, t := range tables {
		if _, err := conn.Exec(ctx, "VACUUM (ANALYZE) "+pgx.Identifier{t}.Sanitize()); err != nil {
			return fmt.Errorf("vacuum %s after migrating: %w", t, err)
		}
	}
	return nil
}

// ApplyURL connects to url, applies the migrations and disconnects.
func ApplyURL(ctx context.Context, url string) ([]int, error) {
	conn, err := pgdb.ConnectOne(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("connect to migrate: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return Apply(ctx, conn)
}
