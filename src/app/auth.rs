//! Who is calling: API keys and external users' access tokens.

use rand::Rng;
use rand::distr::Alphanumeric;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::credential_cache::{CachedKey, CachedToken, SecretHash};
use super::{App, AppError, AppResult};
use crate::domain::{Actor, ExternalUser, Role, Timestamp};

/// The acting principal of a request. `createdBy`/`updatedBy` fields record [`Principal::actor_id`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    ApiKey {
        key_id: Uuid,
        workspace_id: Uuid,
        role: Role,
    },
    /// An external user acting on itself and its own tickets only.
    ExternalUser {
        user_id: Uuid,
        workspace_id: Uuid,
    },
    /// A staff user signed in to the settings page, acting with its own role.
    Staff {
        user_id: Uuid,
        workspace_id: Uuid,
        role: Role,
    },
    /// Whoever runs the CLI on the server: the machine's operator, with admin rights. Records it
    /// creates name the nil UUID as their author.
    Operator {
        workspace_id: Uuid,
    },
}

impl Principal {
    pub fn workspace_id(&self) -> Uuid {
        match self {
            Principal::ApiKey { workspace_id, .. }
            | Principal::ExternalUser { workspace_id, .. }
            | Principal::Staff { workspace_id, .. }
            | Principal::Operator { workspace_id } => *workspace_id,
        }
    }

    pub fn actor_id(&self) -> Uuid {
        match self {
            Principal::ApiKey { key_id, .. } => *key_id,
            Principal::ExternalUser { user_id, .. } | Principal::Staff { user_id, .. } => *user_id,
            Principal::Operator { .. } => Uuid::nil(),
        }
    }

    /// Who events name as the author of this principal's changes.
    pub fn actor(&self) -> Actor {
        match self {
            Principal::ApiKey { key_id, .. } => Actor::ApiKey(*key_id),
            Principal::ExternalUser { user_id, .. } => Actor::ExternalUser(*user_id),
            Principal::Staff { user_id, .. } => Actor::StaffUser(*user_id),
            Principal::Operator { .. } => Actor::Operator,
        }
    }

    /// The single place where the role matrix of docs/permissions.md is enforced.
    pub fn require(&self, needed: Role) -> AppResult<()> {
        match (self, needed) {
            (
                Principal::Operator { .. }
                | Principal::ApiKey { role: Role::Admin, .. }
                | Principal::Staff { role: Role::Admin, .. },
                _,
            ) => Ok(()),
            (Principal::ApiKey { role: Role::Agent, .. } | Principal::Staff { role: Role::Agent, .. }, Role::Agent) => {
                Ok(())
            }
            (Principal::ApiKey { .. }, Role::Admin) => {
                Err(AppError::Forbidden("This operation needs an admin API key."))
            }
            (Principal::Staff { .. }, Role::Admin) => Err(AppError::Forbidden("Only workspace admins may do this.")),
            (Principal::ExternalUser { .. }, _) => {
                Err(AppError::Forbidden("External users may act only on themselves and their own tickets."))
            }
        }
    }
}

/// A credential's secret as shown once to its owner, and the hash that is all the database keeps.
pub struct Secret {
    pub plain: String,
    pub hash: Vec<u8>,
}

impl Secret {
    /// Characters of a key kept in plain text for display: the tag and a few random characters.
    pub const PREFIX_CHARS: usize = 8;

    /// 40 random alphanumeric characters (~238 bits) after a readable kind tag.
    pub fn generate(tag: &str) -> Self {
        let random: String = rand::rng().sample_iter(&Alphanumeric).take(40).map(char::from).collect();
        Self::from_plain(format!("{tag}_{random}"))
    }

    pub fn from_plain(plain: String) -> Self {
        let hash = hash_secret(&plain);
        Self { plain, hash }
    }

    /// What the settings page and the key list show: enough to tell keys apart, useless to an attacker.
    pub fn prefix(&self) -> String {
        self.plain.chars().take(Self::PREFIX_CHARS).collect()
    }
}

/// The shortest `FRONTDESK_BOOTSTRAP_API_KEY` accepted, in characters.
pub const MIN_BOOTSTRAP_KEY_CHARS: usize = 32;
/// The fewest different characters it must hold: `aaaa…` or `1234512345…` is long but guessable.
pub const MIN_BOOTSTRAP_KEY_DISTINCT: usize = 10;

