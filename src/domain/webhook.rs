//! Webhook subscriptions and their deliveries: the rules, free of I/O (docs/webhooks.md).
//!
//! Deliveries follow the Standard Webhooks specification: `webhook-id` is the event's id,
//! `webhook-timestamp` the unix seconds of the attempt, and `webhook-signature` one
//! `v1,<base64 HMAC-SHA256>` per valid secret over `{id}.{timestamp}.{body}`.

use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use uuid::Uuid;

use super::{EventType, Refusal, Rule, Timestamp};

/// How long the secret a rotation replaced keeps signing deliveries beside the new one.
pub const PREVIOUS_SECRET_GRACE_SECONDS: i64 = 24 * 3600;
const SECRET_PREFIX: &str = "whsec_";
const MAX_URL_LEN: usize = 2048;

#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub url: WebhookUrl,
    /// Empty: every event type.
    pub types: Vec<EventType>,
    pub enabled: bool,
    /// Why the subscription is disabled, when it was not by choice.
    pub disabled_reason: Option<String>,
    pub secret: WebhookSecret,
    pub previous_secret: Option<WebhookSecret>,
    pub previous_secret_until: Option<Timestamp>,
    pub secret_rotated_at: Option<Timestamp>,
    pub consecutive_failures: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Webhook {
    /// Whether an event of `kind` goes to this subscription.
    pub fn wants(&self, kind: &str) -> bool {
        self.types.is_empty() || self.types.iter().any(|t| t.as_str() == kind)
    }

    /// The secrets that sign a delivery at `now`: the current one, and the one a rotation replaced
    /// while its grace period lasts.
    pub fn signing_secrets(&self, now: Timestamp) -> Vec<&WebhookSecret> {
        let mut secrets = vec![&self.secret];
        if let (Some(old), Some(until)) = (&self.previous_secret, self.previous_secret_until)
            && now < until
        {
            secrets.push(old);
        }
        secrets
    }
}

/// The subscription as the admin API and events show it (never a secret).
pub fn webhook_json(w: &Webhook) -> Value {
    json!({
        "createdAt": w.created_at.to_rfc3339_millis(),
        "id": w.id,
        "updatedAt": w.updated_at.to_rfc3339_millis(),
        "url": w.url.as_str(),
        "types": w.types.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        "enabled": w.enabled,
        "disabledReason": w.disabled_reason,
        "secretRotatedAt": w.secret_rotated_at.map(Timestamp::to_rfc3339_millis),
        "workspaceId": w.workspace_id,
    })
}

/// An `http://` URL with a host. `https://` is refused because this build carries no TLS
/// implementation: a subscription that could never be delivered is worse than a clear error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    text: String,
    host: String,
    port: u16,
    path_and_query: String,
}

impl WebhookUrl {
    pub fn parse(s: &str) -> Result<Self, Refusal> {
        let format = |why: &str| Refusal::new(Rule::Format, why.to_owned());
        if s.len() > MAX_URL_LEN {
            return Err(Refusal::new(
                Rule::TooLong { max: MAX_URL_LEN },
                format!("must be at most {MAX_URL_LEN} characters"),
            ));
        }
        let uri: axum::http::Uri = s.parse().map_err(|_| format("must be an absolute http:// URL"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(format(
                    "https:// is not supported by this server (it has no TLS client); use http:// to a proxy you control that forwards over TLS",
                ));
            }
            _ => return Err(format("must be an absolute http:// URL")),
        }
        let authority = uri.authority().ok_or_else(|| format("must name a host"))?;
        if authority.as_str().contains('@') {
            return Err(format("must not carry a user name or password"));
        }
        let host = authority.host().trim_start_matches('[').trim_end_matches(']').to_owned();
        if host.is_empty() {
            return Err(format("must name a host"));
        }
        let path_and_query = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
        let path_and_query = if path_and_query.is_empty() { "/".to_owned() } else { path_and_query };
        Ok(Self { text: s.to_owned(), host, port: uri.port_u16().unwrap_or(80), path_and_query })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
    pub fn host(&self) -> &str {
        &self.host
    }
    pub fn port(&self) -> u16 {
        self.port
    }
    pub fn path_and_query(&self) -> &str {
        &self.path_and_query
    }
    /// The `Host` header: the authority as written.
    pub fn authority(&self) -> String {
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        if self.port == 80 { host } else { format!("{host}:{}", self.port) }
    }
}

/// `whsec_` and the base64 of the key bytes, as Standard Webhooks spells secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(..)")
    }
}

