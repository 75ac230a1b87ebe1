-- The text index also holds the city (btree_gin puts a B-tree-ordered column in a GIN
-- index), so a text search in a city reads the word's matches in that city alone from the
-- index: GIN intersects the two posting lists, skipping through the city's by the word's.
-- Before, Postgres ANDed the word's bitmap with a bitmap of every event of the city (the
-- city-led B-tree), and for a large city that was most of the work: "гамлет" in Moscow on 1M
-- events, 4,744 matches, 1,640 of them in Moscow, 313,000 Moscow events in the bitmap, 38 ms
-- of a 56 ms question; from this index, 1,640 entries in 4 ms (cmd/dostupno bench, "text +
-- city"). A GIN index on several columns serves a condition on any of them, so the text
-- alone is read from it as from the former one, which it replaces.
-- btree_gin is a trusted extension: the database's owner (dostupno_owner) may create it.
CREATE EXTENSION IF NOT EXISTS btree_gin;
CREATE INDEX IF NOT EXISTS event_accessibility_city_document ON event_accessibility USING gin (city, document);
DROP INDEX IF EXISTS event_accessibility_document;
