//! Seed 003's user lifecycle: invite (with groups, folders and an invitation token), find, search,
//! delete, disable; accepting an invitation (argon2id password, `Active`) and signing in.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use uuid::Uuid;

use super::auth::{Secret, hash_secret};
use super::{App, AppError, AppResult, Principal};
use crate::domain::{
    CollectionKind, DisplayName, EmailAddress, FieldError, Password, Refusal, Role, Rule, StaffCollection, StaffStatus,
    StaffUser, Timestamp,
};
use crate::store::{
    Entity, NewInvitation, NewStaffMember, Page, Paging, StaffConflicts, StaffFilter, StaffKey, StaffMemberOutcome,
};

/// How long an invitation link stays valid.
pub const INVITATION_TTL_SECONDS: i64 = 7 * 24 * 60 * 60;

/// A staff user to invite, as seed 003's `POST` describes it.
#[derive(Debug, Clone)]
pub struct StaffInvite {
    pub email: EmailAddress,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub external_id: Option<String>,
    pub role: Role,
    /// Whether the users API's client called the agent role `User` (it reads back so).
    pub role_named_user: bool,
    /// An initial password; the user still has to accept the invitation to become `Active`.
    pub password: Option<Password>,
    pub group_ids: Vec<Uuid>,
    pub folder_ids: Vec<Uuid>,
}

/// A new staff user and the secret of its invitation, which is shown this once and never again.
pub struct InvitedStaffUser {
    pub user: StaffUser,
    pub invitation_token: String,
}

/// A staff user with the groups and folders it is a member of.
pub struct StaffMember {
    pub user: StaffUser,
    pub group_ids: Vec<Uuid>,
    pub folder_ids: Vec<Uuid>,
}

/// The link a new staff member opens to accept an invitation (the settings page serves it).
pub fn invitation_url(public_base_url: &str, token: &str) -> String {
    format!("{}/settings/invitation/{token}", public_base_url.trim_end_matches('/'))
}

/// Where password hashes are computed: argon2id with the crate's default (OWASP-recommended) cost,
/// 19 MiB and a core's time each, off the async threads. At most one hash per core runs at once, and at
/// most [`HashingPool::WAITING_PER_CORE`] per core wait; past that a request is refused at once with
/// `Unavailable` (503) instead of queueing, so a flood of sign-ins cannot take the server's memory.
pub struct HashingPool {
    running: tokio::sync::Semaphore,
    admitted: tokio::sync::Semaphore,
}

impl HashingPool {
    pub const WAITING_PER_CORE: usize = 4;

    pub fn sized_to_cores() -> Self {
        Self::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    }

    pub fn new(cores: usize) -> Self {
        let cores = cores.max(1);
        Self {
            running: tokio::sync::Semaphore::new(cores),
            admitted: tokio::sync::Semaphore::new(cores * (1 + Self::WAITING_PER_CORE)),
        }
    }

    /// Runs `work` on a blocking thread once a core is free; `Unavailable` when too many wait already.
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
        let _admitted = self.admitted.try_acquire().map_err(|_| AppError::Unavailable)?;
        let _running = self.running.acquire().await.map_err(|_| AppError::Unavailable)?;
        tokio::task::spawn_blocking(work).await.map_err(|e| AppError::Internal(format!("password hashing task: {e}")))
    }
}

fn argon2_hash(password: &str) -> AppResult<String> {
    // 16 random bytes from the thread's CSPRNG (rand's, so argon2 needs no RNG feature of its own).
    let bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&bytes).map_err(|e| AppError::Internal(format!("salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("password hashing failed: {e}")))
}

/// A hash of a random password that nobody knows, checked when an address has no account with a
/// password, so that an unknown address costs the same time as a known one.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let unknown = Secret::generate("dummy").plain;
        argon2_hash(&unknown).unwrap_or_default()
    })
}

impl App {
    async fn hash_password(&self, password: Password) -> AppResult<String> {
        self.hashing.run(move || argon2_hash(password.expose())).await?
    }

    async fn verify_password(&self, password: String, hash: String) -> AppResult<bool> {
        self.hashing
            .run(move || {
                PasswordHash::new(&hash)
                    .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
            })
            .await
    }
}

