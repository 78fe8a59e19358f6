//! Setting a workspace up: workspaces, API keys, channels, tiers and external user groups.

use crate::app::Conflict;
use uuid::Uuid;

use super::auth::Secret;
use super::{App, AppError, AppResult, Principal};
use crate::domain::{
    ApiKey, Channel, ChannelType, DisplayName, ExternalId, ExternalUserGroup, Refusal, Role, Rule, Tier, Timestamp,
    Workspace,
};
use crate::store::{GroupFilter, NewWorkspace, Page, Paging};

pub struct CreatedWorkspace {
    pub workspace: Workspace,
    pub email_channel: Channel,
    pub admin_key: CreatedApiKey,
}

/// A new key with its secret, which is shown this once and never again.
pub struct CreatedApiKey {
    pub key: ApiKey,
    pub secret: String,
}

#[derive(Debug, Clone)]
pub struct ChannelInput {
    pub name: DisplayName,
    pub kind: ChannelType,
}

#[derive(Debug, Clone)]
pub struct TierInput {
    pub name: DisplayName,
    pub description: Option<String>,
}

#[derive(Debug, Clone)]
pub struct GroupInput {
    pub external_id: ExternalId,
    pub name: DisplayName,
    pub tier_id: Option<Uuid>,
}

impl App {
    /// Creates a workspace with its built-in e-mail channel and a first admin key. Not a request-level
    /// use case: only the CLI and tests call it.
    pub async fn create_workspace(&self, name: &str) -> AppResult<CreatedWorkspace> {
        let (new, created) = new_workspace(name, None);
        self.store.create_workspace(&new).await?;
        Ok(created)
    }

    /// The server's only workspace, for console commands that do not name one; `None` when there are
    /// none or several.
    pub async fn sole_workspace(&self) -> AppResult<Option<Uuid>> {
        let ids = self.store.workspace_ids(2).await?;
        Ok(match ids.as_slice() {
            [only] => Some(*only),
            _ => None,
        })
    }

    /// The first start of an empty server: creates the first workspace unless one exists or another
    /// node is creating it right now. `key_secret` lets automation choose the admin key
    /// (`FRONTDESK_BOOTSTRAP_API_KEY`); otherwise one is generated.
    pub async fn bootstrap(&self, key_secret: Option<String>) -> AppResult<Option<CreatedWorkspace>> {
        if self.store.count_workspaces().await? > 0 {
            return Ok(None);
        }
        let (new, created) = new_workspace("Default workspace", key_secret);
        Ok(self.store.bootstrap_workspace(&new).await?.then_some(created))
    }

    pub async fn create_api_key(&self, who: &Principal, name: &str, role: Role) -> AppResult<CreatedApiKey> {
        who.require(Role::Admin)?;
        let name = name.trim();
        if name.is_empty() || crate::domain::bounded(name, 100).is_err() {
            return Err(AppError::invalid(
                "name",
                Refusal::new(Rule::TooLong { max: 100 }, "must be 1 to 100 characters"),
            ));
        }
        let secret = Secret::generate("fdk");
        let key = ApiKey {
            id: Uuid::new_v4(),
            workspace_id: who.workspace_id(),
            name: name.to_owned(),
            role,
            prefix: secret.prefix(),
            created_by: Some(who.actor_id()).filter(|id| !id.is_nil()),
            created_at: Timestamp::now(),
            last_used_at: None,
            revoked_at: None,
        };
        self.store.insert_api_key(&key, &secret.hash, who.actor()).await?;
        Ok(CreatedApiKey { key, secret: secret.plain })
    }

    pub async fn list_api_keys(&self, who: &Principal) -> AppResult<Vec<ApiKey>> {
        who.require(Role::Admin)?;
        Ok(self.store.list_api_keys(who.workspace_id()).await?)
    }

    pub async fn revoke_api_key(&self, who: &Principal, id: Uuid) -> AppResult<ApiKey> {
        who.require(Role::Admin)?;
        let key = self.store.revoke_api_key(who.workspace_id(), id, Timestamp::now(), who.actor()).await?;
        self.forget_api_key(key.id);
        Ok(key)
    }

    pub async fn create_channel(&self, who: &Principal, input: ChannelInput) -> AppResult<Channel> {
        who.require(Role::Admin)?;
        let now = Timestamp::now();
        let channel = Channel {
            id: Uuid::new_v4(),
            workspace_id: who.workspace_id(),
            name: input.name.into_string(),
            kind: input.kind,
            builtin: false,
            created_at: now,
            updated_at: now,
        };
        self.store.insert_channel(&channel, who.actor()).await?;
        Ok(channel)
    }

    pub async fn list_channels(&self, who: &Principal) -> AppResult<Vec<Channel>> {
        who.require(Role::Agent)?;
        Ok(self.store.list_channels(who.workspace_id()).await?)
    }

    pub async fn get_channel(&self, who: &Principal, id: Uuid) -> AppResult<Channel> {
        who.require(Role::Agent)?;
        Ok(self.store.get_channel(who.workspace_id(), id).await?)
    }

