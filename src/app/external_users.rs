//! Seed 001: external users, their super identities and access tokens.

use crate::app::Conflict;
use uuid::Uuid;

use super::auth::{ACCESS_TOKEN_TTL_SECONDS, Secret};
use super::{App, AppError, AppResult, Principal};
use crate::domain::{
    ChannelType, DisplayName, ExternalId, ExternalUser, Identifier, Role, Timestamp, check_identifier,
    new_super_identity_id,
};
use crate::store::{Entity, ExternalUserFilter, IssuedToken, Page, Paging, UserKey};

#[derive(Debug, Clone)]
pub struct NewExternalUser {
    pub channel_id: Uuid,
    pub external_id: Option<ExternalId>,
    pub identifier: Option<Identifier>,
    pub name: Option<DisplayName>,
    pub tier_id: Option<Uuid>,
    pub external_user_group_id: Option<Uuid>,
    pub time_zone: Option<String>,
}

/// Seed 001 PATCH: `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct ExternalUserPatch {
    pub blocked: Option<bool>,
    pub external_id: Option<Option<ExternalId>>,
    pub identifier: Option<Option<Identifier>>,
    pub name: Option<Option<DisplayName>>,
    pub tier_id: Option<Option<Uuid>>,
    pub external_user_group_id: Option<Option<Uuid>>,
}

pub struct AuthenticatedUser {
    pub user: ExternalUser,
    pub access_token: String,
}

impl App {
    /// The access tokens issued to these external users, newest first, at most `limit` (1 to 1000):
    /// when each was issued and until when it is good. Their secrets are never kept.
    pub async fn issued_tokens(&self, who: &Principal, user_ids: &[Uuid], limit: i64) -> AppResult<Vec<IssuedToken>> {
        who.require(Role::Agent)?;
        Ok(self.store.issued_tokens(who.workspace_id(), user_ids, limit.clamp(1, 1000)).await?)
    }

    pub async fn create_external_user(&self, who: &Principal, new: NewExternalUser) -> AppResult<ExternalUser> {
        let name = new.name.clone().map(DisplayName::into_string);
        self.insert_external_user_named(who, new, name).await
    }

    /// Creates the user of `new` under `name` (checked by the caller's contract: seed 001's
    /// [`DisplayName`] or seed 004's customer name), ignoring `new.name`.
    pub(super) async fn insert_external_user_named(
        &self,
        who: &Principal,
        new: NewExternalUser,
        name: Option<String>,
    ) -> AppResult<ExternalUser> {
        who.require(Role::Agent)?;
        let channel = self.store.get_channel(who.workspace_id(), new.channel_id).await?;
        check_identifier(channel.kind, new.identifier.as_ref().map(Identifier::as_str))
            .map_err(|m| AppError::invalid("identifier", m))?;
        let mut user = built_user(who.workspace_id(), new, name, Timestamp::now());
        // Automatic matching may have put the user in another person's super identity.
        user.super_identity_id = self.store.insert_external_user(&user, who.actor()).await?;
        Ok(user)
    }

    pub async fn get_external_user(&self, who: &Principal, id: Uuid) -> AppResult<ExternalUser> {
        if let Principal::ExternalUser { user_id, .. } = who {
            if *user_id != id {
                return Err(AppError::NotFound(Entity::ExternalUser));
            }
        } else {
            who.require(Role::Agent)?;
        }
        Ok(self.store.get_external_user(who.workspace_id(), id).await?)
    }

    pub async fn list_external_users(
        &self,
        who: &Principal,
        filter: &ExternalUserFilter,
        paging: Paging,
    ) -> AppResult<Page<ExternalUser>> {
        who.require(Role::Agent)?;
        Ok(self.store.list_external_users(who.workspace_id(), filter, paging).await?)
    }

    pub async fn update_external_user(
        &self,
        who: &Principal,
        id: Uuid,
        patch: ExternalUserPatch,
    ) -> AppResult<ExternalUser> {
        who.require(Role::Agent)?;
        let mut user = self.store.get_external_user(who.workspace_id(), id).await?;
        let kind = match patch.identifier {
            Some(_) => Some(self.store.get_channel(who.workspace_id(), user.channel_id).await?.kind),
            None => None,
        };
        apply_patch(&mut user, patch, kind)?;
        user.updated_at = Timestamp::now().max(user.updated_at);
        let user = self.store.update_external_user(&user, who.actor()).await?;
        self.forget_external_user(user.id);
        Ok(user)
    }

