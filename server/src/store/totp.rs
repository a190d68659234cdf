//! Two-factor records: the TOTP secret, the last accepted time step, and recovery code hashes.
use anyhow::Result;
use chrono::{DateTime, Utc};

use super::Store;

impl Store {
    pub async fn totp_secret(&self, user_id: i64) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT totp_secret FROM users WHERE id = ?").bind(user_id).fetch_optional(self.pool()).await?.flatten())
    }

    /// `None` when there is no such user; `Some(None)` when it has no second factor.
    pub(crate) async fn totp_secret_of(&self, user_id: i64) -> Result<Option<Option<String>>> {
        Ok(sqlx::query_scalar::<_, Option<String>>("SELECT totp_secret FROM users WHERE id = ?").bind(user_id).fetch_optional(self.pool()).await?)
    }

    /// Sets the secret and its first accepted step, replacing the recovery codes, in one transaction.
    pub(crate) async fn set_totp(&self, user_id: i64, secret: &str, step: u64, code_hashes: &[Vec<u8>]) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("UPDATE users SET totp_secret = ?, totp_last_step = ? WHERE id = ?").bind(secret).bind(step as i64).bind(user_id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = ?").bind(user_id).execute(&mut *tx).await?;
        for h in code_hashes {
            sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)").bind(user_id).bind(h).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Marks a time step used; false when it (or a later one) already was.
    pub(crate) async fn spend_step(&self, user_id: i64, step: u64) -> Result<bool> {
        let n = sqlx::query("UPDATE users SET totp_last_step = ? WHERE id = ? AND (totp_last_step IS NULL OR totp_last_step < ?)")
            .bind(step as i64)
            .bind(user_id)
            .bind(step as i64)
            .execute(self.pool())
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    /// Spends an unused recovery code; false when none matched.
    pub(crate) async fn spend_recovery_code(&self, user_id: i64, code_hash: &[u8], now: DateTime<Utc>) -> Result<bool> {
        let spent = sqlx::query("UPDATE recovery_codes SET used_at_ms = ? WHERE user_id = ? AND code_hash = ? AND used_at_ms IS NULL")
            .bind(now.timestamp_millis())
            .bind(user_id)
            .bind(code_hash)
            .execute(self.pool())
            .await?
            .rows_affected();
        Ok(spent > 0)
    }
}
