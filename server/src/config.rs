//! Layered configuration of `tradewatch serve`. Each layer overrides the one before it:
//! 1. built-in defaults;
//! 2. a TOML file, `--config FILE` or `TRADEWATCH_CONFIG` (optional; unknown keys are refused);
//! 3. the environment: `TRADEWATCH_<KEY>` for each key below (`LEPTOS_SITE_ROOT` and
//!    `DATABASE_URL` are read too, under their usual names);
//! 4. the command line's flags.
//!
//! Secrets (`database_url`, which may carry a password) are [`SecretString`]s: they never
//! appear in `Debug`, logs or `tradewatch config` (printed as `"[redacted]"`).
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize};


/// The keys of the file and of `TRADEWATCH_<KEY>` (upper case in the environment).
pub const KEYS: [&str; 20] = [
    "addr",
    "data_dir",
    "capital",
    "site_root",
    "secure_cookies",
    "max_connections",
    "trusted_proxies",
    "snapshot_every",
    "checkpoint_every",
    "management_fee",
    "performance_fee",
    "backtest",
    "smtp_url",
    "smtp_from",
    "report_recipients",
    "database_url",
    "console_url",
    "alert_webhook_url",
    "alertmanager_url",
    "alert_recipients",
];

/// Connections open at once by default (setting `max_connections`).
pub const MAX_CONNECTIONS: usize = 1024;

/// The running configuration of the console, from [`Settings::into_config`] (or
/// [`Config::new`]'s defaults).
#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    /// Starting capital of the book, in USD (the base of equity and drawdown).
    pub capital: Decimal,
    /// Where cargo-leptos put the compiled site (`pkg/` with the WASM, JS and CSS).
    pub site_root: PathBuf,
    /// Mark the session cookie `Secure` (set when the console is served over TLS, e.g. behind
    /// a TLS-terminating proxy): setting `secure_cookies`.
    pub secure_cookies: bool,
    /// Connections open at once (further clients wait in the kernel's accept queue).
    pub max_connections: usize,
    /// Reverse proxies whose `X-Forwarded-For` names the client (sign-in throttling).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Write a fold snapshot once the log has grown this many events past the last one (and at
    /// shutdown); 0: never (every start folds the whole log).
    pub snapshot_every: u64,
    /// Sign a checkpoint of the log once it has grown this many events past the last one (and
    /// at least hourly while it grows); 0: none signed automatically (the API still answers).
    pub checkpoint_every: u64,
    /// Generate each week's research report once market time has passed its end (tests turn
    /// it off and call the job themselves).
    pub report_schedule: bool,
    /// Run the investor portal's backtest (setting `backtest`) on `market_data`.
    pub backtest: bool,
    /// The bundled market data the backtest replays (`serve --market-data`); `None`: none.
    pub market_data: Option<PathBuf>,
    /// The fee terms of the investor track record's net-of-fees returns.
    pub fees: domain::track_record::FeeSchedule,
    /// Email each published weekly report's PDF over this SMTP server (a secret).
    pub smtp_url: Option<SecretString>,
    pub smtp_from: String,
    pub report_recipients: Vec<String>,
    /// Alert delivery: the receivers of `config.alerting.routes` (see `jobs::alerts`).
    pub alerting: Alerting,
    /// The store: `postgres://...` for PostgreSQL; unset, the SQLite file under `data_dir`.
    pub database_url: Option<SecretString>,
}

impl Config {
    /// The built-in defaults at `addr` and `data_dir` (what the tests start). `tradewatch serve`
    /// builds its config from the layered [`Settings`] instead, the one reader of the environment.
    pub fn new(addr: SocketAddr, data_dir: PathBuf) -> Self {
        Self {
            addr,
            data_dir,
            capital: default_capital(),
            site_root: default_site_root(),
            secure_cookies: false,
            max_connections: default_max_connections(),
            trusted_proxies: Vec::new(),
            snapshot_every: default_snapshot_every() as u64,
            checkpoint_every: default_checkpoint_every() as u64,
            report_schedule: true,
            backtest: false,
            market_data: None,
            fees: domain::track_record::FeeSchedule::default(),
            smtp_url: None,
            smtp_from: default_smtp_from(),
            report_recipients: Vec::new(),
            alerting: Alerting::default(),
            database_url: None,
        }
    }
}

