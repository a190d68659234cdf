-- TOTP two-factor (RFC 6238): the base32 secret once enrolled, the last accepted time step (a
-- code is accepted once), and single-use recovery codes stored as SHA-256.
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER;
CREATE TABLE recovery_codes (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    code_hash   BLOB    NOT NULL,
    used_at_ms  INTEGER
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);
