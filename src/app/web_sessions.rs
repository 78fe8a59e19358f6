//! Sessions of the settings page: a staff user signs in with e-mail and password and gets a session
//! cookie; attempts are throttled per account and client address, per client address and per account,
//! across every app node (docs/decisions/sign-in-throttle.md).

use std::net::IpAddr;

use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::auth::Secret;
use super::{App, AppError, AppResult, Principal};
use crate::domain::{EMAIL_MAX_LEN, Password, StaffStatus, StaffUser, Timestamp, hex, sign_in_account_key};
use crate::store::{Entity, NewWebSession};

/// How long a session lasts from sign-in, whatever the activity: a working day.
pub const SESSION_TTL_SECONDS: i64 = 12 * 60 * 60;
/// Attempts allowed for one account from one client address within [`SIGN_IN_WINDOW_SECONDS`]; a
/// success clears this count.
pub const MAX_FAILED_SIGN_INS: i64 = 5;
/// Attempts allowed from one client address, whatever the accounts, within the window.
pub const MAX_SIGN_INS_PER_ADDRESS: i64 = 50;
/// Attempts allowed for one account, from all addresses together, within the window.
pub const MAX_SIGN_INS_PER_ACCOUNT: i64 = 100;
pub const SIGN_IN_WINDOW_SECONDS: i64 = 15 * 60;

/// A new session and the secret for its cookie, which the server keeps only as a hash.
pub struct WebSession {
    pub token: String,
    pub user: StaffUser,
}

/// The staff user behind a session cookie, and the principal it acts as.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: StaffUser,
    pub principal: Principal,
}

/// What a sign-in attempt came to. Wrong e-mail and wrong password are one answer, so the page does
/// not tell which addresses have accounts.
pub enum SignIn {
    SignedIn(WebSession),
    WrongCredentials,
    /// Too many attempts lately for this account from this address, from this address, or for this
    /// account; no password was checked.
    Throttled,
}

/// The throttle's keys: (account and address, address, account). Accounts are named by a SHA-256 of
/// the lower-cased address, so the table has fixed-size keys and keeps no e-mail address anyone typed;
/// the pair's key mixes in the address, so erasure cannot find it, but it lives one window at most.
fn throttle_subjects(email: &str, client: Option<IpAddr>) -> [String; 3] {
    let account = email.trim().to_lowercase();
    let address = client.map_or_else(|| "unknown".to_owned(), |ip| client_network(ip).to_string());
    let pair = Sha256::new().chain_update(account.as_bytes()).chain_update([0]).chain_update(address.as_bytes());
    [format!("p:{}", hex(&pair.finalize())), format!("i:{address}"), sign_in_account_key(&account)]
}

/// A client as the throttle counts it: an IPv4 address, or the /64 of an IPv6 address (which one
/// client usually holds whole).
fn client_network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        },
    }
}

impl App {
    /// Signs a staff user in to the settings page with e-mail and password, from `client`. The attempt
    /// is counted first, in one transaction, under three keys: the account from this address
    /// ([`MAX_FAILED_SIGN_INS`]), this address ([`MAX_SIGN_INS_PER_ADDRESS`]) and the account
    /// ([`MAX_SIGN_INS_PER_ACCOUNT`]), each per [`SIGN_IN_WINDOW_SECONDS`]; past any of them the
    /// password is not checked. Counting before checking means concurrent guesses cannot slip past
    /// the limit. A success clears the first count, so an owner's own typos do not pile up.
    pub async fn sign_in_web(&self, email: &str, password: &str, client: Option<IpAddr>) -> AppResult<SignIn> {
        let now = Timestamp::now();
        let since = now.plus_seconds(-SIGN_IN_WINDOW_SECONDS);
        let email = email.trim();
        let subjects = throttle_subjects(email, client);
        // No account has an address longer than an address may be, or a password longer than a
        // password may be; such an attempt is counted against its client only and goes no further.
        if email.len() > EMAIL_MAX_LEN || password.len() > Password::MAX_BYTES {
            let counts = self.store.count_sign_in_attempts(&subjects[1..2], now, since).await?;
            let over = counts.first().is_some_and(|n| *n > MAX_SIGN_INS_PER_ADDRESS);
            return Ok(if over { SignIn::Throttled } else { SignIn::WrongCredentials });
        }
        let counts = self.store.count_sign_in_attempts(&subjects, now, since).await?;
        let limits = [MAX_FAILED_SIGN_INS, MAX_SIGN_INS_PER_ADDRESS, MAX_SIGN_INS_PER_ACCOUNT];
        if counts.iter().zip(limits).any(|(n, limit)| *n > limit) {
            if counts.iter().zip(limits).any(|(n, limit)| *n == limit + 1) {
                tracing::warn!("sign-in throttled after repeated attempts");
            }
            return Ok(SignIn::Throttled);
        }
        match self.sign_in_staff(email, password).await {
            Ok(user) => {
                self.store.clear_sign_in_failures(&subjects[0]).await?;
                Ok(SignIn::SignedIn(self.start_web_session(user).await?))
            }
            Err(AppError::Unauthorized) => Ok(SignIn::WrongCredentials),
            Err(e) => Err(e),
        }
    }

