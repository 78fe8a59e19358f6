//! A per-node cache of API keys and access tokens, so that a request's credential costs no database
//! round trip (docs/scaling.md, "Credential cache").
//!
//! Entries are found by the SHA-256 of the secret (the plain secret is never kept), live at most the
//! configured lifetime after they were read from the database, and are dropped at once on this node
//! when the key is revoked or the external user is changed (blocked, unblocked, renamed). A revocation
//! made on another node is seen here when the entry expires, so the lifetime must stay short.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::domain::{ExternalUser, Role, Timestamp};

/// How long a credential read from the database is trusted without asking again.
pub const DEFAULT_CREDENTIAL_CACHE_TTL: Duration = Duration::from_secs(5);
/// Entries per kind; at 10,000 keys and tokens the cache holds a few MB at most.
const CAPACITY: usize = 10_000;

pub(super) type SecretHash = [u8; 32];

#[derive(Clone, Copy)]
pub(super) struct CachedKey {
    pub key_id: Uuid,
    pub workspace_id: Uuid,
    pub role: Role,
    /// When this node last wrote (or saw) the key's `last_used_at`.
    pub last_touch: Option<Timestamp>,
}

#[derive(Clone)]
pub(super) struct CachedToken {
    pub user: ExternalUser,
    pub expires_at: Timestamp,
    pub issued_by_key_id: Option<Uuid>,
}

/// One kind of credential. `generation` changes on every invalidation, so a lookup that read the
/// database before a revocation cannot put the stale credential back after it.
struct Map<T> {
    entries: HashMap<SecretHash, (Instant, T)>,
    generation: u64,
}

impl<T> Map<T> {
    fn new() -> Self {
        Self { entries: HashMap::new(), generation: 0 }
    }

    fn insert(&mut self, generation: u64, hash: SecretHash, value: T, ttl: Duration) {
        if generation != self.generation {
            return;
        }
        if self.entries.len() >= CAPACITY && !self.entries.contains_key(&hash) {
            self.entries.retain(|_, (at, _)| at.elapsed() < ttl);
            if self.entries.len() >= CAPACITY
                && let Some(victim) = self.entries.keys().next().copied()
            {
                self.entries.remove(&victim);
            }
        }
        self.entries.insert(hash, (Instant::now(), value));
    }

    fn live(&mut self, hash: &SecretHash, ttl: Duration) -> Option<&mut T> {
        match self.entries.get(hash) {
            Some((at, _)) if at.elapsed() >= ttl => {
                self.entries.remove(hash);
                None
            }
            Some(_) => self.entries.get_mut(hash).map(|(_, v)| v),
            None => None,
        }
    }

    fn forget(&mut self, mut matches: impl FnMut(&T) -> bool) {
        self.entries.retain(|_, (_, v)| !matches(v));
        self.generation += 1;
    }
}

pub(super) struct CredentialCache {
    ttl: Duration,
    keys: Mutex<Map<CachedKey>>,
    tokens: Mutex<Map<CachedToken>>,
}

