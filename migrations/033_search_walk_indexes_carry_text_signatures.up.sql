-- Each event's text signature, a 256-bit summary of its text vector's lexemes, carried by the
-- indexes in answer order without a code (by start, led by city, led by category), so that a
-- text search walking them (its window and long walk, shared/search/store.go, pageSQL) reads
-- the text of only the rows whose signature holds every word of its question, and the others
-- from the index alone. Before, the window read the table page of each of its 500 rows for
-- its text vector: for "80" in Saint Petersburg on 1M events, 511 pages, 0.6-0.8 ms when
-- Postgres held them and 7-10 ms when they came through the page cache (the table is 570 MB,
-- Postgres's shared buffers 128 MB here), 37-40 ms when the kernel had let them go; through
-- the signatures, about 20 pages of the index and the table pages of 12 rows (its 10 matches
-- and 2 others whose signature held the word by chance): 0.3 ms held, 1.9-5 ms read.
--
-- The signature sets two bits for each lexeme, each picked by a byte of the lexeme's hash
-- (hashtextextended, the hash Postgres's hash partitions keep on disk, stable across
-- versions). A text whose every word is required (Query.allWords) matches only an event
-- whose signature holds the bits of its words' lexemes (the same to_tsvector makes both): the
-- test is necessary, never sufficient, and the walk tests the text itself on the rows it
-- passes. A seeded event has 15 lexemes (21 at most): about 11% of its bits set, and a word
-- it lacks passes by chance about once in 80 rows. A text of hundreds of lexemes (a long
-- description) sets most bits and passes most words: the walk then reads its text, as before.
--
-- Computed by Postgres from the text vector on every write (a generated column): 5.2 µs an
-- event on 1M events, against the text vector's own making. The indexes grow by the
-- signature's 37 bytes a row (by city: 118 → 159 MB on 1M events).
CREATE FUNCTION search_text_sig(document tsvector) RETURNS bit(256)
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN (SELECT coalesce(bit_or((B'1'::bit(256) >> (h & 255)::integer) | (B'1'::bit(256) >> ((h >> 8) & 255)::integer)), B'0'::bit(256))
            FROM (SELECT hashtextextended(l, 0) AS h FROM unnest(tsvector_to_array(document)) l) x);

ALTER TABLE event_accessibility ADD COLUMN text_sig bit(256) NOT NULL GENERATED ALWAYS AS (search_text_sig(document)) STORED;

DROP INDEX IF EXISTS event_accessibility_starts;
CREATE INDEX event_accessibility_starts ON event_accessibility (starts_at, event_id) INCLUDE (constraint_ids, excluded_ids, city, category, text_sig);
DROP INDEX IF EXISTS event_accessibility_city_starts;
CREATE INDEX event_accessibility_city_starts ON event_accessibility (city, starts_at, event_id) INCLUDE (constraint_ids, excluded_ids, category, text_sig);
DROP INDEX IF EXISTS event_accessibility_category_starts;
CREATE INDEX event_accessibility_category_starts ON event_accessibility (category, starts_at, event_id) INCLUDE (constraint_ids, excluded_ids, city, text_sig);
