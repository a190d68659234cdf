//! A trade's lineage from its stored events: the steps in time order with the latency of each.
use chrono::{DateTime, Utc};

use crate::event::{Body, Event};
use crate::format;
use crate::view::{Lineage, LineageStep};

/// One line a person can read for an event of a trade.
pub fn summary(e: &Event) -> String {
    match &e.body {
        Body::Signal(s) => format!(
            "{} {} signal: {} {} (strength {:.2}, confidence {:.2}, model {})",
            s.intent.as_str(),
            s.signal_type,
            s.side.as_str(),
            s.instrument,
            s.strength,
            s.confidence,
            s.model_version
        ),
        Body::RiskCheck(r) => {
            let checks: Vec<String> = r.checks.iter().map(|c| format!("{} {}", c.name, c.status.as_str())).collect();
            format!("risk check: {} (score {:.2}); {}", r.decision.as_str(), r.risk_score, checks.join(", "))
        }
        Body::Order(o) => format!(
            "order {}: {} {} {} {}{}",
            o.status.as_str(),
            o.side.as_str(),
            format::decimal(o.quantity, 8),
            o.instrument,
            o.order_type.as_str(),
            o.limit_price.map(|p| format!(" @ {}", format::decimal(p, 8))).unwrap_or_default()
        ),
        Body::Fill(f) => format!(
            "fill {} @ {} (fee {} {}, {})",
            format::decimal(f.quantity, 8),
            format::decimal(f.price, 8),
            format::decimal(f.fee, 8),
            f.fee_currency,
            f.liquidity.as_str()
        ),
        Body::LlmDecision(l) => format!("LLM {}: {} (confidence {:.2}) — {}", l.model, l.decision, l.confidence, l.reasoning),
        Body::OperatorResponse(o) => format!("operator {}: {}{}", o.actor, o.action, o.comment.as_ref().map(|c| format!(" — {c}")).unwrap_or_default()),
        Body::MarketSnapshot(m) => format!("{} bid {} ask {}", m.instrument, m.bid, m.ask),
        Body::Heartbeat(s) | Body::System(s) => format!("{}: {}", s.component, s.status),
        Body::ConfigChange(c) => format!("config v{} by {}: {}", c.version, c.actor, c.reason),
        Body::Control(c) => format!(
            "{} {} by {}: {}",
            c.action.as_str(),
            c.automation_id.as_ref().map(|a| a.as_str()).unwrap_or("everything"),
            c.actor,
            c.reason
        ),
        Body::ComplianceIssue(c) => match c.issue_id {
            Some(id) => format!("compliance issue #{id} {}: {} — {}", c.change.as_str(), c.rule, c.detail),
            None => format!("compliance issue opened ({}, {}): {} — {}", c.severity.as_str(), c.rule, c.scope_id.as_ref().map(|s| s.as_str()).unwrap_or("portfolio"), c.detail),
        },
        Body::ComplianceReview(r) => format!("compliance issue #{} {} by {}{}", r.issue_id, r.action.as_str(), r.actor, r.note.as_ref().map(|n| format!(" — {n}")).unwrap_or_default()),
        Body::ReportPublished(r) => format!("weekly report {} published{}: HTML sha256 {}…, PDF sha256 {}…", r.week, r.actor.as_ref().map(|a| format!(" by {a}")).unwrap_or_default(), &r.html_sha256[..r.html_sha256.len().min(12)], &r.pdf_sha256[..r.pdf_sha256.len().min(12)]),
        Body::Checkpoint(c) => format!("checkpoint of events 1-{} signed by {}: root {}", c.tree_size, c.origin, &c.root[..c.root.len().min(16)]),
        Body::Alert(a) => match a.change {
            crate::event::AlertChange::Notified => format!("alert {} ({}) delivered to {}", a.rule, a.fingerprint, a.receiver.as_ref().map(|r| r.as_str()).unwrap_or("?")),
            c => format!("alert {} {} ({}): {}", a.rule, c.as_str(), a.severity.as_str(), a.summary.chars().take(200).collect::<String>()),
        },
        Body::AlertAction(a) => format!(
            "{} {} by {}{}",
            a.action.as_str(),
            a.fingerprint.as_ref().map(|f| format!("alert {f}")).or(a.silence_id.map(|s| format!("silence {s}"))).unwrap_or_else(|| format!("alerts matching {:?}", a.matchers)),
            a.actor,
            a.note.as_ref().map(|n| format!(": {}", n.chars().take(200).collect::<String>())).unwrap_or_default()
        ),
    }
}

fn ms(a: DateTime<Utc>, b: DateTime<Utc>) -> i64 {
    (b - a).num_milliseconds()
}

/// Builds the lineage from the trade's events (any order; sorted here by source time, then seq).
pub fn build(signal_id: &str, events: &[(u64, Event)]) -> Option<Lineage> {
    let mut evs: Vec<&(u64, Event)> = events.iter().collect();
    evs.sort_by_key(|(seq, e)| (e.ts, *seq));
    let signal_ts = evs.iter().find(|(_, e)| matches!(e.body, Body::Signal(_))).map(|(_, e)| e.ts);
    let origin = signal_ts.or_else(|| evs.first().map(|(_, e)| e.ts))?;
    let mut prev = origin;
    let steps = evs
        .iter()
        .map(|(seq, e)| {
            let step = LineageStep {
                seq: *seq,
                kind: e.kind().as_str().to_string(),
                event_id: e.event_id.to_string(),
                ts: e.ts,
                since_signal_ms: ms(origin, e.ts),
                since_previous_ms: ms(prev, e.ts),
                summary: summary(e),
            };
            prev = e.ts;
            step
        })
        .collect();
    let first = |pred: fn(&Body) -> bool| evs.iter().find(|(_, e)| pred(&e.body)).map(|(_, e)| e.ts);
    let risk = first(|b| matches!(b, Body::RiskCheck(_)));
    let order = first(|b| matches!(b, Body::Order(_)));
    let first_fill = first(|b| matches!(b, Body::Fill(_)));
    let last_fill = evs.iter().rev().find(|(_, e)| matches!(e.body, Body::Fill(_))).map(|(_, e)| e.ts);
    let since = |t: Option<DateTime<Utc>>| signal_ts.zip(t).map(|(s, t)| ms(s, t));
    Some(Lineage {
        signal_id: signal_id.to_string(),
        steps,
        signal_to_risk_check_ms: since(risk),
        signal_to_order_ms: since(order),
        order_to_first_fill_ms: order.zip(first_fill).map(|(o, f)| ms(o, f)),
        signal_to_last_fill_ms: since(last_fill),
    })
}
