-- No query reads events by venue (a search or an event joins venues by their key), so the
-- index on events.venue_id of migration 002 was upkeep without a reader: one more B-tree
-- insert per written event. Should something list a venue's events one day, it brings the
-- index back with it.
DROP INDEX events_venue;
