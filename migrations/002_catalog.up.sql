-- The "existing" events database of a standalone deployment. Cities and categories are open
-- sets learned from imported data, keyed by slug so every copy names them alike (identity
-- columns could differ between copies after a rolled-back apply).
CREATE TABLE cities (
    slug text PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE categories (
    slug text PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE venues (
    id      bigint PRIMARY KEY CHECK (id > 0),
    name    text NOT NULL,
    address text NOT NULL DEFAULT '',
    lat     double precision,
    lon     double precision,
    city    text NOT NULL REFERENCES cities (slug)
);

-- version is the write-log sequence of the command that last wrote the event: upserts are
-- last-writer-wins by stream order, and updated_at is the command's time, so every copy holds
-- the same row.
CREATE TABLE events (
    id          bigint PRIMARY KEY CHECK (id > 0),
    title       text NOT NULL,
    description text NOT NULL DEFAULT '',
    category    text NOT NULL REFERENCES categories (slug),
    city        text NOT NULL REFERENCES cities (slug),
    venue_id    bigint NOT NULL REFERENCES venues (id),
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz,
    timezone    text NOT NULL,
    age_rating  text NOT NULL DEFAULT '',
    price_min   numeric(12, 2),
    price_max   numeric(12, 2),
    currency    text,
    version     bigint NOT NULL,
    updated_at  timestamptz NOT NULL
);

-- The accessibility index: two tables that can sit beside an existing events database without
-- changing it (the catalog above, and this). sheet is the tri-state answer per code (only yes
-- and no are stored; a missing code is unknown); constraint_ids are the ids whose answer is
-- yes, indexed for containment. starts_at, city, category and the text vector are copied here
-- so that a search touches one table.
CREATE TABLE event_accessibility (
    event_id       bigint PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE,
    sheet          jsonb NOT NULL DEFAULT '{}',
    constraint_ids smallint[] NOT NULL DEFAULT '{}',
    starts_at      timestamptz NOT NULL,
    city           text NOT NULL,
    category       text NOT NULL,
    document       tsvector NOT NULL DEFAULT ''
);

-- Containment (@>) uses GIN with the default array opclass. Do not install the intarray
-- extension: it makes the default opclass for int arrays its own, and this index silently
-- stops serving @>.
CREATE INDEX event_accessibility_constraints_gin ON event_accessibility USING gin (constraint_ids);
CREATE INDEX event_accessibility_starts ON event_accessibility (starts_at, event_id);
CREATE INDEX event_accessibility_city_starts ON event_accessibility (city, starts_at, event_id);
CREATE INDEX event_accessibility_category_starts ON event_accessibility (category, starts_at, event_id);
CREATE INDEX event_accessibility_document ON event_accessibility USING gin (document);
CREATE INDEX events_venue ON events (venue_id);