/// The settings of `tradewatch serve`, after every layer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on.
    #[serde(default = "default_addr")]
    pub addr: SocketAddr,
    /// Directory of the SQLite database (`tradewatch.db`, WAL).
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// Starting capital in USD: the base of equity, returns and drawdown.
    #[serde(default = "default_capital", deserialize_with = "decimal")]
    pub capital: Decimal,
    /// The built site (`pkg/` with the WASM, JS and CSS).
    #[serde(default = "default_site_root")]
    pub site_root: PathBuf,
    /// Mark the session cookie `Secure` and send HSTS (set when served over TLS).
    #[serde(default, deserialize_with = "flag")]
    pub secure_cookies: bool,
    /// Connections open at once; further clients wait in the kernel's accept queue.
    #[serde(default = "default_max_connections", deserialize_with = "count")]
    pub max_connections: usize,
    /// Reverse proxies whose `X-Forwarded-For` is believed (a list, or comma-separated).
    #[serde(default, deserialize_with = "addresses")]
    pub trusted_proxies: Vec<IpAddr>,
    /// Events between fold snapshots (also written at shutdown); 0 turns them off.
    #[serde(default = "default_snapshot_every", deserialize_with = "count")]
    pub snapshot_every: usize,
    /// Events between signed checkpoints of the log (and at least one an hour while it grows);
    /// 0: none signed automatically.
    #[serde(default = "default_checkpoint_every", deserialize_with = "count")]
    pub checkpoint_every: usize,
    /// Management fee per year, a fraction in [0, 1) (0.02 = 2%): the track record's net of
    /// fees returns accrue it by calendar day.
    #[serde(default = "default_management_fee", deserialize_with = "decimal")]
    pub management_fee: Decimal,
    /// Performance fee, a fraction in [0, 1) of the net gain above the high-water mark, taken
    /// monthly in the track record's net of fees returns.
    #[serde(default = "default_performance_fee", deserialize_with = "decimal")]
    pub performance_fee: Decimal,
    /// Replay the bundled market data through the paper engine once at start-up, for the
    /// investor portal's backtesting results (one core for the length of the replay).
    #[serde(default = "default_backtest", deserialize_with = "flag")]
    pub backtest: bool,
    /// Email each weekly report's PDF over this SMTP server: `smtp://HOST:PORT` (plain),
    /// `smtp://HOST:PORT?tls=required` (STARTTLS) or `smtps://USER:PASSWORD@HOST` (TLS). A secret.
    #[serde(default)]
    pub smtp_url: Option<SecretString>,
    /// The sender of the report emails.
    #[serde(default = "default_smtp_from")]
    pub smtp_from: String,
    /// Who gets each report (a list, or comma-separated in the environment).
    #[serde(default, deserialize_with = "strings")]
    pub report_recipients: Vec<String>,
    /// The store's URL (`postgres://USER@HOST:PORT/DB`); unset: the SQLite file under `data_dir`.
    #[serde(default)]
    pub database_url: Option<SecretString>,
    /// The console's address as people reach it, for the links in alerts (default: `http://` and
    /// `addr`).
    #[serde(default)]
    pub console_url: Option<String>,
    /// The `webhook` receiver of alerts: a URL that takes Slack-compatible JSON (a Slack
    /// incoming webhook, or any chat tool that speaks it). A secret (it holds a token).
    #[serde(default)]
    pub alert_webhook_url: Option<SecretString>,
    /// The `alertmanager` receiver: a Prometheus Alertmanager's base URL (`http://HOST:9093`).
    #[serde(default)]
    pub alertmanager_url: Option<String>,
    /// The `email` receiver: who gets alert emails (over `smtp_url`).
    #[serde(default, deserialize_with = "strings")]
    pub alert_recipients: Vec<String>,
}

/// Where alerts go: each receiver is off until its address is set.
#[derive(Debug, Clone, Default)]
pub struct Alerting {
    pub console_url: String,
    pub webhook_url: Option<SecretString>,
    pub alertmanager_url: Option<String>,
    pub recipients: Vec<String>,
}

