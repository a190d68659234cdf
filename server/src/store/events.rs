//! [`EventLog`] for both backends: one text, expanded for SQLite and for PostgreSQL.
use anyhow::{Context, Result};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::chain::{self, Hash};
use domain::event::Event;
use domain::view::{EventPage, EventQuery, EventRow};
use futures::TryStreamExt;
use sqlx::{Postgres, QueryBuilder, Row, Sqlite};

use super::dialect::{Dialect, Sql};
use super::{AppendError, EventLog, last_link, Incoming, LOOKUP_CHUNK, MAX_PAGE, MayBeStored, Pending, RawRow, WriteError, ms_to_dt};

/// One stored row of each of a list of signal or order ids (the identity is the same in every
/// stored row of an id); closed by [`Dialect::one_row_per_id`]. The kind index holds no signal or
/// order (migration 0007), so the planner keeps a long id list on the id index: SQLite once took
/// the `(kind, seq)` index for it and read every stored signal per batch (ingest fell from 17,000
/// to 4,000 events/s between 100k and 600k events); `the_id_reuse_lookup_uses_the_id_index_for_large_batches`
/// guards the plan.
fn id_lookup_prefix<DB: Dialect>(kind: &str, column: &str) -> String {
    format!("SELECT {}payload, received_at_ms FROM events WHERE kind = '{kind}' AND ", <DB as Dialect>::distinct_on(column))
}

