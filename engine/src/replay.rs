//! The replay loop: walks the timeline, runs strategies and risk checks, simulates execution and
//! posts every event to the console's ingest API (`POST /api/v1/events`), one batch per time step.
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration as StdDuration;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;
use serde_json::{Value, json};

use crate::data::{self, AssetClass, Bar, Timeline};
use crate::sim::{self, LatencyModel, to_f64};
use crate::strategy::{self, Family, Indicators, Kelly};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dataset {
    /// The 20 S&P 500 stocks, daily.
    Sp500,
    /// EUR/USD, hourly.
    Eurusd,
    /// Both, merged on one clock.
    All,
}

impl std::str::FromStr for Dataset {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "sp500" => Ok(Dataset::Sp500),
            "eurusd" => Ok(Dataset::Eurusd),
            "all" => Ok(Dataset::All),
            _ => Err(format!("unknown dataset '{s}': sp500, eurusd or all")),
        }
    }
}

/// How fast the replay runs: bars (time steps) per second, a pace in market time (real seconds
/// per market day; a gap such as a weekend waits at most [`MAX_GAP_WAIT`]), or as fast as the
/// console acknowledges.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    BarsPerSecond(f64),
    SecondsPerDay(f64),
    Max,
}

/// The longest a paced replay waits between two time steps (weekends and holidays pass quickly).
pub const MAX_GAP_WAIT: StdDuration = StdDuration::from_secs(1);

impl std::str::FromStr for Speed {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "max" {
            return Ok(Speed::Max);
        }
        let (number, per_day) = match s.strip_suffix("s/day") {
            Some(n) => (n, true),
            None => (s, false),
        };
        match number.parse::<f64>() {
            Ok(x) if x > 0.0 && x.is_finite() && per_day => Ok(Speed::SecondsPerDay(x)),
            Ok(x) if x > 0.0 && x.is_finite() => Ok(Speed::BarsPerSecond(x)),
            _ => Err(format!("speed must be bars per second (e.g. 20), seconds per market day (e.g. 2.5s/day) or 'max', not '{s}'")),
        }
    }
}

