-- The text vector of an event is now built with the 'russian' configuration alone (it stems
-- Cyrillic words with russian_stem and Latin words with english_stem; the second, 'english'
-- vector only added unstemmed Cyrillic words) and searched with websearch_to_tsquery('russian').
-- Rows written before are rebuilt with the expression of catalog.UpsertEvents, so that every
-- copy, old or replayed from the start, holds the same vectors.
UPDATE event_accessibility a
SET document = setweight(to_tsvector('russian', e.title), 'A') || setweight(to_tsvector('russian', v.name), 'B') ||
    setweight(to_tsvector('russian', left(e.description, 4000)), 'C')
FROM events e JOIN venues v ON v.id = e.venue_id
WHERE e.id = a.event_id;
