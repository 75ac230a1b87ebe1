-- The per-constraint partial indexes led by category (migration 008) go; the per-constraint
-- ones in answer order (migration 009) now also carry city and category (INCLUDE). A search
-- for a category and a code walks that code's index and checks the category on the index
-- tuple: an index-only walk that reads no heap for the rows it passes over. Even the rarest
-- pair, tactile exhibits at the theatre (81 of the code's 11,898 events in 1M), costs a few
-- thousand index tuples, under 1 ms. The category family took one index insert per yes code
-- of every event: on 200k inserted rows the whole index set of event_accessibility cost about
-- 55 µs of Postgres CPU per event, 36 µs without it; search p99 on 1M events unchanged
-- (2.3-3.3 ms before, 2.1-2.7 ms after; README).
--
-- Kept on purpose, measured without each on 1M events:
-- * the city-led family (migration 006): a city can lack a code altogether (no hearing loop
--   in Novosibirsk, no quiet space in Omsk in the demo data), and then the code's index is
--   walked to its end: rare code + city p99 2.8 ms -> 9 ms, a wheelchair profile in Omsk
--   (no match) 1 ms -> 51 ms;
-- * the plain city and category B-trees (migration 002): a text search filters the first
--   rows of the city or category in answer order (Omsk + text 2 ms -> 100 ms without them),
--   and a city without events would walk the whole table (0.05 ms -> 115 ms; a category
--   likewise).

DROP INDEX IF EXISTS event_accessibility_c1_category_starts;
DROP INDEX IF EXISTS event_accessibility_c2_category_starts;
DROP INDEX IF EXISTS event_accessibility_c3_category_starts;
DROP INDEX IF EXISTS event_accessibility_c4_category_starts;
DROP INDEX IF EXISTS event_accessibility_c5_category_starts;
DROP INDEX IF EXISTS event_accessibility_c6_category_starts;
DROP INDEX IF EXISTS event_accessibility_c7_category_starts;
DROP INDEX IF EXISTS event_accessibility_c8_category_starts;
DROP INDEX IF EXISTS event_accessibility_c9_category_starts;
DROP INDEX IF EXISTS event_accessibility_c10_category_starts;
DROP INDEX IF EXISTS event_accessibility_c11_category_starts;
DROP INDEX IF EXISTS event_accessibility_c12_category_starts;
DROP INDEX IF EXISTS event_accessibility_c13_category_starts;
DROP INDEX IF EXISTS event_accessibility_c14_category_starts;
DROP INDEX IF EXISTS event_accessibility_c15_category_starts;
DROP INDEX IF EXISTS event_accessibility_c16_category_starts;
DROP INDEX IF EXISTS event_accessibility_c17_category_starts;
DROP INDEX IF EXISTS event_accessibility_c18_category_starts;

DROP INDEX IF EXISTS event_accessibility_c1_starts;
DROP INDEX IF EXISTS event_accessibility_c2_starts;
DROP INDEX IF EXISTS event_accessibility_c3_starts;
DROP INDEX IF EXISTS event_accessibility_c4_starts;
DROP INDEX IF EXISTS event_accessibility_c5_starts;
DROP INDEX IF EXISTS event_accessibility_c6_starts;
DROP INDEX IF EXISTS event_accessibility_c7_starts;
DROP INDEX IF EXISTS event_accessibility_c8_starts;
DROP INDEX IF EXISTS event_accessibility_c9_starts;
DROP INDEX IF EXISTS event_accessibility_c10_starts;
DROP INDEX IF EXISTS event_accessibility_c11_starts;
DROP INDEX IF EXISTS event_accessibility_c12_starts;
DROP INDEX IF EXISTS event_accessibility_c13_starts;
DROP INDEX IF EXISTS event_accessibility_c14_starts;
DROP INDEX IF EXISTS event_accessibility_c15_starts;
DROP INDEX IF EXISTS event_accessibility_c16_starts;
DROP INDEX IF EXISTS event_accessibility_c17_starts;
DROP INDEX IF EXISTS event_accessibility_c18_starts;

CREATE INDEX event_accessibility_c1_starts ON event_accessibility (starts_at, event_id) INCLUDE (constraint_ids, city, category) WHERE constraint_ids @> '{1}';
CREATE INDEX event_accessibility_c2_starts ON event_accessibility (starts_at, event_id) INCLUDE (constraint_ids, city, category) WHERE constraint_ids @> '{2}';
CREATE INDEX event_accessibility_c3_starts ON event_accessibility (starts_at, event_id) INCLUDE (constraint_ids, city, category) WHERE constraint_ids @> '{3}';
CREATE INDEX event_accessibility_c4_starts ON event_accessibility (starts_at, event_id) INCLUDE (constraint_ids, city, category) WHERE constraint_ids @> '{4}';
CREATE INDEX event_accessibility_c5_starts ON event_accessibility (starts_at, event_id) INCLUDE (constraint_ids, city, category) WHERE constraint_ids @> '{5}';
CREATE INDEX event_accessibility_c6_starts ON event_accessibility (starts_at, event_id) INCLUDE (constraint_ids, city, category) WHERE constraint_ids @> '{6}';
CREATE INDEX event_accessibility_c7_starts ON event_accessibility (starts_at, event_id) INCLUDE (constraint_ids, city, category) WHERE constraint_ids @> '{7}';
CREATE INDEX event_accessibility_c8_starts ON event_accessibility (starts_at, event_id) INCLUDE (constraint_ids, city, category) WHERE constraint_ids @> '{8}';
CREATE INDEX event_accessibility_c9_starts ON event_accessibility (starts_at, event_id) INCLUDE (constraint_ids, city, category) WHERE constraint_ids @> '{9}';
CREATE INDEX event_accessibility_c10_starts ON event_accessibility (starts_at, event_id) INCLUDE (constraint_ids, city, category) WHERE constraint_ids @> '{10}';
CREATE INDEX event_accessibility_c11_starts ON event_accessibility (starts_at, event_id) INCLUDE (constraint_ids, city, category) WHERE constraint_ids @> '{11}';
CREATE INDEX event_accessibility_c12_starts ON event_accessibility (starts_at, event_id) INCLUDE (constraint_ids, city, category) WHERE constraint_ids @> '{12}';
CREATE INDEX event_accessibility_c13_starts ON event_accessibility (starts_at, event_id) INCLUDE (constraint_ids, city, category) WHERE constraint_ids @> '{13}';
CREATE INDEX event_accessibility_c14_starts ON event_accessibility (starts_at, event_id) INCLUDE (constraint_ids, city, category) WHERE constraint_ids @> '{14}';
CREATE INDEX event_accessibility_c15_starts ON event_accessibility (starts_at, event_id) INCLUDE (constraint_ids, city, category) WHERE constraint_ids @> '{15}';
CREATE INDEX event_accessibility_c16_starts ON event_accessibility (starts_at, event_id) INCLUDE (constraint_ids, city, category) WHERE constraint_ids @> '{16}';
CREATE INDEX event_accessibility_c17_starts ON event_accessibility (starts_at, event_id) INCLUDE (constraint_ids, city, category) WHERE constraint_ids @> '{17}';
CREATE INDEX event_accessibility_c18_starts ON event_accessibility (starts_at, event_id) INCLUDE (constraint_ids, city, category) WHERE constraint_ids @> '{18}';
