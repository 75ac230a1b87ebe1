-- One partial B-tree per constraint code led by category, as migration 006 does for city: a
-- search for one category and a code that is rare within it (tactile exhibits at the
-- theatre, hearing loops at exhibitions) reads exactly its rows in answer order instead of
-- walking thousands of rows of the category or of the code and filtering.
CREATE INDEX event_accessibility_c1_category_starts ON event_accessibility (category, starts_at, event_id) WHERE constraint_ids @> '{1}';
CREATE INDEX event_accessibility_c2_category_starts ON event_accessibility (category, starts_at, event_id) WHERE constraint_ids @> '{2}';
CREATE INDEX event_accessibility_c3_category_starts ON event_accessibility (category, starts_at, event_id) WHERE constraint_ids @> '{3}';
CREATE INDEX event_accessibility_c4_category_starts ON event_accessibility (category, starts_at, event_id) WHERE constraint_ids @> '{4}';
CREATE INDEX event_accessibility_c5_category_starts ON event_accessibility (category, starts_at, event_id) WHERE constraint_ids @> '{5}';
CREATE INDEX event_accessibility_c6_category_starts ON event_accessibility (category, starts_at, event_id) WHERE constraint_ids @> '{6}';
CREATE INDEX event_accessibility_c7_category_starts ON event_accessibility (category, starts_at, event_id) WHERE constraint_ids @> '{7}';
CREATE INDEX event_accessibility_c8_category_starts ON event_accessibility (category, starts_at, event_id) WHERE constraint_ids @> '{8}';
CREATE INDEX event_accessibility_c9_category_starts ON event_accessibility (category, starts_at, event_id) WHERE constraint_ids @> '{9}';
CREATE INDEX event_accessibility_c10_category_starts ON event_accessibility (category, starts_at, event_id) WHERE constraint_ids @> '{10}';
CREATE INDEX event_accessibility_c11_category_starts ON event_accessibility (category, starts_at, event_id) WHERE constraint_ids @> '{11}';
CREATE INDEX event_accessibility_c12_category_starts ON event_accessibility (category, starts_at, event_id) WHERE constraint_ids @> '{12}';
CREATE INDEX event_accessibility_c13_category_starts ON event_accessibility (category, starts_at, event_id) WHERE constraint_ids @> '{13}';
CREATE INDEX event_accessibility_c14_category_starts ON event_accessibility (category, starts_at, event_id) WHERE constraint_ids @> '{14}';
CREATE INDEX event_accessibility_c15_category_starts ON event_accessibility (category, starts_at, event_id) WHERE constraint_ids @> '{15}';
CREATE INDEX event_accessibility_c16_category_starts ON event_accessibility (category, starts_at, event_id) WHERE constraint_ids @> '{16}';
CREATE INDEX event_accessibility_c17_category_starts ON event_accessibility (category, starts_at, event_id) WHERE constraint_ids @> '{17}';
CREATE INDEX event_accessibility_c18_category_starts ON event_accessibility (category, starts_at, event_id) WHERE constraint_ids @> '{18}';
