//! API tokens ([`Tokens`] for both backends), stored as SHA-256 of the secret (a 256-bit random
//! token needs no slow hash).
use anyhow::{Context, Result};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::view::TokenView;
use sqlx::{Postgres, Row, Sqlite};

use super::dialect::Sql;
use super::{Tokens, ms_to_dt};

macro_rules! tokens {
    ($DB:ty) => {
        #[async_trait]
        impl Tokens for Sql<$DB> {
            async fn insert_token(&self, name: &str, scopes: &str, token_hash: &[u8], now: DateTime<Utc>) -> Result<()> {
                sqlx::query("INSERT INTO api_tokens (name, scope, token_hash, created_at_ms) VALUES ($1, $2, $3, $4)")
                    .bind(name)
                    .bind(scopes)
                    .bind(token_hash)
                    .bind(now.timestamp_millis())
                    .execute(&self.pool)
                    .await
                    .with_context(|| format!("creating token '{name}' (names are unique)"))?;
                Ok(())
            }

            async fn tokens(&self) -> Result<Vec<TokenView>> {
                let rows = sqlx::query("SELECT id, name, scope, created_at_ms, revoked_at_ms FROM api_tokens ORDER BY id DESC").fetch_all(&self.pool).await?;
                rows.iter()
                    .map(|r| {
                        Ok(TokenView {
                            id: r.try_get("id")?,
                            name: r.try_get("name")?,
                            scopes: r.try_get("scope")?,
                            created_at: ms_to_dt(r.try_get("created_at_ms")?),
                            revoked_at: r.try_get::<Option<i64>, _>("revoked_at_ms")?.map(ms_to_dt),
                        })
                    })
                    .collect()
            }

            async fn revoke_token(&self, id: i64, now: DateTime<Utc>) -> Result<Option<String>> {
                Ok(sqlx::query_scalar("UPDATE api_tokens SET revoked_at_ms = $1 WHERE id = $2 AND revoked_at_ms IS NULL RETURNING name")
                    .bind(now.timestamp_millis())
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn token_scope_by_hash(&self, token_hash: &[u8]) -> Result<Option<String>> {
                Ok(sqlx::query_scalar("SELECT scope FROM api_tokens WHERE token_hash = $1 AND revoked_at_ms IS NULL")
                    .bind(token_hash)
                    .fetch_optional(&self.pool)
                    .await?)
            }
        }
    };
}

tokens!(Sqlite);
tokens!(Postgres);
