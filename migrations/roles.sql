-- The database roles of a deployment (README, "Security"). Run once as a superuser in the
-- application database, before `dostupno migrate`: the compose file's first start, the local
-- runner and the test harness do it themselves; on a running deployment,
--   psql -h 127.0.0.1 -U postgres -d dostupno -f migrations/roles.sql
-- It is idempotent. Passwords are never written here: set them with ALTER ROLE ... PASSWORD
-- (deploy/postgres-roles.sh does, from the pgpass files).
--
--   dostupno_owner     owns the database and its objects; migrations run as it
--   dostupno_writer    the functions that apply the write log, and the ops CLI's import and
--                      admin: rows, never the schema
--   dostupno_reader    search-events and get-event: reads only, each statement at most 2 s
--   dostupno_snapshot  cache-snapshot: reads, and writes its own snapshot tables
--
-- Migration 016 grants the privileges; none of these roles may create roles, databases or
-- anything in the schema, and none is a superuser.
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['dostupno_owner', 'dostupno_writer', 'dostupno_reader', 'dostupno_snapshot'] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I LOGIN', r);
        END IF;
        EXECUTE format('ALTER ROLE %I NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS', r);
    END LOOP;
END
$$;

-- A read function's query that runs longer than this is cancelled, and the function answers
-- 503 with Retry-After; its transactions cannot write even where a grant would let them.
ALTER ROLE dostupno_reader SET statement_timeout = '2s';
ALTER ROLE dostupno_reader SET default_transaction_read_only = on;
-- A snapshot recomputes up to a thousand answers in one consistent read.
ALTER ROLE dostupno_snapshot SET statement_timeout = '30s';

-- The owner owns the database, hence (PostgreSQL 15 and later) its schema public, and what a
-- migrate run by a superuser before these roles existed created.
DO $$
DECLARE
    o record;
BEGIN
    EXECUTE format('ALTER DATABASE %I OWNER TO dostupno_owner', current_database());
    FOR o IN
        SELECT c.oid::regclass AS name, c.relkind
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
          AND c.relowner <> 'dostupno_owner'::regrole
          -- a sequence of an identity or serial column follows its table
          AND NOT (c.relkind = 'S' AND EXISTS (
              SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO dostupno_owner',
            CASE o.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, o.name);
    END LOOP;
    FOR o IN
        SELECT p.oid::regprocedure AS name
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND p.proowner <> 'dostupno_owner'::regrole
    LOOP
        EXECUTE format('ALTER ROUTINE %s OWNER TO dostupno_owner', o.name);
    END LOOP;
END
$$;
