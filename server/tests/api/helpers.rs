use std::path::PathBuf;

use chrono::Utc;
use serde_json::{Value, json};
use server::startup::{Application, Config};
use server::store::Location;
use domain::governance::Role;

pub struct TestApp {
    pub base: String,
    /// The store this console runs on: SQLite in `data_dir`, or a fresh PostgreSQL database.
    pub location: Location,
    pub ingest_token: String,
    pub read_token: String,
    pub engine_token: String,
    pub data_dir: PathBuf,
    pub http: reqwest::Client,
    /// The running console (to hand it what a background job would, e.g. a backtest).
    pub console: std::sync::Arc<server::console::Console>,
    _dir: tempfile::TempDir,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

/// The PostgreSQL server the tests create their databases on: `TRADEWATCH_TEST_POSTGRES`, by
/// default the machine's `postgres://postgres@127.0.0.1:5432/test` (trust auth).
pub fn postgres_server() -> String {
    std::env::var("TRADEWATCH_TEST_POSTGRES").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// Whether this run's consoles are on PostgreSQL (`TRADEWATCH_TEST_BACKEND=postgres`) or on
/// SQLite (the default). `scripts/test.sh` runs the whole suite once each way.
pub fn on_postgres() -> bool {
    match std::env::var("TRADEWATCH_TEST_BACKEND").as_deref() {
        Ok("postgres") => true,
        Ok("sqlite") | Err(_) => false,
        Ok(other) => panic!("TRADEWATCH_TEST_BACKEND={other}: sqlite or postgres"),
    }
}

/// A fresh, empty PostgreSQL database on [`postgres_server`]; fails loudly when there is none.
pub async fn fresh_postgres() -> Location {
    use sqlx::Connection;
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let server = postgres_server();
    let name = format!("tw_test_{}_{}_{:08x}", std::process::id(), N.fetch_add(1, std::sync::atomic::Ordering::Relaxed), rand::random::<u32>());
    let mut admin = sqlx::PgConnection::connect(&server)
        .await
        .unwrap_or_else(|e| panic!("no PostgreSQL at TRADEWATCH_TEST_POSTGRES (default postgres://postgres@127.0.0.1:5432/test): {e}; scripts/test.sh starts it"));
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin).await.expect("create a test database");
    let base = server.rsplit_once('/').map(|(b, _)| b).expect("a URL with a database");
    Location::Postgres(format!("{base}/{name}").into())
}

/// A fresh, empty store for one test, on this run's backend.
pub async fn fresh_location(dir: &std::path::Path) -> Location {
    if on_postgres() { fresh_postgres().await } else { Location::Sqlite(dir.to_path_buf()) }
}

/// Direct access to the test's database, as someone holding the file or the database role
/// would have: for tests that tamper with stored rows.
pub enum RawDb {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl RawDb {
    pub async fn exec(&self, sql: &str) -> Result<u64, sqlx::Error> {
        let sql = sqlx::AssertSqlSafe(sql.to_string());
        match self {
            RawDb::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|r| r.rows_affected()),
            RawDb::Postgres(p) => sqlx::query(sql).execute(p).await.map(|r| r.rows_affected()),
        }
    }

    /// Turns off the append-only guard on `events` (what an attacker with the database would do
    /// first); the chain must still catch the edit.
    pub async fn drop_update_guard(&self) {
        match self {
            RawDb::Sqlite(_) => self.exec("DROP TRIGGER events_append_only_update").await,
            RawDb::Postgres(_) => self.exec("DROP TRIGGER events_append_only_update ON events").await,
        }
        .expect("drop the trigger");
    }

    /// (id, data) of every stored session.
    pub async fn sessions(&self) -> Vec<(String, String)> {
        let sql = "SELECT id, data FROM sessions";
        match self {
            RawDb::Sqlite(p) => sqlx::query_as(sql).fetch_all(p).await,
            RawDb::Postgres(p) => sqlx::query_as(sql).fetch_all(p).await,
        }
        .expect("sessions")
    }

    pub async fn set_session(&self, id: &str, data: &str, expiry_ms: i64) {
        let sql = "UPDATE sessions SET data = $1, expiry_ms = $2 WHERE id = $3";
        match self {
            RawDb::Sqlite(p) => sqlx::query(sql).bind(data).bind(expiry_ms).bind(id).execute(p).await.map(drop),
            RawDb::Postgres(p) => sqlx::query(sql).bind(data).bind(expiry_ms).bind(id).execute(p).await.map(drop),
        }
        .expect("update the session")
    }

    pub async fn scalar_i64(&self, sql: &str) -> i64 {
        let sql = sqlx::AssertSqlSafe(sql.to_string());
        match self {
            RawDb::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await,
            RawDb::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await,
        }
        .expect("scalar")
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, RawDb::Postgres(_))
    }

    pub async fn close(self) {
        match self {
            RawDb::Sqlite(p) => p.close().await,
            RawDb::Postgres(p) => p.close().await,
        }
    }
}