impl std::fmt::Display for Speed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Speed::BarsPerSecond(x) => write!(f, "{x}"),
            Speed::SecondsPerDay(x) => write!(f, "{x}s/day"),
            Speed::Max => f.write_str("max"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ReplayConfig {
    /// The console's base URL, e.g. `http://127.0.0.1:3000`.
    pub console: String,
    /// An API token with the `ingest` scope.
    pub token: String,
    pub speed: Speed,
    pub dataset: Dataset,
    pub data_dir: PathBuf,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub seed: u64,
    /// Prefix of every id this run sends (so runs never collide; re-sending a batch is idempotent).
    pub run_id: String,
    /// Starting equity in USD (the engine's own book, used for sizing).
    pub capital: Decimal,
    /// Stop after this many time steps (for tests).
    pub max_steps: Option<usize>,
    /// Days of data before `from` that only warm the indicators up (nothing is sent for them),
    /// so strategies can act from the first sent bar.
    pub warm_up_days: u32,
    /// Demo: this long after the start, a latency spike (the next [`INJECTED_SLOW_FILLS`] fills
    /// each [`INJECTED_LATENCY_MS`] late), and [`INJECTED_SLIPPAGE_AFTER`] later a slippage spike
    /// (the next order filled in three parts, each [`INJECTED_SLIPPAGE_BPS`] worse than the model)
    /// for the console's alerts to catch. `None`: a clean run.
    pub inject_after: Option<StdDuration>,
}

/// Fills the injected latency spike delays.
pub const INJECTED_SLOW_FILLS: u32 = 8;
/// How late each of them is, ms.
pub const INJECTED_LATENCY_MS: i64 = 2_500;
/// The slippage spike's extra cost against the model's fill price, bps.
pub const INJECTED_SLIPPAGE_BPS: i64 = 80;
/// How long after the latency spike the slippage spike comes.
pub const INJECTED_SLIPPAGE_AFTER: StdDuration = StdDuration::from_secs(20);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayStats {
    pub steps: usize,
    pub events: u64,
    pub signals: u64,
    pub orders: u64,
    pub fills: u64,
}

/// An open position of the engine's book.
#[derive(Debug, Clone)]
struct Open {
    family: Family,
    quantity: Decimal,
    entry: Decimal,
    stop: Decimal,
    target: Decimal,
    opened_step: u64,
}

pub fn load(cfg: &ReplayConfig) -> Result<Timeline> {
    let mut bars: Vec<Bar> = Vec::new();
    let from = cfg.from.map(|f| f - chrono::Duration::days(i64::from(cfg.warm_up_days)));
    if matches!(cfg.dataset, Dataset::Sp500 | Dataset::All) {
        bars.extend(data::load_wide_closes(&cfg.data_dir.join("sp500_dataset.csv.gz"), from, cfg.to)?);
    }
    if matches!(cfg.dataset, Dataset::Eurusd | Dataset::All) {
        bars.extend(data::load_ohlcv(&cfg.data_dir.join("EURUSD.csv"), "EURUSD", chrono::Duration::hours(1), from, cfg.to)?);
    }
    if bars.is_empty() {
        bail!("no bars in the selected dataset and date range");
    }
    Ok(data::timeline(bars))
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Sends batches to the console, retrying on network errors and 5xx (the API is idempotent).
pub struct Client {
    http: reqwest::Client,
    base: String,
    url: String,
    auth: String,
}

impl Client {
    pub fn new(console: &str, token: &str) -> Result<Self> {
        let http = reqwest::Client::builder().timeout(StdDuration::from_secs(30)).build()?;
        let base = console.trim_end_matches('/').to_string();
        Ok(Self { http, url: format!("{base}/api/v1/events"), base, auth: format!("Bearer {token}") })
    }

    /// GETs an API path (e.g. `/api/v1/automations`) as JSON; needs the `engine` scope.
    pub async fn get_json(&self, path: &str) -> Result<Value> {
        let r = self.http.get(format!("{}{path}", self.base)).header("authorization", &self.auth).send().await?;
        let status = r.status();
        if !status.is_success() {
            bail!("GET {path}: {status}");
        }
        Ok(serde_json::from_slice(&r.bytes().await?)?)
    }

    pub async fn post(&self, events: &[Value]) -> Result<Value> {
        let body = serde_json::to_vec(events)?;
        let mut delay = StdDuration::from_millis(200);
        for attempt in 1..=8 {
            let res = self
                .http
                .post(&self.url)
                .header("authorization", &self.auth)
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await;
            match res {
                Ok(r) if r.status().is_success() => return Ok(serde_json::from_slice(&r.bytes().await?)?),
                Ok(r) if r.status().is_client_error() => {
                    let status = r.status();
                    let text = r.text().await.unwrap_or_default();
                    bail!("console refused a batch ({status}): {text}");
                }
                Ok(r) => tracing::warn!(status = %r.status(), attempt, "console error; retrying"),
                Err(e) => tracing::warn!(error = %e, attempt, "console unreachable; retrying"),
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(StdDuration::from_secs(5));
        }
        bail!("console did not accept a batch after 8 attempts")
    }

    /// Waits until the console answers `/readyz`.
    pub async fn wait_ready(&self, base: &str, timeout: StdDuration) -> Result<()> {
        let url = format!("{}/readyz", base.trim_end_matches('/'));
        let start = std::time::Instant::now();
        loop {
            if let Ok(r) = self.http.get(&url).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            if start.elapsed() > timeout {
                bail!("console at {base} not ready after {timeout:?}");
            }
            tokio::time::sleep(StdDuration::from_millis(200)).await;
        }
    }
}

/// The engine's state between time steps.
pub struct Engine {
    cfg: ReplayConfig,
    rng: StdRng,
    latency: LatencyModel,
    indicators: HashMap<String, Indicators>,
    factors: BTreeMap<NaiveDate, Vec<(String, f64)>>,
    open: BTreeMap<String, Open>,
    marks: HashMap<String, Decimal>,
    kelly: HashMap<Family, Kelly>,
    cash: Decimal,
    counter: u64,
    step: u64,
    pub stats: ReplayStats,
    /// The console's governance as last polled. With `gating` off (offline tests) every
    /// automation runs automatically.
    pub gating: bool,
    global_paused: bool,
    /// The console's gating thresholds (`gating.threshold` and per-automation overrides), for
    /// automations it has not listed yet.
    threshold: u32,
    threshold_overrides: HashMap<String, u32>,
    automations: HashMap<String, AutomationStatus>,
    /// Entry signals waiting for a person, by signal id.
    awaiting: BTreeMap<String, Awaiting>,
    /// Injected anomalies still to apply (demo): slow fills left, and a slippage spike on the
    /// next order.
    slow_fills: u32,
    slippage_spike: bool,
}

#[derive(Debug, Clone, Default)]
struct AutomationStatus {
    /// Entries run without a person: unlocked, or no approvals required (threshold reached).
    automatic: bool,
    paused: bool,
    /// Decisions seen up to this log seq.
    cursor: u64,
}

/// An approved-or-not entry: what to buy once a person approves it.
#[derive(Debug, Clone)]
struct Awaiting {
    automation: String,
    instrument: String,
    family: Family,
    quantity: Decimal,
    stop: Decimal,
    target: Decimal,
    approved: bool,
}

impl Engine {
    pub fn new(cfg: ReplayConfig) -> Result<Self> {
        let factors = data::factor_returns(&cfg.data_dir.join("factors_dataset.csv.gz")).unwrap_or_default();
        Ok(Self {
            rng: StdRng::seed_from_u64(cfg.seed),
            latency: LatencyModel::default(),
            indicators: HashMap::new(),
            factors,
            open: BTreeMap::new(),
            marks: HashMap::new(),
            kelly: HashMap::new(),
            cash: cfg.capital,
            counter: 0,
            step: 0,
            stats: ReplayStats::default(),
            gating: false,
            global_paused: false,
            threshold: 0,
            threshold_overrides: HashMap::new(),
            automations: HashMap::new(),
            awaiting: BTreeMap::new(),
            slow_fills: 0,
            slippage_spike: false,
            cfg,
        })
    }

    fn paused(&self, automation: &str) -> bool {
        self.global_paused || self.automations.get(automation).is_some_and(|a| a.paused)
    }

    fn gated(&self, automation: &str) -> bool {
        self.gating
            && match self.automations.get(automation) {
                Some(a) => !a.automatic,
                None => self.threshold_overrides.get(automation).copied().unwrap_or(self.threshold) > 0,
            }
    }

    /// Indicators and marks only, for a time step before the replay's start: nothing is sent.
    pub fn warm_up(&mut self, t: DateTime<Utc>, bars: &[Bar]) {
        let day_factors = self.factors.get(&t.date_naive()).cloned().unwrap_or_default();
        for bar in bars {
            let ind = self.indicators.entry(bar.instrument.clone()).or_default();
            ind.push(to_f64(bar.high), to_f64(bar.low), to_f64(bar.close));
            if bar.class == AssetClass::Equity {
                ind.push_factors(&day_factors);
            }
        }
    }

    /// Reads the console's governance: pauses, modes, and decisions on the signals waiting here.
    pub async fn poll(&mut self, client: &Client) -> Result<()> {
        let status = client.get_json("/api/v1/automations").await?;
        self.global_paused = !status["global_pause"].is_null();
        if let Some(t) = status["gating"]["threshold"].as_u64() {
            self.threshold = u32::try_from(t).unwrap_or(u32::MAX);
        }
        if let Some(o) = status["gating"]["overrides"].as_object() {
            self.threshold_overrides = o.iter().filter_map(|(k, v)| Some((k.clone(), u32::try_from(v.as_u64()?).ok()?))).collect();
        }
        for a in status["automations"].as_array().into_iter().flatten() {
            let Some(id) = a["automation_id"].as_str() else { continue };
            let entry = self.automations.entry(id.to_string()).or_default();
            let reached = a["approved"].as_u64().zip(a["threshold"].as_u64()).is_some_and(|(n, t)| n >= t);
            entry.automatic = a["mode"] == "automatic" || reached;
            entry.paused = !a["paused"].is_null();
        }
        // Entries the console is not holding for a person (its automation runs automatically and the
        // signal is not pending there) will get no decision: let them go.
        let pending: std::collections::HashSet<&str> = status["pending"].as_array().into_iter().flatten().filter_map(|p| p["signal_id"].as_str()).collect();
        let automations = &self.automations;
        self.awaiting.retain(|id, w| w.approved || pending.contains(id.as_str()) || !automations.get(&w.automation).is_some_and(|a| a.automatic));
        let waiting: std::collections::BTreeSet<String> = self.awaiting.values().filter(|w| !w.approved).map(|w| w.automation.clone()).collect();
        for automation in waiting {
            let cursor = self.automations.get(&automation).map(|a| a.cursor).unwrap_or(0);
            let body = client.get_json(&format!("/api/v1/automations/{automation}/decisions?after_seq={cursor}")).await?;
            for d in body["decisions"].as_array().into_iter().flatten() {
                let (Some(signal), Some(action)) = (d["signal_id"].as_str(), d["action"].as_str()) else { continue };
                match action {
                    "approve" => {
                        if let Some(w) = self.awaiting.get_mut(signal) {
                            w.approved = true;
                        }
                    }
                    "reject" | "timeout" => {
                        self.awaiting.remove(signal);
                    }
                    _ => {}
                }
            }
            if let Some(next) = body["next_after_seq"].as_u64() {
                self.automations.entry(automation).or_default().cursor = next;
            }
        }
        Ok(())
    }

    /// Orders approved entries for this bar's instrument (at this bar's price).
    fn enter_approved(&mut self, t: DateTime<Utc>, bar: &Bar, q: sim::Quote, out: &mut Vec<Value>) {
        let Some((signal_id, w)) = self.awaiting.iter().find(|(_, w)| w.approved && w.instrument == bar.instrument).map(|(k, w)| (k.clone(), w.clone())) else {
            return;
        };
        self.awaiting.remove(&signal_id);
        if self.paused(&w.automation) || self.open.contains_key(&bar.instrument) {
            return;
        }
        let mut clock = t;
        self.open_position(&mut clock, &signal_id, bar, q, w.family, w.quantity, w.stop, w.target, out);
    }

    #[allow(clippy::too_many_arguments)]
    fn open_position(&mut self, clock: &mut DateTime<Utc>, signal_id: &str, bar: &Bar, q: sim::Quote, family: Family, quantity: Decimal, stop: Decimal, target: Decimal, out: &mut Vec<Value>) {
        let filled = self.execute(clock, signal_id, bar, q, true, quantity, out);
        let cost = filled.iter().map(|(qty, px, fee)| qty * px + fee).sum::<Decimal>();
        self.cash -= cost;
        let avg = if quantity.is_zero() { bar.close } else { filled.iter().map(|(qty, px, _)| qty * px).sum::<Decimal>() / quantity };
        self.open.insert(bar.instrument.clone(), Open { family, quantity, entry: avg, stop, target, opened_step: self.step });
    }

    fn id(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}-{}-{:08}", self.cfg.run_id, self.counter)
    }

    fn equity(&self) -> Decimal {
        self.cash + self.gross()
    }

    /// Open positions at their latest mark (long-only book, so gross = net).
    fn gross(&self) -> Decimal {
        self.open.iter().map(|(i, o)| self.marks.get(i).copied().unwrap_or(o.entry) * o.quantity).sum()
    }

    /// Runs one time step: returns the events to post for it.
    pub fn step(&mut self, t: DateTime<Utc>, bars: &[Bar]) -> Vec<Value> {
        self.step += 1;
        let mut out = Vec::new();
        let day_factors = self.factors.get(&t.date_naive()).cloned().unwrap_or_default();
        for bar in bars {
            let q = sim::quote(bar.class, bar.close);
            self.marks.insert(bar.instrument.clone(), bar.close);
            let id = self.id("mkt");
            out.push(json!({
                "event_id": id, "kind": "market_snapshot", "ts": ts(t), "instrument": bar.instrument,
                "bid": q.bid.to_string(), "ask": q.ask.to_string(), "mid": q.mid.to_string(),
                "last": bar.close.to_string(), "volume": bar.volume.to_string(),
            }));
            let ind = self.indicators.entry(bar.instrument.clone()).or_default();
            ind.push(to_f64(bar.high), to_f64(bar.low), to_f64(bar.close));
            if bar.class == AssetClass::Equity {
                ind.push_factors(&day_factors);
            }
            if self.awaiting.values().any(|w| w.instrument == bar.instrument) {
                self.enter_approved(t, bar, q, &mut out);
            } else if self.open.contains_key(&bar.instrument) {
                self.maybe_exit(t, bar, q, &mut out);
            } else {
                self.maybe_enter(t, bar, q, &mut out);
            }
        }
        if self.step % 50 == 0 {
            let id = self.id("hb");
            out.push(json!({"event_id": id, "kind": "heartbeat", "ts": ts(t), "component": "replay-engine", "status": "ok",
                "detail": format!("step {} equity {}", self.step, self.equity().round_dp(2))}));
        }
        self.stats.steps += 1;
        self.stats.events += out.len() as u64;
        out
    }

    fn maybe_enter(&mut self, t: DateTime<Utc>, bar: &Bar, q: sim::Quote, out: &mut Vec<Value>) {
        let Some(ind) = self.indicators.get(&bar.instrument) else { return };
        let Some(idea) = strategy::entry(ind) else { return };
        let periods = match bar.class {
            AssetClass::Equity => 252.0,
            AssetClass::Fx => 252.0 * 24.0,
        };
        let vol = ind.volatility(20, periods).unwrap_or(0.0);
        let equity = self.equity();
        let fraction = self.kelly.get(&idea.family).cloned().unwrap_or_default().fraction(0.05);
        let price = bar.close;
        let notional_target = equity * Decimal::from_f64(fraction).unwrap_or_default();
        let quantity = match bar.class {
            AssetClass::Equity => (notional_target / price).floor(),
            AssetClass::Fx => (notional_target / price / Decimal::from(1000)).floor() * Decimal::from(1000),
        };
        if quantity <= Decimal::ZERO {
            return;
        }
        let notional = quantity * price;
        let mut clock = t;
        let automation = format!("{}-{}", idea.family.name(), if bar.class == AssetClass::Fx { "fx" } else { "us-equity" });
        if self.paused(&automation) {
            return; // a paused automation sends no new entries
        }
        let signal_id = self.id("sig");
        let close = to_f64(price);
        let stop = Decimal::from_f64(close - idea.stop_distance).unwrap_or_default().round_dp(6);
        let target = Decimal::from_f64(close + idea.target_distance).unwrap_or_default().round_dp(6);
        let mut features = idea.features.clone();
        features.insert("volatility_20".into(), vol);
        let id = self.id("evt");
        out.push(json!({
            "event_id": id, "kind": "signal", "ts": ts(clock), "signal_id": signal_id, "automation_id": automation,
            "instrument": bar.instrument, "intent": "entry", "signal_type": idea.family.name(), "side": "buy",
            "strength": idea.strength, "features": features, "model_version": "replay-1.0",
            "prediction": idea.target_distance / close, "confidence": (0.5 + idea.strength / 2.0).min(1.0),
            "stop_loss": (stop > Decimal::ZERO).then(|| stop.to_string()), "take_profit": target.to_string(),
        }));
        self.stats.signals += 1;

        // Pre-trade risk checks.
        let eq = to_f64(equity).max(1.0);
        let position_pct = to_f64(notional) / eq;
        let gross_pct = (to_f64(self.gross()) + to_f64(notional)) / eq;
        let vol_limit = match bar.class {
            AssetClass::Equity => 0.60,
            AssetClass::Fx => 0.20,
        };
        let check = |name: &str, value: f64, limit: f64| {
            let status = if value > limit { "fail" } else if value >= 0.8 * limit { "warn" } else { "pass" };
            (json!({"name": name, "status": status, "value": value, "limit": limit}), status == "fail", value / limit)
        };
        let checks = [
            check("position_limit", position_pct, 0.10),
            check("volatility_filter", vol, vol_limit),
            check("gross_exposure", gross_pct, 1.5),
            check("cash_available", to_f64(notional), to_f64(self.cash).max(0.0)),
        ];
        let reject = checks.iter().any(|c| c.1);
        let risk_score = checks.iter().map(|c| c.2).fold(0.0, f64::max);
        clock += self.latency.risk_check.sample(&mut self.rng);
        let id = self.id("evt");
        out.push(json!({
            "event_id": id, "kind": "risk_check", "ts": ts(clock), "signal_id": signal_id,
            "checks": checks.iter().map(|c| c.0.clone()).collect::<Vec<_>>(),
            "decision": if reject { "reject" } else { "approve" }, "risk_score": risk_score,
        }));
        if reject {
            return;
        }
        if self.gated(&automation) {
            // The console holds it for a person; it is ordered when approved (see `poll`).
            self.awaiting.insert(
                signal_id,
                Awaiting { automation, instrument: bar.instrument.clone(), family: idea.family, quantity, stop, target, approved: false },
            );
            return;
        }
        self.open_position(&mut clock, &signal_id, bar, q, idea.family, quantity, stop, target, out);
    }

    fn maybe_exit(&mut self, t: DateTime<Utc>, bar: &Bar, q: sim::Quote, out: &mut Vec<Value>) {
        let Some(pos) = self.open.get(&bar.instrument).cloned() else { return };
        let Some(ind) = self.indicators.get(&bar.instrument) else { return };
        let held = self.step - pos.opened_step;
        let reason = if bar.low <= pos.stop {
            "stop_loss"
        } else if bar.high >= pos.target {
            "take_profit"
        } else if strategy::rule_exit(pos.family, ind, held) {
            "strategy_exit"
        } else {
            return;
        };
        let mut clock = t;
        let automation = format!("{}-{}", pos.family.name(), if bar.class == AssetClass::Fx { "fx" } else { "us-equity" });
        if self.paused(&automation) {
            return; // paused: no orders at all until resumed; the position stays open
        }
        let signal_id = self.id("sig");
        let window = match bar.class {
            AssetClass::Equity => 3600,
            AssetClass::Fx => 600,
        };
        let id = self.id("evt");
        let unrealized = to_f64((bar.close - pos.entry) * pos.quantity);
        out.push(json!({
            "event_id": id, "kind": "signal", "ts": ts(clock), "signal_id": signal_id, "automation_id": automation,
            "instrument": bar.instrument, "intent": "exit", "signal_type": pos.family.name(), "side": "sell",
            "strength": 1.0, "features": {"unrealized_pnl": unrealized, "bars_held": held as f64, format!("exit_{reason}"): 1.0},
            "model_version": "replay-1.0", "prediction": 0.0, "confidence": 0.9, "response_window_secs": window,
        }));
        self.stats.signals += 1;
        let (prompt, reasoning) = exit_review(pos.family, reason, held);
        out.push(json!({
            "event_id": format!("{signal_id}-review"), "kind": "llm_decision", "ts": ts(clock), "signal_id": signal_id, "model": EXIT_REVIEWER,
            "prompt": prompt, "response": format!("exit: {reasoning}"), "reasoning": reasoning, "confidence": 0.9, "decision": "exit",
        }));
        clock += self.latency.risk_check.sample(&mut self.rng);
        let filled = self.execute(&mut clock, &signal_id, bar, q, false, pos.quantity, out);
        let proceeds = filled.iter().map(|(qty, px, fee)| qty * px - fee).sum::<Decimal>();
        self.cash += proceeds;
        let pnl = to_f64(proceeds - pos.entry * pos.quantity);
        self.kelly.entry(pos.family).or_default().record(pnl);
        self.open.remove(&bar.instrument);
    }

    /// Sends a market order and its fills (one to three partial fills); returns (qty, price, fee).
    #[allow(clippy::too_many_arguments)]
    fn execute(
        &mut self,
        clock: &mut DateTime<Utc>,
        signal_id: &str,
        bar: &Bar,
        q: sim::Quote,
        buy: bool,
        quantity: Decimal,
        out: &mut Vec<Value>,
    ) -> Vec<(Decimal, Decimal, Decimal)> {
        let order_id = self.id("ord");
        let side = if buy { "buy" } else { "sell" };
        let order = |s: &mut Self, at: DateTime<Utc>, status: &str, exch: Option<&str>| {
            let id = s.id("evt");
            json!({"event_id": id, "kind": "order", "ts": ts(at), "order_id": order_id, "signal_id": signal_id,
                "instrument": bar.instrument, "side": side, "quantity": quantity.to_string(), "order_type": "market",
                "status": status, "exchange_order_id": exch})
        };
        *clock += self.latency.order.sample(&mut self.rng);
        out.push(order(self, *clock, "submitted", None));
        self.stats.orders += 1;
        *clock += self.latency.ack.sample(&mut self.rng);
        let exch = format!("x-{}", self.counter);
        out.push(order(self, *clock, "acknowledged", Some(&exch)));

        // An injected slippage spike: this order fills in three parts, each far from the model.
        let spike = quantity >= Decimal::from(3) && std::mem::take(&mut self.slippage_spike);
        let parts: u32 = if spike { 3 } else if quantity >= Decimal::from(100) { 1 + (self.counter % 3) as u32 } else { 1 };
        let mut left = quantity;
        let mut fills = Vec::new();
        for i in 0..parts {
            let qty = if i + 1 == parts { left } else { (quantity / Decimal::from(parts)).floor() };
            if qty <= Decimal::ZERO {
                continue;
            }
            left -= qty;
            let notional = to_f64(qty * q.mid);
            let mut price = sim::fill_price(bar.class, q, buy, notional);
            if spike {
                let worse = Decimal::new(INJECTED_SLIPPAGE_BPS, 4) * q.mid;
                price = if buy { price + worse } else { (price - worse).max(q.mid / Decimal::from(2)) }.round_dp(price.scale().max(2));
            }
            let fee = sim::fee(bar.class, qty * price);
            *clock += self.latency.fill.sample(&mut self.rng);
            if self.slow_fills > 0 {
                self.slow_fills -= 1;
                *clock += chrono::Duration::milliseconds(INJECTED_LATENCY_MS);
            }
            let fill_id = self.id("fill");
            let id = self.id("evt");
            out.push(json!({"event_id": id, "kind": "fill", "ts": ts(*clock), "fill_id": fill_id, "order_id": order_id,
                "quantity": qty.to_string(), "price": price.to_string(), "fee": fee.to_string(), "fee_currency": "USD",
                "liquidity": "taker"}));
            self.stats.fills += 1;
            fills.push((qty, price, fee));
            if i + 1 < parts {
                out.push(order(self, *clock, "partially_filled", Some(&exch)));
            }
        }
        out.push(order(self, *clock, "filled", Some(&exch)));
        fills
    }
}

/// The model name of the paper engine's exit reviews: rule-based text, not a language model,
/// standing where a live desk's LLM reviewer records its reasoning (`llm_decision`).
pub const EXIT_REVIEWER: &str = "paper-rules-1.0";

/// The prompt and the reasoning of the review of an exit: why the rule fired, in words, without
/// prices or quantities.
pub fn exit_review(family: Family, reason: &str, bars_held: u64) -> (String, String) {
    let prompt = format!("Review the {} exit after {bars_held} bars: {}.", family.name().replace('_', " "), reason.replace('_', " "));
    let why = match (reason, family) {
        ("stop_loss", _) => "The price reached the stop set at entry. The position was sized for a loss of this size and no more, so the rule exits now rather than hoping for a recovery.".to_string(),
        ("take_profit", _) => "The price reached the profit target set at entry. The rule takes the gain instead of giving it back to a reversal.".to_string(),
        (_, Family::Momentum) => "The 20-bar average fell below the 50-bar average: the trend the entry followed has ended, so the reason to hold is gone.".to_string(),
        (_, Family::MeanReversion) => "The price is back above its 20-bar mean: the dislocation the entry bought has closed, so the trade has done what it was for.".to_string(),
        (_, Family::VolatilityBreakout) => format!("{bars_held} bars have passed since the breakout, the strategy's holding period: a breakout that has not run by now rarely does."),
    };
    (prompt, why)
}

/// How often the engine reads pauses and decisions from the console.
pub const POLL_INTERVAL: StdDuration = StdDuration::from_millis(250);

/// How often a running replay sends a heartbeat, in real time.
pub const HEARTBEAT_EVERY: StdDuration = StdDuration::from_secs(5);

impl ReplayConfig {
    /// The reference replay: all bundled data from 2017-04-19 to 2017-12-31, seed 1, 1,000,000
    /// USD (the engine tests and the metrics reference fixture use it).
    pub fn reference(data_dir: PathBuf) -> ReplayConfig {
        ReplayConfig {
            console: "http://127.0.0.1:9".into(),
            token: "t".into(),
            speed: Speed::Max,
            dataset: Dataset::All,
            data_dir,
            from: NaiveDate::from_ymd_opt(2017, 4, 19),
            to: NaiveDate::from_ymd_opt(2017, 12, 31),
            seed: 1,
            run_id: "t".into(),
            capital: Decimal::from(1_000_000),
            max_steps: None,
            warm_up_days: 0,
            inject_after: None,
        }
    }
}

/// Replays in-process, without a console (nothing gated or paused: a backtest), through the
/// console's own projection, and returns that book. Steps before `from` only warm the
/// indicators up, as in [`run`].
pub fn simulate(cfg: ReplayConfig) -> Result<domain::projection::Projection> {
    let timeline = load(&cfg)?;
    let mut projection = domain::projection::Projection::new(cfg.capital);
    let first_sent = cfg.from.and_then(|d| d.and_hms_opt(0, 0, 0)).map(|d| d.and_utc());
    let mut engine = Engine::new(cfg)?;
    let now = Utc::now();
    let mut seq = 0;
    for (t, bars) in &timeline {
        if first_sent.is_some_and(|f| *t < f) {
            engine.warm_up(*t, bars);
            continue;
        }
        for v in engine.step(*t, bars) {
            let e = domain::event::Event::parse_value(&v, now).map_err(|e| anyhow::anyhow!("{e}: {v}"))?;
            seq += 1;
            projection.apply(seq, &e);
        }
    }
    Ok(projection)
}

/// The daily returns of [`simulate`]'s equity (last equity of each UTC day). The reference
/// fixture of the metrics ("the replay's own equity") is made from this.
pub fn equity_daily_returns(cfg: ReplayConfig) -> Result<(Vec<NaiveDate>, Vec<f64>)> {
    let projection = simulate(cfg)?;
    Ok(domain::metrics::daily_returns(projection.daily_closes()))
}

/// Runs a whole replay against a console.
pub async fn run(cfg: ReplayConfig) -> Result<ReplayStats> {
    let timeline = load(&cfg).context("loading market data")?;
    let client = Client::new(&cfg.console, &cfg.token)?;
    client.wait_ready(&cfg.console, StdDuration::from_secs(60)).await?;
    let speed = cfg.speed;
    let max_steps = cfg.max_steps.unwrap_or(usize::MAX);
    let mut engine = Engine::new(cfg)?;
    engine.gating = true;
    let mut pending: Vec<Value> = Vec::new();
    let run_id = engine.cfg.run_id.clone();
    let first_sent = engine.cfg.from.and_then(|d| d.and_hms_opt(0, 0, 0)).map(|d| d.and_utc());
    let mut steps = timeline.iter().peekable();
    // Steps before `from` warm the indicators up; nothing is sent for them.
    while let Some((t, bars)) = steps.next_if(|(t, _)| first_sent.is_some_and(|f| **t < f)) {
        engine.warm_up(*t, bars);
    }
    let start = std::time::Instant::now();
    let mut last_poll: Option<std::time::Instant> = None;
    // A heartbeat every few seconds of real time, whatever the pace (the console's heartbeat
    // breaker watches the wall clock); their ids do not touch the engine's id counter.
    let mut last_heartbeat = std::time::Instant::now();
    let mut heartbeats = 0u64;
    let mut prev_t: Option<DateTime<Utc>> = None;
    let mut paced = StdDuration::ZERO;
    let mut injected = (false, false);
    for (i, (t, bars)) in steps.enumerate().take(max_steps) {
        if let Some(after) = engine.cfg.inject_after {
            if !injected.0 && start.elapsed() >= after {
                injected.0 = true;
                engine.slow_fills = INJECTED_SLOW_FILLS;
                tracing::info!(fills = INJECTED_SLOW_FILLS, late_ms = INJECTED_LATENCY_MS, "demo: injecting a latency spike");
            }
            if !injected.1 && start.elapsed() >= after + INJECTED_SLIPPAGE_AFTER {
                injected.1 = true;
                engine.slippage_spike = true;
                tracing::info!(bps = INJECTED_SLIPPAGE_BPS, "demo: injecting a slippage spike (the next order, three fills)");
            }
        }
        // The console's pauses and decisions, at most every 250 ms: a pause stops ordering
        // within one polling interval.
        if last_poll.is_none_or(|p| p.elapsed() >= POLL_INTERVAL) {
            if !pending.is_empty() {
                client.post(&pending).await?;
                pending.clear();
            }
            if let Err(e) = engine.poll(&client).await {
                tracing::warn!(error = %e, "polling the console's governance; keeping the last known state");
            }
            last_poll = Some(std::time::Instant::now());
        }
        pending.extend(engine.step(*t, bars));
        if last_heartbeat.elapsed() >= HEARTBEAT_EVERY {
            heartbeats += 1;
            pending.push(json!({"event_id": format!("hb-{run_id}-t{heartbeats:08}"), "kind": "heartbeat", "ts": ts(*t),
                "component": "replay-engine", "status": "ok", "detail": format!("market time {}", ts(*t))}));
            last_heartbeat = std::time::Instant::now();
        }
        match speed {
            Speed::Max => {
                if pending.len() >= 1000 {
                    client.post(&pending).await?;
                    pending.clear();
                }
            }
            Speed::BarsPerSecond(x) => {
                client.post(&pending).await?;
                pending.clear();
                let due = StdDuration::from_secs_f64((i + 1) as f64 / x);
                if let Some(wait) = due.checked_sub(start.elapsed()) {
                    tokio::time::sleep(wait).await;
                }
            }
            Speed::SecondsPerDay(x) => {
                client.post(&pending).await?;
                pending.clear();
                // Time to the next step in market days, at `x` seconds a day, capped per gap.
                let gap_days = prev_t.map(|p| (*t - p).num_milliseconds().max(0) as f64 / 86_400_000.0).unwrap_or(0.0);
                paced += StdDuration::from_secs_f64(gap_days * x).min(MAX_GAP_WAIT);
                if let Some(wait) = paced.checked_sub(start.elapsed()) {
                    tokio::time::sleep(wait).await;
                }
            }
        }
        prev_t = Some(*t);
    }
    // A clean stop is not a missing heartbeat: the console stops watching this component.
    let end = prev_t.unwrap_or_else(Utc::now);
    pending.push(json!({"event_id": format!("hb-{run_id}-stopped"), "kind": "heartbeat", "ts": ts(end),
        "component": "replay-engine", "status": "stopped", "detail": "the replay reached the end of its data"}));
    client.post(&pending).await?;
    tracing::info!(steps = engine.stats.steps, events = engine.stats.events, equity = %engine.equity().round_dp(2), "replay finished");
    Ok(engine.stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> ReplayConfig {
        ReplayConfig::reference(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data"))
    }

    #[test]
    fn every_event_the_engine_makes_parses_and_the_book_is_consistent() -> Result<()> {
        let cfg = cfg();
        let timeline = load(&cfg)?;
        let mut engine = Engine::new(cfg)?;
        let now = Utc::now();
        let mut projection = domain::projection::Projection::new(Decimal::from(1_000_000));
        let mut seq = 0;
        for (t, bars) in &timeline {
            for v in engine.step(*t, bars) {
                let e = domain::event::Event::parse_value(&v, now).map_err(|e| anyhow::anyhow!("{e}: {v}"))?;
                seq += 1;
                assert_eq!(projection.apply(seq, &e), None, "no orphan fills");
            }
        }
        assert!(engine.stats.signals > 20, "{:?}", engine.stats);
        assert!(engine.stats.fills >= engine.stats.orders);
        // The console's view of the book and the engine's own must agree to the cent.
        let console_equity = projection.equity();
        let engine_equity = engine.equity();
        assert_eq!(console_equity.round_dp(2), engine_equity.round_dp(2));
        Ok(())
    }

    /// The committed fixture `domain/tests/fixtures/replay_equity_returns.csv` (input of the
    /// reference metrics, see `scripts/reference/`) is this replay's equity, unchanged.
    #[test]
    fn the_replay_equity_fixture_is_still_what_the_replay_makes() -> Result<()> {
        let (dates, returns) = equity_daily_returns(cfg())?;
        let fixture = include_str!("../../domain/tests/fixtures/replay_equity_returns.csv");
        let rows: Vec<(String, f64)> = fixture.lines().skip(1).filter_map(|l| l.split_once(',')).map(|(d, r)| (d.to_string(), r.parse().unwrap_or(f64::NAN))).collect();
        assert_eq!(rows.len(), dates.len());
        for ((d, r), (fd, fr)) in dates.iter().zip(&returns).zip(&rows) {
            assert_eq!(&d.to_string(), fd);
            assert!((r - fr).abs() <= 1e-15 + 1e-12 * r.abs(), "{d}: {r} vs fixture {fr}");
        }
        Ok(())
    }

    #[test]
    fn speed_and_dataset_parse() {
        assert_eq!("max".parse::<Speed>(), Ok(Speed::Max));
        assert_eq!("2.5".parse::<Speed>(), Ok(Speed::BarsPerSecond(2.5)));
        assert!("0".parse::<Speed>().is_err());
        assert!("fast".parse::<Speed>().is_err());
        assert_eq!("sp500".parse::<Dataset>(), Ok(Dataset::Sp500));
        assert_eq!("2.5s/day".parse::<Speed>(), Ok(Speed::SecondsPerDay(2.5)));
        assert_eq!(Speed::SecondsPerDay(2.5).to_string(), "2.5s/day");
        assert!("0s/day".parse::<Speed>().is_err());
    }
}
