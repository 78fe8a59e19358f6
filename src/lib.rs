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

use axum::response::IntoResponse;
use tokio::net::TcpListener;

use crate::app::App;
pub use crate::http::ServerOptions;
use crate::http::{AppState, ErrorResponse};
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
    // Every node runs a webhook worker; claims keep them from delivering the same event at once.
    let (stop_worker, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(app::run_webhook_worker(app.clone(), options.webhooks.clone(), stopped.clone()));
    let mut purge_options = options.purge.clone();
    if let Some(ttl) = options.idempotency_key_ttl {
        purge_options.idempotency_key_ttl = ttl;
    }
    let purge = tokio::spawn(app::run_purge(app.clone(), purge_options, stopped.clone()));
    let retention = tokio::spawn(app::run_event_retention(app.clone(), options.event_retention.clone(), stopped));
    let state = AppState::new(app, &options, &contracts::openapi_document());
    // The settings page is HTML for people, not an API contract, so it is not in `contracts::routes()`.
    let router = http::shell(contracts::router(&options).merge(web::router()), state, CONTRACT_ERROR_RESPONSES);
    let router = http::transport::bounded(router, &options.limits);
    let served = http::transport::serve(listener, router, &options.limits, shutdown).await;
    // An attempt cut short here is retried by the next node to start, once its lease runs out.
    let _ = stop_worker.send(true);
    let _ = worker.await;
    let _ = purge.await;
    let _ = retention.await;
    served
}

/// Each contract's envelope, by the path prefix its routes share, for what the shell answers itself:
/// a handler that panicked, a refused idempotency key (the longest matching prefix wins:
/// `/api/v1/suser` is seed 003's, the rest of `/api/v1/` seed 001's).
const CONTRACT_ERROR_RESPONSES: &[(&str, ErrorResponse)] = &[
    ("/api/v1/", |_, e| contracts::workspace_api::error::ApiError(e).into_response()),
    ("/support/tickets/", |_, e| contracts::support_tickets::error::TicketsError(e).into_response()),
    ("/v1/crm/", |_, e| contracts::ticket_external_users::error::CrmError(e).into_response()),
    ("/api/v1/suser", |headers, e| {
        use contracts::staff_users::error::{Failure, Format, UsersError};
        let format = Format::of_response(headers, None);
        UsersError { format, root: "UserResponse", failure: Failure::App(e) }.into_response()
    }),
    ("/rest/", |_, e| contracts::service_desk::error::DeskError::from(e).into_response()),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_contract_route_has_its_contracts_500_for_a_panic() {
        let ops = http::ops::ROUTES;
        for (method, route) in contracts::routes().into_iter().filter(|r| !ops.contains(r)) {
            let claimed = CONTRACT_ERROR_RESPONSES.iter().filter(|(prefix, _)| route.starts_with(prefix)).count();
            assert!(claimed > 0, "{method} {route} has no panic envelope");
            let response = http::panic::response(CONTRACT_ERROR_RESPONSES, route);
            assert_eq!(response.status(), 500, "{method} {route}");
        }
    }

    #[tokio::test]
    async fn each_contracts_panic_response_is_its_own_500_envelope() {
        use http_body_util::BodyExt;
        let mut bodies = Vec::new();
        for (prefix, respond) in CONTRACT_ERROR_RESPONSES {
            let response = respond(&axum::http::HeaderMap::new(), crate::app::AppError::Internal("boom".into()));
            assert_eq!(response.status(), 500, "{prefix}");
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert!(!body.is_empty(), "{prefix}");
            bodies.push(body);
        }
        // Five contracts, five different envelopes.
        bodies.sort();
        bodies.dedup();
        assert_eq!(bodies.len(), CONTRACT_ERROR_RESPONSES.len());
    }
}
