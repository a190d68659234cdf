//! Accounts, two-factor records and sign-in attempts ([`Accounts`] for both backends): the SQL
//! behind the auth module's policy (hashing, throttling).
use anyhow::{Context, Result};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::governance::Role;
use domain::view::{LoginAttemptView, UserAdminView};
use sqlx::{Postgres, Row, Sqlite};

use super::dialect::{Dialect, Sql};
use super::{AccountCopy, Accounts, ms_to_dt};

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

/// Text as a PostgreSQL `TEXT` can hold it (no NUL characters; SQLite keeps them): what a
/// client typed as a username is recorded, never refused by the database.
fn storable(s: &str, max_chars: usize) -> String {
    s.chars().filter(|c| *c != '\0').take(max_chars).collect()
}

macro_rules! accounts {
    ($DB:ty) => {
        impl Sql<$DB> {
            fn user_of(r: &<$DB as sqlx::Database>::Row) -> Result<User> {
                Ok(User { id: r.try_get("id")?, username: r.try_get("username")?, role: role_of(&r.try_get::<String, _>("role")?), password_hash: r.try_get("password_hash")? })
            }
        }

        #[async_trait]
        impl Accounts for Sql<$DB> {
            async fn insert_user(&self, username: &str, role: Role, password_hash: String, now: DateTime<Utc>) -> Result<i64> {
                Ok(sqlx::query_scalar("INSERT INTO users (username, role, password_hash, created_at_ms) VALUES ($1, $2, $3, $4) RETURNING id")
                    .bind(username)
                    .bind(role.as_str())
                    .bind(password_hash)
                    .bind(now.timestamp_millis())
                    .fetch_one(&self.pool)
                    .await
                    .with_context(|| format!("adding user '{username}' (usernames are unique)"))?)
            }

            async fn set_password_hash(&self, user_id: i64, hash: String) -> Result<()> {
                sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2").bind(hash).bind(user_id).execute(&self.pool).await?;
                Ok(())
            }

            async fn user_count(&self) -> Result<i64> {
                Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&self.pool).await?)
            }

            async fn user(&self, id: i64) -> Result<Option<User>> {
                let row = sqlx::query("SELECT id, username, role, password_hash FROM users WHERE id = $1 AND disabled_at_ms IS NULL").bind(id).fetch_optional(&self.pool).await?;
                row.as_ref().map(Self::user_of).transpose()
            }

            async fn user_named(&self, username: &str) -> Result<Option<User>> {
                if username.contains('\0') {
                    return Ok(None); // no account has one (see `storable`)
                }
                let row = sqlx::query("SELECT id, username, role, password_hash FROM users WHERE username = $1 AND disabled_at_ms IS NULL").bind(username).fetch_optional(&self.pool).await?;
                row.as_ref().map(Self::user_of).transpose()
            }

            async fn users(&self) -> Result<Vec<UserAdminView>> {
                let rows = sqlx::query("SELECT id, username, role, created_at_ms, disabled_at_ms FROM users ORDER BY username").fetch_all(&self.pool).await?;
                rows.iter()
                    .map(|r| {
                        Ok(UserAdminView {
                            id: r.try_get("id")?,
                            username: r.try_get("username")?,
                            role: role_of(&r.try_get::<String, _>("role")?),
                            created_at: ms_to_dt(r.try_get("created_at_ms")?),
                            disabled: r.try_get::<Option<i64>, _>("disabled_at_ms")?.is_some(),
                        })
                    })
                    .collect()
            }

            async fn failures_since(&self, column: &str, value: &str, since: DateTime<Utc>) -> Result<(i64, Option<i64>)> {
                let sql = if column == "ip" {
                    "SELECT COUNT(*) AS n, MAX(at_ms) AS last FROM login_attempts WHERE ip = $1 AND success = FALSE AND at_ms >= $2"
                } else {
                    "SELECT COUNT(*) AS n, MAX(at_ms) AS last FROM login_attempts WHERE username = $1 AND success = FALSE AND at_ms >= $2"
                };
                let r = sqlx::query(sql).bind(storable(value, 64)).bind(since.timestamp_millis()).fetch_one(&self.pool).await?;
                Ok((r.try_get("n")?, r.try_get("last")?))
            }

            async fn record_attempt(&self, username: &str, ip: &str, success: bool, now: DateTime<Utc>) -> Result<()> {
                sqlx::query("INSERT INTO login_attempts (username, ip, at_ms, success) VALUES ($1, $2, $3, $4)")
                    .bind(storable(username, 64))
                    .bind(storable(ip, 64))
                    .bind(now.timestamp_millis())
                    .bind(success)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn login_attempts(&self, limit: i64) -> Result<Vec<LoginAttemptView>> {
                let rows = sqlx::query("SELECT username, ip, at_ms, success FROM login_attempts ORDER BY id DESC LIMIT $1").bind(limit).fetch_all(&self.pool).await?;
                rows.iter()
                    .map(|r| {
                        Ok(LoginAttemptView { username: r.try_get("username")?, ip: r.try_get("ip")?, at: ms_to_dt(r.try_get("at_ms")?), success: r.try_get("success")? })
                    })
                    .collect()
            }

            async fn prune_attempts_before(&self, before: DateTime<Utc>) -> Result<u64> {
                Ok(sqlx::query("DELETE FROM login_attempts WHERE at_ms < $1").bind(before.timestamp_millis()).execute(&self.pool).await?.rows_affected())
            }

            async fn totp_secret(&self, user_id: i64) -> Result<Option<String>> {
                Ok(self.totp_secret_of(user_id).await?.flatten())
            }

            async fn totp_secret_of(&self, user_id: i64) -> Result<Option<Option<String>>> {
                Ok(sqlx::query_scalar::<_, Option<String>>("SELECT totp_secret FROM users WHERE id = $1").bind(user_id).fetch_optional(&self.pool).await?)
            }

            async fn set_totp(&self, user_id: i64, secret: &str, step: u64, code_hashes: &[Vec<u8>]) -> Result<()> {
                let mut tx = self.pool.begin().await?;
                sqlx::query("UPDATE users SET totp_secret = $1, totp_last_step = $2 WHERE id = $3").bind(secret).bind(step as i64).bind(user_id).execute(&mut *tx).await?;
                sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
                for h in code_hashes {
                    sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)").bind(user_id).bind(h).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn spend_step(&self, user_id: i64, step: u64) -> Result<bool> {
                let n = sqlx::query("UPDATE users SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)")
                    .bind(step as i64)
                    .bind(user_id)
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                Ok(n == 1)
            }

            async fn spend_recovery_code(&self, user_id: i64, code_hash: &[u8], now: DateTime<Utc>) -> Result<bool> {
                let spent = sqlx::query("UPDATE recovery_codes SET used_at_ms = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at_ms IS NULL")
                    .bind(now.timestamp_millis())
                    .bind(user_id)
                    .bind(code_hash)
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                Ok(spent > 0)
            }
        }
    };
}

