-- A snapshot's answers are compressed by the writer (cache-snapshot, with S2) and stored out of
-- line as they are (migration 020: no pglz, which Postgres decompressed slowly). Every
-- instance that starts reads the newest snapshot whole (hotcache.WarmStart): the largest
-- cache-snapshot writes, 1,000 answers of 22 MiB on 1M events, cost Postgres about 11,000 TOAST
-- chunks to read and the socket 22 MiB to carry; compressed they are a few MiB, and S2 restores
-- them at gigabytes a second on the instance's side. body_encoding says how a body is stored:
-- '' as is (rows written before), 's2' the S2 block format.
ALTER TABLE cache_snapshot_entries ADD COLUMN body_encoding text NOT NULL DEFAULT ''
    CHECK (body_encoding IN ('', 's2'));