pub async fn raw_db(location: &Location) -> RawDb {
    use secrecy::ExposeSecret;
    match location {
        Location::Sqlite(dir) => {
            let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(dir.join("tradewatch.db")).busy_timeout(std::time::Duration::from_secs(10));
            RawDb::Sqlite(sqlx::SqlitePool::connect_with(opts).await.expect("open db"))
        }
        Location::Postgres(url) => RawDb::Postgres(sqlx::PgPool::connect(url.expose_secret()).await.expect("open db")),
    }
}

/// A console's config on `location` (port 0).
pub fn config_on(dir: &std::path::Path, location: &Location) -> Config {
    let mut config = Config::new("127.0.0.1:0".parse().expect("addr"), dir.to_path_buf());
    // Checkpoints are signed when a test runs the job (`checkpoints.rs`), not on a timer.
    config.checkpoint_every = 0;
    config.report_schedule = false;
    if let Location::Postgres(url) = location {
        config.database_url = Some(url.clone());
    }
    config
}

/// With `scripts/hang-dump.sh` (tokio's task dumps compiled in: `--cfg tokio_taskdump`), a test
/// still running 40 s after its console started writes every task of its runtime, each with the
/// `.await` it waits in, to `/tmp/taskdump-<test>.txt` (README, Known limits: the intermittent
/// hang). In the normal build this is nothing.
#[allow(unexpected_cfgs)]
fn dump_tasks_if_still_running() {
    #[cfg(tokio_taskdump)]
    {
        let handle = tokio::runtime::Handle::current();
        let path = format!("/tmp/taskdump-{}.txt", std::thread::current().name().unwrap_or("test").replace("::", "-"));
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_secs(40)).await;
            let out = match tokio::time::timeout(std::time::Duration::from_secs(20), handle.dump()).await {
                Ok(dump) => dump.tasks().iter().map(|t| format!("TASK {}:\n{}\n", t.id(), t.trace())).collect::<String>(),
                Err(_) => "the task dump did not finish in 20 s\n".to_string(),
            };
            let _ = std::fs::write(path, out);
        });
    }
}

pub async fn spawn() -> TestApp {
    spawn_with(|_| {}).await
}

/// A console whose settings `edit` changed first.
pub async fn spawn_with(edit: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let location = fresh_location(dir.path()).await;
    let mut config = config_on(dir.path(), &location);
    edit(&mut config);
    let app = Application::build(config).await.expect("build app");
    let store = app.console.store().clone();
    let ingest_token = store.create_token("test-ingest", &"ingest".parse().expect("scope"), Utc::now()).await.expect("token");
    let read_token = store.create_token("test-read", &"read".parse().expect("scope"), Utc::now()).await.expect("token");
    let engine_token = store.create_token("test-engine", &"engine".parse().expect("scope"), Utc::now()).await.expect("token");
    for role in Role::ALL {
        store.add_user(role.as_str(), role, &password(role), Utc::now()).await.expect("user");
    }
    let base = format!("http://127.0.0.1:{}", app.port());
    let console = app.console.clone();
    dump_tasks_if_still_running();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async move {
        let _ = rx.await;
    }));
    TestApp {
        base,
        location,
        ingest_token,
        read_token,
        engine_token,
        data_dir: dir.path().to_path_buf(),
        http: reqwest::Client::new(),
        console,
        _dir: dir,
        _shutdown: tx,
    }
}

impl TestApp {
    /// The log's store, opened beside the running console (a second pool on the same database).
    pub async fn store(&self) -> server::store::Store {
        server::store::Store::connect(&self.location).await.expect("open the store")
    }

    /// Direct access to the database (for tampering).
    pub async fn raw(&self) -> RawDb {
        raw_db(&self.location).await
    }

    /// Another console's config on the same store.
    pub fn config(&self) -> Config {
        config_on(&self.data_dir, &self.location)
    }

    /// The `tradewatch` CLI's arguments naming this store.
    pub fn store_args(&self) -> Vec<String> {
        use secrecy::ExposeSecret;
        match &self.location {
            Location::Sqlite(dir) => vec!["--data-dir".into(), dir.display().to_string()],
            Location::Postgres(url) => vec!["--database-url".into(), url.expose_secret().to_string()],
        }
    }

    pub async fn post_raw(&self, token: Option<&str>, body: impl Into<reqwest::Body>) -> (u16, Value) {
        let mut req = self.http.post(format!("{}/api/v1/events", self.base)).body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.expect("post");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, events: &[Value]) -> (u16, Value) {
        self.post_raw(Some(&self.ingest_token), serde_json::to_vec(events).expect("json")).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let res = self.http.get(format!("{}{path}", self.base)).bearer_auth(&self.read_token).send().await.expect("get");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn stored_events(&self) -> u64 {
        let (_, s) = self.get("/api/v1/summary").await;
        s["counts"]["events"].as_u64().expect("count")
    }
}

pub fn password(role: Role) -> String {
    format!("{}-password-123", role.as_str())
}

impl TestApp {
    /// Signs in through the login server function; returns the session cookie (`name=value`).
    pub async fn login(&self, role: Role) -> String {
        let res = self
            .http
            .post(format!("{}/api/login", self.base))
            .form(&[("username", role.as_str().to_string()), ("password", password(role))])
            .send()
            .await
            .expect("login");
        assert_eq!(res.status(), 200, "login as {role:?}");
        res.headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("tradewatch_session="))
            .and_then(|v| v.split(';').next())
            .expect("session cookie")
            .to_string()
    }

