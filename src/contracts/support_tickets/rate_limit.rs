//! Seed 002's product limits each client to 10 requests a second and answers 429 past that. Frontdesk
//! offers the same limit per credential and node (`rate_limit_per_second`), off unless configured: a
//! self-hosted desk usually trusts its own integrations, and the limit is per node, not global.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;

use super::error::rate_limited;

/// A token bucket per credential: `per_second` tokens, refilled continuously.
pub struct RateLimiter {
    per_second: u32,
    buckets: Mutex<HashMap<u64, Bucket>>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Buckets idle this long are full again and can be forgotten.
const FORGET_AFTER_SECONDS: f64 = 60.0;

impl RateLimiter {
    /// A limiter allowing `per_second` requests a second per credential; 0 allows everything.
    pub fn new(per_second: u32) -> Self {
        Self { per_second, buckets: Mutex::default() }
    }

    /// Takes a token for `credential`, or says it has none left.
    fn admit(&self, credential: &str, now: Instant) -> bool {
        if self.per_second == 0 {
            return true;
        }
        let rate = f64::from(self.per_second);
        let mut hasher = DefaultHasher::new();
        credential.hash(&mut hasher);
        // A poisoned lock only means a panic elsewhere mid-update; the buckets are still usable.
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > 10_000 {
            buckets.retain(|_, b| now.duration_since(b.at).as_secs_f64() < FORGET_AFTER_SECONDS);
        }
        let bucket = buckets.entry(hasher.finish()).or_insert(Bucket { tokens: rate, at: now });
        bucket.tokens = (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * rate).min(rate);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

pub async fn enforce(State(limiter): State<Arc<RateLimiter>>, req: Request, next: Next) -> Response {
    let credential = req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if limiter.admit(credential, Instant::now()) { next.run(req).await } else { rate_limited(limiter.per_second) }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn allows_the_rate_then_refuses_until_tokens_refill() {
        let limiter = RateLimiter::new(10);
        let t0 = Instant::now();
        assert!((0..10).all(|_| limiter.admit("Bearer a", t0)));
        assert!(!limiter.admit("Bearer a", t0));
        assert!(limiter.admit("Bearer b", t0), "credentials have their own buckets");
        assert!(limiter.admit("Bearer a", t0 + Duration::from_millis(100)), "one token a tenth of a second");
        assert!(!limiter.admit("Bearer a", t0 + Duration::from_millis(100)));
    }

    #[test]
    fn zero_means_unlimited() {
        let limiter = RateLimiter::new(0);
        assert!((0..1000).all(|_| limiter.admit("Bearer a", Instant::now())));
    }
}
