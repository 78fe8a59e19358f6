//! The CRM ticket external users contract (seed 000): `/v1/crm/tickets/{ticketId}/external-users`.
//!
//! A ticket external user is a ticket participant: an external user of the workspace's e-mail
//! channel, found or created by its address. `Authorization: Bearer <api key>`.

pub mod error;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use axum::{Json, Router};
use serde::Serialize;
use uuid::Uuid;

use self::error::{CrmError, CrmResult, method_not_allowed};
use crate::app::ParticipantRef;
use crate::domain::{EmailAddress, Refusal, TicketParticipant};
use crate::http::AppState;
use crate::http::body::{Fields, parsed};
use crate::http::extract::{ApiKey, PathId, PathParam, RawBody};

/// The routes below, for the OpenAPI check.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/v1/crm/tickets/{ticketId}/external-users"),
    ("POST", "/v1/crm/tickets/{ticketId}/external-users"),
    ("DELETE", "/v1/crm/tickets/{ticketId}/external-users/{id}"),
];

/// This contract's part of the OpenAPI document.
pub const OPENAPI: &str = include_str!("openapi.json");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/crm/tickets/{ticketId}/external-users", post(add).get(list).fallback(method_not_allowed))
        .route("/v1/crm/tickets/{ticketId}/external-users/{id}", delete(remove).fallback(method_not_allowed))
}

/// Seed 000's ticket external user. Timestamps are strings (RFC 3339, milliseconds, UTC).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TicketExternalUserBody {
    id: Uuid,
    ticket_id: Uuid,
    email: Option<String>,
    created_at: String,
    created_by: Uuid,
    updated_at: String,
    updated_by: Uuid,
}

impl From<TicketParticipant> for TicketExternalUserBody {
    fn from(p: TicketParticipant) -> Self {
        Self {
            id: p.id,
            ticket_id: p.ticket_id,
            email: p.email,
            created_at: p.created_at.to_rfc3339_millis(),
            created_by: p.created_by,
            updated_at: p.updated_at.to_rfc3339_millis(),
            updated_by: p.updated_by,
        }
    }
}

/// The `{ticketId}` of this contract's routes.
struct TicketId;
impl PathParam for TicketId {
    const NAME: &'static str = "ticketId";
}

/// This contract's own, stricter pattern (the domain holds looser addresses other contracts accept).
fn email(s: &str) -> Result<EmailAddress, Refusal> {
    EmailAddress::parse_crm(s)
}

/// `{"email"}` -> 201 with the ticket external user; the same person twice is a 409.
async fn add(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<CrmError>,
    PathId(ticket_id, ..): PathId<CrmError, TicketId>,
    RawBody(body, ..): RawBody<CrmError>,
) -> CrmResult<Response> {
    let mut f = Fields::parse(&body)?;
    let email = f.required("email", parsed(email));
    let email = f.complete(email)?;
    let added = s.app.add_participant(&who, ticket_id, ParticipantRef::Email(email)).await?;
    Ok((StatusCode::CREATED, Json(TicketExternalUserBody::from(added))).into_response())
}

async fn list(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<CrmError>,
    PathId(ticket_id, ..): PathId<CrmError, TicketId>,
) -> CrmResult<Json<Vec<TicketExternalUserBody>>> {
    let found = s.app.list_participants(&who, ticket_id).await?;
    Ok(Json(found.into_iter().map(Into::into).collect()))
}

/// Removes the ticket external user; 204 with no body.
async fn remove(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<CrmError>,
    PathId(ticket_id, ..): PathId<CrmError, TicketId>,
    PathId(id, ..): PathId<CrmError>,
) -> CrmResult<StatusCode> {
    s.app.remove_participant(&who, ticket_id, ParticipantRef::Id(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