/// A poisoned lock only means another request panicked mid-update of a plain map; the map is still
/// consistent, so keep using it.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl CredentialCache {
    /// A zero `ttl` turns the cache off: every request asks the database.
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, keys: Mutex::new(Map::new()), tokens: Mutex::new(Map::new()) }
    }

    /// Read before asking the database; pass it back to `put_key` so a revocation in between wins.
    pub fn key_generation(&self) -> u64 {
        lock(&self.keys).generation
    }

    pub fn token_generation(&self) -> u64 {
        lock(&self.tokens).generation
    }

    /// The cached key, and whether `last_used_at` is due (then this call counts as the write, so
    /// concurrent requests do not all write it).
    pub fn key(&self, hash: &SecretHash, now: Timestamp, touch_interval_micros: i64) -> Option<(CachedKey, bool)> {
        if self.ttl.is_zero() {
            return None;
        }
        let mut keys = lock(&self.keys);
        let key = keys.live(hash, self.ttl)?;
        let due = key.last_touch.is_none_or(|t| now.micros() - t.micros() > touch_interval_micros);
        if due {
            key.last_touch = Some(now);
        }
        Some((*key, due))
    }

    pub fn put_key(&self, generation: u64, hash: SecretHash, key: CachedKey) {
        if !self.ttl.is_zero() {
            lock(&self.keys).insert(generation, hash, key, self.ttl);
        }
    }

    pub fn token(&self, hash: &SecretHash) -> Option<CachedToken> {
        if self.ttl.is_zero() {
            return None;
        }
        lock(&self.tokens).live(hash, self.ttl).cloned()
    }

    pub fn put_token(&self, generation: u64, hash: SecretHash, token: CachedToken) {
        if !self.ttl.is_zero() {
            lock(&self.tokens).insert(generation, hash, token, self.ttl);
        }
    }

    /// Drops the key and every token it issued (revoking a key deletes its tokens).
    pub fn forget_key(&self, key_id: Uuid) {
        lock(&self.keys).forget(|k| k.key_id == key_id);
        lock(&self.tokens).forget(|t| t.issued_by_key_id == Some(key_id));
    }

    pub fn forget_user(&self, user_id: Uuid) {
        lock(&self.tokens).forget(|t| t.user.id == user_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> CachedKey {
        CachedKey { key_id: Uuid::new_v4(), workspace_id: Uuid::new_v4(), role: Role::Agent, last_touch: None }
    }

    #[test]
    fn a_cached_key_is_found_until_its_lifetime_ends() {
        let cache = CredentialCache::new(Duration::from_millis(30));
        let k = key();
        cache.put_key(cache.key_generation(), [1; 32], k);
        assert_eq!(cache.key(&[1; 32], Timestamp::now(), 60_000_000).map(|(c, _)| c.key_id), Some(k.key_id));
        assert!(cache.key(&[2; 32], Timestamp::now(), 60_000_000).is_none(), "only the same secret hash matches");
        std::thread::sleep(Duration::from_millis(40));
        assert!(cache.key(&[1; 32], Timestamp::now(), 60_000_000).is_none());
    }

    #[test]
    fn last_use_is_due_once_per_interval_however_many_requests_see_the_key() {
        let cache = CredentialCache::new(Duration::from_secs(60));
        cache.put_key(cache.key_generation(), [1; 32], key());
        let now = Timestamp::now();
        assert_eq!(cache.key(&[1; 32], now, 60_000_000).map(|(_, due)| due), Some(true));
        assert_eq!(cache.key(&[1; 32], now, 60_000_000).map(|(_, due)| due), Some(false));
        let later = now.plus_seconds(61);
        assert_eq!(cache.key(&[1; 32], later, 60_000_000).map(|(_, due)| due), Some(true));
    }

    #[test]
    fn forgetting_a_key_drops_it_and_refuses_a_lookup_that_started_before() {
        let cache = CredentialCache::new(Duration::from_secs(60));
        let k = key();
        let before = cache.key_generation();
        cache.put_key(before, [1; 32], k);
        cache.forget_key(k.key_id);
        assert!(cache.key(&[1; 32], Timestamp::now(), 0).is_none());
        cache.put_key(before, [1; 32], k);
        assert!(cache.key(&[1; 32], Timestamp::now(), 0).is_none(), "a read from before the revocation is stale");
        cache.put_key(cache.key_generation(), [1; 32], k);
        assert!(cache.key(&[1; 32], Timestamp::now(), 0).is_some());
    }

    #[test]
    fn the_cache_never_grows_past_its_capacity() {
        let cache = CredentialCache::new(Duration::from_secs(60));
        for i in 0..CAPACITY + 50 {
            let mut hash = [0; 32];
            hash[..8].copy_from_slice(&(i as u64).to_le_bytes());
            cache.put_key(cache.key_generation(), hash, key());
        }
        assert_eq!(lock(&cache.keys).entries.len(), CAPACITY);
    }

    #[test]
    fn a_zero_lifetime_caches_nothing() {
        let cache = CredentialCache::new(Duration::ZERO);
        cache.put_key(cache.key_generation(), [1; 32], key());
        assert!(cache.key(&[1; 32], Timestamp::now(), 0).is_none());
    }
}
