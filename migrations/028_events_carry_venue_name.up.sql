-- An event carries its venue's name (venues.name), which a search answer shows for each event
-- of its page (shared/search/store.go, detailsOf): read with the event's row instead of a
-- lookup of venues' primary key per row of the page (one subplan, three buffers a row), the
-- whole mix at 16 clients got about 8% more answers a second (cmd/dostupno bench, in turns;
-- README, "Search and demo data"). The writers keep it: an event's upsert writes the name its
-- venue holds once the command (or spread run) is applied, and a venue whose row changed
-- brings its name to its other events (shared/catalog/upsert.go, queueRows and reach). Rows
-- written before take their venue's name here, as every copy, old or replayed, would hold it.
ALTER TABLE events ADD COLUMN venue_name text;
UPDATE events e SET venue_name = v.name FROM venues v WHERE v.id = e.venue_id;
ALTER TABLE events ALTER COLUMN venue_name SET NOT NULL;
