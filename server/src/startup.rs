//! Building and running the application: used by `tradewatch serve` and by the integration tests,
//! which start the real server on port 0 with a fresh database.
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::Router;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tokio::net::TcpListener;
use axum::http::{HeaderName, HeaderValue, header};
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::{Expiry, SessionManagerLayer, cookie::SameSite};

pub use crate::config::Config;
use crate::AppState;
use crate::console::Console;
use crate::store::Store;

/// Server functions that answer with a file: a browser's plain form post to one of them
/// accepts `text/html`, which leptos_axum answers with a redirect back to the page; asking for
/// any type makes it answer with the file.
const DOWNLOAD_FNS: [&str; 3] = ["/api/compliance_report", "/api/download_report", "/api/export_data"];

async fn download_accepts_any(mut req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    if DOWNLOAD_FNS.contains(&req.uri().path()) {
        req.headers_mut().insert(header::ACCEPT, HeaderValue::from_static("*/*"));
    }
    next.run(req).await
}

/// A server function called with arguments it cannot read (a missing or malformed field) is
/// the caller's mistake: leptos_axum answers 500, this makes it 400. The body stays the error
/// the client decodes (`{"Transport": "missing argument limit"}`: it names the field, and holds
/// nothing of the server's). Any other failure keeps its status.
async fn bad_arguments_are_400(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let server_fn = req.uri().path().starts_with("/api/") && !req.uri().path().starts_with("/api/v1/");
    let res = next.run(req).await;
    if !server_fn || res.status() != axum::http::StatusCode::INTERNAL_SERVER_ERROR {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return axum::response::IntoResponse::into_response(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    };
    let caller = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.get("Transport").and_then(|t| t.as_str()).map(|t| t.starts_with("error deserializing server function arguments") || t.starts_with("missing argument")))
        .unwrap_or(false);
    if caller {
        parts.status = axum::http::StatusCode::BAD_REQUEST;
    }
    axum::response::Response::from_parts(parts, axum::body::Body::from(bytes))
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    max_connections: usize,
    /// Write a fold snapshot once the server has stopped (setting `snapshot_every` > 0).
    snapshot_at_exit: bool,
    pub console: Arc<Console>,
}

