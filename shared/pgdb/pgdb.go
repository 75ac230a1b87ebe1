// Package pgdb builds pgx pools the same way everywhere and names the small query interface
// that lets one piece of SQL run on a pool or inside a transaction.
package pgdb

import (
	"context"
	"errors"
	"fmt"
	neturl "net/url"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DBTX is satisfied by *pgxpool.Pool, *pgx.Conn and pgx.Tx.
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
	CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error)
}

// Options tune a pool; the zero value is right for a function instance.
type Options struct {
	AppName  string // application_name, shown in pg_stat_activity
	MaxConns int32  // default: pool_max_conns of the URL, else DefaultMaxConns
}

// DefaultMaxConns is a pool's size when neither its options nor its URL set one: two
// connections per core, four at least. Postgres runs beside the functions on the same cores
// (one VM), and a statement holds its core while it runs: more connections than that only
// share the cores, so a long statement takes as many times longer. On 2 cores, 16 clients of
// search-events asking the whole mix uncached: p99 16.6-23.6 ms with 4 connections against
// 32.6-37.7 ms with 8, back to back (cmd/dostupno bench; docs/PERFORMANCE.md, the fifth machine).
func DefaultMaxConns() int32 { return int32(max(4, 2*runtime.NumCPU())) }

// Connect builds a pool for url. It does not wait for the server: the first query does, so a
// function starts even while Postgres restarts.
//
// plan_cache_mode=force_custom_plan: pgx prepares statements, and after five runs Postgres may
// switch a prepared search to a generic plan that walks the starts_at index and filters row by
// row (93 ms instead of 4 ms measured here); custom plans see the actual constraint values.
// A statement whose plan does not depend on its values runs with a generic plan through
// QueryGeneric, as shared/search does for a page's details and for the page of a question
// without text, whose plan-deciding values (the constraint codes) are written in its text
// (search.Search), and the seat counts' command does (catalog.SeatsUpdate).
//
// jit=off: Postgres compiles a query whose estimated cost passes jit_above_cost, and the
// compilation costs more than these short queries ever run. A warm start's "what changed since
// the snapshot" (hotcache.WarmStart) ran 2.5 ms and took 400-600 ms with the compilation on
// 200k events, and text searches whose estimate was large paid it the same way (cmd/dostupno
// bench).
//
// effective_io_concurrency=64: a bitmap scan (a text search's slice of weeks, its read of the text
// index) asks the kernel for the table pages it will read next, 64 ahead, instead of one: where
// the page cache let them go, the disk reads them together. A slice of months of 80 on 1M events
// whose 600-950 pages came from disk took 0.07-0.09 ms a page against 0.17-0.2 (page cache
// dropped, EXPLAIN ANALYZE, in turns); with the pages cached, 5.9 ms against 5.5-6.4 (pgbench).
// Set after connecting, not in the startup packet: a Postgres built without posix_fadvise (on
// macOS) refuses any value but 0, and the connection then keeps its default instead of failing.
//
// max_parallel_workers_per_gather=0: a statement's parallel workers are processes Postgres
// starts for it, on the cores the other callers' statements need (one VM, as DefaultMaxConns
// says); a generic plan of a text search's read of a month's keys gathered two workers and
// took 5-6 ms for a 0.6 ms read (cmd/dostupno bench).
func Connect(ctx context.Context, url string, o Options) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %w", redact(err))
	}
	switch {
	case o.MaxConns > 0:
		cfg.MaxConns = o.MaxConns
	case urlSetsMaxConns(url):
		// pool_max_conns in the URL, as parsed.
	default:
		cfg.MaxConns = DefaultMaxConns()
	}
	cfg.MaxConnIdleTime = 5 * time.Minute
	rp := cfg.ConnConfig.RuntimeParams
	if rp["application_name"] == "" && o.AppName != "" {
		rp["application_name"] = o.AppName
	}
	rp["plan_cache_mode"] = "force_custom_plan"
	rp["jit"] = "off"
	rp["max_parallel_workers_per_gather"] = "0"
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		_, _ = c.Exec(ctx, "SET effective_io_concurrency = 64") // refused: the default stays
		return nil
	}
	rp["timezone"] = "UTC"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("create pool for %s: %w", cfg.ConnConfig.Host, err)
	}
	return pool, nil
}

