//! The records of the helpdesk as the use cases see them.

use uuid::Uuid;

use super::{ChannelType, Refusal, Role, Rule, StaffStatus, Timestamp};

/// The tenant. Every other record belongs to exactly one workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    pub id: Uuid,
    pub name: String,
    pub created_at: Timestamp,
}

/// A workspace-scoped credential. Only the SHA-256 of its secret is ever stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    pub role: Role,
    /// The first characters of the secret, kept so a person can tell keys apart.
    pub prefix: String,
    pub created_by: Option<Uuid>,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    pub kind: ChannelType,
    /// The workspace's own e-mail channel: created with the workspace, never deleted.
    pub builtin: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tier {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalUserGroup {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub external_id: String,
    pub name: String,
    pub tier_id: Option<Uuid>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A person outside the team, as known on one channel (seed 001). Always linked to a super identity,
/// the same person across channels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalUser {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub channel_id: Uuid,
    pub super_identity_id: Uuid,
    pub external_id: Option<String>,
    pub identifier: Option<String>,
    pub name: Option<String>,
    pub tier_id: Option<Uuid>,
    pub external_user_group_id: Option<Uuid>,
    pub blocked: bool,
    pub time_zone: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl ExternalUser {
    /// The name to show where a contract requires one (JSM's `displayName`): the person's name, else
    /// the identifier (on the e-mail channel always an address), so a person added by address alone
    /// is still named.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().filter(|n| !n.trim().is_empty()).or(self.identifier.as_deref()).unwrap_or_default()
    }
}

/// What a channel requires of its users' identifiers: on an e-mail channel the identifier is the
/// person's address, so it must be one (the customer and ticket participant contracts show it as
/// their e-mail); other channels take seed 001's free-form identifiers.
pub fn check_identifier(kind: ChannelType, identifier: Option<&str>) -> Result<(), Refusal> {
    match (kind, identifier) {
        (ChannelType::Email, None) => Err(Refusal::new(Rule::Required, "is required on an e-mail channel")),
        (ChannelType::Email, Some(i)) => super::EmailAddress::parse(i)
            .map(drop)
            .map_err(|_| Refusal::new(Rule::Email, "must be a valid e-mail address on an e-mail channel")),
        _ => Ok(()),
    }
}

/// A member of the workspace's team (seed 003): assignee of tickets (seed 002), signs in to the settings
/// page once the invitation is accepted. The password hash never leaves the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffUser {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub external_id: Option<String>,
    pub role: Role,
    /// Whether the users API's client called this agent's role `User` (see `WebsiteRole`).
    pub role_named_user: bool,
    pub status: StaffStatus,
    pub phone_number: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}