impl Application {
    pub async fn build(config: Config) -> Result<Self> {
        let location = crate::store::Location::of(&config.data_dir, config.database_url.as_ref().map(|u| secrecy::ExposeSecret::expose_secret(u)));
        let store = Store::connect(&location).await.with_context(|| format!("opening the store ({})", location.describe()))?;
        tracing::info!(store = %location.describe(), "store open");
        let console = Console::open(store, config.capital).await?;
        console.set_fee_schedule(config.fees);
        if let Some(url) = &config.smtp_url {
            anyhow::ensure!(
                !config.report_recipients.is_empty() || !config.alerting.recipients.is_empty(),
                "report_recipients or alert_recipients: at least one address when smtp_url is set"
            );
            if !config.report_recipients.is_empty() {
                console.set_mailer(crate::mail::Mailer::new(url, &config.smtp_from, &config.report_recipients)?);
            }
        }
        let alert_mailer = match &config.smtp_url {
            Some(url) if !config.alerting.recipients.is_empty() => Some(crate::mail::Mailer::for_list(url, &config.smtp_from, &config.alerting.recipients, "alert_recipients")?),
            _ => None,
        };
        tracing::info!(receivers = %crate::jobs::alerts::describe(&config.alerting, alert_mailer.is_some()), "alert delivery");
        let delivery = crate::jobs::AlertDelivery::new(Arc::clone(&console), config.alerting.clone(), alert_mailer)?;
        delivery.spawn(std::time::Duration::from_secs(1));
        if let Some(dir) = config.market_data.as_ref().filter(|_| config.backtest) {
            crate::jobs::Backtest { console: Arc::clone(&console), market_data: dir.clone(), capital: config.capital }.spawn();
        }
        // Timeouts and heartbeats need a clock, not an event: evaluated every second.
        crate::jobs::Rules { console: Arc::clone(&console) }.spawn(std::time::Duration::from_secs(1));
        crate::jobs::Snapshots::new(Arc::clone(&console), config.snapshot_every, crate::jobs::snapshots::MIN_GAP).spawn(std::time::Duration::from_secs(5));
        let checkpoints = console.enable_checkpoints(crate::checkpoints::load_key(&config.data_dir)?);
        if config.report_schedule {
            crate::jobs::ReportSchedule { console: Arc::clone(&console) }.spawn(std::time::Duration::from_secs(10));
        }
        if config.checkpoint_every > 0 {
            crate::jobs::CheckpointJob { console: Arc::clone(&console), checkpoints, every: config.checkpoint_every, max_age: crate::jobs::checkpoints::MAX_AGE }
                .spawn(std::time::Duration::from_secs(5));
        }
        let listener = TcpListener::bind(config.addr).await.with_context(|| format!("binding {}", config.addr))?;
        let local = listener.local_addr()?;
        let leptos_options = LeptosOptions::builder()
            .output_name("tradewatch")
            .site_root(config.site_root.to_string_lossy().to_string())
            .site_pkg_dir("pkg")
            .site_addr(local)
            .hash_files(app::asset_hashes().is_some())
            .build();
        let missing = missing_bundle_files(&config.site_root, app::asset_hashes());
        if !missing.is_empty() {
            let files: Vec<String> = missing.iter().map(|p| p.display().to_string()).collect();
            tracing::warn!(
                missing = %files.join(", "),
                "the browser bundle this binary's pages name is not in the site root: pages will have no style and no buttons that work; \
                 build it for this binary's profile with `bash scripts/build-site.sh` (`--release` for a release binary), or set LEPTOS_SITE_ROOT"
            );
        }
        let metrics = crate::metrics::Metrics::new()?;
        console.set_route_window(metrics.clone());
        let state = AppState { leptos_options: leptos_options.clone(), console: Arc::clone(&console), fragments: Arc::default(), metrics };
        let service: app::service::Console = console.clone();
        let auth: app::service::Auth = Arc::new(crate::auth::AuthProvider { store: console.store().clone(), console: Arc::clone(&console) });
        let sessions = crate::auth::Sessions::new(console.store());
        crate::jobs::Housekeeping { sessions: sessions.clone(), store: console.store().clone() }.spawn(std::time::Duration::from_secs(600));
        let session_layer = SessionManagerLayer::new(sessions)
            .with_name("tradewatch_session")
            .with_http_only(true)
            .with_same_site(SameSite::Strict)
            .with_secure(config.secure_cookies)
            .with_expiry(Expiry::OnInactivity(time::Duration::minutes(crate::auth::IDLE_TIMEOUT_MINUTES)));
        let trusted = app::service::TrustedProxies(Arc::new(config.trusted_proxies.clone()));
        let routes = generate_route_list(app::App);
        // The browser bundle: gzip copies served to clients that accept them; hashed names may
        // be cached for a year (a new build has new names), unhashed ones are revalidated.
        let pkg_cache = if app::asset_hashes().is_some() { "public, max-age=31536000, immutable" } else { "no-cache" };
        let pkg = Router::new().fallback_service(tower_http::services::ServeDir::new(config.site_root.join("pkg")).precompressed_gzip()).layer(
            axum::middleware::map_response(move |mut res: axum::response::Response| async move {
                // Only a file that exists may be kept: a 404 is asked again.
                if res.status().is_success() || res.status() == axum::http::StatusCode::NOT_MODIFIED {
                    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(pkg_cache));
                }
                res
            }),
        );
        let router = Router::new()
            .nest_service("/pkg", pkg)
            .merge(crate::http::router())
            .leptos_routes_with_context(
                &state,
                routes,
                move || {
                    provide_context(service.clone());
                    provide_context(auth.clone());
                    provide_context(trusted.clone());
                    leptos::nonce::provide_nonce();
                },
                {
                    let options = leptos_options.clone();
                    move || app::shell(options.clone())
                },
            )
            .fallback(leptos_axum::file_and_error_handler::<AppState, _>(app::shell))
            .route_layer(axum::middleware::from_fn_with_state(state.clone(), crate::metrics::track))
            .layer(axum::middleware::from_fn(download_accepts_any))
            .layer(axum::middleware::from_fn(bad_arguments_are_400))
            .layer(axum::middleware::from_fn(crate::auth::guard_pages))
            .layer(axum::middleware::from_fn_with_state(state.clone(), crate::auth::resolve_user))
            .layer(session_layer)
            .layer(axum::middleware::from_fn(crate::auth::same_origin))
            // Security headers on every response. HTML pages set their own CSP with a
            // per-response nonce for Leptos' hydration script (`app::shell`); everything else
            // gets a deny-all policy.
            .layer(header_if_absent(header::CONTENT_SECURITY_POLICY, "default-src 'none'; frame-ancestors 'none'"))
            .layer(header_if_absent(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .layer(header_if_absent(header::X_FRAME_OPTIONS, "DENY"))
            .layer(header_if_absent(header::REFERRER_POLICY, "no-referrer"))
            .layer(header_if_absent(HeaderName::from_static("permissions-policy"), "camera=(), microphone=(), geolocation=()"))
            // HSTS where the console is served over TLS (secure cookies on): a browser that has
            // seen it never talks plain HTTP to this host again.
            .layer(axum::middleware::from_fn({
                let hsts = config.secure_cookies;
                move |req: axum::extract::Request, next: axum::middleware::Next| async move {
                    let mut res = next.run(req).await;
                    if hsts {
                        res.headers_mut().insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
                    }
                    res
                }
            }))
            // A client that sends a request body slower than this is cut off.
            .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(std::time::Duration::from_secs(30)))
            .layer(CompressionLayer::new())
            .layer(TraceLayer::new_for_http())
            .with_state(state);
        Ok(Self { listener, router, console, max_connections: config.max_connections.max(1), snapshot_at_exit: config.snapshot_every > 0 })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Serves until `shutdown` resolves, then lets open requests finish. Each connection: TCP_NODELAY
    /// (pages are written in several chunks; with Nagle on each waited ~40 ms for the client's
    /// delayed ACK), request headers within [`HEADER_READ_TIMEOUT`] (a client that trickles
    /// them is cut off), and at most `max_connections` open at once (further clients wait in
    /// the kernel's accept queue).
    pub async fn run_until_stopped(self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> Result<()> {
        use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
        use hyper_util::server::conn::auto::Builder;
        use tower::ServiceExt;
        let slots = Arc::new(tokio::sync::Semaphore::new(self.max_connections));
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let permit = tokio::select! {
                p = Arc::clone(&slots).acquire_owned() => p.context("connection slots")?,
                () = &mut shutdown => break,
            };
            let (tcp, peer) = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and the like: wait a moment, keep serving.
                        tracing::warn!(error = %e, "accept");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "TCP_NODELAY on an accepted connection");
            }
            let router = self.router.clone();
            let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
                router.clone().oneshot(req.map(axum::body::Body::new))
            });
            let mut builder = Builder::new(TokioExecutor::new());
            builder.http1().timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT);
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(tcp), service).into_owned();
            let conn = graceful.watch(conn);
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(error = %e, "connection");
                }
                drop(permit);
            });
        }
        tracing::info!("no new connections; waiting for open requests");
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(std::time::Duration::from_secs(10)) => tracing::warn!("open connections did not finish in 10 s"),
        }
        // The next start folds only what arrives after this.
        if self.snapshot_at_exit
            && let Err(e) = self.console.write_snapshot(chrono::Utc::now()).await
        {
            tracing::warn!(error = %e, "fold snapshot at shutdown failed; the next start folds more of the log");
        }
        Ok(())
    }
}

