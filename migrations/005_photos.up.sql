-- Photos are stored in S3 under a content-addressed key; the row is written through the write
-- log. position orders them (the first is the cover).
CREATE TABLE event_photos (
    event_id     bigint NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    object_key   text NOT NULL,
    content_type text NOT NULL,
    width        integer NOT NULL CHECK (width > 0),
    height       integer NOT NULL CHECK (height > 0),
    bytes        bigint NOT NULL CHECK (bytes > 0),
    position     integer NOT NULL,
    version      bigint NOT NULL,
    PRIMARY KEY (event_id, object_key)
);
CREATE INDEX event_photos_order ON event_photos (event_id, position);