    pub async fn update_channel(
        &self,
        who: &Principal,
        id: Uuid,
        name: Option<DisplayName>,
        kind: Option<ChannelType>,
    ) -> AppResult<Channel> {
        who.require(Role::Admin)?;
        let mut channel = self.store.get_channel(who.workspace_id(), id).await?;
        if let Some(name) = name {
            channel.name = name.into_string();
        }
        if let Some(kind) = kind {
            if channel.builtin && kind != ChannelType::Email {
                return Err(AppError::invalid(
                    "type",
                    Refusal::new(Rule::Combination, "the built-in e-mail channel stays an e-mail channel"),
                ));
            }
            channel.kind = kind;
        }
        channel.updated_at = Timestamp::now();
        Ok(self.store.update_channel(&channel, who.actor()).await?)
    }

    pub async fn delete_channel(&self, who: &Principal, id: Uuid) -> AppResult<()> {
        who.require(Role::Admin)?;
        let channel = self.store.get_channel(who.workspace_id(), id).await?;
        if channel.builtin {
            return Err(AppError::Conflict(Conflict::BuiltinChannel));
        }
        Ok(self.store.delete_channel(who.workspace_id(), id, who.actor()).await?)
    }

    pub async fn create_tier(&self, who: &Principal, input: TierInput) -> AppResult<Tier> {
        who.require(Role::Admin)?;
        let now = Timestamp::now();
        let tier = Tier {
            id: Uuid::new_v4(),
            workspace_id: who.workspace_id(),
            name: input.name.into_string(),
            description: input.description,
            created_at: now,
            updated_at: now,
        };
        self.store.insert_tier(&tier, who.actor()).await?;
        Ok(tier)
    }

    pub async fn list_tiers(&self, who: &Principal, ids: &[Uuid], search: Option<&str>) -> AppResult<Vec<Tier>> {
        who.require(Role::Agent)?;
        Ok(self.store.list_tiers(who.workspace_id(), ids, search).await?)
    }

    pub async fn get_tier(&self, who: &Principal, id: Uuid) -> AppResult<Tier> {
        who.require(Role::Agent)?;
        Ok(self.store.get_tier(who.workspace_id(), id).await?)
    }

    pub async fn update_tier(
        &self,
        who: &Principal,
        id: Uuid,
        name: Option<DisplayName>,
        description: Option<Option<String>>,
    ) -> AppResult<Tier> {
        who.require(Role::Admin)?;
        let mut tier = self.store.get_tier(who.workspace_id(), id).await?;
        if let Some(name) = name {
            tier.name = name.into_string();
        }
        if let Some(description) = description {
            tier.description = description;
        }
        tier.updated_at = Timestamp::now();
        Ok(self.store.update_tier(&tier, who.actor()).await?)
    }

    pub async fn delete_tier(&self, who: &Principal, id: Uuid) -> AppResult<()> {
        who.require(Role::Admin)?;
        Ok(self.store.delete_tier(who.workspace_id(), id, who.actor()).await?)
    }

    pub async fn create_group(&self, who: &Principal, input: GroupInput) -> AppResult<ExternalUserGroup> {
        self.create_group_with_id(who, Uuid::new_v4(), input).await
    }

    pub(super) async fn create_group_with_id(
        &self,
        who: &Principal,
        id: Uuid,
        input: GroupInput,
    ) -> AppResult<ExternalUserGroup> {
        who.require(Role::Admin)?;
        let now = Timestamp::now();
        let group = ExternalUserGroup {
            id,
            workspace_id: who.workspace_id(),
            number: 0,
            external_id: input.external_id.into_string(),
            name: input.name.into_string(),
            tier_id: input.tier_id,
            created_at: now,
            updated_at: now,
        };
        Ok(self.store.insert_group(&group, who.actor()).await?)
    }

    pub async fn list_groups(
        &self,
        who: &Principal,
        filter: &GroupFilter,
        paging: Paging,
    ) -> AppResult<Page<ExternalUserGroup>> {
        who.require(Role::Agent)?;
        Ok(self.store.list_groups(who.workspace_id(), filter, paging).await?)
    }

    pub async fn get_group(&self, who: &Principal, id: Uuid) -> AppResult<ExternalUserGroup> {
        who.require(Role::Agent)?;
        Ok(self.store.get_group(who.workspace_id(), id).await?)
    }

    pub async fn delete_group(&self, who: &Principal, id: Uuid) -> AppResult<()> {
        who.require(Role::Admin)?;
        Ok(self.store.delete_group(who.workspace_id(), id, who.actor()).await?)
    }
}

fn new_workspace(name: &str, key_secret: Option<String>) -> (NewWorkspace, CreatedWorkspace) {
    let now = Timestamp::now();
    let workspace = Workspace { id: Uuid::new_v4(), name: name.to_owned(), created_at: now };
    let email_channel = Channel {
        id: Uuid::new_v4(),
        workspace_id: workspace.id,
        name: "E-mail".into(),
        kind: ChannelType::Email,
        builtin: true,
        created_at: now,
        updated_at: now,
    };
    let secret = key_secret.map(Secret::from_plain).unwrap_or_else(|| Secret::generate("fdk"));
    let key = ApiKey {
        id: Uuid::new_v4(),
        workspace_id: workspace.id,
        name: "Bootstrap admin key".into(),
        role: Role::Admin,
        prefix: secret.prefix(),
        created_by: None,
        created_at: now,
        last_used_at: None,
        revoked_at: None,
    };
    let new = NewWorkspace {
        workspace: workspace.clone(),
        email_channel: email_channel.clone(),
        admin_key: key.clone(),
        admin_key_hash: secret.hash,
    };
    (new, CreatedWorkspace { workspace, email_channel, admin_key: CreatedApiKey { key, secret: secret.plain } })
}
