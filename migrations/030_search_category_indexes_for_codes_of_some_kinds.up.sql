-- Per-constraint indexes led by category (without the city), for the codes that belong to some
-- kinds of event: wheelchair seating (where an audience sits: no standing exhibition), tactile
-- exhibits (exhibitions), subtitles (screens and stages) and a relaxed performance (shows). A
-- question with such a code and a category, no city, walked the code's index in answer order
-- (migration 009) and checked the category on each tuple: for a category where the code
-- rarely holds, hundreds of tuples a match (on 1M seeded events: wheelchair seating at
-- exhibitions 294 of the code's tuples a match, tactile exhibits at the theatre 234, a relaxed
-- performance at exhibitions 100, subtitles at exhibitions 82; every other code at most 53
-- for its rarest category, most 19-38). Led by the category, the walk is that category's
-- events of the code alone: exhibitions with subtitles 0.94-1.23 → 0.47-0.52 ms, the theatre
-- with tactile exhibits 1.35-1.42 → 0.43-0.44, films with tactile exhibits 1.25-1.79 →
-- 0.43-0.49, exhibitions with wheelchair seating 0.76-1.18 → 0.43-0.54 (one connection, warm,
-- the indexes made and dropped in turns), exhibitions with a relaxed performance 1.11 → 0.59.
-- The codes with a city and a category keep migration 023's indexes. Their upkeep: a third of
-- the events enter one of them (wheelchair seating, 23%, the most); 100,000 rows inserted into
-- a copy of the table with every index, in turns, took 135-144 µs an event without them and
-- 138-151 with them, within the insert's noise.
CREATE INDEX IF NOT EXISTS event_accessibility_c3_category_starts ON event_accessibility (category, starts_at, event_id) INCLUDE (constraint_ids, city) WHERE constraint_ids @> '{3}';
CREATE INDEX IF NOT EXISTS event_accessibility_c10_category_starts ON event_accessibility (category, starts_at, event_id) INCLUDE (constraint_ids, city) WHERE constraint_ids @> '{10}';
CREATE INDEX IF NOT EXISTS event_accessibility_c13_category_starts ON event_accessibility (category, starts_at, event_id) INCLUDE (constraint_ids, city) WHERE constraint_ids @> '{13}';
CREATE INDEX IF NOT EXISTS event_accessibility_c16_category_starts ON event_accessibility (category, starts_at, event_id) INCLUDE (constraint_ids, city) WHERE constraint_ids @> '{16}';
