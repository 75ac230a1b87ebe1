-- Each copy records the last write-log sequence it applied in the same transaction as the
-- change, so a command redelivered after a crash between commit and ack is skipped.
CREATE TABLE writelog_position (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    applied_seq bigint NOT NULL DEFAULT 0
);
INSERT INTO writelog_position DEFAULT VALUES;

-- The outcome of every command, so that the publisher (read-your-writes) learns whether its
-- command was applied or rejected (e.g. a taken email), identically in every copy. No wall
-- clock here: copies must hold the same rows.
CREATE TABLE writelog_outcomes (
    seq     bigint PRIMARY KEY,
    msg_id  text NOT NULL,
    kind    text NOT NULL,
    status  text NOT NULL CHECK (status IN ('applied', 'rejected', 'failed')),
    code    text NOT NULL DEFAULT '',
    message text NOT NULL DEFAULT '',
    result  jsonb
);
