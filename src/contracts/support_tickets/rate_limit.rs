//! Seed 002's product limits each client to 10 requests a second and answers 429 past that. Frontdesk
//! offers the same limit per node (`rate_limit_per_second`), off unless configured: a self-hosted desk
//! usually trusts its own integrations, and the limit is per node, not global.
//!
//! A request is counted against whoever it authenticates as (the API key or the external user), so
//! however its `Authorization` header is spelled it draws on one allowance; a request whose credential
//! is refused is counted against its client address (an IPv6 address by its /64, which one client
//! usually holds whole), so guessing credentials is limited too. The buckets are a bounded map: at
//! most [`MAX_BUCKETS`], the oldest forgotten first, and idle ones dropped as requests pass, a few at a
//! time, never by scanning the whole map.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::response::Response;
use uuid::Uuid;

use super::error::rate_limited;

/// Buckets kept at most; past it the oldest is forgotten (it starts full again if its client returns).
pub const MAX_BUCKETS: usize = 10_000;
/// A bucket idle this long has refilled whole, so forgetting it changes nothing.
const FORGET_AFTER: Duration = Duration::from_secs(2);

/// Who a request is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Client {
    Principal(Uuid),
    Address(IpAddr),
}

impl Client {
    /// An IPv4 address as is; an IPv6 address by its /64 network.
    pub fn address(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => Client::Address(ip),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Client::Address(IpAddr::V4(v4)),
                None => Client::Address(IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into())),
            },
        }
    }
}

/// A token bucket per client: `per_second` tokens, refilled continuously.
pub struct RateLimiter {
    per_second: u32,
    capacity: usize,
    state: Mutex<Buckets>,
}

#[derive(Default)]
struct Buckets {
    by_client: HashMap<Client, Bucket>,
    /// Every key of `by_client`, oldest first.
    order: VecDeque<Client>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    /// A limiter allowing `per_second` requests a second per client; 0 allows everything.
    pub fn new(per_second: u32) -> Self {
        Self::with_capacity(per_second, MAX_BUCKETS)
    }

    fn with_capacity(per_second: u32, capacity: usize) -> Self {
        Self { per_second, capacity: capacity.max(1), state: Mutex::default() }
    }

    /// Takes a token for `client`, or says it has none left.
    fn admit(&self, client: Client, now: Instant) -> bool {
        if self.per_second == 0 {
            return true;
        }
        let rate = f64::from(self.per_second);
        // A poisoned lock only means a panic elsewhere mid-update; the buckets are still usable.
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let Buckets { by_client, order } = &mut *state;
        // Idle buckets at the old end go, two per request: enough to keep up with arrivals.
        for _ in 0..2 {
            match order.front().and_then(|c| by_client.get(c).map(|b| (*c, b.at))) {
                Some((c, at)) if c != client && now.saturating_duration_since(at) >= FORGET_AFTER => {
                    by_client.remove(&c);
                    order.pop_front();
                }
                _ => break,
            }
        }
        if !by_client.contains_key(&client) {
            while by_client.len() >= self.capacity {
                let Some(oldest) = order.pop_front() else { break };
                by_client.remove(&oldest);
            }
            by_client.insert(client, Bucket { tokens: rate, at: now });
            order.push_back(client);
        }
        let Some(bucket) = by_client.get_mut(&client) else { return true };
        bucket.tokens = (bucket.tokens + now.saturating_duration_since(bucket.at).as_secs_f64() * rate).min(rate);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.state.lock().map(|s| s.by_client.len()).unwrap_or_default()
    }
}

/// Counts a request against its caller, or, when its credential was refused, against its client
/// address; `false` when that client has no token left (answer [`rate_limited`]).
pub fn admit(limiter: &RateLimiter, caller: Option<Uuid>, extensions: &axum::http::Extensions) -> bool {
    let client = match caller {
        Some(id) => Client::Principal(id),
        None => match crate::http::transport::peer(extensions) {
            Some(peer) => Client::address(peer.ip()),
            None => Client::Address(IpAddr::from([0, 0, 0, 0])),
        },
    };
    limiter.admit(client, Instant::now())
}

/// The 429 of this limiter.
pub fn refusal(limiter: &RateLimiter) -> Response {
    rate_limited(limiter.per_second)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u128) -> Client {
        Client::Principal(Uuid::from_u128(n))
    }

    #[test]
    fn allows_the_rate_then_refuses_until_tokens_refill() {
        let limiter = RateLimiter::new(10);
        let t0 = Instant::now();
        assert!((0..10).all(|_| limiter.admit(key(1), t0)));
        assert!(!limiter.admit(key(1), t0));
        assert!(limiter.admit(key(2), t0), "clients have their own buckets");
        assert!(limiter.admit(key(1), t0 + Duration::from_millis(100)), "one token a tenth of a second");
        assert!(!limiter.admit(key(1), t0 + Duration::from_millis(100)));
    }

    #[test]
    fn zero_means_unlimited() {
        let limiter = RateLimiter::new(0);
        assert!((0..1000).all(|_| limiter.admit(key(1), Instant::now())));
    }

    #[test]
    fn the_map_never_holds_more_than_its_capacity() {
        let limiter = RateLimiter::with_capacity(10, 100);
        let t0 = Instant::now();
        for n in 0..10_000 {
            limiter.admit(key(n), t0);
        }
        assert_eq!(limiter.len(), 100);
        assert!(limiter.admit(key(9_999), t0), "the newest buckets are kept");
    }

    #[test]
    fn idle_buckets_are_dropped_as_requests_pass() {
        let limiter = RateLimiter::new(10);
        let t0 = Instant::now();
        for n in 0..50 {
            limiter.admit(key(n), t0);
        }
        let later = t0 + FORGET_AFTER;
        for _ in 0..30 {
            limiter.admit(key(1_000), later);
        }
        assert!(limiter.len() <= 2, "left {}", limiter.len());
    }

    #[test]
    fn an_ipv6_client_is_one_client_across_its_64() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(Client::address(a), Client::address(b));
        assert_ne!(Client::address(a), Client::address(c));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(Client::address(mapped), Client::Address("10.0.0.1".parse().unwrap()));
    }
}
