-- A page's cover is the first photo of each of its events in (position, object_key) order
-- (shared/search/store.go, detailsOf; an event's photos in shared/search/event.go, the same
-- order): read from an index in that order, LIMIT 1 stops at its first entry. event_photos_order
-- (event_id, position) left the tie on position to a sort started for each row of a page
-- (an Incremental Sort node, even for an event without a photo): 6% of a search's time on 1M
-- events (508-522 → 479-494 µs per question without text, one client, alternated with and
-- without this index; README, "Search and demo data"). The new index's first columns are the
-- old one's, which it replaces.
CREATE INDEX event_photos_in_cover_order ON event_photos (event_id, position, object_key);
DROP INDEX event_photos_order;
