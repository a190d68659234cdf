-- The kind index keeps only the kinds that are rare in a trading log (see
-- migrations/0007_kind_index_rare_kinds.sql).
DROP INDEX events_kind_seq;
CREATE INDEX events_kind_seq ON events (kind, seq)
    WHERE kind <> 'market_snapshot' AND kind <> 'signal' AND kind <> 'risk_check' AND kind <> 'order' AND kind <> 'fill';
