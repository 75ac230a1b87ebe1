-- Erasure: the personal fields of user commands travel in the write log sealed with a per-user
-- key (shared/userkeys), and a copy decides whether an email is taken on a keyed hash of it,
-- which the command carries in clear. email_hash is NULL only for users registered before
-- this migration: their commands hold the email itself. The readers' column grants on users
-- (016) do not cover it.
ALTER TABLE users ADD COLUMN email_hash text UNIQUE;

-- A registration applied after its user was erased (its key destroyed, its email unreadable)
-- still holds its email's hash here until the erasure is applied, as the user's row does in a
-- copy that applied the registration before: later registrations are decided alike in every
-- copy, and the erasure leaves neither.
CREATE TABLE user_claims (
    user_id    uuid PRIMARY KEY,
    email_hash text NOT NULL UNIQUE
);
-- The writers apply it (016's default privileges); a keyed hash of an email is the users'
-- data, which the readers never see.
REVOKE ALL ON user_claims FROM dostupno_reader, dostupno_snapshot;

-- The erasure rewrites the outcomes of the user's commands to what a copy replaying them later
-- records.
ALTER TABLE writelog_outcomes DROP CONSTRAINT writelog_outcomes_status_check;
ALTER TABLE writelog_outcomes ADD CONSTRAINT writelog_outcomes_status_check
    CHECK (status IN ('applied', 'rejected', 'failed', 'erased'));

-- The outcomes of one business key (a Nats-Msg-Id without its hash), which an erasure scrubs.
CREATE INDEX writelog_outcomes_key ON writelog_outcomes ((regexp_replace(msg_id, '#[^#]*$', '')));