fn default_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 3000))
}
fn default_data_dir() -> PathBuf {
    PathBuf::from("./tradewatch-data")
}
fn default_capital() -> Decimal {
    Decimal::from(1_000_000)
}
fn default_site_root() -> PathBuf {
    PathBuf::from("target/site")
}
fn default_max_connections() -> usize {
    MAX_CONNECTIONS
}
fn default_snapshot_every() -> usize {
    100_000
}
fn default_checkpoint_every() -> usize {
    10_000
}
fn default_smtp_from() -> String {
    "Tradewatch <tradewatch@localhost>".into()
}
fn default_backtest() -> bool {
    true
}
fn default_management_fee() -> Decimal {
    Decimal::new(2, 2)
}
fn default_performance_fee() -> Decimal {
    Decimal::new(20, 2)
}

/// A decimal from a TOML/env number or string (`1000000`, `"2500000.50"`).
fn decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum N {
        I(i64),
        F(f64),
        S(String),
    }
    match N::deserialize(d)? {
        N::I(i) => Ok(Decimal::from(i)),
        N::F(f) => Decimal::try_from(f).map_err(serde::de::Error::custom),
        N::S(s) => s.trim().parse().map_err(serde::de::Error::custom),
    }
}

/// A count from a number or a string of digits (`TRADEWATCH_MAX_CONNECTIONS=64`).
fn count<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum C {
        N(u64),
        S(String),
    }
    let n = match C::deserialize(d)? {
        C::N(n) => n,
        C::S(s) => s.trim().parse::<u64>().map_err(|_| serde::de::Error::custom(format!("'{s}' is not a count")))?,
    };
    usize::try_from(n).map_err(serde::de::Error::custom)
}

/// `true` / `false`, `1` / `0`, or their strings (`TRADEWATCH_SECURE_COOKIES=1`).
fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum B {
        B(bool),
        I(i64),
        S(String),
    }
    match B::deserialize(d)? {
        B::B(b) => Ok(b),
        B::I(0) => Ok(false),
        B::I(1) => Ok(true),
        B::S(s) if matches!(s.trim(), "1" | "true" | "yes" | "on") => Ok(true),
        B::S(s) if matches!(s.trim(), "" | "0" | "false" | "no" | "off") => Ok(false),
        _ => Err(serde::de::Error::custom("expected true/false or 1/0")),
    }
}

/// Strings as a list or one comma-separated string (blank items dropped).
fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum A {
        List(Vec<String>),
        One(String),
    }
    let items = match A::deserialize(d)? {
        A::List(l) => l,
        A::One(s) => s.split(',').map(str::to_string).collect(),
    };
    Ok(items.iter().map(|a| a.trim().to_string()).filter(|a| !a.is_empty()).collect())
}

/// IP addresses as a list or one comma-separated string.
fn addresses<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<IpAddr>, D::Error> {
    strings(d)?.iter().map(|a| a.parse().map_err(|_| serde::de::Error::custom(format!("'{a}' is not an IP address")))).collect()
}

/// The command line's flags; a flag not given leaves the layers below it in place.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Flags {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addr: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capital: Option<String>,
}

impl Settings {
    /// The settings from the layers: `file` (when given), then `env` (name, value pairs, e.g.
    /// `std::env::vars()`), then `flags`. Errors name the key and the layer it came from.
    pub fn load(file: Option<&Path>, env: impl IntoIterator<Item = (String, String)>, flags: &Flags) -> Result<Self> {
        let mut figment = Figment::new();
        if let Some(f) = file {
            if !f.is_file() {
                anyhow::bail!("config file {} does not exist", f.display());
            }
            figment = figment.merge(Toml::file_exact(f));
        }
        let env: Vec<(String, String)> = env.into_iter().collect();
        let lookup = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        // The conventional names first, so that TRADEWATCH_<KEY> wins over them.
        let mut conventional = Vec::new();
        if let Some(v) = lookup("LEPTOS_SITE_ROOT") {
            conventional.push(("site_root", v));
        }
        if let Some(v) = lookup("DATABASE_URL") {
            conventional.push(("database_url", v));
        }
        for (k, v) in conventional {
            figment = figment.merge(Serialized::default(k, v));
        }
        // Key by key: no other variable of the environment can reach the settings.
        for key in KEYS {
            if let Some(v) = lookup(&format!("TRADEWATCH_{}", key.to_ascii_uppercase())) {
                // Strings as they are: the field's own parser reads numbers and flags.
                figment = figment.merge(Serialized::default(key, v));
            }
        }
        figment = figment.merge(Serialized::defaults(flags));
        figment.extract::<Settings>().map_err(|e| anyhow::anyhow!("configuration: {e}"))
    }