/// How long a client may take to send a request's headers.
pub const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The browser bundle's files (script, WASM, stylesheet) that this binary's pages name and
/// `site_root/pkg` does not hold. The names carry the hashes of the `hash.txt` beside the binary
/// (`scripts/build-site.sh` writes one per profile), or are Leptos' unhashed names without one: a
/// release binary beside a debug-only site build finds no bundle of its own.
fn missing_bundle_files(site_root: &std::path::Path, hashes: Option<&std::collections::HashMap<String, String>>) -> Vec<std::path::PathBuf> {
    let names: Vec<String> = match hashes {
        Some(h) => ["js", "wasm", "css"].iter().map(|kind| format!("tradewatch.{}.{kind}", h.get(*kind).map_or("(no hash)", String::as_str))).collect(),
        None => vec!["tradewatch.js".into(), "tradewatch_bg.wasm".into(), "tradewatch.css".into()],
    };
    names.into_iter().map(|n| site_root.join("pkg").join(n)).filter(|p| !p.is_file()).collect()
}

fn header_if_absent(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::missing_bundle_files;

    fn site(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        std::fs::create_dir_all(dir.path().join("pkg")).unwrap_or_else(|e| panic!("pkg: {e}"));
        for f in files {
            std::fs::write(dir.path().join("pkg").join(f), b"x").unwrap_or_else(|e| panic!("{f}: {e}"));
        }
        dir
    }

    fn hashes() -> HashMap<String, String> {
        [("js", "aa11"), ("wasm", "bb22"), ("css", "cc33")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn names(missing: Vec<std::path::PathBuf>) -> Vec<String> {
        missing.iter().filter_map(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn a_complete_hashed_bundle_is_not_reported() {
        let dir = site(&["tradewatch.aa11.js", "tradewatch.bb22.wasm", "tradewatch.cc33.css"]);
        assert!(missing_bundle_files(dir.path(), Some(&hashes())).is_empty());
    }

    #[test]
    fn a_binary_without_hashes_beside_a_hashed_bundle_finds_none_of_its_files() {
        // A release binary (no target/release/hash.txt) with only the debug site built.
        let dir = site(&["tradewatch.aa11.js", "tradewatch.bb22.wasm", "tradewatch.cc33.css"]);
        assert_eq!(names(missing_bundle_files(dir.path(), None)), ["tradewatch.js", "tradewatch_bg.wasm", "tradewatch.css"]);
        let unhashed = site(&["tradewatch.js", "tradewatch_bg.wasm", "tradewatch.css"]);
        assert!(missing_bundle_files(unhashed.path(), None).is_empty());
    }

    #[test]
    fn each_missing_or_stale_file_is_named() {
        // The stylesheet of another build, and no site at all.
        let dir = site(&["tradewatch.aa11.js", "tradewatch.bb22.wasm", "tradewatch.ffff.css"]);
        assert_eq!(names(missing_bundle_files(dir.path(), Some(&hashes()))), ["tradewatch.cc33.css"]);
        let empty = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        assert_eq!(missing_bundle_files(empty.path(), Some(&hashes())).len(), 3);
    }
}