// ConnectOne opens one connection to url, outside any pool (migrations, an administrator's
// statement): url may carry a pool's settings (pool_max_conns, which the deployment's
// DATABASE_URL may set), which Postgres would refuse as unknown parameters; they are read and
// left aside, as Connect's pool reads them.
func ConnectOne(ctx context.Context, url string) (*pgx.Conn, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %w", redact(err))
	}
	return pgx.ConnectConfig(ctx, cfg.ConnConfig)
}

// MaintainMinPages is the least number of pages a table must have grown by, or hold after a
// rewrite, for a VACUUM (ANALYZE) of its own (shared/writelog/maintain.go after a batch,
// migrations after a migration): 64 pages of 8 KiB, about 1,500 events in event_accessibility;
// a few single writes never come near it.
const MaintainMinPages = 64

// Maintainable splits tables into those this session's role may VACUUM and ANALYZE (may, in
// their order) and those it may not (barred, by name): to the latter both statements give only
// a warning and do nothing. A role may maintain a table it owns or acts as the owner of (a
// superuser acts as any), or, from PostgreSQL 17, one it was granted MAINTAIN on (migrations
// 034 and 035).
func Maintainable(ctx context.Context, db DBTX, tables []string) (may, barred []string, err error) {
	barred, err = Collect(ctx, db, "tables this role may not maintain", pgx.RowTo[string], `SELECT c.relname::text FROM pg_class c
		WHERE c.oid = ANY($1::text[]::regclass[])
		  AND NOT (pg_has_role(current_user, c.relowner, 'USAGE')
		    OR CASE WHEN current_setting('server_version_num')::int >= 170000 THEN has_table_privilege(c.oid, 'MAINTAIN') ELSE false END)
		ORDER BY c.relname`, tables)
	if err != nil {
		return nil, nil, err
	}
	may = slices.DeleteFunc(slices.Clone(tables), func(t string) bool { return slices.Contains(barred, t) })
	return may, barred, nil
}

// Identifiers is tables as a list of quoted identifiers for a statement ("VACUUM a, b").
func Identifiers(tables []string) string {
	ids := make([]string, len(tables))
	for i, t := range tables {
		ids[i] = pgx.Identifier{t}.Sanitize()
	}
	return strings.Join(ids, ", ")
}

// PagesHoldingRows is how many of table's pages hold a row: those a VACUUM can mark
// all-visible. Sessions inserting into a table at once make Postgres extend it by many pages
// at a time, and the pages none of them wrote to stay all zeroes, which VACUUM never marks. It
// reads the whole table.
func PagesHoldingRows(ctx context.Context, db DBTX, table string) (int64, error) {
	var n int64
	err := db.QueryRow(ctx, `SELECT count(DISTINCT (ctid::text::point)[0]) FROM `+pgx.Identifier{table}.Sanitize()).Scan(&n)
	return n, err
}

// urlSetsMaxConns reports whether url (a URL or a key=value DSN) sets pool_max_conns.
func urlSetsMaxConns(url string) bool {
	if u, err := neturl.Parse(url); err == nil && u.Scheme != "" {
		return u.Query().Has("pool_max_conns")
	}
	for _, kv := range strings.Fields(url) {
		if k, _, ok := strings.Cut(kv, "="); ok && k == "pool_max_conns" {
			return true
		}
	}
	return false
}

// redact drops the URL (which may hold a password) from a parse error.
func redact(_ error) error {
	return errors.New("invalid URL or DSN (check DATABASE_URL)")
}

