//! Sessions of the settings page: a staff user signs in with e-mail and password and gets a session
//! cookie; failed attempts are throttled per e-mail address across every app node.

use uuid::Uuid;

use super::auth::Secret;
use super::{App, AppError, AppResult, Principal};
use crate::domain::{Password, StaffStatus, StaffUser, Timestamp};
use crate::store::{Entity, NewWebSession};

/// How long a session lasts from sign-in, whatever the activity: a working day.
pub const SESSION_TTL_SECONDS: i64 = 12 * 60 * 60;
/// Failed attempts allowed per e-mail address within [`SIGN_IN_WINDOW_SECONDS`].
pub const MAX_FAILED_SIGN_INS: i64 = 5;
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
    /// Too many failures for this address lately; no password was checked.
    Throttled,
}

/// The throttle's key for an address: case does not make a new one.
fn throttle_subject(email: &str) -> String {
    format!("email:{}", email.trim().to_lowercase())
}

impl App {
    /// Signs a staff user in to the settings page with e-mail and password. After
    /// [`MAX_FAILED_SIGN_INS`] failures for an address within [`SIGN_IN_WINDOW_SECONDS`], further
    /// attempts are refused without checking the password until the window has passed; a success
    /// clears the count.
    pub async fn sign_in_web(&self, email: &str, password: &str) -> AppResult<SignIn> {
        if self.sign_in_throttled(email).await? {
            return Ok(SignIn::Throttled);
        }
        match self.sign_in_staff(email, password).await {
            Ok(user) => {
                self.clear_failed_sign_ins(email).await?;
                Ok(SignIn::SignedIn(self.start_web_session(user).await?))
            }
            Err(AppError::Unauthorized) => {
                self.record_failed_sign_in(email).await?;
                Ok(SignIn::WrongCredentials)
            }
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

    /// Whether the address has used up its failed attempts for now.
    async fn sign_in_throttled(&self, email: &str) -> AppResult<bool> {
        let since = Timestamp::now().plus_seconds(-SIGN_IN_WINDOW_SECONDS);
        Ok(self.store.sign_in_failures(&throttle_subject(email), since).await? >= MAX_FAILED_SIGN_INS)
    }

    async fn record_failed_sign_in(&self, email: &str) -> AppResult<()> {
        let now = Timestamp::now();
        let since = now.plus_seconds(-SIGN_IN_WINDOW_SECONDS);
        let failures = self.store.record_sign_in_failure(&throttle_subject(email), now, since).await?;
        if failures >= MAX_FAILED_SIGN_INS {
            tracing::warn!(failures, "sign-in throttled after repeated failures for one address");
        }
        Ok(())
    }

    async fn clear_failed_sign_ins(&self, email: &str) -> AppResult<()> {
        Ok(self.store.clear_sign_in_failures(&throttle_subject(email)).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_subject_ignores_case_and_spaces() {
        assert_eq!(throttle_subject(" Ann@Example.COM "), throttle_subject("ann@example.com"));
    }
}
