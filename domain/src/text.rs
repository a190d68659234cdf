//! Bounded text shared by every feature: identifiers' length limit and reasons. Imports no feature.
use serde::{Deserialize, Serialize};

/// The longest identifier (event, signal, order, instrument, automation ids), in bytes.
pub const MAX_ID_LEN: usize = 128;
/// Most labels of an alert or matchers of a silence (and of a route).
pub const MAX_LABELS: usize = 16;
/// Longest label value, bytes.
pub const MAX_LABEL_VALUE: usize = 256;

/// A justification for a change: 10 to 2,000 characters once trimmed, not blank.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Reason(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReasonError {
    #[error("a reason is required")]
    Blank,
    #[error("a reason needs at least {min} characters (got {got})")]
    TooShort { min: usize, got: usize },
    #[error("a reason may have at most {max} characters (got {got})")]
    TooLong { max: usize, got: usize },
}

impl Reason {
    pub const MIN_CHARS: usize = 10;
    pub const MAX_CHARS: usize = 2000;

    pub fn parse(s: &str) -> Result<Self, ReasonError> {
        let t = s.trim();
        let n = t.chars().count();
        if n == 0 {
            return Err(ReasonError::Blank);
        }
        if n < Self::MIN_CHARS {
            return Err(ReasonError::TooShort { min: Self::MIN_CHARS, got: n });
        }
        if n > Self::MAX_CHARS {
            return Err(ReasonError::TooLong { max: Self::MAX_CHARS, got: n });
        }
        Ok(Self(t.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Reason {
    type Error = ReasonError;
    fn try_from(s: String) -> Result<Self, ReasonError> {
        Reason::parse(&s)
    }
}

impl From<Reason> for String {
    fn from(r: Reason) -> String {
        r.0
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