fn new_invitation(now: Timestamp) -> (String, NewInvitation) {
    let secret = Secret::generate("fdi");
    let invitation = NewInvitation {
        token_hash: secret.hash,
        created_at: now,
        expires_at: now.plus_seconds(INVITATION_TTL_SECONDS),
    };
    (secret.plain, invitation)
}

/// A user may get a fresh invitation only while it has not accepted one: an active or disabled user
/// already has its account.
fn may_be_invited_again(user: &StaffUser) -> bool {
    user.status == StaffStatus::Invited
}

/// Every conflict with the stored team, in the order the fields appear in seed 003's body.
fn conflict_errors(c: &StaffConflicts) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let taken = || Refusal::new(Rule::Taken, "already exists in this workspace");
    if c.email_taken {
        errors.push(FieldError::new("email", taken()));
    }
    if c.external_id_taken {
        errors.push(FieldError::new("external_id", taken()));
    }
    for (field, ids) in [("groups", &c.unknown_groups), ("folders", &c.unknown_folders)] {
        for id in ids {
            let message = format!("must reference existing {field}: {id} does not exist in this workspace");
            errors.push(FieldError::new(field, Refusal::new(Rule::NotFound, message)));
        }
    }
    errors
}

impl App {
    /// Seed 003 `POST`: adds a member to the team, `Invited`, and issues its invitation.
    pub async fn invite_staff_user(&self, who: &Principal, input: StaffInvite) -> AppResult<InvitedStaffUser> {
        who.require(Role::Admin)?;
        let password_hash = match input.password {
            Some(p) => Some(self.hash_password(p).await?),
            None => None,
        };
        let now = Timestamp::now();
        let user = StaffUser {
            id: Uuid::new_v4(),
            workspace_id: who.workspace_id(),
            email: input.email.into_string(),
            first_name: input.first_name.filter(|s| !s.is_empty()),
            last_name: input.last_name.filter(|s| !s.is_empty()),
            external_id: input.external_id,
            role: input.role,
            role_named_user: input.role_named_user && input.role == Role::Agent,
            status: StaffStatus::Invited,
            phone_number: None,
            created_at: now,
            updated_at: now,
        };
        let (token, invitation) = new_invitation(now);
        let new = NewStaffMember {
            user: user.clone(),
            password_hash,
            group_ids: input.group_ids,
            folder_ids: input.folder_ids,
            invitation,
            actor: who.actor(),
        };
        match self.store.create_staff_member(&new).await? {
            StaffMemberOutcome::Created => Ok(InvitedStaffUser { user, invitation_token: token }),
            StaffMemberOutcome::Refused(conflicts) => Err(AppError::Invalid(conflict_errors(&conflicts))),
        }
    }

    /// Issues a fresh invitation for a user that has not accepted one yet (the old links keep working
    /// until they expire).
    pub async fn reinvite_staff_user(&self, who: &Principal, id: Uuid) -> AppResult<String> {
        who.require(Role::Admin)?;
        let (token, invitation) = new_invitation(Timestamp::now());
        if !self
            .store
            .insert_staff_invitation(who.workspace_id(), id, &invitation, may_be_invited_again, who.actor())
            .await?
        {
            let refusal = Refusal::new(Rule::Combination, "only an Invited user can be invited again");
            return Err(AppError::invalid("status", refusal));
        }
        Ok(token)
    }

    /// Seed 003 `GET`: one user by `Id`, `Email` or `ExternalId`, with its groups and folders.
    pub async fn find_staff_member(&self, who: &Principal, key: StaffKey<'_>) -> AppResult<StaffMember> {
        who.require(Role::Agent)?;
        let ws = who.workspace_id();
        let user = self.store.find_staff_user(ws, key).await?.ok_or(AppError::NotFound(Entity::StaffUser))?;
        let memberships = self.store.staff_memberships(ws, user.id).await?;
        let of = |kind| memberships.iter().filter(|(k, _)| *k == kind).map(|(_, id)| *id).collect();
        Ok(StaffMember { group_ids: of(CollectionKind::Group), folder_ids: of(CollectionKind::Folder), user })
    }

    pub async fn search_staff_users(
        &self,
        who: &Principal,
        filter: &StaffFilter,
        paging: Paging,
    ) -> AppResult<Page<StaffUser>> {
        who.require(Role::Agent)?;
        Ok(self.store.search_staff_users(who.workspace_id(), filter, paging).await?)
    }

