//! The `tradewatch` command line.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use chrono::{NaiveDate, Utc};
use clap::{Parser, Subcommand};
use engine::{Dataset, ReplayConfig, Speed};
use rust_decimal::Decimal;

use crate::config::{Flags, Settings};
use crate::startup::Application;
use crate::store::{Location, Scopes, Store};
use domain::governance::Role;

/// Seconds into `serve --demo` at which the replay injects a latency spike (and a slippage
/// spike 20 s later) for the alerts to catch.
pub const DEMO_INJECT_AFTER_SECS: u64 = 120;

#[derive(Parser, Debug)]
#[command(name = "tradewatch", version, about = "Monitoring, analytics and governance console for systematic trading")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the console (web UI and API). Settings come from the built-in defaults, then the
    /// file (`--config` or `TRADEWATCH_CONFIG`), then `TRADEWATCH_<KEY>` variables, then these
    /// flags (see `tradewatch config`).
    Serve {
        /// A TOML file of settings (keys: addr, data_dir, capital, site_root, secure_cookies,
        /// max_connections, trusted_proxies).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Address to listen on [default: 127.0.0.1:3000].
        #[arg(long)]
        addr: Option<SocketAddr>,
        /// Directory of the SQLite database [default: ./tradewatch-data].
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Starting capital in USD (base of equity, returns and drawdown) [default: 1000000].
        #[arg(long)]
        capital: Option<Decimal>,
        /// Also run the paper engine on the bundled real data, as a child process.
        #[arg(long)]
        demo: bool,
        /// Replay pace for --demo: seconds per market day (`2.5s/day`: the bundled 2017-2022 data
        /// lasts about an hour), bars per second (`20`), or `max`.
        #[arg(long, default_value = "2.5s/day")]
        demo_speed: Speed,
        /// Where the bundled market data is (the --demo replay and the investor portal's backtest).
        #[arg(long, default_value = "data")]
        market_data: PathBuf,
    },
    /// Replay real market data through the paper engine into a console, over its HTTP API.
    Replay {
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        console: String,
        /// An API token with the `ingest` scope.
        #[arg(long, env = "TRADEWATCH_TOKEN", hide_env_values = true)]
        token: String,
        /// Bars (time steps) per second (`20`), seconds per market day (`2.5s/day`), or `max`.
        #[arg(long, default_value = "20")]
        speed: Speed,
        /// sp500 (20 stocks, daily), eurusd (hourly) or all.
        #[arg(long, default_value = "all")]
        dataset: Dataset,
        #[arg(long, default_value = "data")]
        market_data: PathBuf,
        #[arg(long)]
        from: Option<NaiveDate>,
        #[arg(long)]
        to: Option<NaiveDate>,
        #[arg(long, default_value = "42")]
        seed: u64,
        /// Prefix of every id this run sends; random when absent.
        #[arg(long)]
        run_id: Option<String>,
        #[arg(long, default_value = "1000000")]
        capital: Decimal,
        /// Days of data before --from that only warm the strategies' indicators up (nothing is
        /// sent for them), so the first sent bars can already trade.
        #[arg(long, default_value = "120")]
        warm_up_days: u32,
        /// Demo: inject a latency spike this many seconds after the start, and a slippage spike
        /// 20 s later, for the console's alerts to catch (`serve --demo` passes 120).
        #[arg(long)]
        inject_anomalies_after: Option<u64>,
    },
    /// Measure the alerts on the bundled data: a clean replay and one with injected anomalies
    /// through a fresh in-process console; prints recall, false alerts and detection latency.
    AlertQuality {
        #[arg(long, default_value = "data")]
        market_data: PathBuf,
        #[arg(long, default_value = "2017-04-19")]
        from: NaiveDate,
        #[arg(long, default_value = "2022-12-28")]
        to: NaiveDate,
        /// Detectors that must agree (1-3; default: the config's default).
        #[arg(long)]
        votes: Option<u32>,
    },
    /// Print the settings `serve` would run with (every layer applied; secrets redacted).
    Config {
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Verify the audit chain offline; exits 1 on a broken link. With `--checkpoint`, also
    /// checks the log against a saved signed checkpoint (`GET /api/v1/checkpoints/latest`): a
    /// removed or rewritten event fails it even where the chain still links.
    Verify {
        #[command(flatten)]
        db: Db,
        /// A checkpoint saved as JSON.
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// The console's public key (64 hex digits) as published: the checkpoint must be signed
        /// by it (without it, the key named in the file is used and printed).
        #[arg(long, requires = "checkpoint")]
        key: Option<String>,
    },
    /// Work on a store as a whole.
    Store {
        #[command(subcommand)]
        command: StoreCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Manage console accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

/// Which store a command works on: the SQLite file in `--data-dir`, unless `--database-url`
/// (or `DATABASE_URL`) names another.
#[derive(clap::Args, Debug)]
pub struct Db {
    #[arg(long, default_value = "./tradewatch-data")]
    data_dir: PathBuf,
    /// `postgres://USER@HOST:PORT/DB` (or `sqlite://PATH`); never printed.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

impl Db {
    fn location(&self) -> Location {
        Location::of(&self.data_dir, self.database_url.as_deref())
    }

    async fn open(&self) -> Result<Store> {
        Store::connect(&self.location()).await
    }
}

#[derive(Subcommand, Debug)]
pub enum StoreCommand {
    /// Copy a store to another (e.g. SQLite to PostgreSQL): the event log, every row as stored,
    /// into an empty store, verified where it arrives, with the accounts (password hashes, second
    /// factors, recovery codes) and API tokens. Sessions and sign-in attempts are not copied.
    Copy {
        /// `sqlite://DIR` (or a `.db` file), `postgres://...`, or a data directory.
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Add an account. The password is read from stdin (one line) or prompted for on a terminal;
    /// at least 12 characters. The first admin is created this way.
    Add {
        #[command(flatten)]
        db: Db,
        #[arg(long)]
        username: String,
        /// admin, trader, risk, auditor or investor.
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("unknown role '{s}': admin, trader, risk, auditor or investor"))
}

fn read_password() -> Result<String> {
    use std::io::{BufRead, IsTerminal, Write};
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("password (min 12 characters, shown as you type): ");
        let _ = std::io::stderr().flush();
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line).context("reading the password from stdin")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create a token; its secret is printed once, as the last line of stdout.
    Create {
        #[command(flatten)]
        db: Db,
        #[arg(long)]
        name: String,
        /// Comma-separated: ingest (post events), engine (read decisions, config, automation
        /// status), read (the read-only API).
        #[arg(long)]
        scope: Scopes,
    },
    /// List tokens: id, name, scopes, created, revoked (never the secrets).
    List {
        #[command(flatten)]
        db: Db,
    },
    /// Revoke a token by id (see `token list`); requests with it get 401 at once.
    Revoke {
        #[command(flatten)]
        db: Db,
        #[arg(long)]
        id: i64,
    },
}

pub fn main() -> ExitCode {
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn,tower_http=warn".into());
    // typst's SVG reader warns about every zero-height bar of a chart it embeds in a PDF.
    if let Ok(quiet) = "usvg=error".parse() {
        filter = filter.add_directive(quiet);
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn default_market_data(dir: PathBuf) -> PathBuf {
    if dir.join("sp500_dataset.csv.gz").exists() {
        return dir;
    }
    // Running from elsewhere than the repository root: fall back to the bundled copy.
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data")
}

async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::AlertQuality { market_data, from, to, votes } => {
            print!("{}", crate::quality::report(default_market_data(market_data), from, to, votes).await?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Config { config } => {
            print!("{}", Settings::from_process(config, &Flags::default())?.to_toml());
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve { config, addr, data_dir, capital, demo, demo_speed, market_data } => {
            let flags = Flags { addr, data_dir, capital: capital.map(|c| c.to_string()) };
            let mut config = Settings::from_process(config, &flags)?.into_config()?;
            let market_data = default_market_data(market_data);
            // The investor portal's backtest replays the bundled data when it is there (setting
            // `backtest`).
            config.market_data = market_data.join("sp500_dataset.csv.gz").exists().then(|| market_data.clone());
            let app = Application::build(config).await?;
            let local = app.local_addr().context("no local address")?;
            let mut child = None;
            if demo {
                let store = app.console.store().clone();
                let stamp = Utc::now().format("%Y%m%dT%H%M%S%.3f");
                let ingest = store.create_token(&format!("demo-engine-{stamp}"), &"ingest,engine".parse().map_err(anyhow::Error::msg)?, Utc::now()).await?;
                let read = store.create_token(&format!("demo-read-{stamp}"), &"read".parse().map_err(anyhow::Error::msg)?, Utc::now()).await?;
                println!("read-only API token (shown once): {read}");
                if store.user_count().await? == 0 {
                    println!("demo accounts (shown once; created because the database had none):");
                    for role in Role::ALL {
                        let password = format!("{}-{:012x}", role.as_str(), rand::random::<u64>() & 0xffff_ffff_ffff);
                        store.add_user(role.as_str(), role, &password, Utc::now()).await?;
                        println!("  {:<9} username {:<9} password {password}", role.as_str(), role.as_str());
                    }
                }
                if app.console.current_config().0 == 0 {
                    app.console.demo_config().await?;
                }
                let exe = std::env::current_exe().context("locating the tradewatch binary")?;
                let speed = demo_speed.to_string();
                child = Some(
                    tokio::process::Command::new(exe)
                        .arg("replay")
                        .arg("--console")
                        .arg(format!("http://{local}"))
                        .arg("--speed")
                        .arg(speed)
                        .arg("--market-data")
                        .arg(&market_data)
                        .arg("--inject-anomalies-after")
                        .arg(DEMO_INJECT_AFTER_SECS.to_string())
                        .env("TRADEWATCH_TOKEN", ingest)
                        .kill_on_drop(true)
                        .spawn()
                        .context("starting the replay engine")?,
                );
            }
            // A plain line on stdout, for scripts (and the end-to-end tests) started on port 0.
            println!("Tradewatch listening on http://{local}");
            tracing::info!(%local, "tradewatch listening");
            let served = app.run_until_stopped(shutdown_signal()).await;
            drop(child);
            served?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Replay { console, token, speed, dataset, market_data, from, to, seed, run_id, capital, warm_up_days, inject_anomalies_after } => {
            let run_id = run_id.unwrap_or_else(|| format!("{:06x}", rand::random::<u32>() & 0xff_ffff));
            let cfg = ReplayConfig {
                console,
                token,
                speed,
                dataset,
                data_dir: default_market_data(market_data),
                from: from.or(NaiveDate::from_ymd_opt(2017, 4, 19)),
                to,
                seed,
                run_id,
                capital,
                max_steps: None,
                warm_up_days,
                inject_after: inject_anomalies_after.map(std::time::Duration::from_secs),
            };
            let stats = engine::run(cfg).await?;
            println!("replay finished: {} steps, {} events, {} signals, {} orders, {} fills", stats.steps, stats.events, stats.signals, stats.orders, stats.fills);
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify { db, checkpoint, key } => {
            if let Location::Sqlite(path) = db.location() {
                let file = if path.extension().is_some_and(|e| e == "db") { path } else { path.join("tradewatch.db") };
                if !file.exists() {
                    anyhow::bail!("no database at {}", file.display());
                }
            }
            let saved = match &checkpoint {
                Some(path) => {
                    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                    let cp: domain::merkle::Checkpoint = serde_json::from_str(&text).with_context(|| format!("{} is not a checkpoint (JSON from /api/v1/checkpoints/latest)", path.display()))?;
                    Some(cp)
                }
                None => None,
            };
            let store = db.open().await?;
            let report = store.verify().await?;
            let Some(cp) = saved else {
                println!("{}", serde_json::to_string_pretty(&report)?);
                return Ok(if report.ok { ExitCode::SUCCESS } else { ExitCode::from(1) });
            };
            let check = crate::checkpoints::verify_offline(&store, &cp, key.as_deref()).await?;
            println!("{}", serde_json::to_string_pretty(&serde_json::json!({"chain": report, "checkpoint": check, "signed_by": cp.public_key}))?);
            if let Some(problem) = &check.problem {
                eprintln!("checkpoint check failed: {problem}");
            }
            Ok(if report.ok && check.ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        Command::Token { command: TokenCommand::Create { db, name, scope } } => {
            let store = db.open().await?;
            let token = store.create_token(&name, &scope, Utc::now()).await?;
            println!("created {} token '{name}'; it is shown only now:", scope.as_string());
            println!("{token}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Token { command: TokenCommand::List { db } } => {
            let store = db.open().await?;
            println!("{:>4}  {:<32} {:<20} {:<20} revoked", "id", "name", "scopes", "created (UTC)");
            for t in store.tokens().await? {
                let fmt = |d: chrono::DateTime<Utc>| d.format("%Y-%m-%d %H:%M:%S").to_string();
                println!("{:>4}  {:<32} {:<20} {:<20} {}", t.id, t.name, t.scopes, fmt(t.created_at), t.revoked_at.map(fmt).unwrap_or_else(|| "-".into()));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Token { command: TokenCommand::Revoke { db, id } } => {
            let store = db.open().await?;
            match store.revoke_token(id, Utc::now()).await? {
                Some(name) => {
                    println!("revoked token {id} '{name}'");
                    Ok(ExitCode::SUCCESS)
                }
                None => {
                    eprintln!("no live token with id {id}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::User { command: UserCommand::Add { db, username, role } } => {
            let store = db.open().await?;
            let password = read_password()?;
            store.add_user(&username, role, &password, Utc::now()).await?;
            println!("added {} '{username}'", role.as_str());
            Ok(ExitCode::SUCCESS)
        }
        Command::Store { command: StoreCommand::Copy { from, to } } => {
            let (from, to) = (Location::parse(&from), Location::parse(&to));
            let source = Store::connect(&from).await.with_context(|| format!("opening the source ({})", from.describe()))?;
            let target = Store::connect(&to).await.with_context(|| format!("opening the destination ({})", to.describe()))?;
            let started = std::time::Instant::now();
            let copied = crate::store::copy::copy_log(&source, &target, |n, of| eprint!("\rcopied {n} of {of} events")).await?;
            eprintln!();
            println!(
                "copied {} events, {} accounts and {} API tokens from {} to {} in {:.1} s; the chain verifies there: head seq {}, hash {}",
                copied.events,
                copied.users,
                copied.tokens,
                from.describe(),
                to.describe(),
                started.elapsed().as_secs_f64(),
                copied.head_seq,
                domain::chain::to_hex(&copied.head_hash)
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
