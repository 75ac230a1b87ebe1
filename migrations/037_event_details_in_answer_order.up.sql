-- The columns a search's page shows of each event (shared/search/store.go, detailsOf), kept in
-- the answer order within each city: a page reads its events' details by city, start and id
-- from this index alone, where it read them by the primary key from the table. The rows of a
-- city's week lie on as many table pages as the page has events (the table is in the order
-- the events were written), and the page read each one: 21 events of Kazan's week, Postgres
-- restarted and the page cache dropped, 50 buffers read from disk and 3.1-4.0 ms; through this
-- index 6-7 buffers and 0.7-0.9 ms (1M events, EXPLAIN ANALYZE BUFFERS). A page without a
-- city reads the leaves of its cities, a dozen at most on the seeded catalog, where it read
-- as many table pages as events.
--
-- An index in key order stays in that order as events are written, where the table does not.
-- It is read from the index alone once the table's pages are all visible (VACUUM, which
-- whoever applies a large batch runs, migration 034), and it costs every write of an event
-- one more index entry: 192 MB on 1M events.
CREATE INDEX IF NOT EXISTS events_city_starts ON events (city, starts_at, id)
    INCLUDE (title, category, venue_id, venue_name, ends_at, timezone);