/// Why a chosen bootstrap key is too weak to be an admin credential, or `None` when it will do: at
/// least [`MIN_BOOTSTRAP_KEY_CHARS`] characters, at least [`MIN_BOOTSTRAP_KEY_DISTINCT`] of them
/// different, and no whitespace. A generated key (`fdk_` and 40 random alphanumerics) passes.
pub fn bootstrap_key_weakness(key: &str) -> Option<String> {
    let n = key.chars().count();
    if n < MIN_BOOTSTRAP_KEY_CHARS {
        return Some(format!("it has {n} characters, at least {MIN_BOOTSTRAP_KEY_CHARS} are needed"));
    }
    if key.chars().any(char::is_whitespace) {
        return Some("it must not contain whitespace".into());
    }
    let mut distinct: Vec<char> = key.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < MIN_BOOTSTRAP_KEY_DISTINCT {
        return Some(format!(
            "it uses {} different characters, at least {MIN_BOOTSTRAP_KEY_DISTINCT} are needed",
            distinct.len()
        ));
    }
    None
}

/// SHA-256 suffices for random high-entropy secrets (no password-grade hashing per request).
pub fn hash_secret(plain: &str) -> Vec<u8> {
    digest(plain).to_vec()
}

fn digest(plain: &str) -> SecretHash {
    Sha256::digest(plain.as_bytes()).into()
}

/// The credential in an `authorization` header: the raw value, or the value after `Bearer `.
pub fn credential(header: &str) -> &str {
    let header = header.trim();
    match header.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => header,
    }
}

/// How long an external user's access token lives.
pub const ACCESS_TOKEN_TTL_SECONDS: i64 = 24 * 60 * 60;
/// `last_used_at` is written at most this often per key, so reads do not become writes.
const TOUCH_INTERVAL_MICROS: i64 = 60 * 1_000_000;

impl App {
    /// Resolves an API key from an `authorization` header; revoked or unknown keys are `Unauthorized`.
    pub async fn api_key_principal(&self, header: Option<&str>) -> AppResult<Principal> {
        let secret = header.map(credential).filter(|s| !s.is_empty()).ok_or(AppError::Unauthorized)?;
        self.api_key(&digest(secret)).await?.ok_or(AppError::Unauthorized)
    }

    /// The key with this secret hash, from this node's cache or else the database.
    async fn api_key(&self, hash: &SecretHash) -> AppResult<Option<Principal>> {
        let now = Timestamp::now();
        let key = match self.credentials.key(hash, now, TOUCH_INTERVAL_MICROS) {
            Some((key, due)) => {
                if due {
                    self.touch_api_key(key.key_id, now);
                }
                key
            }
            None => {
                let generation = self.credentials.key_generation();
                let Some(key) = self.store.api_key_by_hash(hash).await? else { return Ok(None) };
                if key.revoked_at.is_some() {
                    return Ok(None);
                }
                let due = key.last_used_at.is_none_or(|t| now.micros() - t.micros() > TOUCH_INTERVAL_MICROS);
                if due {
                    self.touch_api_key(key.id, now);
                }
                let last_touch = if due { Some(now) } else { key.last_used_at };
                let cached = CachedKey { key_id: key.id, workspace_id: key.workspace_id, role: key.role, last_touch };
                self.credentials.put_key(generation, *hash, cached);
                cached
            }
        };
        Ok(Some(Principal::ApiKey { key_id: key.key_id, workspace_id: key.workspace_id, role: key.role }))
    }

    /// Recording use must not slow or fail the request it belongs to.
    fn touch_api_key(&self, id: Uuid, now: Timestamp) {
        let store = self.store.clone();
        tokio::spawn(async move {
            if let Err(e) = store.touch_api_key(id, now).await {
                tracing::warn!(error = %e, "could not record API key use");
            }
        });
    }

    /// Resolves an external user's access token; expired tokens and blocked users are refused.
    pub async fn access_token_user(&self, header: Option<&str>) -> AppResult<ExternalUser> {
        let token = header.map(credential).filter(|s| !s.is_empty()).ok_or(AppError::Unauthorized)?;
        self.access_token(&digest(token)).await?.ok_or(AppError::Unauthorized)
    }

