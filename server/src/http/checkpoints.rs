//! `/api/v1/checkpoints` and `/api/v1/proofs/*`: the log's signed checkpoints and the Merkle
//! proofs that tie an event, or an older checkpoint, to one (see `crate::checkpoints`). For a read
//! token or any signed-in person, investors included: a proof reveals chain hashes, not events.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::AppState;
use crate::checkpoints::{Checkpoints, ProofRefusal};
use super::extract::Reader;
use super::{ApiError, ApiResult};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/checkpoints", get(list))
        .route("/api/v1/checkpoints/latest", get(latest))
        .route("/api/v1/proofs/inclusion", get(inclusion))
        .route("/api/v1/proofs/consistency", get(consistency))
}

fn enabled(state: &AppState) -> ApiResult<&std::sync::Arc<Checkpoints>> {
    state.console.checkpoints().ok_or_else(|| ApiError::Unavailable { message: "checkpoints are not enabled on this console".into() })
}

use super::bad_field as bad;

fn refused(e: ProofRefusal) -> ApiError {
    match e {
        ProofRefusal::NotReady => ApiError::Unavailable { message: e.to_string() },
        ProofRefusal::Bad(m) => match m.split_once(": ") {
            Some((field, why)) => bad(field, why),
            None => bad("query", m),
        },
        ProofRefusal::Internal(e) => ApiError::Internal(e),
    }
}

/// Parameters: only `allowed`, each a whole number.
fn numbers(params: &HashMap<String, String>, allowed: &[&str]) -> ApiResult<HashMap<String, u64>> {
    let mut out = HashMap::new();
    for (k, v) in params {
        if !allowed.contains(&k.as_str()) {
            return Err(bad(k, format!("unknown parameter; expected {}", allowed.join(", "))));
        }
        let n = v.trim().parse::<u64>().map_err(|_| bad(k, "a whole number"))?;
        out.insert(k.clone(), n);
    }
    Ok(out)
}

/// `GET /api/v1/checkpoints?limit=N` (1-500, default 100): the public key and the checkpoints,
/// newest first.
async fn list(_: Reader, State(state): State<AppState>, Query(params): Query<HashMap<String, String>>) -> ApiResult<Json<Value>> {
    let n = numbers(&params, &["limit"])?;
    let limit = n.get("limit").copied().unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(bad("limit", "from 1 to 500"));
    }
    let cp = enabled(&state)?;
    let all = crate::checkpoints::published(state.console.store(), limit as u32).await?;
    Ok(Json(json!({
        "origin": crate::checkpoints::ORIGIN,
        "public_key": cp.public_key(),
        "format": domain::merkle::FORMAT,
        "checkpoints": all,
    })))
}

/// `GET /api/v1/checkpoints/latest`: the newest checkpoint, in the form `tradewatch verify
/// --checkpoint FILE` reads (404 before the first).
async fn latest(_: Reader, State(state): State<AppState>) -> ApiResult<Json<Value>> {
    enabled(&state)?;
    let newest = crate::checkpoints::published(state.console.store(), 1).await?.into_iter().next().ok_or(ApiError::NotFound)?;
    Ok(Json(serde_json::to_value(newest).map_err(anyhow::Error::from)?))
}

/// `GET /api/v1/proofs/inclusion?seq=N[&tree_size=M]`: the audit path of event `seq` in the tree
/// of `tree_size` events (default: the newest checkpoint covering it, else the whole log).
async fn inclusion(_: Reader, State(state): State<AppState>, Query(params): Query<HashMap<String, String>>) -> ApiResult<Json<Value>> {
    let n = numbers(&params, &["seq", "tree_size"])?;
    let seq = *n.get("seq").ok_or_else(|| bad("seq", "required"))?;
    let answer = enabled(&state)?.inclusion(seq, n.get("tree_size").copied()).await.map_err(refused)?;
    Ok(Json(serde_json::to_value(answer).map_err(anyhow::Error::from)?))
}

/// `GET /api/v1/proofs/consistency?from=M&to=N`: the proof that the tree of `from` events is a
/// prefix of the tree of `to` events.
async fn consistency(_: Reader, State(state): State<AppState>, Query(params): Query<HashMap<String, String>>) -> ApiResult<Json<Value>> {
    let n = numbers(&params, &["from", "to"])?;
    let from = *n.get("from").ok_or_else(|| bad("from", "required"))?;
    let to = *n.get("to").ok_or_else(|| bad("to", "required"))?;
    let answer = enabled(&state)?.consistency(from, to).await.map_err(refused)?;
    Ok(Json(serde_json::to_value(answer).map_err(anyhow::Error::from)?))
}