accounts!(Sqlite);
accounts!(Postgres);

/// Every account, recovery code and API token as stored (secrets as their hashes), for
/// `tradewatch store copy`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountRecords {
    pub users: Vec<UserRecord>,
    pub recovery_codes: Vec<RecoveryCodeRecord>,
    pub tokens: Vec<TokenRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserRecord {
    pub id: i64,
    pub username: String,
    pub role: String,
    pub password_hash: String,
    pub created_at_ms: i64,
    pub disabled_at_ms: Option<i64>,
    pub totp_secret: Option<String>,
    pub totp_last_step: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RecoveryCodeRecord {
    pub id: i64,
    pub user_id: i64,
    pub code_hash: Vec<u8>,
    pub used_at_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TokenRecord {
    pub id: i64,
    pub name: String,
    pub scope: String,
    pub token_hash: Vec<u8>,
    pub created_at_ms: i64,
    pub revoked_at_ms: Option<i64>,
}

macro_rules! account_records {
    ($DB:ty) => {
        #[async_trait]
        impl AccountCopy for Sql<$DB> {
            async fn export_accounts(&self) -> Result<AccountRecords> {
                Ok(AccountRecords {
                    users: sqlx::query_as("SELECT id, username, role, password_hash, created_at_ms, disabled_at_ms, totp_secret, totp_last_step FROM users ORDER BY id")
                        .fetch_all(&self.pool)
                        .await?,
                    recovery_codes: sqlx::query_as("SELECT id, user_id, code_hash, used_at_ms FROM recovery_codes ORDER BY id").fetch_all(&self.pool).await?,
                    tokens: sqlx::query_as("SELECT id, name, scope, token_hash, created_at_ms, revoked_at_ms FROM api_tokens ORDER BY id").fetch_all(&self.pool).await?,
                })
            }

            async fn import_accounts(&self, r: AccountRecords) -> Result<()> {
                let mut tx = self.pool.begin().await?;
                let held: i64 = sqlx::query_scalar("SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM api_tokens)").fetch_one(&mut *tx).await?;
                anyhow::ensure!(held == 0, "the destination already holds accounts or tokens: copy them into an empty store");
                for u in r.users {
                    sqlx::query("INSERT INTO users (id, username, role, password_hash, created_at_ms, disabled_at_ms, totp_secret, totp_last_step) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                        .bind(u.id)
                        .bind(u.username)
                        .bind(u.role)
                        .bind(u.password_hash)
                        .bind(u.created_at_ms)
                        .bind(u.disabled_at_ms)
                        .bind(u.totp_secret)
                        .bind(u.totp_last_step)
                        .execute(&mut *tx)
                        .await?;
                }
                for c in r.recovery_codes {
                    sqlx::query("INSERT INTO recovery_codes (id, user_id, code_hash, used_at_ms) VALUES ($1, $2, $3, $4)")
                        .bind(c.id)
                        .bind(c.user_id)
                        .bind(c.code_hash)
                        .bind(c.used_at_ms)
                        .execute(&mut *tx)
                        .await?;
                }
                for t in r.tokens {
                    sqlx::query("INSERT INTO api_tokens (id, name, scope, token_hash, created_at_ms, revoked_at_ms) VALUES ($1, $2, $3, $4, $5, $6)")
                        .bind(t.id)
                        .bind(t.name)
                        .bind(t.scope)
                        .bind(t.token_hash)
                        .bind(t.created_at_ms)
                        .bind(t.revoked_at_ms)
                        .execute(&mut *tx)
                        .await?;
                }
                for table in ["users", "recovery_codes", "api_tokens"] {
                    <$DB as Dialect>::ids_follow_copied_rows(&mut tx, table).await?;
                }
                tx.commit().await?;
                Ok(())
            }
        }
    };
}

account_records!(Sqlite);
account_records!(Postgres);
