//! Accounts and sign-in attempts: the SQL behind the auth module's policy (hashing, throttling).
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use domain::governance::Role;
use sqlx::Row;

use super::Store;

/// A stored account (enabled ones only are read).
#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub(crate) password_hash: String,
}

fn role_of(s: &str) -> Role {
    // The column has a CHECK constraint; an unknown value can only come from tampering: least power.
    Role::parse(s).unwrap_or(Role::Investor)
}

impl Store {
    /// Adds an account with an already hashed password (the auth module holds the rules).
    pub(crate) async fn insert_user(&self, username: &str, role: Role, password_hash: String, now: DateTime<Utc>) -> Result<i64> {
        let id = sqlx::query("INSERT INTO users (username, role, password_hash, created_at_ms) VALUES (?, ?, ?, ?)")
            .bind(username)
            .bind(role.as_str())
            .bind(password_hash)
            .bind(now.timestamp_millis())
            .execute(self.pool())
            .await
            .with_context(|| format!("adding user '{username}' (usernames are unique)"))?
            .last_insert_rowid();
        Ok(id)
    }

    pub(crate) async fn set_password_hash(&self, user_id: i64, hash: String) -> Result<()> {
        sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?").bind(hash).bind(user_id).execute(self.pool()).await?;
        Ok(())
    }

    pub async fn user_count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(self.pool()).await?)
    }

    pub(crate) async fn user_where(&self, column: &str, value: impl ToString) -> Result<Option<User>> {
        let sql = if column == "id" {
            "SELECT id, username, role, password_hash FROM users WHERE id = ? AND disabled_at_ms IS NULL"
        } else {
            "SELECT id, username, role, password_hash FROM users WHERE username = ? AND disabled_at_ms IS NULL"
        };
        let row = sqlx::query(sql).bind(value.to_string()).fetch_optional(self.pool()).await?;
        row.map(|r| -> Result<User> {
            Ok(User { id: r.try_get("id")?, username: r.try_get("username")?, role: role_of(&r.try_get::<String, _>("role")?), password_hash: r.try_get("password_hash")? })
        })
        .transpose()
    }

    pub async fn user(&self, id: i64) -> Result<Option<User>> {
        self.user_where("id", id).await
    }

    pub async fn failures_since(&self, column: &str, value: &str, since: DateTime<Utc>) -> Result<(i64, Option<i64>)> {
        let sql = if column == "ip" {
            "SELECT COUNT(*), MAX(at_ms) FROM login_attempts WHERE ip = ? AND success = 0 AND at_ms >= ?"
        } else {
            "SELECT COUNT(*), MAX(at_ms) FROM login_attempts WHERE username = ? AND success = 0 AND at_ms >= ?"
        };
        let r = sqlx::query(sql).bind(value).bind(since.timestamp_millis()).fetch_one(self.pool()).await?;
        Ok((r.try_get(0)?, r.try_get(1)?))
    }

    pub async fn record_attempt(&self, username: &str, ip: &str, success: bool, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("INSERT INTO login_attempts (username, ip, at_ms, success) VALUES (?, ?, ?, ?)")
            .bind(username.chars().take(64).collect::<String>())
            .bind(ip)
            .bind(now.timestamp_millis())
            .bind(success)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Deletes the sessions of `user_id` (all, or all but `keep`); returns how many ended.
    pub async fn end_sessions_of(&self, user_id: i64, keep: Option<&str>) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM sessions WHERE json_extract(data, '$.user_id') = ? AND id != ?")
            .bind(user_id)
            .bind(keep.unwrap_or(""))
            .execute(self.pool())
            .await?
            .rows_affected())
    }

    pub async fn users(&self) -> Result<Vec<domain::view::UserAdminView>> {
        let rows = sqlx::query("SELECT id, username, role, created_at_ms, disabled_at_ms FROM users ORDER BY username").fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                Ok(domain::view::UserAdminView {
                    id: r.try_get("id")?,
                    username: r.try_get("username")?,
                    role: role_of(&r.try_get::<String, _>("role")?),
                    created_at: DateTime::from_timestamp_millis(r.try_get("created_at_ms")?).unwrap_or_default(),
                    disabled: r.try_get::<Option<i64>, _>("disabled_at_ms")?.is_some(),
                })
            })
            .collect()
    }

    pub async fn login_attempts(&self, limit: i64) -> Result<Vec<domain::view::LoginAttemptView>> {
        let rows = sqlx::query("SELECT username, ip, at_ms, success FROM login_attempts ORDER BY id DESC LIMIT ?").bind(limit).fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                Ok(domain::view::LoginAttemptView {
                    username: r.try_get("username")?,
                    ip: r.try_get("ip")?,
                    at: DateTime::from_timestamp_millis(r.try_get("at_ms")?).unwrap_or_default(),
                    success: r.try_get("success")?,
                })
            })
            .collect()
    }

    /// Deletes login attempts before `before`.
    pub async fn prune_attempts_before(&self, before: DateTime<Utc>) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM login_attempts WHERE at_ms < ?").bind(before.timestamp_millis()).execute(self.pool()).await?.rows_affected())
    }
}
