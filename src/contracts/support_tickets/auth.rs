//! Seed 002's credentials: `Authorization: Bearer <token>` with the `spacebring-network-id` header, or
//! `Authorization: Basic base64(client_id:client_secret)`.
//!
//! The bearer token is a workspace API key or an external user's access token. For Basic, the client
//! id is the API key's id and the secret is the key itself. The network is the workspace: when the
//! header is present it must name the credential's own workspace (else 403, and nothing is read);
//! when it is absent the credential's workspace is used, since a credential belongs to exactly one.

use axum::http::HeaderMap;

use crate::app::{AppError, AppResult, Principal};
use crate::contracts::AppState;
use crate::contracts::extract::authorization;
use crate::domain::parse_uuid;

pub const NETWORK_HEADER: &str = "spacebring-network-id";

pub async fn principal(s: &AppState, headers: &HeaderMap) -> AppResult<Principal> {
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
            .ok_or_else(|| AppError::invalid(NETWORK_HEADER, "must be a valid UUID"))?;
        if network != who.workspace_id() {
            return Err(AppError::Forbidden("The credential does not belong to the network in spacebring-network-id."));
        }
    }
    Ok(who)
}

/// `(client id, secret)` from a `Basic` authorization value; `None` for any other scheme or a
/// malformed value (which then fails as an unknown bearer token).
fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, rest) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(base64_decode(rest.trim())?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// Standard base64 with optional padding; `None` on any other character.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_decoded() {
        // base64("client:se:cret")
        assert_eq!(basic_credentials("Basic Y2xpZW50OnNlOmNyZXQ="), Some(("client".into(), "se:cret".into())));
        assert_eq!(basic_credentials("Bearer abc"), None);
        assert_eq!(basic_credentials("Basic !!!"), None);
    }
}
