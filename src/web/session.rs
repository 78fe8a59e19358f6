//! Session cookies and CSRF protection of the settings page.
//!
//! The session cookie holds a random secret; the database keeps only its SHA-256 (see
//! `app::web_sessions`). Every form carries a CSRF token derived from the secret of the cookie that
//! came with the page: the session cookie once signed in, before that a "pre-session" cookie set by the
//! sign-in and invitation pages. The token is `SHA-256("frontdesk-csrf" ‖ secret)`, so the server needs
//! no state for it, and a page on another site can neither read it (same-origin policy) nor compute it
//! (it would need the HttpOnly cookie). On top of that, a POST whose `Origin` names another host, or
//! that the browser marks as cross-site, is refused; `SameSite=Lax` keeps the cookie off cross-site
//! POSTs in the first place. docs/decisions/web-sessions-and-csrf.md explains the choice.

use axum::http::HeaderMap;
use axum::http::header::{COOKIE, HOST, ORIGIN};
use sha2::{Digest, Sha256};

use crate::app::SESSION_TTL_SECONDS;

/// The signed-in session's cookie.
pub const SESSION_COOKIE: &str = "frontdesk_session";
/// The cookie that binds the CSRF token of the forms shown before sign-in.
pub const PRESESSION_COOKIE: &str = "frontdesk_presession";
/// The name of every form's CSRF field.
pub const CSRF_FIELD: &str = "csrf_token";
/// Cookies are sent to the settings page only, never to the API routes.
const COOKIE_PATH: &str = "/settings";

/// The value of cookie `name` in the request, if sent.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// The CSRF token of the forms on a page served to the holder of the cookie secret `secret`.
pub fn csrf_token(secret: &str) -> String {
    let digest = Sha256::new().chain_update(b"frontdesk-csrf\0").chain_update(secret.as_bytes()).finalize();
    crate::domain::hex(&digest)
}

/// Whether `submitted` is the CSRF token for `secret`, compared in constant time.
pub fn csrf_matches(secret: &str, submitted: &str) -> bool {
    let expected = csrf_token(secret);
    expected.len() == submitted.len()
        && expected.bytes().zip(submitted.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// Whether a state-changing request comes from a page of this server. A browser that sends
/// `Sec-Fetch-Site` is believed (only `same-origin` passes; it also covers the `Origin: null` a
/// browser may send under a strict referrer policy); otherwise an `Origin`, when sent, must name this
/// host. Requests with neither header (old browsers, non-browser clients) still need the CSRF token.
pub fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin";
    }
    let Some(origin) = headers.get(ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers.get(HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let origin_host = origin.split_once("://").map_or("", |(_, rest)| rest.trim_end_matches('/'));
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, scoped to the settings page, `Secure` when the server
/// is reached over HTTPS. `max_age` of `None` is a browser-session cookie.
pub fn set_cookie(name: &str, value: &str, max_age: Option<i64>, secure: bool) -> String {
    let mut c = format!("{name}={value}; Path={COOKIE_PATH}; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    c
}

/// The session cookie for a new session: it lives as long as the session does on the server.
pub fn session_cookie(token: &str, secure: bool) -> String {
    set_cookie(SESSION_COOKIE, token, Some(SESSION_TTL_SECONDS), secure)
}

/// A `Set-Cookie` value that removes the cookie.
pub fn clear_cookie(name: &str, secure: bool) -> String {
    set_cookie(name, "", Some(0), secure)
}

/// Whether the server is served over HTTPS, as its public URL says: behind a TLS-terminating proxy the
/// connection itself is plain HTTP, so the configured public URL is the reliable witness.
pub fn is_https(public_base_url: &str) -> bool {
    public_base_url.get(..8).is_some_and(|s| s.eq_ignore_ascii_case("https://"))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn cookie_is_found_among_others_and_across_headers() {
        let h = headers(&[("cookie", "a=1; frontdesk_session=fds_abc"), ("cookie", "b=2")]);
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("fds_abc"));
        assert_eq!(cookie(&h, "b"), Some("2"));
        assert_eq!(cookie(&h, "frontdesk"), None);
        assert_eq!(cookie(&headers(&[("cookie", "frontdesk_session=")]), SESSION_COOKIE), None);
    }

    #[test]
    fn csrf_token_is_bound_to_the_cookie_secret() {
        let token = csrf_token("fds_one");
        assert_eq!(token.len(), 64);
        assert_eq!(token, csrf_token("fds_one"));
        assert!(csrf_matches("fds_one", &token));
        assert!(!csrf_matches("fds_two", &token));
        assert!(!csrf_matches("fds_one", ""));
        assert!(!csrf_matches("fds_one", &token[..63]));
        assert!(!csrf_matches("fds_one", "fds_one"));
    }

    #[test]
    fn cross_origin_posts_are_refused() {
        assert!(same_origin(&headers(&[("host", "desk.example.com")])));
        assert!(same_origin(&headers(&[("host", "desk.example.com"), ("origin", "https://desk.example.com")])));
        assert!(same_origin(&headers(&[("host", "127.0.0.1:8080"), ("origin", "http://127.0.0.1:8080")])));
        assert!(!same_origin(&headers(&[("host", "desk.example.com"), ("origin", "https://evil.example")])));
        assert!(!same_origin(&headers(&[("host", "desk.example.com"), ("origin", "null")])));
        assert!(!same_origin(&headers(&[("host", "desk.example.com"), ("sec-fetch-site", "cross-site")])));
        assert!(same_origin(&headers(&[("host", "desk.example.com"), ("sec-fetch-site", "same-origin")])));
        assert!(same_origin(&headers(&[
            ("host", "d.example.com"),
            ("origin", "null"),
            ("sec-fetch-site", "same-origin")
        ])));
        assert!(!same_origin(&headers(&[("host", "desk.example.com"), ("sec-fetch-site", "same-site")])));
    }

    #[test]
    fn cookies_are_http_only_lax_and_secure_over_https() {
        let plain = session_cookie("fds_x", false);
        assert!(plain.starts_with("frontdesk_session=fds_x; Path=/settings; HttpOnly; SameSite=Lax"));
        assert!(plain.contains(&format!("Max-Age={SESSION_TTL_SECONDS}")));
        assert!(!plain.contains("Secure"));
        assert!(session_cookie("fds_x", true).ends_with("; Secure"));
        assert!(clear_cookie(SESSION_COOKIE, false).contains("Max-Age=0"));
        assert!(is_https("https://desk.example.com") && is_https("HTTPS://x"));
        assert!(!is_https("http://127.0.0.1:8080") && !is_https("http"));
    }
}