    /// Calls a server function (form-encoded body) with an optional session cookie.
    pub async fn call(&self, cookie: Option<&str>, name: &str, body: &str) -> (u16, String) {
        let mut req = self
            .http
            .post(format!("{}/api/{name}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_string());
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        let res = req.send().await.expect("server fn");
        (res.status().as_u16(), res.text().await.unwrap_or_default())
    }

    /// A GET with an optional session cookie; redirects are not followed.
    pub async fn page(&self, cookie: Option<&str>, path: &str) -> (u16, String, Option<String>) {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        let mut req = http.get(format!("{}{path}", self.base));
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        let res = req.send().await.expect("page");
        let location = res.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_string);
        (res.status().as_u16(), res.text().await.unwrap_or_default(), location)
    }

    pub async fn get_with(&self, token: &str, path: &str) -> (u16, Value) {
        let res = self.http.get(format!("{}{path}", self.base)).bearer_auth(token).send().await.expect("get");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }
}

pub fn ts(offset_ms: i64) -> String {
    (chrono::DateTime::parse_from_rfc3339("2024-10-24T14:32:15Z").expect("ts") + chrono::Duration::milliseconds(offset_ms))
        .with_timezone(&Utc)
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub fn snapshot(id: &str, instrument: &str, mid: &str, at: i64) -> Value {
    json!({"event_id": id, "kind": "market_snapshot", "ts": ts(at), "instrument": instrument,
        "bid": mid, "ask": mid, "mid": mid, "last": mid, "volume": "1000"})
}

pub fn signal(id: &str, signal_id: &str, at: i64) -> Value {
    json!({"event_id": id, "kind": "signal", "ts": ts(at), "signal_id": signal_id, "automation_id": "momentum-1",
        "instrument": "BTCUSDT", "intent": "entry", "signal_type": "momentum", "side": "buy", "strength": 0.7,
        "features": {"rsi_14": 61.2, "beta_mtum": 1.1}, "model_version": "v3", "prediction": 0.012, "confidence": 0.8,
        "stop_loss": "66000", "take_profit": "70000"})
}

pub fn risk(id: &str, signal_id: &str, at: i64) -> Value {
    json!({"event_id": id, "kind": "risk_check", "ts": ts(at), "signal_id": signal_id,
        "checks": [{"name": "position_limit", "status": "pass", "value": 0.04, "limit": 0.1}],
        "decision": "approve", "risk_score": 0.4})
}

pub fn order(id: &str, order_id: &str, signal_id: &str, side: &str, qty: &str, status: &str, at: i64) -> Value {
    json!({"event_id": id, "kind": "order", "ts": ts(at), "order_id": order_id, "signal_id": signal_id,
        "instrument": "BTCUSDT", "side": side, "quantity": qty, "order_type": "market", "status": status})
}

pub fn fill(id: &str, order_id: &str, qty: &str, price: &str, fee: &str, at: i64) -> Value {
    json!({"event_id": id, "kind": "fill", "ts": ts(at), "fill_id": format!("f-{id}"), "order_id": order_id,
        "quantity": qty, "price": price, "fee": fee, "fee_currency": "USDT", "liquidity": "taker"})
}

/// A complete round trip: buy 0.1 at 67,500.25, mark 68,000, sell 0.1 at 68,100.75.
pub fn round_trip() -> Vec<Value> {
    vec![
        snapshot("e1", "BTCUSDT", "67500", 0),
        signal("e2", "sig-1", 10),
        risk("e3", "sig-1", 12),
        order("e4", "ord-1", "sig-1", "buy", "0.1", "submitted", 40),
        fill("e5", "ord-1", "0.1", "67500.25", "0.0675", 90),
        order("e6", "ord-1", "sig-1", "buy", "0.1", "filled", 91),
        snapshot("e7", "BTCUSDT", "68000", 60_000),
    ]
}

/// A TOTP code for `username` at `offset_secs` from now (one step of skew is accepted, so +30 s
/// gives a code newer than one used a moment ago).
pub fn totp_code(secret: &str, username: &str, offset_secs: i64) -> String {
    totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(secret).expect("base32"))
        .with_account_name(username.to_string())
        .with_issuer(Some("Tradewatch"))
        .build()
        .expect("totp")
        .generate((chrono::Utc::now().timestamp() + offset_secs) as u64)
        .to_string()
}

