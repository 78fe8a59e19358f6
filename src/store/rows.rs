//! The rows the shared SQL reads, and their conversion into domain records.

use sqlx::FromRow;
use uuid::Uuid;

use super::{AccessToken, StoreError};
use crate::domain::{
    ApiKey, Channel, ChannelType, ExternalUser, ExternalUserGroup, Role, StaffStatus, StaffUser, Tier, Timestamp,
};

pub(super) fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Other(format!("unexpected {what} in database: {value:?}"))
}

#[derive(FromRow)]
pub(super) struct ApiKeyRow {
    id: Uuid,
    workspace_id: Uuid,
    name: String,
    role: String,
    prefix: String,
    created_by: Option<Uuid>,
    created_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl TryFrom<ApiKeyRow> for ApiKey {
    type Error = StoreError;
    fn try_from(r: ApiKeyRow) -> Result<Self, StoreError> {
        Ok(ApiKey {
            role: Role::parse(&r.role).ok_or_else(|| corrupt("role", &r.role))?,
            id: r.id,
            workspace_id: r.workspace_id,
            name: r.name,
            prefix: r.prefix,
            created_by: r.created_by,
            created_at: Timestamp::from_micros(r.created_at),
            last_used_at: r.last_used_at.map(Timestamp::from_micros),
            revoked_at: r.revoked_at.map(Timestamp::from_micros),
        })
    }
}

#[derive(FromRow)]
pub(super) struct ChannelRow {
    id: Uuid,
    workspace_id: Uuid,
    name: String,
    #[sqlx(rename = "type")]
    kind: String,
    builtin: bool,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<ChannelRow> for Channel {
    type Error = StoreError;
    fn try_from(r: ChannelRow) -> Result<Self, StoreError> {
        Ok(Channel {
            kind: ChannelType::parse(&r.kind).ok_or_else(|| corrupt("channel type", &r.kind))?,
            id: r.id,
            workspace_id: r.workspace_id,
            name: r.name,
            builtin: r.builtin,
            created_at: Timestamp::from_micros(r.created_at),
            updated_at: Timestamp::from_micros(r.updated_at),
        })
    }
}

#[derive(FromRow)]
pub(super) struct TierRow {
    id: Uuid,
    workspace_id: Uuid,
    name: String,
    description: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<TierRow> for Tier {
    type Error = StoreError;
    fn try_from(r: TierRow) -> Result<Self, StoreError> {
        Ok(Tier {
            id: r.id,
            workspace_id: r.workspace_id,
            name: r.name,
            description: r.description,
            created_at: Timestamp::from_micros(r.created_at),
            updated_at: Timestamp::from_micros(r.updated_at),
        })
    }
}

#[derive(FromRow)]
pub(super) struct GroupRow {
    id: Uuid,
    workspace_id: Uuid,
    external_id: String,
    name: String,
    tier_id: Option<Uuid>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<GroupRow> for ExternalUserGroup {
    type Error = StoreError;
    fn try_from(r: GroupRow) -> Result<Self, StoreError> {
        Ok(ExternalUserGroup {
            id: r.id,
            workspace_id: r.workspace_id,
            external_id: r.external_id,
            name: r.name,
            tier_id: r.tier_id,
            created_at: Timestamp::from_micros(r.created_at),
            updated_at: Timestamp::from_micros(r.updated_at),
        })
    }
}

#[derive(FromRow)]
pub(super) struct ExternalUserRow {
    id: Uuid,
    workspace_id: Uuid,
    channel_id: Uuid,
    super_identity_id: Uuid,
    external_id: Option<String>,
    identifier: Option<String>,
    name: Option<String>,
    tier_id: Option<Uuid>,
    group_id: Option<Uuid>,
    blocked: bool,
    time_zone: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<ExternalUserRow> for ExternalUser {
    type Error = StoreError;
    fn try_from(r: ExternalUserRow) -> Result<Self, StoreError> {
        Ok(ExternalUser {
            id: r.id,
            workspace_id: r.workspace_id,
            channel_id: r.channel_id,
            super_identity_id: r.super_identity_id,
            external_id: r.external_id,
            identifier: r.identifier,
            name: r.name,
            tier_id: r.tier_id,
            external_user_group_id: r.group_id,
            blocked: r.blocked,
            time_zone: r.time_zone,
            created_at: Timestamp::from_micros(r.created_at),
            updated_at: Timestamp::from_micros(r.updated_at),
        })
    }
}

#[derive(FromRow)]
pub(super) struct AccessTokenRow {
    #[sqlx(flatten)]
    user: ExternalUserRow,
    expires_at: i64,
}

impl TryFrom<AccessTokenRow> for AccessToken {
    type Error = StoreError;
    fn try_from(r: AccessTokenRow) -> Result<Self, StoreError> {
        Ok(AccessToken { user: r.user.try_into()?, expires_at: Timestamp::from_micros(r.expires_at) })
    }
}

#[derive(FromRow)]
pub(super) struct StaffRow {
    id: Uuid,
    workspace_id: Uuid,
    email: String,
    first_name: Option<String>,
    last_name: Option<String>,
    external_id: Option<String>,
    role: String,
    status: String,
    phone_number: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<StaffRow> for StaffUser {
    type Error = StoreError;
    fn try_from(r: StaffRow) -> Result<Self, StoreError> {
        Ok(StaffUser {
            role: Role::parse(&r.role).ok_or_else(|| corrupt("role", &r.role))?,
            status: StaffStatus::parse(&r.status).ok_or_else(|| corrupt("staff status", &r.status))?,
            id: r.id,
            workspace_id: r.workspace_id,
            email: r.email,
            first_name: r.first_name,
            last_name: r.last_name,
            external_id: r.external_id,
            phone_number: r.phone_number,
            created_at: Timestamp::from_micros(r.created_at),
            updated_at: Timestamp::from_micros(r.updated_at),
        })
    }
}