// InTx runs fn in a transaction on pool: committed when fn returns nil, rolled back otherwise.
func InTx(ctx context.Context, db interface {
	Begin(context.Context) (pgx.Tx, error)
}, fn func(pgx.Tx) error) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit this is a no-op; on failure the error is fn's
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// Collect runs query q with args on db and collects every row it answers with to (pgx.RowTo,
// pgx.RowToStructByPos or a func of one's own); an error of either step is returned as
// "what: err".
func Collect[T any](ctx context.Context, db DBTX, what string, to pgx.RowToFunc[T], q string, args ...any) ([]T, error) {
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	out, err := pgx.CollectRows(rows, to)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// Generic plans for one statement: set_config(..., true) is SET LOCAL, so these last until the
// end of the transaction they run in: the pipeline's implicit one, which ends with it, or a
// caller's, where the statement after the query puts the connection's mode back for whatever
// follows it.
const (
	genericPlans = `SELECT set_config('plan_cache_mode', 'force_generic_plan', true)`
	customPlans  = `SELECT set_config('plan_cache_mode', 'force_custom_plan', true)`
	// The same for a statement that must read through an index (QueryGenericIndexed), in one
	// statement each.
	genericIndexedPlans = `SELECT set_config('plan_cache_mode', 'force_generic_plan', true), set_config('enable_seqscan', 'off', true)`
	customPlansSeqScans = `SELECT set_config('plan_cache_mode', 'force_custom_plan', true), set_config('enable_seqscan', 'on', true)`
	// A generic plan with sequential scans on again, after a read of a Batcher's that needed
	// them off, in the same transaction.
	genericPlansSeqScans = `SELECT set_config('plan_cache_mode', 'force_generic_plan', true), set_config('enable_seqscan', 'on', true)`
)

// OneConn runs fn on one connection of db when db is a pool (else on db itself, a connection
// or a transaction already): a caller that runs several statements in a row waits for a
// connection once, instead of queueing again behind other callers before each statement.
func OneConn(ctx context.Context, db DBTX, fn func(DBTX) error) error {
	pool, ok := db.(*pgxpool.Pool)
	if !ok {
		return fn(db)
	}
	c, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire a connection: %w", err)
	}
	defer c.Release()
	return fn(c)
}

// QueryGeneric runs sql with args on db with a generic plan, in one round trip: the mode set,
// the query and, in a caller's transaction (pgx.Tx), the mode put back (see Connect),
// pipelined. The caller reads the rows, closes them,
// then closes the batch, whose error reports a failure of the last step. It is for a statement
// whose plan does not depend on its values: planned once per connection instead of for every
// call, which for a statement over a table of many indexes costs more than running it.
func QueryGeneric(ctx context.Context, db DBTX, sql string, args ...any) (pgx.Rows, pgx.BatchResults, error) {
	return queryGeneric(ctx, db, false, sql, args...)
}

// QueryGenericIndexed is QueryGeneric for a statement whose rows must be read through an
// index whatever the planner estimates: sequential scans are off for it (enable_seqscan, set
// and put back as the plan mode is). A generic plan estimates a condition on a parameter by a
// default selectivity, and for an expression index's condition that can make a sequential
// scan under a LIMIT look cheaper, which computes the expression for every row.
func QueryGenericIndexed(ctx context.Context, db DBTX, sql string, args ...any) (pgx.Rows, pgx.BatchResults, error) {
	return queryGeneric(ctx, db, true, sql, args...)
}

func queryGeneric(ctx context.Context, db DBTX, indexed bool, sql string, args ...any) (pgx.Rows, pgx.BatchResults, error) {
	set, reset := genericPlans, customPlans
	if indexed {
		set, reset = genericIndexedPlans, customPlansSeqScans
	}
	var b pgx.Batch
	b.Queue(set)
	b.Queue(sql, args...)
	if _, inTx := db.(pgx.Tx); inTx {
		b.Queue(reset)
	}
	br := db.SendBatch(ctx, &b)
	if _, err := br.Exec(); err != nil {
		return nil, br, err
	}
	rows, err := br.Query()
	return rows, br, err
}
