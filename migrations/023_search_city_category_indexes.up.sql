-- Per-constraint indexes led by city and category, for the codes few events hold: a question
-- with such codes, a city and a category walks the rarest code's events of that city and
-- category alone, in answer order. With the city-led ones only (migration 021) it walked the
-- code's events of the whole city and checked the category on each index tuple: for rare codes
-- whose intersection is empty, every future event of that code in the city (Moscow holds 31% of
-- the events: 14,687 tuples for sign language, subtitles and a hearing loop in Moscow's
-- exhibitions on 1M events, 14 ms, none matching); led by the category too, that walk is the
-- code's events of one category there, 5-15% of them. The city-led ones stay for questions with
-- a city and no category.
-- The codes are the services and aids a session or a venue offers to few (tactile guidance,
-- braille, audio description, tactile exhibits, sign language, subtitles, a hearing loop, easy
-- read, a relaxed performance, a quiet space: 1-6% of the seeded events each). The building's
-- common facts (step-free entrance, toilet, elevator, parking, wheelchair seating, companion
-- seat, guide dogs, photosensitivity: 13-44%) have none: the walk of such a code's city index
-- meets a page within a few hundred tuples, and their indexes, which every second event enters,
-- would cost the most to keep (all 18 codes: import 12,100-12,300 → 9,560-9,610 events/s, 36 µs
-- more Postgres CPU per event, on 200k events).
CREATE INDEX IF NOT EXISTS event_accessibility_c7_city_category_starts ON event_accessibility (city, category, starts_at, event_id) INCLUDE (constraint_ids) WHERE constraint_ids @> '{7}';
CREATE INDEX IF NOT EXISTS event_accessibility_c8_city_category_starts ON event_accessibility (city, category, starts_at, event_id) INCLUDE (constraint_ids) WHERE constraint_ids @> '{8}';
CREATE INDEX IF NOT EXISTS event_accessibility_c9_city_category_starts ON event_accessibility (city, category, starts_at, event_id) INCLUDE (constraint_ids) WHERE constraint_ids @> '{9}';
CREATE INDEX IF NOT EXISTS event_accessibility_c10_city_category_starts ON event_accessibility (city, category, starts_at, event_id) INCLUDE (constraint_ids) WHERE constraint_ids @> '{10}';
CREATE INDEX IF NOT EXISTS event_accessibility_c12_city_category_starts ON event_accessibility (city, category, starts_at, event_id) INCLUDE (constraint_ids) WHERE constraint_ids @> '{12}';
CREATE INDEX IF NOT EXISTS event_accessibility_c13_city_category_starts ON event_accessibility (city, category, starts_at, event_id) INCLUDE (constraint_ids) WHERE constraint_ids @> '{13}';
CREATE INDEX IF NOT EXISTS event_accessibility_c14_city_category_starts ON event_accessibility (city, category, starts_at, event_id) INCLUDE (constraint_ids) WHERE constraint_ids @> '{14}';
CREATE INDEX IF NOT EXISTS event_accessibility_c15_city_category_starts ON event_accessibility (city, category, starts_at, event_id) INCLUDE (constraint_ids) WHERE constraint_ids @> '{15}';
CREATE INDEX IF NOT EXISTS event_accessibility_c16_city_category_starts ON event_accessibility (city, category, starts_at, event_id) INCLUDE (constraint_ids) WHERE constraint_ids @> '{16}';
CREATE INDEX IF NOT EXISTS event_accessibility_c17_city_category_starts ON event_accessibility (city, category, starts_at, event_id) INCLUDE (constraint_ids) WHERE constraint_ids @> '{17}';
