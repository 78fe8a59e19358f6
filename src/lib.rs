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

use crate::app::{App, AppError};
pub use crate::http::ServerOptions;
use crate::http::{AppState, PanicResponse};
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
    let router = http::shell(contracts::router(&options).merge(web::router()), state, CONTRACT_PANIC_RESPONSES);
    let router = http::transport::bounded(router, &options.limits);
    http::transport::serve(listener, router, &options.limits, shutdown).await
}

/// Each contract's 500, by the path prefix its routes share, for a handler that panics (the
/// longest matching prefix wins: `/api/v1/suser` is seed 003's, the rest of `/api/v1/` seed 001's).
const CONTRACT_PANIC_RESPONSES: &[(&str, PanicResponse)] = &[
    ("/api/v1/", || contracts::workspace_api::error::ApiError(panicked()).into_response()),
    ("/support/tickets/", || contracts::support_tickets::error::TicketsError(panicked()).into_response()),
    ("/v1/crm/", || contracts::ticket_external_users::error::CrmError(panicked()).into_response()),
    ("/api/v1/suser", || {
        use contracts::staff_users::error::{Failure, Format, UsersError};
        // Without the request's headers, the contract's default format (seed 003: XML).
        UsersError { format: Format::Xml, root: "UserResponse", failure: Failure::App(panicked()) }.into_response()
    }),
    ("/rest/", || contracts::service_desk::error::DeskError::from(panicked()).into_response()),
];

fn panicked() -> AppError {
    AppError::Internal("the handler panicked".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_contract_route_has_its_contracts_500_for_a_panic() {
        let ops = http::ops::ROUTES;
        for (method, route) in contracts::routes().into_iter().filter(|r| !ops.contains(r)) {
            let claimed = CONTRACT_PANIC_RESPONSES.iter().filter(|(prefix, _)| route.starts_with(prefix)).count();
            assert!(claimed > 0, "{method} {route} has no panic envelope");
            let response = http::panic::response_for(CONTRACT_PANIC_RESPONSES, route);
            assert_eq!(response.status(), 500, "{method} {route}");
        }
    }

    #[tokio::test]
    async fn each_contracts_panic_response_is_its_own_500_envelope() {
        use http_body_util::BodyExt;
        let mut bodies = Vec::new();
        for (prefix, respond) in CONTRACT_PANIC_RESPONSES {
            let response = respond();
            assert_eq!(response.status(), 500, "{prefix}");
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert!(!body.is_empty(), "{prefix}");
            bodies.push(body);
        }
        // Five contracts, five different envelopes.
        bodies.sort();
        bodies.dedup();
        assert_eq!(bodies.len(), CONTRACT_PANIC_RESPONSES.len());
    }
}
