-- The words of each event's text keyed by the week it starts in (and its city), in place of the
-- month keys of migration 026. A read of a slice of weeks (shared/search/text.go, searchWeeks)
-- reads every candidate its keys name and each one's table page, then keeps those of its time:
-- the first slice through month keys took two whole months for a question whose page lies in
-- its first days. On 1M events, the first slice's statement for `xx` (8,489 events): two months
-- 738 buffers and 0.63-0.91 ms, two weeks 200 and 0.21-0.37; `гамлет` 423 and 0.42-0.64 against
-- 125 and 0.14-0.35 (pgbench, prepared, one client, warm); the two week indexes 65 MB against
-- the months' 51.
--
-- A key is 'word|week' or 'word|week|city', made as in migration 026 (search_text_keys). The
-- question's side is made by the search itself from its text's lexemes (Query.lexemes): for
-- each lexeme, its keys in every week of the slice, which the read asks the index to overlap
-- (&&); an event has one week, so the events that overlap every lexeme's keys are those whose
-- text holds every lexeme in one week of the slice.

-- search_week is the UTC week at starts, Monday to Monday, counted from Monday 1970-01-05
-- (shared/search/text.go, weekOf: the same count). It is the epoch's seconds that count, which
-- are the same in every time zone (IMMUTABLE).
CREATE FUNCTION search_week(starts timestamptz) RETURNS integer
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN floor((date_part('epoch', timezone('UTC', starts)) - 345600) / 604800)::integer;

-- search_text_weeks are the 'word|week' keys of a text vector starting at starts.
CREATE FUNCTION search_text_weeks(document tsvector, starts timestamptz) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN search_text_keys(document, '|' || search_week(starts)::text);

-- search_text_city_weeks are the 'word|week|city' keys of a text vector.
CREATE FUNCTION search_text_city_weeks(document tsvector, starts timestamptz, city text) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN search_text_keys(document, '|' || search_week(starts)::text || '|' || city);

CREATE INDEX IF NOT EXISTS event_accessibility_text_weeks ON event_accessibility
    USING gin (search_text_weeks(document, starts_at));
CREATE INDEX IF NOT EXISTS event_accessibility_text_city_weeks ON event_accessibility
    USING gin (search_text_city_weeks(document, starts_at, city));

-- The month keys are read no more: their indexes cost every write of an event. Their functions
-- stay: an instance of search-events from before this migration, until it is replaced, still
-- asks for them, and without them its text searches would fail (500); with them and without
-- the indexes they wait out the read role's statement timeout (503, or the cache's stale
-- answer), as during any migration that rebuilds what searches read.
DROP INDEX IF EXISTS event_accessibility_text_months;
DROP INDEX IF EXISTS event_accessibility_text_city_months;
