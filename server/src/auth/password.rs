//! Passwords: argon2id (OWASP's parameters), with bounded concurrency, and the rules a new one
//! must meet.
use anyhow::{Context, Result};
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

pub const MIN_PASSWORD_CHARS: usize = 12;

/// OWASP's argon2id recommendation: 19 MiB, 2 iterations, 1 lane.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// At most this many argon2 computations at once (19 MiB and ~50 ms of a core each): a flood of
/// logins waits here instead of exhausting memory or starving ingest of CPU.
const ARGON2_CONCURRENCY: usize = 2;
static ARGON2_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(ARGON2_CONCURRENCY);

/// Hashes a password (CPU-heavy: off the async threads).
pub async fn hash_password(password: String) -> Result<String> {
    let _slot = ARGON2_SLOTS.acquire().await.context("argon2 slots")?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| anyhow::anyhow!("hashing: {e}"))
    })
    .await
    .context("hashing task")?
}

/// Verifies a password against a PHC string in constant time (argon2's own comparison).
pub(crate) async fn verify_password(password: String, phc: String) -> bool {
    let Ok(_slot) = ARGON2_SLOTS.acquire().await else { return false };
    tokio::task::spawn_blocking(move || PasswordHash::new(&phc).map(|h| argon2().verify_password(password.as_bytes(), &h).is_ok()).unwrap_or(false))
        .await
        .unwrap_or(false)
}

/// A hash of a random password: verified against when the user does not exist, so an unknown
/// user costs the same time as a wrong password.
pub(crate) static DUMMY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

pub fn check_password_rules(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!("a password needs at least {MIN_PASSWORD_CHARS} characters"));
    }
    if password.len() > 1024 {
        return Err("a password may have at most 1024 bytes".into());
    }
    Ok(())
}

