-- Snapshots of the read functions' hot cache, so that a restarted or new instance serves the
-- hot questions from memory at once. They are cache data, not catalog data: each copy's
-- snapshots are its own, written directly by cache-snapshot and never through the write log.
-- applied_seq is the write-log position the answers were computed at; an instance that loads
-- the snapshot drops every answer an event changed after it (events.version > applied_seq).
CREATE TABLE cache_snapshots (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    taken_at    timestamptz NOT NULL,
    applied_seq bigint NOT NULL,
    entries     integer NOT NULL,
    bytes       bigint NOT NULL,
    took_ms     integer NOT NULL
);
CREATE INDEX cache_snapshots_taken ON cache_snapshots (taken_at);

-- One recomputed answer. has_matches says the answer is a search whose invalidation test
-- (which events could now join it) is rebuilt from the key when loaded.
CREATE TABLE cache_snapshot_entries (
    snapshot_id bigint NOT NULL REFERENCES cache_snapshots (id) ON DELETE CASCADE,
    kind        text NOT NULL,
    key         text NOT NULL,
    body        bytea NOT NULL,
    etag        text NOT NULL DEFAULT '',
    event_ids   bigint[] NOT NULL DEFAULT '{}',
    has_matches boolean NOT NULL DEFAULT false,
    score       double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (snapshot_id, key)
);

-- What the instances reported as asked for, decayed at each snapshot, so the hot set outlives
-- the instances that saw it (all of them may have been replaced since).
CREATE TABLE cache_hot_keys (
    key      text PRIMARY KEY,
    kind     text NOT NULL,
    score    double precision NOT NULL,
    seen_at  timestamptz NOT NULL
);
CREATE INDEX cache_hot_keys_score ON cache_hot_keys (score DESC);

-- A warm start asks which events changed after a snapshot's write-log position; without
-- these it would scan every event on each instance start.
CREATE INDEX events_version ON events (version);
CREATE INDEX event_photos_version ON event_photos (version);