    async fn access_token(&self, hash: &SecretHash) -> AppResult<Option<ExternalUser>> {
        let now = Timestamp::now();
        let found = match self.credentials.token(hash) {
            Some(found) => found,
            None => {
                let generation = self.credentials.token_generation();
                let Some(found) = self.store.access_token(hash).await? else { return Ok(None) };
                let found = CachedToken {
                    user: found.user,
                    expires_at: found.expires_at,
                    issued_by_key_id: found.issued_by_key_id,
                };
                // Refused tokens are not cached: unblocking must take effect at once everywhere.
                if found.expires_at > now && !found.user.blocked {
                    self.credentials.put_token(generation, *hash, found.clone());
                }
                found
            }
        };
        Ok(Some(found.user).filter(|user| found.expires_at > now && !user.blocked))
    }

    /// Accepts either kind of bearer credential: an API key first, then an external user's token.
    pub async fn any_principal(&self, header: Option<&str>) -> AppResult<Principal> {
        let secret = header.map(credential).filter(|s| !s.is_empty()).ok_or(AppError::Unauthorized)?;
        let hash = digest(secret);
        // A cached token answers without the key lookup that would miss in the database.
        if let Some(token) = self.credentials.token(&hash)
            && token.expires_at > Timestamp::now()
        {
            return Ok(Principal::ExternalUser { user_id: token.user.id, workspace_id: token.user.workspace_id });
        }
        if let Some(key) = self.api_key(&hash).await? {
            return Ok(key);
        }
        let user = self.access_token(&hash).await?.ok_or(AppError::Unauthorized)?;
        Ok(Principal::ExternalUser { user_id: user.id, workspace_id: user.workspace_id })
    }

    /// Called after a key is revoked or an external user changed, so this node stops trusting its copy
    /// at once (other nodes within the cache's lifetime).
    pub(super) fn forget_api_key(&self, key_id: Uuid) {
        self.credentials.forget_key(key_id);
    }

    pub(super) fn forget_external_user(&self, user_id: Uuid) {
        self.credentials.forget_user(user_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_takes_raw_or_bearer() {
        assert_eq!(credential("fdk_abc"), "fdk_abc");
        assert_eq!(credential("Bearer fdk_abc"), "fdk_abc");
        assert_eq!(credential("bearer  fdk_abc "), "fdk_abc");
    }

    #[test]
    fn weak_bootstrap_keys_are_refused_and_generated_ones_pass() {
        for weak in [
            "",
            "fdk_short",
            &"a".repeat(64),
            "fdk_0101010101010101010101010101010",
            "fdk_abcdefghijklmnop qrstuvwxyz0123",
        ] {
            assert!(bootstrap_key_weakness(weak).is_some(), "{weak:?}");
        }
        assert_eq!(bootstrap_key_weakness(&Secret::generate("fdk").plain), None);
        assert_eq!(bootstrap_key_weakness("fdk_chosen_by_automation_0123456789"), None);
    }

    #[test]
    fn secrets_are_random_and_only_their_hash_matches() {
        let a = Secret::generate("fdk");
        let b = Secret::generate("fdk");
        assert_ne!(a.plain, b.plain);
        assert!(a.plain.starts_with("fdk_") && a.plain.len() == 44);
        assert_eq!(a.hash, hash_secret(&a.plain));
        assert_eq!(a.prefix().len(), 8);
    }

    #[test]
    fn staff_principals_act_by_their_role_and_author_as_themselves() {
        let (user_id, workspace_id) = (Uuid::new_v4(), Uuid::new_v4());
        let admin = Principal::Staff { user_id, workspace_id, role: Role::Admin };
        let agent = Principal::Staff { user_id, workspace_id, role: Role::Agent };
        assert!(admin.require(Role::Admin).is_ok() && admin.require(Role::Agent).is_ok());
        assert!(agent.require(Role::Agent).is_ok());
        assert!(matches!(agent.require(Role::Admin), Err(AppError::Forbidden(_))));
        assert_eq!(agent.actor_id(), user_id);
        assert_eq!(agent.workspace_id(), workspace_id);
    }
}
