//! Idempotency keys: a client that sends `Idempotency-Key` with a POST may retry it safely. The first
//! request with a key runs and its answer is kept; a retry with the same key and body gets that answer
//! and runs nothing. The HTTP shell applies this to every contract's POSTs; the rules live here.

use std::time::Duration;

use sha2::{Digest, Sha256};

use super::{App, AppError, AppResult};
use crate::domain::{Refusal, Rule, Timestamp};
pub use crate::store::{KeyClaim, StoredAnswer};

/// How long a key's answer is kept, unless the server is configured otherwise.
pub const IDEMPOTENCY_KEY_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// A key still pending after this long belongs to a request that died with its node; a retry may
/// take it over instead of being refused until the key expires.
pub const ABANDONED_AFTER: Duration = Duration::from_secs(10 * 60);
/// The longest key accepted.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;
/// Answers with a longer body are not kept (their key is released, so a retry runs again).
pub const MAX_KEPT_ANSWER_BYTES: usize = 1024 * 1024;

/// Why a request with an idempotency key is not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRefusal {
    /// The key was used with another body: a client bug, not a retry.
    Reused,
    /// The first request with the key is still running.
    InProgress,
}

impl KeyRefusal {
    /// A sentence for people, in no contract's terms.
    pub fn message(self) -> &'static str {
        match self {
            KeyRefusal::Reused => "This Idempotency-Key was already used with a different request body.",
            KeyRefusal::InProgress => "A request with this Idempotency-Key is still being processed; retry later.",
        }
    }
}

/// Where a key's request is scoped: the same key sent with another credential, method or path is
/// another key.
pub struct KeyScope<'a> {
    /// The credential as the request carried it (an `authorization` value or a seed's key
    /// parameter); empty when there is none.
    pub credential: &'a [u8],
    pub method: &'a str,
    pub path: &'a str,
}

/// The wire name of the header, as field errors report it.
pub const IDEMPOTENCY_KEY_FIELD: &str = "Idempotency-Key";

/// A key is 1 to 255 printable ASCII characters (space to `~`).
pub fn parse_idempotency_key(raw: &[u8]) -> AppResult<&str> {
    let refuse = |refusal| Err(AppError::invalid(IDEMPOTENCY_KEY_FIELD, refusal));
    if raw.is_empty() {
        return refuse(Refusal::new(Rule::NotEmpty, "must not be empty"));
    }
    if raw.len() > MAX_IDEMPOTENCY_KEY_LEN {
        return refuse(Refusal::too_long(MAX_IDEMPOTENCY_KEY_LEN));
    }
    match std::str::from_utf8(raw) {
        Ok(key) if raw.iter().all(|b| (0x20..=0x7e).contains(b)) => Ok(key),
        _ => refuse(Refusal::new(Rule::Format, "must be printable ASCII characters")),
    }
}

/// What a request with an idempotency key is to do.
#[derive(Debug)]
pub enum KeyDecision {
    /// Run the request, then [`App::keep_answer`] or [`App::release_idempotency_key`] with this hash.
    Run(Vec<u8>),
    /// Answer this, which the first request with the key answered.
    Replay(StoredAnswer),
}

fn sha256(parts: &[&[u8]]) -> Vec<u8> {
    let mut hasher = Sha256::new();
    for part in parts {
        // Length-prefixed, so no two different scopes hash alike by shifting bytes between parts.
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hasher.finalize().to_vec()
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

impl App {
    /// Claims `key` in `scope` for a request with `body`, or says why not: a retry of an answered
    /// request is replayed, a different body is [`KeyRefusal::Reused`], a request still running with
    /// the same key is [`KeyRefusal::InProgress`]. Keys older than `ttl` are gone.
    pub async fn claim_idempotency_key(
        &self,
        scope: &KeyScope<'_>,
        key: &str,
        body: &[u8],
        ttl: Duration,
    ) -> AppResult<KeyDecision> {
        let credential = sha256(&[scope.credential]);
        let key_hash = sha256(&[&credential, scope.method.as_bytes(), scope.path.as_bytes(), key.as_bytes()]);
        let body_hash = sha256(&[body]);
        let now = Timestamp::now();
        let expired_before = Timestamp::from_micros(now.micros().saturating_sub(micros(ttl)));
        let abandoned_before = Timestamp::from_micros(now.micros().saturating_sub(micros(ABANDONED_AFTER)));
        let claim =
            self.store.claim_idempotency_key(&key_hash, &body_hash, now, expired_before, abandoned_before).await?;
        match claim {
            KeyClaim::Claimed => Ok(KeyDecision::Run(key_hash)),
            KeyClaim::Answered { body_hash: first, answer } if first == body_hash => Ok(KeyDecision::Replay(answer)),
            KeyClaim::Pending { body_hash: first } if first == body_hash => {
                Err(AppError::Idempotency(KeyRefusal::InProgress))
            }
            KeyClaim::Answered { .. } | KeyClaim::Pending { .. } => Err(AppError::Idempotency(KeyRefusal::Reused)),
        }
    }

    /// Whether an answer with this status is kept for retries: only successes. A refusal frees the
    /// key, so the client can correct the request and send it again with the same key.
    pub fn is_kept(status: u16) -> bool {
        (200..300).contains(&status)
    }

    /// Keeps the answer of the request that claimed `key_hash`.
    pub async fn keep_answer(&self, key_hash: &[u8], answer: &StoredAnswer) -> AppResult<()> {
        Ok(self.store.complete_idempotency_key(key_hash, answer).await?)
    }

    /// Frees a claimed key whose answer is not kept.
    pub async fn release_idempotency_key(&self, key_hash: &[u8]) -> AppResult<()> {
        Ok(self.store.release_idempotency_key(key_hash).await?)
    }

    /// Removes the keys older than `ttl`; how many. Claiming a key does this too, so the table stays
    /// small without it; the server also runs it hourly for quiet servers.
    pub async fn purge_idempotency_keys(&self, ttl: Duration) -> AppResult<u64> {
        let now = Timestamp::now();
        Ok(self.store.purge_idempotency_keys(Timestamp::from_micros(now.micros().saturating_sub(micros(ttl)))).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_one_to_255_printable_ascii_characters() {
        assert_eq!(parse_idempotency_key(b"order-42 retry").unwrap(), "order-42 retry");
        assert!(parse_idempotency_key(&[b'k'; 255]).is_ok());
        for bad in [&b""[..], &[b'k'; 256][..], "clé".as_bytes(), b"tab\there", b"nl\n"] {
            let Err(AppError::Invalid(errors)) = parse_idempotency_key(bad) else { panic!("{bad:?} accepted") };
            assert_eq!(errors[0].field, IDEMPOTENCY_KEY_FIELD);
        }
    }

    #[test]
    fn scopes_that_differ_only_in_where_a_byte_sits_hash_apart() {
        assert_ne!(sha256(&[b"ab", b"c"]), sha256(&[b"a", b"bc"]));
    }
}
