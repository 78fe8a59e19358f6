//! Frontdesk: a self-hosted support-desk server that speaks several helpdesk API contracts over one
//! data model. See `docs/architecture.md` for the map.

pub mod app;
pub mod config;
pub mod contracts;
pub mod domain;
pub mod http;
pub mod store;
pub mod web;

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::app::App;
use crate::http::AppState;
pub use crate::http::ServerOptions;
use crate::store::{PostgresStore, SqliteStore, Store};

pub use crate::store::postgres::PostgresOptions;

/// Opens the database a URL names (`sqlite://…` or `postgres://…`), migrating it when asked.
pub async fn open_store(url: &str, pg: &PostgresOptions) -> Result<Arc<dyn Store>, sqlx::Error> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::open(url, pg).await?))
    } else if url.starts_with("sqlite:") {
        let readers = std::thread::available_parallelism().map_or(4, |n| n.get() as u32 * 2);
        Ok(Arc::new(SqliteStore::open(url, readers).await?))
    } else {
        Err(sqlx::Error::Configuration("the database URL must start with sqlite: or postgres://".into()))
    }
}

/// Serves every contract on `listener` until `shutdown` completes. Tests bind port 0 and call this.
pub async fn serve(
    listener: TcpListener,
    app: App,
    options: ServerOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let state = AppState::new(app, &options, &contracts::openapi_document());
    // The settings page is HTML for people, not an API contract, so it is not in `contracts::routes()`.
    let router = http::shell(contracts::router(&options).merge(web::router()), state);
    let router = http::transport::bounded(router, &options.limits);
    http::transport::serve(listener, router, &options.limits, shutdown).await
}