macro_rules! event_log {
    ($DB:ty) => {
        impl Sql<$DB> {
            /// The event in a row's `payload`, parsed against the clock it was accepted with (so
            /// the future-skew rule holds as then), and that clock.
            fn stored_event(r: &<$DB as sqlx::Database>::Row) -> Result<(Result<Event, domain::event::ParseError>, DateTime<Utc>)> {
                let payload: String = r.try_get("payload")?;
                let received = ms_to_dt(r.try_get("received_at_ms")?);
                Ok((Event::parse_json(&payload, received), received))
            }

            /// The last seq and hash of the chain as `on` (the pool, or a transaction) sees it.
            async fn head_on<'e>(on: impl sqlx::Executor<'e, Database = $DB>) -> Result<(u64, Hash)> {
                let row = sqlx::query("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetch_optional(on).await?;
                Ok(match row {
                    None => (0, chain::GENESIS),
                    Some(r) => {
                        let seq: i64 = r.try_get("seq")?;
                        let hash: Vec<u8> = r.try_get("hash")?;
                        (seq as u64, hash.try_into().unwrap_or(chain::GENESIS))
                    }
                })
            }

            /// The statement of a page of the log (`prefix`: nothing, or the backend's EXPLAIN).
            /// With an instrument, the rows that name it (the fills of its orders are
            /// [`Self::fills_query`]'s).
            fn events_query(prefix: &str, q: &EventQuery, limit: u32) -> QueryBuilder<$DB> {
                let mut b = QueryBuilder::<$DB>::new(format!("{prefix}SELECT * FROM events WHERE 1 = 1"));
                if let Some(k) = &q.kind {
                    b.push(" AND kind = ").push_bind(k.clone());
                    if !super::ORDER_FLOW_KINDS.contains(&k.as_str()) {
                        b.push(" AND ").push(super::KIND_INDEX_PREDICATE);
                    }
                }
                if let Some(i) = &q.instrument {
                    b.push(" AND instrument = ").push_bind(i.clone());
                }
                Self::push_page(&mut b, q, limit, None);
                b
            }

            /// The fills of the orders for `instrument` (a fill names its order, not the
            /// instrument), with the other filters of `q`. `window`: only the fills between
            /// these seqs (inclusive), each checked against its order through the order index;
            /// without one, every order of the instrument is listed and its fills looked up.
            fn fills_query(prefix: &str, q: &EventQuery, instrument: &str, limit: u32, window: Option<(u64, u64)>) -> QueryBuilder<$DB> {
                let mut b = QueryBuilder::<$DB>::new(format!("{prefix}SELECT * FROM events WHERE kind = 'fill' AND "));
                b.push(match window {
                    Some(_) => "EXISTS (SELECT 1 FROM events AS o WHERE o.order_id = events.order_id AND o.kind = 'order' AND o.instrument = ",
                    None => "order_id IN (SELECT order_id FROM events WHERE kind = 'order' AND instrument = ",
                });
                b.push_bind(instrument.to_string()).push(")");
                Self::push_page(&mut b, q, limit, window);
                b
            }

            /// The filters every part of a page shares (id, source time), the seq bound
            /// (`window`: `(low, high)`, inclusive), the order and the limit (one row more,
            /// to tell whether another page follows).
            fn push_page(b: &mut QueryBuilder<$DB>, q: &EventQuery, limit: u32, window: Option<(u64, u64)>) {
                if let Some(id) = &q.id {
                    b.push(" AND (event_id = ").push_bind(id.clone());
                    b.push(" OR signal_id = ").push_bind(id.clone());
                    b.push(" OR order_id = ").push_bind(id.clone()).push(")");
                }
                if let Some(f) = q.from {
                    b.push(" AND ts_ms >= ").push_bind(f.timestamp_millis());
                }
                if let Some(t) = q.to {
                    b.push(" AND ts_ms <= ").push_bind(t.timestamp_millis());
                }
                if let Some((low, high)) = window {
                    b.push(" AND seq >= ").push_bind(low.min(i64::MAX as u64) as i64);
                    b.push(" AND seq <= ").push_bind(high.min(i64::MAX as u64) as i64);
                }
                if let Some(before) = q.before_seq {
                    b.push(" AND seq < ").push_bind(before.min(i64::MAX as u64) as i64);
                    b.push(" ORDER BY seq DESC");
                } else {
                    b.push(" AND seq > ").push_bind(q.after_seq.unwrap_or(0).min(i64::MAX as u64) as i64);
                    b.push(" ORDER BY seq ASC");
                }
                b.push(" LIMIT ").push_bind(i64::from(limit) + 1);
            }

            /// The seqs (inclusive) where a page of `limit` rows starts, `FILL_WINDOW_PER_ROW` a
            /// row of the page: the window [`Self::instrument_fills`] looks for fills in first.
            async fn fill_window(&self, q: &EventQuery, limit: u32) -> Result<(u64, u64)> {
                let span = (u64::from(limit) + 1) * super::FILL_WINDOW_PER_ROW;
                Ok(match q.before_seq {
                    Some(before) => {
                        // Newest first: the window ends at the head (`before` may be far past it).
                        let head = Self::head_on(&self.pool).await?.0;
                        let high = before.min(head.saturating_add(1)).saturating_sub(1);
                        (high.saturating_sub(span - 1), high)
                    }
                    None => {
                        let low = q.after_seq.unwrap_or(0).saturating_add(1);
                        (low, low.saturating_add(span - 1))
                    }
                })
            }

            /// The page's fills of `instrument`'s orders (at most `limit + 1`, in page order).
            /// First the seqs where the page starts, `FILL_WINDOW_PER_ROW` a row of the page
            /// (20,200 for a page of 100), each fill checked against its order: cheap when the
            /// instrument trades often. Only when they do not fill the page, every order of the
            /// instrument: cheap when it trades rarely. Either way the rows are exactly the
            /// page's first fills: the window's are all the fills in it, and they are taken
            /// only when they are more than the page holds.
            async fn instrument_fills(&self, q: &EventQuery, instrument: &str, limit: u32) -> Result<Vec<RawRow>> {
                let window = self.fill_window(q, limit).await?;
                let near = Self::fills_query("", q, instrument, limit, Some(window)).build_query_as::<RawRow>().fetch_all(&self.pool).await.context("querying fills")?;
                if near.len() > limit as usize {
                    return Ok(near);
                }
                Self::fills_query("", q, instrument, limit, None).build_query_as::<RawRow>().fetch_all(&self.pool).await.context("querying fills")
            }

            /// The plan rows of an EXPLAIN statement, joined by "; ".
            async fn plan_of(&self, mut explain: QueryBuilder<$DB>) -> Result<String> {
                let rows = explain.build().fetch_all(&self.pool).await?;
                Ok(rows.iter().filter_map(|r| r.try_get::<String, _>(<$DB as Dialect>::PLAN_COLUMN).ok()).collect::<Vec<_>>().join("; "))
            }

            /// The payloads stored under these event ids.
            async fn stored_payloads(&self, ids: &[&str]) -> Result<std::collections::HashMap<String, String>> {
                let mut seen = std::collections::HashMap::new();
                for chunk in ids.chunks(LOOKUP_CHUNK) {
                    let mut q = QueryBuilder::<$DB>::new("SELECT event_id, payload FROM events WHERE ");
                    <$DB as Dialect>::push_in(&mut q, "event_id", chunk.iter().map(|id| id.to_string()).collect());
                    for r in q.build().fetch_all(&self.pool).await.context("duplicate look-up")? {
                        seen.insert(r.try_get::<String, _>("event_id").context("row")?, r.try_get::<String, _>("payload").context("row")?);
                    }
                }
                Ok(seen)
            }

            /// Payloads and receive times of the stored signals / orders with these ids
            /// (`super::ids_by_kind`).
            async fn stored_identities(&self, lookups: [(&'static str, &'static str, Vec<&str>); 2]) -> Result<Vec<(String, i64)>> {
                let mut out = Vec::new();
                for (kind, column, ids) in lookups {
                    for chunk in ids.chunks(LOOKUP_CHUNK) {
                        let mut q = QueryBuilder::<$DB>::new(id_lookup_prefix::<$DB>(kind, column));
                        <$DB as Dialect>::push_in(&mut q, column, chunk.iter().map(|id| id.to_string()).collect());
                        q.push(<$DB as Dialect>::one_row_per_id(column));
                        for r in q.build().fetch_all(&self.pool).await.context("id look-up")? {
                            out.push((r.try_get("payload").context("row")?, r.try_get("received_at_ms").context("row")?));
                        }
                    }
                }
                Ok(out)
            }
        }

        #[async_trait]
        impl EventLog for Sql<$DB> {
            fn backend_name(&self) -> &'static str {
                <$DB as Dialect>::NAME
            }

            fn pool_stats(&self) -> (u32, usize) {
                (self.pool.size(), self.pool.num_idle())
            }

            async fn ready(&self) -> bool {
                let applied: Result<i64, _> = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success").fetch_one(&self.pool).await;
                matches!(applied, Ok(n) if n as usize >= <$DB as Dialect>::MIGRATIONS.iter().count())
            }

            async fn head(&self) -> Result<(u64, Hash)> {
                Self::head_on(&self.pool).await
            }

            /// Reads only (no transaction): whatever commits meanwhile moves the head, and
            /// [`EventLog::write`] then refuses the rows linked on the old one.
            async fn sort(&self, batch: Vec<Incoming>, pending: Pending<'_>, may_be_stored: Option<Vec<MayBeStored>>) -> Result<(Vec<Incoming>, u64), AppendError> {
                let ids: Vec<&str> = match &may_be_stored {
                    Some(may) => batch.iter().zip(may).filter(|(_, m)| m.event_id).map(|(inc, _)| inc.event.event_id.as_str()).collect(),
                    None => batch.iter().map(|inc| inc.event.event_id.as_str()).collect(),
                };
                // The signal and order ids the filter may hold, taken before the batch is sorted
                // (a duplicate's among them is only one look-up more).
                let flagged: Option<Vec<(&'static str, String)>> = may_be_stored.as_ref().map(|may| {
                    batch.iter().zip(may).filter(|(_, m)| m.identity).filter_map(|(inc, _)| domain::event_ids::identity(&inc.event)).map(|(kind, id)| (kind, id.to_string())).collect()
                });
                let seen = if ids.is_empty() { Default::default() } else { self.stored_payloads(&ids).await? };
                drop(ids);
                let (fresh, duplicates) = {
                    let seen = super::with_pending_payloads(seen, &batch, pending);
                    super::sort_duplicates(batch, &seen)?
                };
                let lookups = match &flagged {
                    Some(flagged) => super::ids_by_kind(flagged.iter().map(|(kind, id)| (*kind, id.as_str()))),
                    None => super::ids_to_check(&fresh),
                };
                let stored = self.stored_identities(lookups).await?;
                super::refuse_reused_ids(&fresh, super::with_pending_identities(stored, &fresh, pending))?;
                Ok((fresh, duplicates))
            }

            /// The head is read inside the transaction that holds the log's write lock (SQLite's
            /// IMMEDIATE, PostgreSQL's advisory lock), so no other writer can come between.
            async fn write(&self, after: (u64, Hash), rows: Vec<RawRow>) -> Result<(), WriteError> {
                let mut tx = <$DB as Dialect>::begin_append(&self.pool).await.context("begin")?;
                let head = Self::head_on(&mut *tx).await.context("head")?;
                if head != after {
                    tx.rollback().await.context("rollback")?;
                    return Err(WriteError::Moved { expected: after.0, found: head.0 });
                }
                let new_head = last_link(&rows).unwrap_or(after);
                if let Err(e) = <$DB as Dialect>::insert_events(&mut tx, rows).await {
                    // Sorted against the log before linking, so an id it already holds means
                    // another writer stored it since: sort again.
                    if e.as_database_error().is_some_and(|d| d.is_unique_violation()) {
                        tx.rollback().await.context("rollback")?;
                        return Err(WriteError::Moved { expected: after.0, found: head.0 });
                    }
                    return Err(anyhow::Error::new(e).context("inserting events").into());
                }
                tx.commit().await.context("commit")?;
                <$DB as Dialect>::after_append(&self.pool, new_head.0, &self.analyzed_at);
                Ok(())
            }

            async fn for_each_event_after(&self, after: u64, f: &mut (dyn FnMut(u64, Event, DateTime<Utc>) + Send)) -> Result<u64> {
                let mut rows = sqlx::query("SELECT seq, payload, received_at_ms FROM events WHERE seq > $1 ORDER BY seq").bind(after.min(i64::MAX as u64) as i64).fetch(&self.pool);
                let mut n = 0;
                while let Some(r) = rows.try_next().await? {
                    let seq: i64 = r.try_get("seq")?;
                    match Self::stored_event(&r)? {
                        (Ok(e), received) => f(seq as u64, e, received),
                        (Err(e), _) => tracing::error!(seq, error = %e, "stored event no longer parses; skipped in projections"),
                    }
                    n += 1;
                }
                Ok(n)
            }

            async fn rows_after(&self, after: u64, limit: u32) -> Result<Vec<RawRow>> {
                Ok(sqlx::query_as::<_, RawRow>("SELECT * FROM events WHERE seq > $1 ORDER BY seq LIMIT $2")
                    .bind(after.min(i64::MAX as u64) as i64)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn insert_rows(&self, rows: Vec<RawRow>) -> Result<()> {
                let mut tx = <$DB as Dialect>::begin_append(&self.pool).await.context("begin")?;
                <$DB as Dialect>::insert_events(&mut tx, rows).await.context("inserting events")?;
                tx.commit().await.context("commit")?;
                Ok(())
            }

            /// With an instrument (and no kind, or `fill`), the page merges the rows that name
            /// it with the fills of its orders.
            async fn events(&self, q: &EventQuery) -> Result<EventPage> {
                let limit = q.limit.unwrap_or(100).clamp(1, MAX_PAGE);
                let fills_of = q.instrument.as_deref().filter(|_| q.kind.as_deref().is_none_or(|k| k == "fill"));
                let mut rows = if q.kind.as_deref() == Some("fill") && fills_of.is_some() {
                    Vec::new()
                } else {
                    Self::events_query("", q, limit).build_query_as::<RawRow>().fetch_all(&self.pool).await.context("querying events")?
                };
                if let Some(instrument) = fills_of {
                    rows.extend(self.instrument_fills(q, instrument, limit).await?);
                    if q.before_seq.is_some() {
                        rows.sort_unstable_by(|a, b| b.seq.cmp(&a.seq));
                    } else {
                        rows.sort_unstable_by_key(|r| r.seq);
                    }
                    rows.truncate(limit as usize + 1);
                }
                let more = rows.len() > limit as usize;
                let rows: Vec<EventRow> = rows.into_iter().take(limit as usize).map(RawRow::view).collect();
                let next = if more { rows.last().map(|r| r.seq) } else { None };
                Ok(EventPage { rows, next })
            }

            async fn event(&self, seq: u64) -> Result<Option<EventRow>> {
                let r = sqlx::query_as::<_, RawRow>("SELECT * FROM events WHERE seq = $1").bind(seq.min(i64::MAX as u64) as i64).fetch_optional(&self.pool).await?;
                Ok(r.map(RawRow::view))
            }

            async fn trade_events(&self, signal_id: &str) -> Result<Vec<(u64, Event)>> {
                let rows = sqlx::query(
                    "SELECT seq, payload, received_at_ms FROM events WHERE signal_id = $1 \
                     UNION SELECT seq, payload, received_at_ms FROM events WHERE order_id IN \
                       (SELECT order_id FROM events WHERE signal_id = $1 AND kind = 'order') \
                     ORDER BY seq",
                )
                .bind(signal_id)
                .fetch_all(&self.pool)
                .await?;
                let mut out = Vec::with_capacity(rows.len());
                for r in rows {
                    if let (Ok(e), _) = Self::stored_event(&r)? {
                        out.push((r.try_get::<i64, _>("seq")? as u64, e));
                    }
                }
                Ok(out)
            }

            async fn signal_details(&self, signal_ids: &[&str]) -> Result<Vec<Event>> {
                if signal_ids.is_empty() {
                    return Ok(Vec::new());
                }
                let mut q = QueryBuilder::<$DB>::new("SELECT payload, received_at_ms FROM events WHERE kind IN ('signal', 'risk_check', 'llm_decision') AND ");
                <$DB as Dialect>::push_in(&mut q, "signal_id", signal_ids.iter().take(LOOKUP_CHUNK).map(|id| id.to_string()).collect());
                q.push(" ORDER BY seq");
                let mut out = Vec::new();
                for r in q.build().fetch_all(&self.pool).await? {
                    if let (Ok(e), _) = Self::stored_event(&r)? {
                        out.push(e);
                    }
                }
                Ok(out)
            }

            async fn hash_at(&self, seq: u64) -> Result<Option<Hash>> {
                let Ok(seq) = i64::try_from(seq) else { return Ok(None) };
                let hash: Option<Vec<u8>> = sqlx::query_scalar("SELECT hash FROM events WHERE seq = $1").bind(seq).fetch_optional(&self.pool).await?;
                Ok(hash.and_then(|h| h.try_into().ok()))
            }

            async fn hashes_after(&self, after: u64, limit: u32) -> Result<Vec<Hash>> {
                let after = i64::try_from(after).unwrap_or(i64::MAX);
                let rows: Vec<Vec<u8>> = sqlx::query_scalar("SELECT hash FROM events WHERE seq > $1 ORDER BY seq LIMIT $2")
                    .bind(after)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter().map(|h| Hash::try_from(h.as_slice()).map_err(|_| anyhow::anyhow!("a stored hash is not 32 bytes"))).collect()
            }

            async fn events_plan(&self, q: &EventQuery) -> Result<String> {
                self.plan_of(Self::events_query(<$DB as Dialect>::EXPLAIN, q, 100)).await
            }

            /// For a page of 100, with the window such a page would read.
            async fn fills_plans(&self, q: &EventQuery, instrument: &str) -> Result<[String; 2]> {
                let explain = <$DB as Dialect>::EXPLAIN;
                let window = self.fill_window(q, 100).await?;
                Ok([self.plan_of(Self::fills_query(explain, q, instrument, 100, Some(window))).await?, self.plan_of(Self::fills_query(explain, q, instrument, 100, None)).await?])
            }

            async fn id_lookup_plan(&self, kind: &str, column: &str, n: usize) -> Result<String> {
                let mut q = QueryBuilder::<$DB>::new(format!("{}{}", <$DB as Dialect>::EXPLAIN, id_lookup_prefix::<$DB>(kind, column)));
                <$DB as Dialect>::push_in(&mut q, column, (0..n).map(|i| format!("id-{i}")).collect());
                q.push(<$DB as Dialect>::one_row_per_id(column));
                self.plan_of(q).await
            }
        }
    };
}

event_log!(Sqlite);
event_log!(Postgres);
