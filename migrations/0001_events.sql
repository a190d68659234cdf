-- The audit trail: one append-only, hash-chained table of events.
CREATE TABLE events (
    seq            INTEGER PRIMARY KEY,          -- 1, 2, 3 ... assigned at append
    event_id       TEXT    NOT NULL UNIQUE,      -- the client's idempotency key
    kind           TEXT    NOT NULL,
    instrument     TEXT,
    signal_id      TEXT,
    order_id       TEXT,
    ts_ms          INTEGER NOT NULL,             -- source timestamp, ms since epoch UTC
    received_at_ms INTEGER NOT NULL,             -- console clock at append
    drift_ms       INTEGER NOT NULL,             -- received_at_ms - ts_ms
    flags          TEXT,                         -- advisory, e.g. 'unknown_order'; not hashed
    payload        TEXT    NOT NULL,             -- the exact JSON received: the hashed bytes
    prev_hash      BLOB    NOT NULL,             -- 32 bytes
    hash           BLOB    NOT NULL              -- SHA-256(prev_hash || seq_be64 || payload)
);
CREATE INDEX events_kind_seq ON events (kind, seq);
CREATE INDEX events_instrument_seq ON events (instrument, seq) WHERE instrument IS NOT NULL;
CREATE INDEX events_signal ON events (signal_id) WHERE signal_id IS NOT NULL;
CREATE INDEX events_order ON events (order_id) WHERE order_id IS NOT NULL;
CREATE INDEX events_ts ON events (ts_ms);

-- A guard, not the proof: anyone with the file can drop these, which is why the chain exists.
CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

-- API tokens, stored as SHA-256 of the secret (a 256-bit random token needs no slow hash).
CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    scope         TEXT    NOT NULL CHECK (scope IN ('ingest', 'read')),
    token_hash    BLOB    NOT NULL UNIQUE,
    created_at_ms INTEGER NOT NULL,
    revoked_at_ms INTEGER
);
