//! Seed 002's credentials: `Authorization: Bearer <token>` with the `spacebring-network-id` header, or
//! `Authorization: Basic base64(client_id:client_secret)`.
//!
//! The bearer token is a workspace API key or an external user's access token. For Basic, the client
//! id is the API key's id and the secret is the key itself. The network is the workspace: when the
//! header is present it must name the credential's own workspace (else 403, and nothing is read);
//! when it is absent the credential's workspace is used, since a credential belongs to exactly one.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

use super::error::TicketsError;
use super::rate_limit::{self, RateLimiter};
use crate::app::{AppError, AppResult, Principal};
use crate::domain::{Refusal, Rule, parse_uuid};
use crate::http::AppState;
use crate::http::extract::{authorization, basic_credentials};

pub const NETWORK_HEADER: &str = "spacebring-network-id";

/// The caller of a support tickets route; a refused credential answers in this contract's envelope.
pub struct TicketsPrincipal(pub Principal);

impl FromRequestParts<AppState> for TicketsPrincipal {
    type Rejection = Response;

    /// Also counts the request against the contract's rate limit, when one is configured: against the
    /// caller, however its header is spelled, or against the client address when the credential is
    /// refused (see `rate_limit`).
    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Response> {
        let who = principal(s, &parts.headers).await;
        if let Some(limiter) = parts.extensions.get::<Arc<RateLimiter>>()
            && !rate_limit::admit(limiter, who.as_ref().ok().map(Principal::actor_id), &parts.extensions)
        {
            return Err(rate_limit::refusal(limiter));
        }
        who.map(TicketsPrincipal).map_err(|e| TicketsError(e).into_response())
    }
}

async fn principal(s: &AppState, headers: &HeaderMap) -> AppResult<Principal> {
    let header = authorization(headers);
    let who = match header.map(str::trim).and_then(basic_credentials) {
        Some((client_id, secret)) => {
            let who = s.app.api_key_principal(Some(&secret)).await?;
            if parse_uuid(&client_id) != Some(who.actor_id()) {
                return Err(AppError::Unauthorized);
            }
            who
        }
        None => s.app.any_principal(header).await?,
    };
    if let Some(raw) = headers.get(NETWORK_HEADER) {
        let network = raw
            .to_str()
            .ok()
            .and_then(|v| parse_uuid(v.trim()))
            .ok_or_else(|| AppError::invalid(NETWORK_HEADER, Refusal::new(Rule::Format, "must be a valid UUID")))?;
        if network != who.workspace_id() {
            return Err(AppError::Forbidden("The credential does not belong to the network in spacebring-network-id."));
        }
    }
    Ok(who)
}
