-- The generation of the events' details as a search page shows them (their row, their cover
-- photo and whether they have seat counts: shared/search/store.go, detailsOf): a number that
-- every committed statement writing events or event_photos moves on, and every one that adds
-- seat counts to an event. The counts themselves, which change at ticket-sale rates, are not
-- kept: a page reads those of its events that had some (an event whose counts were removed
-- since then reads none, and shows none). A search-events instance keeps the details it
-- read, each under the generation it read them at, and a page's reads carry the generation
-- with their rows, in the same snapshot: details kept under that generation are exactly what
-- Postgres would answer in that snapshot, and the page reads none of them
-- (shared/search/details.go). Read per row of every page, the details were about 40% of
-- Postgres's CPU an answer at 16 clients on 1M events (docs/PERFORMANCE.md).
--
-- The generation is the sum of the counters of details_generation's rows. A writing statement
-- adds one, by a trigger, to a row no other transaction holds (FOR UPDATE SKIP LOCKED), or to a
-- new row when every row is held: writers never wait on each other here (one row for all
-- would make every writer of the catalog queue behind the others to their commits, and a
-- writer whose transaction waits on another's work, as an import's do, would wait forever).
-- Each committed writing transaction adds at least one, and a later snapshot sees every
-- transaction an earlier one saw: two snapshots with the same sum saw the same writes. A
-- statement that changed nothing adds one too: a needless refresh, never a stale page.
CREATE TABLE details_generation (
    slot integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    n    bigint NOT NULL
) WITH (fillfactor = 10);
-- Each move leaves the row's old version behind on its page, which every read of the sum
-- passes until the page is pruned; a read prunes a page whose free space fell below its fill
-- factor's reserve, so with 10% the page is pruned every few dozen moves, autovacuum or not
-- (after 400 moves, 17 versions on the page against 90 at 100%).
INSERT INTO details_generation (n) SELECT 0 FROM generate_series(1, 8);

-- epoch tells databases apart: a cache that meets another epoch, or a generation that went
-- back (a database restored), starts over.
CREATE TABLE details_epoch (
    epoch bigint NOT NULL
);
INSERT INTO details_epoch (epoch) VALUES (floor(random() * 9007199254740991)::bigint);

-- The functions run as their owner, so that whoever may write the catalog moves the
-- generation, and only a write of the catalog does (details_generation_add is no one else's
-- to call).
CREATE FUNCTION details_generation_add() RETURNS void LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE details_generation SET n = n + 1
    WHERE slot = (SELECT slot FROM details_generation ORDER BY slot LIMIT 1 FOR UPDATE SKIP LOCKED);
    IF NOT FOUND THEN
        INSERT INTO details_generation (n) VALUES (1);
    END IF;
END
$$;
REVOKE EXECUTE ON FUNCTION details_generation_add() FROM PUBLIC;

CREATE FUNCTION details_generation_move() RETURNS trigger LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM details_generation_add();
    RETURN NULL;
END
$$;

-- The same, when the statement added rows (its transition table, changed): an upsert of seat
-- counts that only updated them leaves the generation as it was.
CREATE FUNCTION details_generation_move_if_rows() RETURNS trigger LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF EXISTS (SELECT FROM changed) THEN
        PERFORM details_generation_add();
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER events_details_generation AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION details_generation_move();
CREATE TRIGGER event_photos_details_generation AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON event_photos
    FOR EACH STATEMENT EXECUTE FUNCTION details_generation_move();
-- Of an INSERT ... ON CONFLICT DO UPDATE, the INSERT trigger's transition table holds the rows
-- inserted alone.
CREATE TRIGGER event_availability_details_generation AFTER INSERT ON event_availability
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION details_generation_move_if_rows();

-- Everyone reads them (016's default privileges); nobody but the trigger writes them.
REVOKE INSERT, UPDATE, DELETE ON details_generation, details_epoch FROM dostupno_writer;
