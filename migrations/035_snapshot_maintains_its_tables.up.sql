-- cache-snapshot vacuums the tables each snapshot rewrites after taking it
-- (shared/hotcache/snapshot.go: a generation written, the oldest dropped with several MB of
-- answers in TOAST, the hot keys' scores decayed, old deletions dropped): with autovacuum off,
-- nothing else would reclaim the dropped generations, and the tables would grow by each
-- snapshot's size for good. It connects as dostupno_snapshot, which owns none of them; as in
-- migration 034, PostgreSQL 17 lets it be granted MAINTAIN on them, and on an older server
-- cache-snapshot logs the tables it may not vacuum, which then wait for autovacuum.
DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 170000 THEN
        EXECUTE 'GRANT MAINTAIN ON cache_hot_keys, cache_snapshot_entries, cache_snapshots, events_deleted TO dostupno_snapshot';
    END IF;
END
$$;
