-- The venues a snapshot's answers show, each with a digest of its row as they were computed
-- (shared/hotcache/snapshot.go, recompute): an instance that loads the snapshot drops the
-- answers showing a venue whose row differs since (renamed, moved), which applied_seq cannot
-- tell: a venue's row carries no write-log position, and its events' versions do not move
-- when it changes (shared/hotcache/warm.go, changedSince). Snapshots taken before hold none.
ALTER TABLE cache_snapshots
    ADD COLUMN venue_ids bigint[] NOT NULL DEFAULT '{}',
    ADD COLUMN venue_digests text[] NOT NULL DEFAULT '{}';
