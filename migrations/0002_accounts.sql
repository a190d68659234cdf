-- Accounts, sessions and login attempts (governance). Passwords are argon2id PHC strings.
CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    username       TEXT    NOT NULL UNIQUE,
    role           TEXT    NOT NULL CHECK (role IN ('admin', 'trader', 'risk', 'auditor', 'investor')),
    password_hash  TEXT    NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    disabled_at_ms INTEGER
);

-- Server-side sessions (tower-sessions records, JSON); the cookie holds only the id.
CREATE TABLE sessions (
    id          TEXT    PRIMARY KEY,
    data        TEXT    NOT NULL,
    expiry_ms   INTEGER NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expiry_ms);

-- Every login attempt, for throttling and for admins to see.
CREATE TABLE login_attempts (
    id        INTEGER PRIMARY KEY,
    username  TEXT    NOT NULL,
    ip        TEXT    NOT NULL,
    at_ms     INTEGER NOT NULL,
    success   INTEGER NOT NULL
);
CREATE INDEX login_attempts_user ON login_attempts (username, at_ms);
CREATE INDEX login_attempts_ip ON login_attempts (ip, at_ms);

-- Token scopes become a set (comma-separated: ingest, engine, read); SQLite cannot relax a
-- CHECK in place, so the table is rebuilt.
CREATE TABLE api_tokens_v2 (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    scope         TEXT    NOT NULL,
    token_hash    BLOB    NOT NULL UNIQUE,
    created_at_ms INTEGER NOT NULL,
    revoked_at_ms INTEGER
);
INSERT INTO api_tokens_v2 SELECT id, name, scope, token_hash, created_at_ms, revoked_at_ms FROM api_tokens;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_v2 RENAME TO api_tokens;
