-- Events are written by one statement batch of the write-log applier (catalog.UpsertEvents),
-- which writes the cities, categories and venues an event names before the event itself, in
-- the same transaction; nothing else writes these tables. Postgres checks a foreign key row by
-- row, and on an import those checks were about a third of the database's time per event
-- (measured on 30,000 seeded events: 287 µs per event with them, 199 µs without), so the
-- references of events and venues are guaranteed by that writer (and checked by its tests)
-- instead. event_accessibility keeps its key: its ON DELETE CASCADE removes an event's index
-- row with the event.
ALTER TABLE events
    DROP CONSTRAINT events_category_fkey,
    DROP CONSTRAINT events_city_fkey,
    DROP CONSTRAINT events_venue_id_fkey;
ALTER TABLE venues DROP CONSTRAINT venues_city_fkey;