    /// `tradewatch serve`'s settings: `--config FILE` or `TRADEWATCH_CONFIG`, the process
    /// environment, the flags.
    pub fn from_process(config_file: Option<PathBuf>, flags: &Flags) -> Result<Self> {
        let file = config_file.or_else(|| std::env::var_os("TRADEWATCH_CONFIG").map(PathBuf::from));
        Self::load(file.as_deref(), std::env::vars(), flags).with_context(|| match &file {
            Some(f) => format!("reading the settings (file {})", f.display()),
            None => "reading the settings".to_string(),
        })
    }

    /// The settings as TOML, secrets shown as `"[redacted]"`: what `tradewatch config` prints.
    pub fn to_toml(&self) -> String {
        let proxies: Vec<String> = self.trusted_proxies.iter().map(|a| format!("\"{a}\"")).collect();
        let mut out = format!(
            "addr = \"{}\"\ndata_dir = {:?}\ncapital = \"{}\"\nsite_root = {:?}\nsecure_cookies = {}\nmax_connections = {}\ntrusted_proxies = [{}]\nsnapshot_every = {}\ncheckpoint_every = {}\nmanagement_fee = \"{}\"\nperformance_fee = \"{}\"\nbacktest = {}\nsmtp_from = {:?}\nreport_recipients = [{}]\n",
            self.addr,
            self.data_dir.display().to_string(),
            self.capital,
            self.site_root.display().to_string(),
            self.secure_cookies,
            self.max_connections,
            proxies.join(", "),
            self.snapshot_every,
            self.checkpoint_every,
            self.management_fee,
            self.performance_fee,
            self.backtest,
            self.smtp_from,
            self.report_recipients.iter().map(|r| format!("{r:?}")).collect::<Vec<_>>().join(", ")
        );
        if self.smtp_url.is_some() {
            out.push_str("smtp_url = \"[redacted]\"\n");
        }
        if let Some(u) = &self.console_url {
            out.push_str(&format!("console_url = {u:?}\n"));
        }
        if self.alert_webhook_url.is_some() {
            out.push_str("alert_webhook_url = \"[redacted]\"\n");
        }
        if let Some(u) = &self.alertmanager_url {
            out.push_str(&format!("alertmanager_url = {u:?}\n"));
        }
        if !self.alert_recipients.is_empty() {
            out.push_str(&format!("alert_recipients = [{}]\n", self.alert_recipients.iter().map(|r| format!("{r:?}")).collect::<Vec<_>>().join(", ")));
        }
        if self.database_url.is_some() {
            out.push_str("database_url = \"[redacted]\"\n");
        }
        out
    }