impl WebhookSecret {
    /// A new secret of 24 random bytes.
    pub fn generate() -> Self {
        let bytes: [u8; 24] = rand::random();
        Self(format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes)))
    }

    /// A secret the operator chose (the CLI's `--secret`): `whsec_` and the base64 of 24 to 64 bytes.
    pub fn parse(s: &str) -> Result<Self, Refusal> {
        let refusal = || Refusal::new(Rule::Format, "must be whsec_ and the base64 of 24 to 64 random bytes");
        let key = STANDARD.decode(s.trim().strip_prefix(SECRET_PREFIX).ok_or_else(refusal)?).map_err(|_| refusal())?;
        if (24..=64).contains(&key.len()) { Ok(Self(s.trim().to_owned())) } else { Err(refusal()) }
    }

    /// A stored secret; `None` when it is not one this module wrote.
    pub fn from_stored(s: &str) -> Option<Self> {
        let key = STANDARD.decode(s.strip_prefix(SECRET_PREFIX)?).ok()?;
        (!key.is_empty()).then(|| Self(s.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    fn key(&self) -> Vec<u8> {
        self.0.strip_prefix(SECRET_PREFIX).and_then(|k| STANDARD.decode(k).ok()).unwrap_or_default()
    }

    /// `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key()).expect("HMAC takes any key length");
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

/// The `webhook-signature` header: one signature per valid secret, space-separated.
pub fn signature_header(secrets: &[&WebhookSecret], id: Uuid, timestamp: i64, body: &[u8]) -> String {
    secrets.iter().map(|s| s.sign(&id.to_string(), timestamp, body)).collect::<Vec<_>>().join(" ")
}

/// Reads a list of event types from a JSON array; empty means every type.
pub fn parse_types(v: &Value) -> Result<Vec<EventType>, Refusal> {
    let items = v.as_array().ok_or_else(|| Refusal::new(Rule::Type, "must be an array of event types"))?;
    let mut types = Vec::new();
    for item in items {
        let name = item.as_str().ok_or_else(|| Refusal::new(Rule::Type, "must be an array of event types"))?;
        let t =
            EventType::parse(name).ok_or_else(|| Refusal::new(Rule::Format, format!("unknown event type {name:?}")))?;
        if !types.contains(&t) {
            types.push(t);
        }
    }
    Ok(types)
}

/// Whether an address is one a webhook may not reach unless the operator allows private targets:
/// loopback, private, link-local, unique-local, carrier-grade NAT, unspecified, multicast, broadcast.
pub fn is_private_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private_address(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Failed].into_iter().find(|d| d.as_str() == s)
    }
}

/// One try at delivering an event.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryAttempt {
    pub attempted_at: Timestamp,
    /// `None` when no response came (refused target, connection error, timeout).
    pub status_code: Option<u16>,
    pub latency_ms: i64,
    /// The start of the response body, at most [`RESPONSE_EXCERPT_BYTES`].
    pub response_excerpt: Option<String>,
    pub error: Option<String>,
}

/// How much of a receiver's response is read and kept.
pub const RESPONSE_EXCERPT_BYTES: usize = 4096;

impl DeliveryAttempt {
    pub fn succeeded(&self) -> bool {
        self.status_code.is_some_and(|c| (200..300).contains(&c))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct WebhookDelivery {
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub sequence: i64,
    pub status: DeliveryStatus,
    /// Attempts since it was last queued (a redelivery starts again from zero).
    pub tries: i64,
    pub next_attempt_at: Option<Timestamp>,
    pub attempts: Vec<DeliveryAttempt>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_is_the_standard_webhooks_hmac_of_id_timestamp_and_body() {
        // The example of the Standard Webhooks specification's reference implementations.
        let secret = WebhookSecret::from_stored("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let signed = secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, br#"{"test": 2432232314}"#);
        assert_eq!(signed, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let id = Uuid::new_v4();
        let other = WebhookSecret::generate();
        let both = signature_header(&[&secret, &other], id, 1, b"{}");
        assert_eq!(both.split(' ').count(), 2);
    }

    #[test]
    fn generated_secrets_carry_at_least_24_random_bytes() {
        let s = WebhookSecret::generate();
        assert!(s.expose().starts_with("whsec_"));
        assert!(s.key().len() >= 24);
        assert_ne!(s, WebhookSecret::generate());
    }

    #[test]
    fn urls_must_be_plain_http_with_a_host() {
        let u = WebhookUrl::parse("http://example.com:8081/hooks?x=1").unwrap();
        assert_eq!((u.host(), u.port(), u.path_and_query()), ("example.com", 8081, "/hooks?x=1"));
        assert_eq!(WebhookUrl::parse("http://example.com").unwrap().path_and_query(), "/");
        for bad in ["ftp://example.com/", "example.com/hook", "http://user:pw@example.com/", "https://example.com/"] {
            assert!(WebhookUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn private_loopback_link_local_and_unique_local_addresses_are_private() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "100.64.0.1",
        ] {
            assert!(is_private_address(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "8.8.8.8"] {
            assert!(!is_private_address(ip.parse().unwrap()), "{ip}");
        }
    }
}
