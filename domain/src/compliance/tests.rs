use std::str::FromStr;

use proptest::prelude::*;

use super::*;
use crate::config::Config;
use crate::event::{ConfigChange, Event, wire};
use crate::text::Reason;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap_or_default()
}

/// The console's loop in miniature: events in, `due` after each batch, its findings appended.
struct Desk {
    book: Projection,
    c: Compliance,
    seq: u64,
    now: DateTime<Utc>,
    n: u64,
}

impl Desk {
    fn new(policy: Policy) -> Desk {
        let mut d = Desk { book: Projection::new(Decimal::from(1_000_000)), c: Compliance::new(), seq: 0, now: t("2024-03-08T15:00:00Z"), n: 0 };
        let config = Config { compliance: policy, ..Config::default() };
        let reason = Reason::parse("test policy").unwrap_or_else(|_| panic!("reason"));
        let actor = Id::parse("test").unwrap_or_else(|_| panic!("id"));
        d.body(Body::ConfigChange(ConfigChange { version: 1, actor, reason, config }));
        d
    }
    fn apply(&mut self, e: &Event) -> u64 {
        self.seq += 1;
        let s = Stored { seq: self.seq, event: e, received_at: self.now };
        self.book.apply(self.seq, e);
        self.c.apply(&s, &self.book);
        self.seq
    }
    fn body(&mut self, body: Body) -> u64 {
        self.n += 1;
        let e = Event { event_id: Id::parse(&format!("c{}", self.n)).unwrap_or_else(|_| panic!("id")), ts: self.now, body };
        // Through the wire format, as the console does.
        let back = Event::parse_json(&wire::to_json(&e), self.now + Duration::days(1)).unwrap_or_else(|e| panic!("{e}"));
        self.apply(&back)
    }
    /// One line of wire JSON (without event_id and ts).
    fn send(&mut self, json: &str) -> u64 {
        self.n += 1;
        let line = format!(r#"{{"event_id":"e{}","ts":"{}",{}}}"#, self.n, self.now.to_rfc3339(), json);
        let e = Event::parse_json(&line, self.now + Duration::days(1)).unwrap_or_else(|e| panic!("{e}: {line}"));
        self.apply(&e)
    }
    fn mark(&mut self, instrument: &str, mid: &str) -> u64 {
        self.send(&format!(r#""kind":"market_snapshot","instrument":"{instrument}","bid":"{mid}","ask":"{mid}","mid":"{mid}","last":"{mid}","volume":"0""#))
    }
    fn signal(&mut self, id: &str, automation: &str, instrument: &str, side: &str, extra: &str) -> u64 {
        self.send(&format!(r#""kind":"signal","signal_id":"{id}","automation_id":"{automation}","instrument":"{instrument}","intent":"entry","signal_type":"momentum","side":"{side}","strength":0.5,"model_version":"m","prediction":0.1,"confidence":0.5{extra}"#))
    }
    fn risk(&mut self, signal: &str, decision: &str) -> u64 {
        self.send(&format!(r#""kind":"risk_check","signal_id":"{signal}","decision":"{decision}","risk_score":0.1,"checks":[]"#))
    }
    fn order(&mut self, id: &str, signal: Option<&str>, instrument: &str, side: &str, qty: &str) -> u64 {
        let sig = signal.map(|s| format!(r#","signal_id":"{s}""#)).unwrap_or_default();
        self.send(&format!(r#""kind":"order","order_id":"{id}"{sig},"instrument":"{instrument}","side":"{side}","quantity":"{qty}","order_type":"market","status":"submitted""#))
    }
    fn fill(&mut self, order: &str, qty: &str, price: &str) -> u64 {
        self.send(&format!(r#""kind":"fill","fill_id":"f{order}{}","order_id":"{order}","quantity":"{qty}","price":"{price}","fee":"0","fee_currency":"USD","liquidity":"taker""#, self.n))
    }
    /// A whole trade: signal (risk approved), order, fill.
    fn trade(&mut self, id: &str, automation: &str, instrument: &str, side: &str, qty: &str, price: &str) -> u64 {
        self.signal(&format!("s{id}"), automation, instrument, side, "");
        self.risk(&format!("s{id}"), "approve");
        self.order(id, Some(&format!("s{id}")), instrument, side, qty);
        self.fill(id, qty, price)
    }
    /// Runs `due` and appends what it asks for, as the console does; returns those findings.
    fn due(&mut self) -> Vec<ComplianceIssue> {
        let actions = self.c.due(self.now, &self.book);
        let mut out = Vec::new();
        for a in actions {
            if let Action::Compliance(c) = a {
                out.push(c.clone());
                self.body(Body::ComplianceIssue(c));
            }
        }
        out
    }
    fn review(&mut self, id: u64, action: ReviewAction, actor: &str, note: Option<&str>) -> Result<(), &'static str> {
        self.c.check_review(id, action, actor, note)?;
        self.body(Body::ComplianceReview(ComplianceReview { issue_id: id, action, actor: Id::parse(actor).map_err(|_| "actor")?, note: note.map(str::to_string) }));
        Ok(())
    }
    fn all(&self) -> Vec<Issue> {
        self.c.query(&IssueQuery { limit: Some(500), ..Default::default() }, None).issues
    }
}

fn instrument_limit(instrument: &str, limits: Limits) -> Policy {
    let mut p = Policy::default();
    p.market_hours.enabled = false;
    p.instruments.insert(instrument.into(), limits);
    p
}

#[test]
fn a_limit_warns_at_exactly_80_alerts_at_90_breaches_at_100_and_ends_once() {
    let mut d = Desk::new(instrument_limit("AAPL", Limits { max_position_quantity: Some(dec("100")), ..Default::default() }));
    d.mark("AAPL", "100");
    d.trade("o1", "a", "AAPL", "buy", "79.99", "100");
    assert!(d.due().is_empty(), "79.99% is under the warning level");
    assert_eq!(d.c.limits()[0].utilisation_pct, 79.99);
    let fill = d.trade("o2", "a", "AAPL", "buy", "0.01", "100");
    let found = d.due();
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].change, found[0].severity, found[0].utilisation), (IssueChange::Open, Severity::Warning, Some(0.8)));
    assert_eq!(found[0].evidence, vec![fill]);
    let id = d.seq;
    assert_eq!(d.c.issue(id).map(|i| i.level), Some(Some(Level::Warning)));
    d.trade("o3", "a", "AAPL", "buy", "10", "100");
    let found = d.due();
    assert_eq!((found[0].change, found[0].issue_id, found[0].utilisation), (IssueChange::Escalate, Some(id), Some(0.9)), "{found:?} {:?}", d.c.episodes);
    d.trade("o4", "a", "AAPL", "buy", "10", "100");
    let found = d.due();
    assert_eq!((found[0].change, found[0].severity), (IssueChange::Escalate, Severity::Critical));
    // Over the limit for a long while: marks move, no new issue and no new event.
    for i in 0..50 {
        d.mark("AAPL", &format!("{}", 100 + i));
        d.trade(&format!("x{i}"), "a", "AAPL", "buy", "1", "100");
        assert!(d.due().is_empty());
    }
    assert_eq!(d.all().len(), 1);
    d.trade("o5", "a", "AAPL", "sell", "100", "100");
    let found = d.due();
    assert_eq!(found[0].change, IssueChange::EpisodeEnd);
    let issue = d.c.issue(id).cloned().unwrap_or_else(|| panic!("issue"));
    assert_eq!(issue.state, IssueState::Open, "a breach stays open after its episode");
    assert!(!issue.episode_open);
    assert_eq!(issue.peak_utilisation, Some(1.5));
    // A new episode that stays under the breach is cleared when it ends.
    d.trade("o6", "a", "AAPL", "buy", "35", "100");
    let found = d.due();
    assert_eq!(found[0].change, IssueChange::Open);
    let second = d.seq;
    d.trade("o7", "a", "AAPL", "sell", "10", "100");
    d.due();
    assert_eq!(d.c.issue(second).map(|i| i.state), Some(IssueState::Cleared));
    assert_eq!(d.c.issue(id).map(|i| i.state), Some(IssueState::Open));
}

#[test]
fn thresholds_are_configurable_per_limit() {
    let mut p = instrument_limit("AAPL", Limits { max_position_quantity: Some(dec("100")), ..Default::default() });
    p.threshold_overrides.insert("max_position_quantity".into(), Thresholds { warning_pct: 50.0, alert_pct: 60.0, breach_pct: 70.0 });
    let mut d = Desk::new(p);
    d.mark("AAPL", "100");
    d.trade("o1", "a", "AAPL", "buy", "70", "100");
    let found = d.due();
    assert_eq!(found[0].severity, Severity::Critical);
}

#[test]
fn a_prohibited_instrument_is_flagged_on_its_order_with_the_lineage() {
    let mut p = Policy::default();
    p.market_hours.enabled = false;
    p.prohibited.insert("GME".into(), crate::config::compliance::Prohibition { reason: "restricted list".into(), since: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default() });
    let mut d = Desk::new(p);
    let sig = d.signal("s1", "a", "GME", "buy", "");
    d.risk("s1", "approve");
    let order = d.order("o1", Some("s1"), "GME", "buy", "1");
    let found = d.due();
    assert_eq!(found.len(), 1);
    let f = &found[0];
    assert_eq!((f.rule.as_str(), f.severity), ("prohibited_instrument", Severity::Critical));
    assert_eq!(f.evidence, vec![sig, order]);
    assert_eq!((f.order_id.as_ref().map(|x| x.as_str()), f.signal_id.as_ref().map(|x| x.as_str())), (Some("o1"), Some("s1")));
    assert_eq!(d.c.issues_of_order("o1"), &[d.seq]);
    assert_eq!(d.c.issues_of_signal("s1"), &[d.seq]);
    // Its later events do not raise it again.
    d.fill("o1", "1", "20");
    d.send(r#""kind":"order","order_id":"o1","signal_id":"s1","instrument":"GME","side":"buy","quantity":"1","order_type":"market","status":"filled""#);
    assert!(d.due().is_empty());
}

#[test]
fn orders_outside_market_hours_are_flagged_in_the_exchanges_time() {
    let mut p = Policy::default();
    p.market_hours.default_class = Some("us_equity".into());
    p.market_hours.instruments.insert("EURUSD".into(), "fx".into());
    let mut d = Desk::new(p);
    d.now = t("2024-03-11T13:29:59Z"); // 09:29:59 EDT, the day after DST began
    d.order("o1", None, "AAPL", "buy", "1");
    d.now = t("2024-03-11T13:30:00Z");
    d.order("o2", None, "AAPL", "buy", "1");
    d.now = t("2024-03-09T12:00:00Z"); // Saturday: FX closed
    d.order("o3", None, "EURUSD", "buy", "1");
    let rules: Vec<(String, Option<String>)> = d.due().iter().map(|f| (f.rule.to_string(), f.order_id.as_ref().map(|x| x.to_string()))).collect();
    assert_eq!(rules, vec![("market_hours".to_string(), Some("o1".to_string())), ("market_hours".to_string(), Some("o3".to_string()))]);
}

fn wash_policy() -> Policy {
    let mut p = Policy::default();
    p.market_hours.enabled = false;
    p
}

#[test]
fn wash_trades_within_the_window_and_price_distance_and_not_beyond() {
    for (gap, price, expect) in [(60, "100.10", true), (61, "100", false), (0, "100.1", true), (0, "100.11", false)] {
        let mut d = Desk::new(wash_policy());
        d.trade("b1", "alpha", "AAPL", "buy", "10", "100");
        d.send(r#""kind":"order","order_id":"b1","instrument":"AAPL","side":"buy","quantity":"10","order_type":"market","status":"filled""#);
        d.now += Duration::seconds(gap);
        d.trade("s1", "beta", "AAPL", "sell", "10", price);
        let found: Vec<String> = d.due().iter().map(|f| f.rule.to_string()).collect();
        assert_eq!(found.contains(&"wash_trade".to_string()), expect, "gap {gap} s, price {price}: {found:?}");
    }
    // The same automation on both sides is not a wash trade between automations.
    let mut d = Desk::new(wash_policy());
    d.trade("b1", "alpha", "AAPL", "buy", "10", "100");
    d.send(r#""kind":"order","order_id":"b1","instrument":"AAPL","side":"buy","quantity":"10","order_type":"market","status":"filled""#);
    d.trade("s1", "alpha", "AAPL", "sell", "10", "100");
    assert!(d.due().is_empty());
}

#[test]
fn an_order_against_the_funds_own_open_opposite_order_is_a_wash_trade() {
    let mut d = Desk::new(wash_policy());
    let first = d.order("o1", None, "AAPL", "sell", "5");
    let second = d.order("o2", None, "AAPL", "buy", "5");
    let found = d.due();
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].rule.as_str(), found[0].evidence.clone()), ("wash_trade", vec![first, second]));
}

#[test]
fn an_override_and_a_missing_or_forbidden_review_are_flagged() {
    let mut p = wash_policy();
    p.process.flag_risk_overrides = true;
    p.process.require_risk_check = true;
    p.process.llm_review_automations.insert("llm_bot".into());
    p.process.forbidden_llm_decisions.insert("reject".into());
    let mut d = Desk::new(p);
    d.signal("s1", "a", "AAPL", "buy", "");
    let risk = d.risk("s1", "reject");
    d.order("o1", Some("s1"), "AAPL", "buy", "1");
    d.signal("s2", "a", "MSFT", "buy", "");
    d.order("o2", Some("s2"), "MSFT", "buy", "1");
    d.signal("s3", "llm_bot", "NVDA", "buy", "");
    d.risk("s3", "approve");
    d.order("o3", Some("s3"), "NVDA", "buy", "1");
    d.signal("s4", "llm_bot", "AMZN", "buy", "");
    d.risk("s4", "approve");
    let llm = d.send(r#""kind":"llm_decision","signal_id":"s4","model":"m","prompt":"p","response":"r","reasoning":"too risky","confidence":0.9,"decision":"reject""#);
    d.order("o4", Some("s4"), "AMZN", "buy", "1");
    let found = d.due();
    let got: Vec<(&str, Option<&str>, Severity)> = found.iter().map(|f| (f.rule.as_str(), f.order_id.as_ref().map(|x| x.as_str()), f.severity)).collect();
    assert_eq!(
        got,
        vec![
            ("risk_override", Some("o1"), Severity::Critical),
            ("no_risk_check", Some("o2"), Severity::Warning),
            ("llm_review_missing", Some("o3"), Severity::Warning),
            ("llm_review_forbidden", Some("o4"), Severity::Critical),
        ]
    );
    assert!(found[0].evidence.contains(&risk));
    assert!(found[3].evidence.contains(&llm));
}

#[test]
fn order_size_and_stop_loss_distance_are_checked_before_the_trade() {
    let mut p = wash_policy();
    p.portfolio.max_order_notional = Some(dec("10000"));
    p.automations.insert("a".into(), Limits { max_order_quantity: Some(dec("50")), max_stop_distance_pct: Some(5.0), ..Default::default() });
    let mut d = Desk::new(p);
    d.mark("AAPL", "100");
    d.signal("s1", "a", "AAPL", "buy", r#","stop_loss":"96""#);
    d.order("o1", Some("s1"), "AAPL", "buy", "100");
    let found = d.due();
    let got: Vec<(&str, Scope, Severity, Option<f64>)> = found.iter().map(|f| (f.rule.as_str(), f.scope, f.severity, f.utilisation)).collect();
    assert_eq!(
        got,
        vec![
            ("max_order_notional", Scope::Portfolio, Severity::Critical, Some(1.0)),
            ("max_order_quantity", Scope::Automation, Severity::Critical, Some(2.0)),
            ("max_stop_distance_pct", Scope::Automation, Severity::Warning, Some(0.8)),
        ]
    );
    d.signal("s2", "a", "AAPL", "buy", "");
    d.order("o2", Some("s2"), "AAPL", "buy", "1");
    let found = d.due();
    assert_eq!(found.iter().map(|f| f.rule.as_str()).collect::<Vec<_>>(), vec!["stop_loss_missing"]);
}

#[test]
fn the_workflow_needs_notes_and_a_second_person_for_a_critical_waiver() {
    let mut p = wash_policy();
    p.prohibited.insert("GME".into(), crate::config::compliance::Prohibition { reason: "restricted list".into(), since: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default() });
    let mut d = Desk::new(p);
    d.order("o1", None, "GME", "buy", "1");
    d.order("o2", None, "GME", "sell", "1");
    d.due();
    let ids: Vec<u64> = d.all().iter().filter(|i| i.rule == "prohibited_instrument").map(|i| i.id).collect();
    let (a, b) = (ids[1], ids[0]);
    assert_eq!(d.review(a, ReviewAction::Resolve, "rita", Some("too short")), Err("a note of at least 10 characters is required"));
    d.review(a, ReviewAction::Acknowledge, "tom", None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.review(a, ReviewAction::Acknowledge, "tom", None), Err("only an open issue can be acknowledged"));
    d.review(a, ReviewAction::Resolve, "rita", Some("desk reversed the trade")).unwrap_or_else(|e| panic!("{e}"));
    let issue = d.c.issue(a).cloned().unwrap_or_else(|| panic!("issue"));
    assert_eq!((issue.state, issue.acknowledged_by.as_deref()), (IssueState::Resolved, Some("tom")));
    assert_eq!(issue.history.iter().map(|h| h.action.as_str()).collect::<Vec<_>>(), vec!["open", "acknowledge", "resolve"]);
    d.review(b, ReviewAction::Waive, "rita", Some("approved exception, ticket 42")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.c.issue(b).map(|i| i.state), Some(IssueState::WaiverPending));
    assert_eq!(d.review(b, ReviewAction::ConfirmWaiver, "rita", None), Err("a second person must confirm the waiver"));
    d.review(b, ReviewAction::ConfirmWaiver, "rob", None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.c.issue(b).map(|i| i.state), Some(IssueState::Waived));
}

#[test]
fn a_replay_of_the_log_raises_nothing_twice() {
    let mut p = wash_policy();
    p.prohibited.insert("GME".into(), crate::config::compliance::Prohibition { reason: "restricted list".into(), since: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default() });
    p.instruments.insert("AAPL".into(), Limits { max_position_quantity: Some(dec("10")), ..Default::default() });
    let mut live = Desk::new(p.clone());
    live.mark("AAPL", "100");
    live.order("o1", None, "GME", "buy", "1");
    live.trade("o2", "a", "AAPL", "buy", "9", "100");
    live.due();
    assert_eq!(live.all().len(), 2);
    // The same events folded again (a restart without a snapshot): nothing is left to ask.
    let snapshot = crate::fold::encode(&live.c).unwrap_or_else(|e| panic!("{e}"));
    let mut restored: Compliance = crate::fold::decode(&snapshot).unwrap_or_else(|e| panic!("{e}"));
    assert!(restored.due(live.now, &live.book).is_empty());
}

/// A random walk of trades and marks against tight limits.
#[derive(Debug, Clone)]
enum Step {
    Mark(u8, u32),
    Trade(u8, bool, u32),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![(0u8..3, 50u32..150).prop_map(|(i, p)| Step::Mark(i, p)), (0u8..3, any::<bool>(), 1u32..40).prop_map(|(i, b, q)| Step::Trade(i, b, q))]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn evidence_precedes_its_issue_and_each_limit_has_at_most_one_running_episode(steps in prop::collection::vec(step(), 1..120)) {
        let names = ["AAPL", "MSFT", "NVDA"];
        let mut p = wash_policy();
        p.portfolio.max_gross_exposure = Some(dec("5000"));
        p.portfolio.max_concentration = Some(0.6);
        for n in names {
            p.instruments.insert(n.into(), Limits { max_position_quantity: Some(dec("30")), ..Default::default() });
        }
        let mut d = Desk::new(p);
        for (k, s) in steps.iter().enumerate() {
            match s {
                Step::Mark(i, px) => { d.mark(names[usize::from(*i)], &px.to_string()); }
                Step::Trade(i, buy, q) => {
                    let inst = names[usize::from(*i)];
                    let px = d.book.mark(inst).unwrap_or(Decimal::ONE_HUNDRED).to_string();
                    d.trade(&format!("o{k}"), "a", inst, if *buy { "buy" } else { "sell" }, &q.to_string(), &px);
                }
            }
            d.now += Duration::seconds(1);
            d.due();
        }
        let mut running: HashMap<String, u32> = HashMap::default();
        for i in d.c.issues.values() {
            for e in &i.evidence {
                prop_assert!(*e < i.id && *e > 0, "evidence {} of issue {}", e, i.id);
            }
            if i.episode_open {
                *running.entry(format!("{:?}:{:?}:{}", i.scope, i.scope_id, i.rule)).or_default() += 1;
            }
        }
        prop_assert!(running.values().all(|n| *n == 1), "{running:?}");
        // The counts kept as states change equal the counts of a full pass.
        let kept = d.c.query(&IssueQuery::default(), None);
        let counted = d.c.query(&IssueQuery::default(), Some(&|_| true));
        prop_assert_eq!((kept.total, kept.active_by_severity, kept.active_by_rule), (counted.total, counted.active_by_severity, counted.active_by_rule));
    }
}
