//! Request ids and the request span every log line of a request (the use cases', the store's)
//! nests under.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::Request;
use axum::http::HeaderValue;
use tower_http::request_id::{MakeRequestId, RequestId};
use tracing::Span;

pub const REQUEST_ID: &str = "x-request-id";

/// The longest incoming request id kept; longer ones are replaced, as are ids with characters
/// that would need escaping in logs.
const MAX_INCOMING_ID: usize = 128;

/// An incoming `x-request-id` is kept when a proxy or client could have meant it as an id: 1 to
/// 128 letters, digits and `-_.:+=/@`. Anything else is dropped so that a new one is made.
pub fn drop_unusable_request_id(mut req: Request) -> Request {
    if let Some(id) = req.headers().get(REQUEST_ID)
        && !usable(id)
    {
        req.headers_mut().remove(REQUEST_ID);
    }
    req
}

fn usable(id: &HeaderValue) -> bool {
    let id = id.as_bytes();
    !id.is_empty()
        && id.len() <= MAX_INCOMING_ID
        && id.iter().all(|b| b.is_ascii_alphanumeric() || b"-_.:+=/@".contains(b))
}

/// Ids made here: this process's random prefix and a counter, so they are unique across nodes and
/// restarts without a random draw per request.
#[derive(Clone)]
pub struct MakeId {
    prefix: u64,
    next: &'static AtomicU64,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

impl Default for MakeId {
    fn default() -> Self {
        Self { prefix: rand::random(), next: &NEXT_ID }
    }
}

impl MakeRequestId for MakeId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        // 16 hex digits of prefix, a dash, 16 of counter: formatted on the stack.
        let mut id = [b'-'; 33];
        hex(self.prefix, &mut id[..16]);
        hex(n, &mut id[17..]);
        HeaderValue::from_bytes(&id).ok().map(RequestId::new)
    }
}

fn hex(mut n: u64, out: &mut [u8]) {
    for slot in out.iter_mut().rev() {
        *slot = b"0123456789abcdef"[(n & 0xf) as usize];
        n >>= 4;
    }
}

/// The span of one request: its method and id now, its route template once routing has found it
/// (see [`record_route`]). At DEBUG, as the store's spans are: at the default `info` filter no span
/// is created at all (a span per request cost a third of a trivial route's throughput), and with
/// `FRONTDESK_LOG=debug` every store span nests under its request.
pub fn request_span<B>(req: &axum::http::Request<B>) -> Span {
    let id = req.extensions().get::<RequestId>().and_then(|id| id.header_value().to_str().ok()).unwrap_or("");
    tracing::debug_span!("request", method = %req.method(), route = tracing::field::Empty, request_id = id)
}

/// Names the route template in the current request's span.
pub fn record_route(route: &str) {
    Span::current().record("route", route);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_ids_are_unique_and_fixed_length() {
        let mut make = MakeId::default();
        let req = axum::http::Request::new(());
        let a = make.make_request_id(&req).unwrap();
        let b = make.make_request_id(&req).unwrap();
        assert_ne!(a.header_value(), b.header_value());
        assert_eq!(a.header_value().len(), 33);
        assert!(usable(a.header_value()));
    }

    #[test]
    fn incoming_ids_are_kept_only_when_short_and_plain() {
        assert!(usable(&HeaderValue::from_static("3c90c3cc-0d44-4b50-8888-8dd25736052a")));
        assert!(usable(&HeaderValue::from_static("Root=1-67891233-abcdef012345678912345678")));
        assert!(!usable(&HeaderValue::from_static("")));
        assert!(!usable(&HeaderValue::from_static("two words")));
        assert!(!usable(&HeaderValue::from_str(&"a".repeat(129)).unwrap()));
    }
}
