-- The applier vacuums and analyses the tables a large batch grew (shared/writelog/maintain.go),
-- so that a copy searches fast the moment an import returns, autovacuum or not. It connects as
-- dostupno_writer, which owns no table, and VACUUM and ANALYZE skip, with only a warning, a
-- table whose owner the role is not: before this, a deployment's import left its copy without
-- statistics or a visibility map until autovacuum came (the suite's copies belong to a
-- superuser's connections, which may maintain anything). PostgreSQL 17 lets the owner grant
-- the right to maintain a table (MAINTAIN: VACUUM, ANALYZE, and also CLUSTER, REINDEX and LOCK
-- TABLE, nothing a role that may delete every row could not already do worse); the deployment
-- runs 17 (docker-compose.yml). On an older server there is no such grant, the applier logs
-- the tables it may not maintain, and they wait for autovacuum (README, "Security").
DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 170000 THEN
        EXECUTE 'GRANT MAINTAIN ON ALL TABLES IN SCHEMA public TO dostupno_writer';
        EXECUTE 'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT MAINTAIN ON TABLES TO dostupno_writer';
    END IF;
END
$$;
