-- Fold snapshots: every fold's state (CBOR, `domain::folds::Folds::snapshot`) as of one seq,
-- with that event's hash, so a restart folds only the events after it. A cache, not evidence:
-- it is checked against the chain when loaded, and deleting it only costs a full replay.
CREATE TABLE fold_snapshots (
    seq            INTEGER PRIMARY KEY,
    head_hash      BLOB    NOT NULL,
    format         INTEGER NOT NULL,
    capital        TEXT    NOT NULL,
    data           BLOB    NOT NULL,
    written_at_ms  INTEGER NOT NULL
);
