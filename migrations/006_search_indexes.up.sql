-- Search indexes: one partial B-tree per constraint code, ordered as the answer is
-- (starts_at, event_id), and one per code led by city. A search writes one literal predicate
-- "constraint_ids @> '{k}'" per requested code, so the planner can take the partial index of
-- the rarest requested code, read it in answer order from the keyset position and stop after
-- LIMIT rows, checking the other codes on the few rows it reads. The GIN index alone cannot
-- give rows in order: for a rare code Postgres would walk the whole starts_at index and filter
-- row by row. The ids are the fixed ids of migration 001 and never change.
CREATE INDEX event_accessibility_c1_starts ON event_accessibility (starts_at, event_id) WHERE constraint_ids @> '{1}';
CREATE INDEX event_accessibility_c2_starts ON event_accessibility (starts_at, event_id) WHERE constraint_ids @> '{2}';
CREATE INDEX event_accessibility_c3_starts ON event_accessibility (starts_at, event_id) WHERE constraint_ids @> '{3}';
CREATE INDEX event_accessibility_c4_starts ON event_accessibility (starts_at, event_id) WHERE constraint_ids @> '{4}';
CREATE INDEX event_accessibility_c5_starts ON event_accessibility (starts_at, event_id) WHERE constraint_ids @> '{5}';
CREATE INDEX event_accessibility_c6_starts ON event_accessibility (starts_at, event_id) WHERE constraint_ids @> '{6}';
CREATE INDEX event_accessibility_c7_starts ON event_accessibility (starts_at, event_id) WHERE constraint_ids @> '{7}';
CREATE INDEX event_accessibility_c8_starts ON event_accessibility (starts_at, event_id) WHERE constraint_ids @> '{8}';
CREATE INDEX event_accessibility_c9_starts ON event_accessibility (starts_at, event_id) WHERE constraint_ids @> '{9}';
CREATE INDEX event_accessibility_c10_starts ON event_accessibility (starts_at, event_id) WHERE constraint_ids @> '{10}';
CREATE INDEX event_accessibility_c11_starts ON event_accessibility (starts_at, event_id) WHERE constraint_ids @> '{11}';
CREATE INDEX event_accessibility_c12_starts ON event_accessibility (starts_at, event_id) WHERE constraint_ids @> '{12}';
CREATE INDEX event_accessibility_c13_starts ON event_accessibility (starts_at, event_id) WHERE constraint_ids @> '{13}';
CREATE INDEX event_accessibility_c14_starts ON event_accessibility (starts_at, event_id) WHERE constraint_ids @> '{14}';
CREATE INDEX event_accessibility_c15_starts ON event_accessibility (starts_at, event_id) WHERE constraint_ids @> '{15}';
CREATE INDEX event_accessibility_c16_starts ON event_accessibility (starts_at, event_id) WHERE constraint_ids @> '{16}';
CREATE INDEX event_accessibility_c17_starts ON event_accessibility (starts_at, event_id) WHERE constraint_ids @> '{17}';
CREATE INDEX event_accessibility_c18_starts ON event_accessibility (starts_at, event_id) WHERE constraint_ids @> '{18}';

CREATE INDEX event_accessibility_c1_city_starts ON event_accessibility (city, starts_at, event_id) WHERE constraint_ids @> '{1}';
CREATE INDEX event_accessibility_c2_city_starts ON event_accessibility (city, starts_at, event_id) WHERE constraint_ids @> '{2}';
CREATE INDEX event_accessibility_c3_city_starts ON event_accessibility (city, starts_at, event_id) WHERE constraint_ids @> '{3}';
CREATE INDEX event_accessibility_c4_city_starts ON event_accessibility (city, starts_at, event_id) WHERE constraint_ids @> '{4}';
CREATE INDEX event_accessibility_c5_city_starts ON event_accessibility (city, starts_at, event_id) WHERE constraint_ids @> '{5}';
CREATE INDEX event_accessibility_c6_city_starts ON event_accessibility (city, starts_at, event_id) WHERE constraint_ids @> '{6}';
CREATE INDEX event_accessibility_c7_city_starts ON event_accessibility (city, starts_at, event_id) WHERE constraint_ids @> '{7}';
CREATE INDEX event_accessibility_c8_city_starts ON event_accessibility (city, starts_at, event_id) WHERE constraint_ids @> '{8}';
CREATE INDEX event_accessibility_c9_city_starts ON event_accessibility (city, starts_at, event_id) WHERE constraint_ids @> '{9}';
CREATE INDEX event_accessibility_c10_city_starts ON event_accessibility (city, starts_at, event_id) WHERE constraint_ids @> '{10}';
CREATE INDEX event_accessibility_c11_city_starts ON event_accessibility (city, starts_at, event_id) WHERE constraint_ids @> '{11}';
CREATE INDEX event_accessibility_c12_city_starts ON event_accessibility (city, starts_at, event_id) WHERE constraint_ids @> '{12}';
CREATE INDEX event_accessibility_c13_city_starts ON event_accessibility (city, starts_at, event_id) WHERE constraint_ids @> '{13}';
CREATE INDEX event_accessibility_c14_city_starts ON event_accessibility (city, starts_at, event_id) WHERE constraint_ids @> '{14}';
CREATE INDEX event_accessibility_c15_city_starts ON event_accessibility (city, starts_at, event_id) WHERE constraint_ids @> '{15}';
CREATE INDEX event_accessibility_c16_city_starts ON event_accessibility (city, starts_at, event_id) WHERE constraint_ids @> '{16}';
CREATE INDEX event_accessibility_c17_city_starts ON event_accessibility (city, starts_at, event_id) WHERE constraint_ids @> '{17}';
CREATE INDEX event_accessibility_c18_city_starts ON event_accessibility (city, starts_at, event_id) WHERE constraint_ids @> '{18}';
