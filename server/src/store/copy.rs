//! `tradewatch store copy`: moves a log between backends row by row (seq, hashes, receive times
//! and flags unchanged) and verifies the chain where it arrives; accounts, recovery codes and API
//! tokens go with it (sessions, sign-in attempts and fold snapshots do not: they are made anew).
use anyhow::{Result, bail};
use domain::chain::{self, Hash};

use super::Store;

/// Rows read and written per step.
const PAGE: u32 = 5_000;

/// What a copy did.
#[derive(Debug, Clone)]
pub struct Copied {
    pub events: u64,
    /// Accounts and API tokens copied with them.
    pub users: usize,
    pub tokens: usize,
    pub head_seq: u64,
    pub head_hash: Hash,
    /// The destination's chain verification after the copy.
    pub report: chain::Report,
}

/// Copies every event of `from` into `to`, which must hold no events; `progress(copied, of)`
/// is called after each page. Fails, naming the first broken link, when the copy does not verify
/// or does not end at the source's head.
pub async fn copy_log(from: &Store, to: &Store, mut progress: impl FnMut(u64, u64)) -> Result<Copied> {
    let (to_seq, _) = to.head().await?;
    if to_seq != 0 {
        bail!("the destination already holds events (head seq {to_seq}): copy into an empty log");
    }
    // Accounts (password hashes, second factors, recovery codes) and API tokens (their hashes)
    // go first: a store with them but no log is refused by the next attempt, never half-copied
    // in silence.
    let accounts = from.export_accounts().await?;
    let (users, tokens) = (accounts.users.len(), accounts.tokens.len());
    to.import_accounts(accounts).await?;
    let (of, _) = from.head().await?;
    let mut after = 0;
    let mut events = 0;
    loop {
        let rows = from.rows_after(after, PAGE).await?;
        let Some(last) = rows.last() else { break };
        after = last.seq as u64;
        events += rows.len() as u64;
        to.insert_rows(rows).await?;
        progress(events, of.max(after));
    }
    let source = from.head().await?;
    let arrived = to.head().await?;
    let report = to.verify().await?;
    if !report.ok {
        let at = report.first_break.map_or_else(|| "?".to_string(), |s| s.to_string());
        bail!("the copy does not verify: first break at seq {at}{}", report.column.as_deref().map(|c| format!(" (column {c})")).unwrap_or_default());
    }
    if arrived != source {
        bail!("the copy ends at seq {} but the source at seq {}", arrived.0, source.0);
    }
    Ok(Copied { events, users, tokens, head_seq: arrived.0, head_hash: arrived.1, report })
}
