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
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;

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
}

impl Config {
    pub fn new(addr: SocketAddr, data_dir: PathBuf) -> Self {
        let site_root = std::env::var_os("LEPTOS_SITE_ROOT").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("target/site"));
        Self { addr, data_dir, capital: Decimal::from(1_000_000), site_root }
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
        let routes = generate_route_list(app::App);
        let router = Router::new()
            .merge(crate::api::router())
            .leptos_routes_with_context(
                &state,
                routes,
                move || provide_context(service.clone()),
                {
                    let options = leptos_options.clone();
                    move || app::shell(options.clone())
                },
            )
            .fallback(leptos_axum::file_and_error_handler::<AppState, _>(app::shell))
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
        axum::serve(self.listener, self.router).with_graceful_shutdown(shutdown).await.context("serving")
    }
}
