-- The words of each event's text keyed by the month it starts in, and by its city too, so that
-- a text search reads the matches of one month from the text index, not the whole catalog's.
-- The text index (migration 022) holds one posting list per word over every event: an AND of
-- words, each in a share of the events, whose intersection is sparse costs the intersection of
-- the whole lists ("выставка победа вступительное" on 1M events: 50,000, 37,000 and 310,000
-- entries for 450 matches, 4.4-6.3 ms), and a word in a large city the city's list (313,000 in
-- Moscow, 4.9 ms for "гамлет" there); the first page of such a question lies in its first
-- month or two, whose lists are a twelfth of those (0.4-1.0 ms). shared/search/text.go
-- (searchMonths) reads a text's matches month by month through these indexes.
--
-- A key is 'word|month' (search_month) or 'word|month|city'. The text's own condition stays
-- in every read, so a key made ambiguous by a word holding '|' can only cost time, not a wrong
-- answer. A read asks for the keys of every word of its text (@>), which only a text whose
-- every word is required may do (no OR, no negation: shared/search/query.go, Query.allWords);
-- with the 'russian' configuration each word has one lexeme, as to_tsvector writes it.
-- The months are UTC months: the keys do not depend on the session's time zone (IMMUTABLE).

-- search_month is the UTC month at starts, counted from year 0 (year*12 + month-1).
CREATE FUNCTION search_month(starts timestamptz) RETURNS integer
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN (date_part('year', timezone('UTC', starts)) * 12 + date_part('month', timezone('UTC', starts)) - 1)::integer;

-- search_text_keys are the lexemes of a text vector, each followed by suffix. Built by joining
-- and splitting strings, not by a subquery over unnest(), so that Postgres inlines the whole
-- key-making into the index expression: the subquery cost 3.7 µs per event and index (1M
-- events, 4.2 s against 1.2 s), on the write path of every event. Not STRICT, for the same
-- reason: Postgres inlines a strict function only when its body is strict, and CASE is not (a
-- NULL vector still gives NULL, which no index holds), and every operator in it immutable
-- (the month is cast to text: text || integer is only stable).
CREATE FUNCTION search_text_keys(document tsvector, suffix text) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN length(document) = 0 THEN '{}'::text[]
        ELSE string_to_array(array_to_string(tsvector_to_array(document), suffix || chr(1)) || suffix, chr(1)) END;

-- search_text_months are the 'word|month' keys of a text vector starting at starts.
CREATE FUNCTION search_text_months(document tsvector, starts timestamptz) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN search_text_keys(document, '|' || search_month(starts)::text);

-- search_text_city_months are the 'word|month|city' keys of a text vector.
CREATE FUNCTION search_text_city_months(document tsvector, starts timestamptz, city text) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN search_text_keys(document, '|' || search_month(starts)::text || '|' || city);

-- search_text_month_keys are the keys a read of the matches of words in the month of starts asks
-- for (with city, in that city): a text without a word (only stop words) asks for a key no
-- event has, so that the read finds nothing at once (an empty array would match every row).
CREATE FUNCTION search_text_month_keys(words text, starts timestamptz, city text) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN coalesce(nullif(CASE WHEN city IS NULL THEN search_text_months(to_tsvector('russian', words), starts)
        ELSE search_text_city_months(to_tsvector('russian', words), starts, city) END, '{}'), '{""}');

CREATE INDEX IF NOT EXISTS event_accessibility_text_months ON event_accessibility
    USING gin (search_text_months(document, starts_at));
CREATE INDEX IF NOT EXISTS event_accessibility_text_city_months ON event_accessibility
    USING gin (search_text_city_months(document, starts_at, city));
