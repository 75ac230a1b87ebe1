-- The events deleted, each with the transaction that deleted it, so that an instance starting
-- from a cache snapshot learns which of its answers' events are gone from the deletions the
-- snapshot's read did not see (shared/hotcache/warm.go, deletedSince), instead of probing
-- every event its answers hold (45,570 for the largest snapshot on 1M events, 100-190 ms of a
-- warm start). The service never deletes an event; an operator may, with DELETE (a row each)
-- or TRUNCATE (a row without an event: every event). Rows that every kept snapshot's read saw
-- are dropped when a snapshot is taken (shared/hotcache/snapshot.go).
CREATE TABLE events_deleted (
    event_id   bigint,                                    -- NULL: every event (TRUNCATE)
    xid        xid8 NOT NULL DEFAULT pg_current_xact_id(),
    deleted_at timestamptz NOT NULL DEFAULT now()        -- for an operator's reading only
);
CREATE INDEX events_deleted_xid ON events_deleted (xid);

-- The function runs as its owner, so that whoever may delete events records them.
CREATE FUNCTION events_deleted_record() RETURNS trigger LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO events_deleted (event_id) VALUES (NULL);
    ELSE
        INSERT INTO events_deleted (event_id) SELECT id FROM gone;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER events_deleted AFTER DELETE ON events
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION events_deleted_record();
CREATE TRIGGER events_truncated AFTER TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_deleted_record();

-- The recompute's snapshot of the database (pg_current_snapshot() in its read): the deletions
-- it did not see are those of the transactions not visible in it. Snapshots taken before hold
-- none, and their instances probe every event as before.
ALTER TABLE cache_snapshots ADD COLUMN seen pg_snapshot;

-- The read functions read the rows at a warm start; cache-snapshot reads them and drops the old.
GRANT SELECT ON events_deleted TO dostupno_reader, dostupno_snapshot;
GRANT DELETE ON events_deleted TO dostupno_snapshot;
