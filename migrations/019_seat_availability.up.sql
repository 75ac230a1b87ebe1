-- Live accessible-seat availability (README, "Seat availability"): how many wheelchair spaces
-- and companion seats are still free for an event, as the ticketing system last counted them.
--
-- Its own table, keyed by event id, rather than columns of events or event_accessibility: the
-- counts change at ticket-sale rates, and an update here rewrites one narrow row whose only
-- index is the primary key (a HOT update, fillfactor leaving room for it), never the events'
-- covering and per-code indexes. No foreign key: the ticketing side may report an event before
-- its catalog entry arrives (the count is shown once the event exists), and no update waits on
-- the events' rows.
--
-- as_of is the ticketing system's time of the count: an update not newer than the stored one
-- is ignored in every copy (catalog.SeatsUpdate), so redelivery or reordering never moves a
-- count backwards. version is the write-log sequence of the command that last wrote the row
-- (a warm cache start drops the answers of events whose counts changed after its snapshot).
CREATE TABLE event_availability (
    event_id          bigint PRIMARY KEY,
    wheelchair_spaces integer NOT NULL CHECK (wheelchair_spaces >= 0),
    companion_seats   integer NOT NULL CHECK (companion_seats >= 0),
    as_of             timestamptz NOT NULL,
    version           bigint NOT NULL
) WITH (fillfactor = 70);
-- A catalog table: 016's default privileges let the writers write it and the readers and
-- cache-snapshot read it.

-- An integration account of the ticketing side, which may write availability and nothing
-- else (dostupno admin create --role ticketing EMAIL).
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('user', 'admin', 'ticketing'));
