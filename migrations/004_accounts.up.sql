-- User ids are chosen by the publisher of the registration (a UUID inside the command), so
-- every copy stores the same id. email_key is the trimmed, lower-cased email: uniqueness is
-- decided by stream order, the same in every copy.
CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL,
    email_key     text NOT NULL UNIQUE,
    name          text NOT NULL,
    password_hash text NOT NULL,
    role          text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    needs         text[] NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    version       bigint NOT NULL
);
