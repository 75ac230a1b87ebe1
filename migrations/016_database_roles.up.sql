-- Least privilege in the database (README, "Security"). The roles are made once by a
-- superuser (migrations/roles.sql); this migration, run as their owner, grants each what it
-- needs, on the tables of now and (default privileges) on those later migrations make:
--   dostupno_writer    reads and writes rows of every table, never the schema
--   dostupno_reader    reads, but not the users' personal data (a user's saved needs only)
--   dostupno_snapshot  reads as the readers do, and writes the cache's own tables
DO $$
BEGIN
    IF (SELECT count(*) FROM pg_roles WHERE rolname IN ('dostupno_writer', 'dostupno_reader', 'dostupno_snapshot')) < 3 THEN
        RAISE EXCEPTION 'the database roles dostupno_writer, dostupno_reader and dostupno_snapshot do not exist'
            USING HINT = 'create them once as a superuser: psql -d <database> -f migrations/roles.sql (README, "Security")';
    END IF;
END
$$;

-- Nobody but the owner creates anything in the schema (PostgreSQL 15 ships it so; older
-- servers granted CREATE to everyone).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO dostupno_writer, dostupno_reader, dostupno_snapshot;

GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO dostupno_writer;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO dostupno_writer;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO dostupno_reader, dostupno_snapshot;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO dostupno_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO dostupno_writer;
-- A table that later holds personal data revokes this in its own migration, as users does here.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO dostupno_reader, dostupno_snapshot;

-- Emails, names and password hashes stay out of the readers' reach: search-events reads a
-- signed-in user's saved needs and nothing else of the account; command outcomes may carry
-- a user's email and name.
REVOKE SELECT ON users, writelog_outcomes FROM dostupno_reader, dostupno_snapshot;
GRANT SELECT (id, needs) ON users TO dostupno_reader;

GRANT INSERT, UPDATE, DELETE ON cache_snapshots, cache_snapshot_entries, cache_hot_keys TO dostupno_snapshot;