    /// Seed 001 authenticate: finds the user on the channel by `id`, else `externalId`, else
    /// `identifier`; when none matches and an `externalId` or `identifier` was given, creates the user.
    /// Blocked users are refused. Issues a fresh access token either way.
    pub async fn authenticate_external_user(
        &self,
        who: &Principal,
        channel_id: Uuid,
        id: Option<Uuid>,
        external_id: Option<ExternalId>,
        identifier: Option<Identifier>,
    ) -> AppResult<AuthenticatedUser> {
        who.require(Role::Agent)?;
        let ws = who.workspace_id();
        // Unknown channels are a 404 whichever key matches.
        self.store.get_channel(ws, channel_id).await?;
        let found = self.find_by_keys(ws, channel_id, id, external_id.as_ref(), identifier.as_ref()).await?;
        let user = match found {
            Some(user) => user,
            None if external_id.is_some() || identifier.is_some() => {
                let new = NewExternalUser {
                    channel_id,
                    external_id: external_id.clone(),
                    identifier: identifier.clone(),
                    name: None,
                    tier_id: None,
                    external_user_group_id: None,
                    time_zone: None,
                };
                match self.create_external_user(who, new).await {
                    Ok(user) => user,
                    // Another request created the same person a moment ago: use that one.
                    Err(AppError::Conflict(Conflict::Taken(_))) => self
                        .find_by_keys(ws, channel_id, None, external_id.as_ref(), identifier.as_ref())
                        .await?
                        .ok_or(AppError::NotFound(Entity::ExternalUser))?,
                    Err(e) => return Err(e),
                }
            }
            None => return Err(AppError::NotFound(Entity::ExternalUser)),
        };
        if user.blocked {
            return Err(AppError::Forbidden("The external user is blocked."));
        }
        let token = Secret::generate("fdt");
        let now = Timestamp::now();
        let issuer = match who {
            Principal::ApiKey { key_id, .. } => Some(*key_id),
            _ => None,
        };
        let expires = now.plus_seconds(ACCESS_TOKEN_TTL_SECONDS);
        self.store.insert_access_token(&token.hash, &user, now, expires, issuer).await?;
        Ok(AuthenticatedUser { user, access_token: token.plain })
    }

    /// The user on the channel with the first of the given keys that matches, in seed 001's order.
    async fn find_by_keys(
        &self,
        ws: Uuid,
        channel_id: Uuid,
        id: Option<Uuid>,
        external_id: Option<&ExternalId>,
        identifier: Option<&Identifier>,
    ) -> AppResult<Option<ExternalUser>> {
        let keys = [
            id.map(UserKey::Id),
            external_id.map(|e| UserKey::ExternalId(e.as_str())),
            identifier.map(|i| UserKey::Identifier(i.as_str())),
        ];
        for key in keys.into_iter().flatten() {
            if let Some(user) = self.store.find_external_user(ws, channel_id, key).await? {
                return Ok(Some(user));
            }
        }
        Ok(None)
    }
}

/// A new external user of `new` under `name` (see [`App::insert_external_user_named`]), in a new super
/// identity of its own, created and updated at `now`. Its identifier is checked by the caller.
pub(super) fn built_user(
    workspace_id: Uuid,
    new: NewExternalUser,
    name: Option<String>,
    now: Timestamp,
) -> ExternalUser {
    ExternalUser {
        id: Uuid::new_v4(),
        workspace_id,
        channel_id: new.channel_id,
        super_identity_id: new_super_identity_id(),
        external_id: new.external_id.map(ExternalId::into_string),
        identifier: new.identifier.map(Identifier::into_string),
        name,
        tier_id: new.tier_id,
        external_user_group_id: new.external_user_group_id,
        blocked: false,
        time_zone: new.time_zone,
        created_at: now,
        updated_at: now,
    }
}

/// Applies a seed 001 patch to `user` (not its `updated_at`). `kind` is the user's channel's type,
/// needed (and given) only when the patch sets the identifier, which must suit the channel.
pub(super) fn apply_patch(
    user: &mut ExternalUser,
    patch: ExternalUserPatch,
    kind: Option<ChannelType>,
) -> AppResult<()> {
    if let Some(blocked) = patch.blocked {
        user.blocked = blocked;
    }
    if let Some(v) = patch.external_id {
        user.external_id = v.map(ExternalId::into_string);
    }
    if let Some(v) = patch.identifier {
        let kind = kind.ok_or_else(|| AppError::Internal("an identifier patched without its channel".into()))?;
        check_identifier(kind, v.as_ref().map(Identifier::as_str)).map_err(|m| AppError::invalid("identifier", m))?;
        user.identifier = v.map(Identifier::into_string);
    }
    // A name that came in through another contract may not meet seed 001's rule; writing back what
    // seed 001 showed for it keeps it.
    if let Some(v) = patch.name.filter(|v| !DisplayName::is_shown_as(user.name.as_deref(), v.as_ref())) {
        user.name = v.map(DisplayName::into_string);
    }
    if let Some(v) = patch.tier_id {
        user.tier_id = v;
    }
    if let Some(v) = patch.external_user_group_id {
        user.external_user_group_id = v;
    }
    Ok(())
}
