//! Building and running the application: used by `tradewatch serve` and by the integration tests,
//! which start the real server on port 0 with a fresh database.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::Router;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list};
use rust_decimal::Decimal;
use tokio::net::TcpListener;
use axum::http::{HeaderName, HeaderValue, header};
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::{Expiry, SessionManagerLayer, cookie::SameSite};

use crate::AppState;
use crate::console::Console;
use crate::store::Store;

#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    /// Starting capital of the book, in USD (the base of equity and drawdown).
    pub capital: Decimal,
    /// Where cargo-leptos put the compiled site (`pkg/` with the WASM, JS and CSS).
    pub site_root: PathBuf,
    /// Mark the session cookie `Secure` (set when the console is served over TLS, e.g. behind
    /// a TLS-terminating proxy): `TRADEWATCH_SECURE_COOKIES=1`.
    pub secure_cookies: bool,
}

impl Config {
    pub fn new(addr: SocketAddr, data_dir: PathBuf) -> Self {
        let site_root = std::env::var_os("LEPTOS_SITE_ROOT").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("target/site"));
        let secure_cookies = std::env::var("TRADEWATCH_SECURE_COOKIES").is_ok_and(|v| v == "1" || v == "true");
        Self { addr, data_dir, capital: Decimal::from(1_000_000), site_root, secure_cookies }
    }
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    pub console: Arc<Console>,
}

impl Application {
    pub async fn build(config: Config) -> Result<Self> {
        let store = Store::open(&config.data_dir).await?;
        let console = Console::open(store, config.capital).await?;
        let listener = TcpListener::bind(config.addr).await.with_context(|| format!("binding {}", config.addr))?;
        let local = listener.local_addr()?;
        let leptos_options = LeptosOptions::builder()
            .output_name("tradewatch")
            .site_root(config.site_root.to_string_lossy().to_string())
            .site_pkg_dir("pkg")
            .site_addr(local)
            .build();
        let state = AppState { leptos_options: leptos_options.clone(), console: Arc::clone(&console) };
        let service: app::service::Console = console.clone();
        let auth: app::service::Auth = Arc::new(crate::auth::AuthProvider { store: console.store().clone(), console: Arc::clone(&console) });
        let sessions = crate::auth::SqliteSessions::new(console.store());
        {
            let sessions = sessions.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
                loop {
                    tick.tick().await;
                    if let Err(e) = sessions.delete_expired().await {
                        tracing::warn!(error = %e, "deleting expired sessions");
                    }
                }
            });
        }
        let session_layer = SessionManagerLayer::new(sessions)
            .with_name("tradewatch_session")
            .with_http_only(true)
            .with_same_site(SameSite::Strict)
            .with_secure(config.secure_cookies)
            .with_expiry(Expiry::OnInactivity(time::Duration::minutes(crate::auth::IDLE_TIMEOUT_MINUTES)));
        let routes = generate_route_list(app::App);
        let router = Router::new()
            .merge(crate::api::router())
            .leptos_routes_with_context(
                &state,
                routes,
                move || {
                    provide_context(service.clone());
                    provide_context(auth.clone());
                    leptos::nonce::provide_nonce();
                },
                {
                    let options = leptos_options.clone();
                    move || app::shell(options.clone())
                },
            )
            .fallback(leptos_axum::file_and_error_handler::<AppState, _>(app::shell))
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
            .layer(CompressionLayer::new())
            .layer(TraceLayer::new_for_http())
            .with_state(state);
        Ok(Self { listener, router, console })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    pub async fn run_until_stopped(self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> Result<()> {
        use axum::serve::ListenerExt;
        // TCP_NODELAY: pages are written in several chunks (streamed SSR); with Nagle on, each
        // small chunk after the first waited for the client's delayed ACK (~40 ms a page).
        let listener = self.listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "TCP_NODELAY on an accepted connection");
            }
        });
        axum::serve(listener, self.router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await
            .context("serving")
    }
}

fn header_if_absent(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}
