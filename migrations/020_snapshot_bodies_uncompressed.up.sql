-- A snapshot's answers are stored uncompressed (out of line, no pglz): every instance that
-- starts reads the newest snapshot whole (hotcache.WarmStart), and decompressing the largest
-- one cache-snapshot writes (1,000 answers, up to 32 MiB) cost Postgres more than the rest of
-- the warm start. Measured on 200k events, 1,000 answers of 16.4 MiB: 280-380 ms compressed,
-- 120-175 ms uncompressed (cmd/dostupno bench, cold starts). The price is the space: the
-- bodies take their full size (compressed they took a fifth), for the few generations kept
-- (hotcache.DefaultKeep). Rows written before keep their compression until they are dropped.
ALTER TABLE cache_snapshot_entries ALTER COLUMN body SET STORAGE EXTERNAL;
