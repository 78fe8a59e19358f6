//! The external user as the external users API shows it, shared by its routes and the identity
//! routes around it.

use serde::Serialize;
use uuid::Uuid;

use crate::domain::{DisplayName, ExternalUser, Timestamp};

/// An external user exactly as seed 001 returns it: every key present, absent values as `null`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalUserBody {
    created_at: Timestamp,
    id: Uuid,
    updated_at: Timestamp,
    blocked: bool,
    channel_id: Uuid,
    external_id: Option<String>,
    external_user_group_id: Option<Uuid>,
    identifier: Option<String>,
    name: Option<String>,
    super_identity_id: Uuid,
    tier_id: Option<Uuid>,
    workspace_id: Uuid,
}

impl From<ExternalUser> for ExternalUserBody {
    fn from(u: ExternalUser) -> Self {
        Self {
            created_at: u.created_at,
            id: u.id,
            updated_at: u.updated_at,
            blocked: u.blocked,
            channel_id: u.channel_id,
            external_id: u.external_id,
            external_user_group_id: u.external_user_group_id,
            identifier: u.identifier,
            name: DisplayName::show(u.name.as_deref()),
            super_identity_id: u.super_identity_id,
            tier_id: u.tier_id,
            workspace_id: u.workspace_id,
        }
    }
}
