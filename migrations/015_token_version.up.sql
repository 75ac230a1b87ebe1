-- Every token carries its user's token version (claim tv). A password or role change bumps
-- it, and an admin write is refused unless the token's version is still the user's, so a
-- changed password or a lost role ends the admin power of every token issued before at once;
-- any other use of a token ends with its lifetime (24 h). README, "Security".
ALTER TABLE users ADD COLUMN token_version bigint NOT NULL DEFAULT 0;
