//! TOTP two-factor (RFC 6238, totp-rs): enrolment with a QR code (SVG, qrcode) and recovery
//! codes, and the second-factor check at login. SHA-1, 6 digits, 30 s steps, one step of skew:
//! what every authenticator app supports.
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use totp_rs::{Builder, Secret, Totp};

use crate::store::Store;

pub const ISSUER: &str = "Tradewatch";
/// Recovery codes issued at enrolment, each usable once.
pub const RECOVERY_CODES: usize = 10;

fn totp(secret_b32: &str, username: &str) -> Result<Totp> {
    let secret = Secret::try_from_base32(secret_b32).map_err(|e| anyhow::anyhow!("bad TOTP secret: {e:?}"))?;
    Builder::new()
        .with_secret(secret)
        .with_account_name(username.to_string())
        .with_issuer(Some(ISSUER))
        .build()
        .map_err(|e| anyhow::anyhow!("building TOTP: {e:?}"))
}

/// A new secret, its `otpauth://` URL and that URL as a QR code (SVG).
pub fn new_enrolment(username: &str) -> Result<(String, String, String)> {
    let secret = Secret::generate().to_base32();
    let url = totp(&secret, username)?.to_url().map_err(|e| anyhow::anyhow!("otpauth url: {e:?}"))?;
    let svg = qrcode::QrCode::new(url.as_bytes())
        .context("QR code")?
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .build();
    Ok((secret, url, svg))
}

/// The time step a code matches, if it does (now, or one step either side).
pub fn check(secret_b32: &str, username: &str, code: &str, now: DateTime<Utc>) -> Option<u64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    totp(secret_b32, username).ok()?.check(&code, now.timestamp().max(0) as u64)
}

fn code_hash(code: &str) -> Vec<u8> {
    Sha256::digest(code.trim().to_ascii_lowercase().as_bytes()).to_vec()
}

impl Store {
    /// Turns two-factor on once the user proved the secret with a code; returns the recovery
    /// codes (shown once; only their hashes are kept).
    pub async fn enable_totp(&self, user_id: i64, username: &str, secret: &str, code: &str, now: DateTime<Utc>) -> Result<Option<Vec<String>>> {
        let Some(step) = check(secret, username, code, now) else { return Ok(None) };
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| format!("{:05x}-{:05x}", rand::random::<u32>() & 0xfffff, rand::random::<u32>() & 0xfffff)).collect();
        let hashes: Vec<Vec<u8>> = codes.iter().map(|c| code_hash(c)).collect();
        self.set_totp(user_id, secret, step, &hashes).await?;
        Ok(Some(codes))
    }

    /// Checks a TOTP code for a step-up: `None` when the account has no two-factor, else whether
    /// the code matches a time step later than any accepted before (each code works once).
    pub async fn fresh_totp(&self, user_id: i64, username: &str, code: &str, now: DateTime<Utc>) -> Result<Option<bool>> {
        let Some(secret) = self.totp_secret(user_id).await? else { return Ok(None) };
        let Some(step) = check(&secret, username, code, now) else { return Ok(Some(false)) };
        Ok(Some(self.spend_step(user_id, step).await?))
    }

    /// Checks a second factor: a TOTP code not used before (its step later than the last
    /// accepted), or an unused recovery code (then spent).
    pub async fn second_factor(&self, user_id: i64, username: &str, code: &str, now: DateTime<Utc>) -> Result<bool> {
        let Some(secret) = self.totp_secret_of(user_id).await? else { return Ok(false) };
        let Some(secret) = secret else { return Ok(true) };
        if let Some(step) = check(&secret, username, code, now) {
            return self.spend_step(user_id, step).await;
        }
        let spent = self.spend_recovery_code(user_id, &code_hash(code), now).await?;
        Ok(spent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_from_the_secret_checks_and_a_wrong_one_does_not() {
        let (secret, url, svg) = new_enrolment("alice").unwrap_or_else(|e| panic!("{e}"));
        assert!(url.starts_with("otpauth://totp/Tradewatch:alice?"));
        assert!(svg.contains("<svg"));
        let now = Utc::now();
        let code = totp(&secret, "alice").map(|t| t.generate(now.timestamp() as u64).to_string()).unwrap_or_default();
        assert!(check(&secret, "alice", &code, now).is_some());
        assert!(check(&secret, "alice", "000000", now).is_none() || code == "000000");
        assert!(check(&secret, "alice", "12345", now).is_none());
    }
}