    /// The running configuration. A `database_url` must name PostgreSQL or SQLite.
    pub fn into_config(self) -> Result<Config> {
        if let Some(url) = &self.database_url {
            let url = url.expose_secret();
            if !["postgres://", "postgresql://", "sqlite:"].iter().any(|p| url.starts_with(p)) {
                let scheme = url.split(':').next().unwrap_or("").chars().take(16).collect::<String>();
                anyhow::bail!("database_url ({scheme}:...): postgres://, postgresql:// or sqlite: URLs only");
            }
        }
        use rust_decimal::prelude::ToPrimitive;
        let fraction = |name: &str, x: Decimal| -> Result<f64> {
            match x.to_f64() {
                Some(f) if (0.0..1.0).contains(&f) => Ok(f),
                _ => anyhow::bail!("{name}: a fraction from 0 up to 1 (0.02 = 2%), not {x}"),
            }
        };
        let fees = domain::track_record::FeeSchedule {
            management: fraction("management_fee", self.management_fee)?,
            performance: fraction("performance_fee", self.performance_fee)?,
        };
        let http_url = |name: &str, u: &str| -> Result<()> {
            anyhow::ensure!(u.starts_with("http://") || u.starts_with("https://"), "{name}: an http:// or https:// URL");
            Ok(())
        };
        if let Some(u) = &self.console_url {
            http_url("console_url", u)?;
        }
        if let Some(u) = &self.alertmanager_url {
            http_url("alertmanager_url", u)?;
        }
        if let Some(u) = &self.alert_webhook_url {
            http_url("alert_webhook_url", u.expose_secret())?;
        }
        let alerting = Alerting {
            console_url: self.console_url.clone().unwrap_or_else(|| format!("http://{}", self.addr)).trim_end_matches('/').to_string(),
            webhook_url: self.alert_webhook_url,
            alertmanager_url: self.alertmanager_url.map(|u| u.trim_end_matches('/').to_string()),
            recipients: self.alert_recipients,
        };
        Ok(Config {
            addr: self.addr,
            data_dir: self.data_dir,
            capital: self.capital,
            site_root: self.site_root,
            secure_cookies: self.secure_cookies,
            max_connections: self.max_connections,
            trusted_proxies: self.trusted_proxies,
            snapshot_every: self.snapshot_every as u64,
            checkpoint_every: self.checkpoint_every as u64,
            report_schedule: true,
            backtest: self.backtest,
            market_data: None,
            fees,
            smtp_url: self.smtp_url,
            smtp_from: self.smtp_from,
            report_recipients: self.report_recipients,
            alerting,
            database_url: self.database_url,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_then_file_then_environment_then_flags() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("tradewatch.toml");
        std::fs::write(&file, "addr = \"0.0.0.0:8080\"\ncapital = 2500000\nmax_connections = 64\ntrusted_proxies = [\"10.0.0.1\"]\n").expect("write");
        let none = Settings::load(None, env(&[]), &Flags::default()).expect("defaults");
        assert_eq!((none.addr.port(), none.capital, none.max_connections, none.secure_cookies), (3000, Decimal::from(1_000_000), MAX_CONNECTIONS, false));
        let from_file = Settings::load(Some(&file), env(&[]), &Flags::default()).expect("file");
        assert_eq!((from_file.addr.port(), from_file.capital, from_file.max_connections), (8080, Decimal::from(2_500_000), 64));
        assert_eq!(from_file.trusted_proxies, vec!["10.0.0.1".parse::<IpAddr>().expect("ip")]);
        let env_over = Settings::load(
            Some(&file),
            env(&[
                ("TRADEWATCH_ADDR", "127.0.0.1:9000"),
                ("TRADEWATCH_SECURE_COOKIES", "1"),
                ("TRADEWATCH_TRUSTED_PROXIES", "10.0.0.2, 10.0.0.3"),
                ("LEPTOS_SITE_ROOT", "/srv/site"),
                ("TRADEWATCH_MAX_CONNECTIONS", "128"),
                ("TRADEWATCH_CAPITAL", "3000000"),
                ("TRADEWATCH_DATA_DIR", "/var/lib/tradewatch"),
            ]),
            &Flags::default(),
        )
        .expect("env");
        // Every key from the environment overrides the file (each is a string there).
        assert_eq!((env_over.addr.port(), env_over.capital, env_over.secure_cookies, env_over.max_connections), (9000, Decimal::from(3_000_000), true, 128));
        assert_eq!(env_over.data_dir, PathBuf::from("/var/lib/tradewatch"));
        assert_eq!(env_over.trusted_proxies.len(), 2);
        assert_eq!(env_over.site_root, PathBuf::from("/srv/site"));
        let flags = Flags { addr: Some("127.0.0.1:9100".parse().expect("addr")), data_dir: None, capital: Some("42.5".into()) };
        let flag_over = Settings::load(Some(&file), env(&[("TRADEWATCH_ADDR", "127.0.0.1:9000")]), &flags).expect("flags");
        assert_eq!((flag_over.addr.port(), flag_over.capital), (9100, "42.5".parse::<Decimal>().expect("dec")));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused_naming_the_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "adr = \"0.0.0.0:8080\"\n").expect("write");
        let e = Settings::load(Some(&file), env(&[]), &Flags::default()).expect_err("typo refused").to_string();
        assert!(e.contains("adr"), "{e}");
        let e = Settings::load(None, env(&[("TRADEWATCH_SECURE_COOKIES", "maybe")]), &Flags::default()).expect_err("bad flag").to_string();
        assert!(e.contains("secure_cookies"), "{e}");
        let e = Settings::load(None, env(&[("TRADEWATCH_MAX_CONNECTIONS", "many")]), &Flags::default()).expect_err("bad count").to_string();
        assert!(e.contains("max_connections"), "{e}");
        let e = Settings::load(None, env(&[("TRADEWATCH_TRUSTED_PROXIES", "proxy.local")]), &Flags::default()).expect_err("bad ip").to_string();
        assert!(e.contains("proxy.local"), "{e}");
        assert!(Settings::load(Some(&dir.path().join("missing.toml")), env(&[]), &Flags::default()).is_err());
        // Other TRADEWATCH_ variables (the replay's token, say) are not settings and are ignored.
        assert!(Settings::load(None, env(&[("TRADEWATCH_TOKEN", "tw_x")]), &Flags::default()).is_ok());
    }

    #[test]
    fn the_smtp_url_never_prints_and_recipients_split_on_commas() {
        let s = Settings::load(None, env(&[("TRADEWATCH_SMTP_URL", "smtps://fund:mail-secret-9@mail.example"), ("TRADEWATCH_REPORT_RECIPIENTS", "a@fund.example, b@fund.example,")]), &Flags::default()).expect("load");
        let shown = format!("{s:?}\n{}", s.to_toml());
        assert!(!shown.contains("mail-secret-9"), "{shown}");
        assert!(shown.contains("smtp_url = \"[redacted]\""), "{shown}");
        let config = s.into_config().expect("config");
        assert_eq!(config.report_recipients, ["a@fund.example", "b@fund.example"]);
        assert!(!format!("{config:?}").contains("mail-secret-9"));
    }

    #[test]
    fn the_alert_webhook_url_never_prints_and_alert_urls_must_be_http() {
        let s = Settings::load(None, env(&[("TRADEWATCH_ALERT_WEBHOOK_URL", "https://hooks.slack.example/services/T0/B0/webhook-secret-7"), ("TRADEWATCH_ALERTMANAGER_URL", "http://127.0.0.1:9093/"), ("TRADEWATCH_ALERT_RECIPIENTS", "risk@fund.example")]), &Flags::default()).expect("load");
        let shown = format!("{s:?}\n{}", s.to_toml());
        assert!(!shown.contains("webhook-secret-7"), "{shown}");
        assert!(shown.contains("alert_webhook_url = \"[redacted]\""), "{shown}");
        let config = s.into_config().expect("config");
        assert_eq!((config.alerting.alertmanager_url.as_deref(), config.alerting.recipients.len()), (Some("http://127.0.0.1:9093"), 1));
        assert_eq!(config.alerting.console_url, "http://127.0.0.1:3000");
        assert!(!format!("{config:?}").contains("webhook-secret-7"));
        let bad = Settings::load(None, env(&[("TRADEWATCH_ALERTMANAGER_URL", "ftp://am")]), &Flags::default()).and_then(Settings::into_config).expect_err("not http");
        assert!(bad.to_string().contains("alertmanager_url"), "{bad}");
    }

    #[test]
    fn fee_terms_are_fractions_below_one() {
        let fees = |pairs: &[(&str, &str)]| Settings::load(None, env(pairs), &Flags::default()).and_then(Settings::into_config).map(|c| c.fees);
        let default = fees(&[]).expect("defaults");
        assert_eq!((default.management, default.performance), (0.02, 0.2));
        let set = fees(&[("TRADEWATCH_MANAGEMENT_FEE", "0.015"), ("TRADEWATCH_PERFORMANCE_FEE", "0")]).expect("set");
        assert_eq!((set.management, set.performance), (0.015, 0.0));
        let e = fees(&[("TRADEWATCH_PERFORMANCE_FEE", "20")]).expect_err("20 is not a fraction").to_string();
        assert!(e.contains("performance_fee"), "{e}");
        assert!(fees(&[("TRADEWATCH_MANAGEMENT_FEE", "-0.01")]).is_err());
    }

    #[test]
    fn secrets_never_print() {
        let s = Settings::load(None, env(&[("DATABASE_URL", "postgres://fund:hunter2-secret@db/log")]), &Flags::default()).expect("load");
        assert!(s.database_url.is_some());
        let shown = format!("{s:?}\n{}", s.to_toml());
        assert!(!shown.contains("hunter2-secret"), "{shown}");
        assert!(shown.contains("[redacted]") || shown.contains("REDACTED"), "{shown}");
        let config = s.into_config().expect("a postgres URL is a store");
        assert!(!format!("{config:?}").contains("hunter2-secret"));
        let other = Settings::load(None, env(&[("DATABASE_URL", "mysql://fund:hunter2-secret@db/log")]), &Flags::default()).expect("load");
        let refused = other.into_config().expect_err("not a backend").to_string();
        assert!(!refused.contains("hunter2-secret") && refused.contains("mysql"), "{refused}");
    }
}
