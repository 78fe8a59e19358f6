//! Types and rules of the helpdesk, free of I/O.
//!
//! A value of one of these types is proof that it passed the seed's rule: constructors are `parse`
//! functions that refuse anything else.

mod email;
mod ids;
mod model;
pub mod query;
mod staff;
mod text;
mod ticket;
mod time;

pub use email::{EMAIL_MAX_LEN, EmailAddress};
pub use ids::parse_uuid;
pub use model::{ApiKey, Channel, ExternalUser, ExternalUserGroup, StaffUser, Tier, Workspace};
pub use staff::{
    CollectionKind, Password, StaffCollection, parse_person_name, parse_staff_external_id, parse_website_role,
    website_role,
};
pub use text::{BoundedText, CustomerName, DisplayName, ExternalId, Identifier, TierDescription};
pub use ticket::{
    ActivityKind, Attachment, Location, LocationName, MemberRef, Membership, Ticket, TicketActivity, TicketParticipant,
    TicketStatus, TicketText, TicketType,
};
pub use time::Timestamp;

use serde::{Deserialize, Serialize};

/// Why a value was refused: the field it came from and the rule it broke, in words a client can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// What an API key or staff member may do in its workspace. Admins manage the workspace (keys, channels,
/// staff, customers); agents work tickets and external users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Agent,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Agent => "agent",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Role::Admin),
            "agent" => Some(Role::Agent),
            _ => None,
        }
    }
}

/// Where external users come from. Every workspace has one built-in `email` channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelType {
    Email,
    Web,
    Api,
    Phone,
    Chat,
    Sms,
    Whatsapp,
    Other,
}

impl ChannelType {
    pub const ALL: [ChannelType; 8] = [
        ChannelType::Email,
        ChannelType::Web,
        ChannelType::Api,
        ChannelType::Phone,
        ChannelType::Chat,
        ChannelType::Sms,
        ChannelType::Whatsapp,
        ChannelType::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChannelType::Email => "email",
            ChannelType::Web => "web",
            ChannelType::Api => "api",
            ChannelType::Phone => "phone",
            ChannelType::Chat => "chat",
            ChannelType::Sms => "sms",
            ChannelType::Whatsapp => "whatsapp",
            ChannelType::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// Seed 003's user lifecycle: created `Invited`, `Active` once the invitation is accepted (the password is
/// set then), `Disabled` when an admin turns the account off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffStatus {
    Invited,
    Active,
    Disabled,
}

impl StaffStatus {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            StaffStatus::Invited => "invited",
            StaffStatus::Active => "active",
            StaffStatus::Disabled => "disabled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "invited" => Some(StaffStatus::Invited),
            "active" => Some(StaffStatus::Active),
            "disabled" => Some(StaffStatus::Disabled),
            _ => None,
        }
    }

    /// Seed 003's spelling: `Invited`, `Active`, `Disabled`.
    pub fn title(self) -> &'static str {
        match self {
            StaffStatus::Invited => "Invited",
            StaffStatus::Active => "Active",
            StaffStatus::Disabled => "Disabled",
        }
    }
}
