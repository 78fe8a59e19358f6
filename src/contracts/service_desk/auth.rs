//! Seed 004's credentials: `Bearer <secret>`, Basic with any user name and the secret as password (JSM
//! clients send `email:api_token`), or the raw secret. The secret is a workspace API key (an agent or
//! admin: JSM's agents) or an external user's access token (a customer acting as itself, as JSM's
//! customers do with their own credentials; the use cases decide what it may do).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::error::DeskError;
use crate::app::{AppError, Principal, credential};
use crate::http::AppState;
use crate::http::extract::{authorization, basic_credentials};

/// The caller of a service desk route; a refused credential answers in this contract's envelope.
pub struct DeskPrincipal(pub Principal);

impl FromRequestParts<AppState> for DeskPrincipal {
    type Rejection = DeskError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, DeskError> {
        let header = authorization(&parts.headers).ok_or(AppError::Unauthorized)?;
        if let Some((_, secret)) = basic_credentials(header) {
            return Ok(DeskPrincipal(s.app.any_principal(Some(&secret)).await?));
        }
        if header.trim_start().get(..6).is_some_and(|scheme| scheme.eq_ignore_ascii_case("basic ")) {
            return Err(AppError::Unauthorized.into());
        }
        Ok(DeskPrincipal(s.app.any_principal(Some(credential(header))).await?))
    }
}
