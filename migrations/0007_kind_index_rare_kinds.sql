-- The kind index keeps only the kinds that are rare in a trading log (a person's or a rule's
-- action, checkpoints, reports, alerts, heartbeats, system and LLM events). The order flow
-- (market snapshots, signals, risk checks, orders, fills) is most of every log, so a kind filter
-- on it finds a page by walking the log newest or oldest first, and indexing it cost 15-22% of
-- the insert (issue 11 §3, docs/performance-history.md). A query uses this index only when it
-- repeats the predicate word for word (server/src/store/mod.rs, KIND_INDEX_PREDICATE). Written as
-- five `<>` rather than NOT IN (...): SQLite evaluates it for every inserted row, and NOT IN cost
-- ~10% of the raw insert where `<>` cost none measurable.
DROP INDEX events_kind_seq;
CREATE INDEX events_kind_seq ON events (kind, seq)
    WHERE kind <> 'market_snapshot' AND kind <> 'signal' AND kind <> 'risk_check' AND kind <> 'order' AND kind <> 'fill';