    /// The invited staff user an invitation link is for, while it can still be accepted; otherwise
    /// `NotFound(StaffInvitation)`. The token is the credential, as for accepting.
    pub async fn pending_invitation(&self, token: &str) -> AppResult<StaffUser> {
        let found = self.store.find_staff_invitation(&super::hash_secret(token.trim())).await?;
        found
            .filter(|f| {
                f.accepted_at.is_none() && f.expires_at > Timestamp::now() && f.user.status == StaffStatus::Invited
            })
            .map(|f| f.user)
            .ok_or(AppError::NotFound(Entity::StaffInvitation))
    }

    /// Accepts an invitation on the settings page with the password the new member chose, and signs
    /// the member in.
    pub async fn accept_invitation_on_web(&self, token: &str, password: Password) -> AppResult<WebSession> {
        let user = self.accept_invitation(token, Some(password)).await?;
        self.start_web_session(user).await
    }

    /// Starts a session for a staff user whose credentials were just checked.
    async fn start_web_session(&self, user: StaffUser) -> AppResult<WebSession> {
        let secret = Secret::generate("fds");
        let now = Timestamp::now();
        let session = NewWebSession {
            id: Uuid::new_v4(),
            token_hash: secret.hash,
            workspace_id: user.workspace_id,
            staff_user_id: user.id,
            created_at: now,
            expires_at: now.plus_seconds(SESSION_TTL_SECONDS),
        };
        self.store.insert_web_session(&session).await?;
        Ok(WebSession { token: secret.plain, user })
    }

    /// The signed-in staff user of a session cookie; `None` for an unknown or expired session, or a
    /// user who is no longer `Active`.
    pub async fn web_session(&self, token: &str) -> AppResult<Option<SignedIn>> {
        if token.is_empty() {
            return Ok(None);
        }
        let user = self.store.web_session_user(&super::hash_secret(token), Timestamp::now()).await?;
        Ok(user.map(|user| SignedIn {
            principal: Principal::Staff { user_id: user.id, workspace_id: user.workspace_id, role: user.role },
            user,
        }))
    }

    /// Signs out: the session stops working on every node at once.
    pub async fn end_web_session(&self, token: &str) -> AppResult<()> {
        Ok(self.store.delete_web_session(&super::hash_secret(token)).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_subjects_ignore_case_and_spaces_and_are_short() {
        let ip = Some(IpAddr::from([10, 0, 0, 1]));
        assert_eq!(throttle_subjects(" Ann@Example.COM ", ip), throttle_subjects("ann@example.com", ip));
        let other = throttle_subjects("ann@example.com", Some(IpAddr::from([10, 0, 0, 2])));
        let [pair, address, account] = throttle_subjects("ann@example.com", ip);
        assert_ne!(pair, other[0], "another address is another pair");
        assert_ne!(address, other[1]);
        assert_eq!(account, other[2], "the account is one key from every address");
        let long = throttle_subjects(&"x".repeat(100_000), ip);
        assert!(long.iter().all(|s| s.len() <= 66));
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        assert_eq!(client_network(a), client_network(b));
        assert_ne!(client_network(a), client_network("2001:db8:1:3::1".parse().unwrap()));
    }
}
