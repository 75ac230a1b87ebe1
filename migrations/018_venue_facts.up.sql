-- Accessibility facts as venues and sessions have them (README, "Venues and accessibility
-- facts"): four answers (yes, no, unknown, not_applicable), who stated each and when it was
-- verified, and a venue's own sheet, which its events inherit for every code they do not
-- state themselves.
--
-- event_accessibility.sheet keeps the event's own facts: a code's bare value, or an object
-- {"value","source","verified_at"} when the fact has provenance (rows written before hold bare
-- values, which is exactly how a fact without provenance is written). constraint_ids are now
-- the event's EFFECTIVE yes codes (its own answer where it states one, else its venue's), so
-- a strict search and its per-code indexes (migrations 006, 009, 012) are unchanged;
-- excluded_ids are the effective no and not_applicable codes, which a lenient search rules
-- out (it accepts yes and unknown).
ALTER TABLE event_accessibility ADD COLUMN excluded_ids smallint[] NOT NULL DEFAULT '{}';

-- No venue had facts before this migration, so an event's effective answers were its own: the
-- rows get what catalog.UpsertEvents writes for the same old commands replayed into a new
-- copy.
UPDATE event_accessibility a SET excluded_ids = x.ids
FROM (SELECT s.event_id, array_agg(c.id ORDER BY c.id) AS ids
      FROM event_accessibility s
      CROSS JOIN LATERAL jsonb_each_text(s.sheet) f
      JOIN accessibility_constraints c ON c.code = f.key
      WHERE f.value IN ('no', 'not_applicable')
      GROUP BY s.event_id) x
WHERE a.event_id = x.event_id;

-- A venue's own facts, beside the venues table as event_accessibility sits beside events.
-- version is the write-log sequence of the command that last changed the sheet (a warm cache
-- start drops the answers of events at venues changed after its snapshot); venues whose
-- facts were never stated have no row.
CREATE TABLE venue_accessibility (
    venue_id   bigint PRIMARY KEY,
    sheet      jsonb NOT NULL DEFAULT '{}',
    version    bigint NOT NULL,
    updated_at timestamptz NOT NULL
);
-- A catalog table like venues, with nothing personal in it: 016's default privileges let the
-- writers write it and the readers and cache-snapshot read it (the read functions show the
-- facts, cache-snapshot recomputes answers from them). The columns this migration adds fall
-- under their tables' grants.

-- A venue change now lists the venue's events (to recompute what they inherit, and to tell
-- the caches), the reader migration 014 said would bring this index back. It costs one
-- B-tree insert per written event; a change of a venue with 10,000 events reads 10,000 index
-- entries instead of every event.
CREATE INDEX events_venue ON events (venue_id);

-- A cached answer also names the venues it shows, so that a venue's rename drops the answers
-- showing it without listing the venue's events; snapshots keep those ids as they keep the
-- events'.
ALTER TABLE cache_snapshot_entries ADD COLUMN venue_ids bigint[] NOT NULL DEFAULT '{}';
