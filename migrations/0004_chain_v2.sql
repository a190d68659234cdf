-- Chain links of version 2 also cover `received_at_ms` and `flags` (the columns that cannot be
-- derived from the payload); every other column (kind, instrument, signal_id, order_id, ts_ms,
-- drift_ms) is re-derived from the hashed payload by verification. Rows stored before this
-- migration keep their version 1 links (prev, seq, payload).
ALTER TABLE events ADD COLUMN chain_version INTEGER NOT NULL DEFAULT 1;
