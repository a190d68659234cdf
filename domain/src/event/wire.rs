//! The writer of the wire format: an [`Event`] as the JSON object the parser
//! ([`Event::parse_json`]) reads back to the same event. The console writes its own events
//! (decisions, pauses, breaker trips, config changes, fold failures) with it, and the engine and
//! the tests build theirs with it: nobody assembles event JSON by hand.
//!
//! Shape: the body's fields, flat, plus `event_id`, `kind` and `ts` (RFC 3339, UTC, as precise
//! as stored); absent optional fields are left out; decimals are strings.
use chrono::SecondsFormat;
use serde_json::{Map, Value};

use super::{Body, Event};

/// The event as a wire-format JSON object.
pub fn to_value(event: &Event) -> Value {
    let body = match &event.body {
        Body::MarketSnapshot(b) => serde_json::to_value(b),
        Body::Signal(b) => serde_json::to_value(b),
        Body::RiskCheck(b) => serde_json::to_value(b),
        Body::Order(b) => serde_json::to_value(b),
        Body::Fill(b) => serde_json::to_value(b),
        Body::LlmDecision(b) => serde_json::to_value(b),
        Body::OperatorResponse(b) => serde_json::to_value(b),
        Body::Heartbeat(b) | Body::System(b) => serde_json::to_value(b),
        Body::ConfigChange(b) => serde_json::to_value(b),
        Body::Control(b) => serde_json::to_value(b),
        Body::ComplianceIssue(b) => serde_json::to_value(b),
        Body::ComplianceReview(b) => serde_json::to_value(b),
        Body::Checkpoint(b) => serde_json::to_value(b),
        Body::ReportPublished(b) => serde_json::to_value(b),
        Body::Alert(b) => serde_json::to_value(b),
        Body::AlertAction(b) => serde_json::to_value(b),
    };
    // Every body is a struct of bounded, finite values: it serializes to an object.
    let mut map = match body {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    map.retain(|_, v| !v.is_null());
    map.insert("event_id".into(), Value::String(event.event_id.to_string()));
    map.insert("kind".into(), Value::String(event.kind().as_str().into()));
    map.insert("ts".into(), Value::String(event.ts.to_rfc3339_opts(SecondsFormat::AutoSi, true)));
    Value::Object(map)
}

/// The event as one line of wire-format JSON.
pub fn to_json(event: &Event) -> String {
    to_value(event).to_string()
}