    /// Seed 003 `DELETE`. A user still referenced elsewhere (a ticket assignee) is a conflict: disable it.
    pub async fn delete_staff_user(&self, who: &Principal, id: Uuid) -> AppResult<()> {
        who.require(Role::Admin)?;
        Ok(self.store.delete_staff_user(who.workspace_id(), id, who.actor()).await?)
    }

    /// Turns an account off: it can no longer sign in, but stays as the author and assignee of its work.
    pub async fn disable_staff_user(&self, who: &Principal, id: Uuid) -> AppResult<StaffUser> {
        who.require(Role::Admin)?;
        Ok(self
            .store
            .set_staff_status(who.workspace_id(), id, StaffStatus::Disabled, Timestamp::now(), who.actor())
            .await?)
    }

    /// Accepts an invitation: the token is the credential. Sets the password (required unless one was
    /// given when the user was created) and makes the user `Active`. Unknown, used or expired tokens,
    /// and users no longer `Invited`, are `NotFound(StaffInvitation)`.
    pub async fn accept_invitation(&self, token: &str, password: Option<Password>) -> AppResult<StaffUser> {
        let hash = hash_secret(token.trim());
        let now = Timestamp::now();
        let found = self.store.find_staff_invitation(&hash).await?;
        let found = found
            .filter(|f| f.accepted_at.is_none() && f.expires_at > now && f.user.status == StaffStatus::Invited)
            .ok_or(AppError::NotFound(Entity::StaffInvitation))?;
        if password.is_none() && !found.has_password {
            return Err(AppError::invalid("password", Refusal::required()));
        }
        let password_hash = match password {
            Some(p) => Some(self.hash_password(p).await?),
            None => None,
        };
        Ok(self.store.accept_staff_invitation(&hash, password_hash.as_deref(), now).await?)
    }

    /// Signs a staff member in by e-mail and password. Only `Active` accounts may sign in; every failure
    /// is the same `Unauthorized`, so the answer does not tell which accounts exist, and it takes the
    /// same time: an address without an account with a password checks one against a dummy hash, and a
    /// disabled account's password is checked like any other. When the address has accounts in several
    /// workspaces, the oldest active one whose password matches is returned.
    pub async fn sign_in_staff(&self, email: &str, password: &str) -> AppResult<StaffUser> {
        let mut checked = false;
        for candidate in self.store.staff_credentials(email.trim()).await? {
            let Some(hash) = candidate.password_hash else { continue };
            checked = true;
            if self.verify_password(password.to_owned(), hash).await? && candidate.user.status == StaffStatus::Active {
                return Ok(candidate.user);
            }
        }
        if !checked {
            let dummy = self.hashing.run(dummy_hash).await?.to_owned();
            self.verify_password(password.to_owned(), dummy).await?;
        }
        Err(AppError::Unauthorized)
    }

    pub async fn create_staff_collection(
        &self,
        who: &Principal,
        kind: CollectionKind,
        name: DisplayName,
    ) -> AppResult<StaffCollection> {
        who.require(Role::Admin)?;
        let now = Timestamp::now();
        let c = StaffCollection {
            id: Uuid::new_v4(),
            workspace_id: who.workspace_id(),
            kind,
            name: name.into_string(),
            created_at: now,
            updated_at: now,
        };
        self.store.insert_staff_collection(&c, who.actor()).await?;
        Ok(c)
    }

    pub async fn list_staff_collections(
        &self,
        who: &Principal,
        kind: CollectionKind,
    ) -> AppResult<Vec<StaffCollection>> {
        who.require(Role::Agent)?;
        Ok(self.store.list_staff_collections(who.workspace_id(), kind).await?)
    }

    pub async fn get_staff_collection(
        &self,
        who: &Principal,
        kind: CollectionKind,
        id: Uuid,
    ) -> AppResult<StaffCollection> {
        who.require(Role::Agent)?;
        Ok(self.store.get_staff_collection(who.workspace_id(), kind, id).await?)
    }

    pub async fn delete_staff_collection(&self, who: &Principal, kind: CollectionKind, id: Uuid) -> AppResult<()> {
        who.require(Role::Admin)?;
        Ok(self.store.delete_staff_collection(who.workspace_id(), kind, id, who.actor()).await?)
    }
}
