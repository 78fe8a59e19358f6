//! Types and rules of the helpdesk, free of I/O.
//!
//! A value of one of these types is proof that it passed the seed's rule: constructors are `parse`
//! functions that refuse anything else.

mod email;
pub mod event;
mod identity;
mod ids;
mod model;
pub mod query;
mod staff;
mod text;
mod ticket;
mod time;
pub mod webhook;

pub use email::{EMAIL_MAX_LEN, EmailAddress, sign_in_account_key};
pub use event::{Actor, Event, EventType, NewEvent};
pub use identity::{AuditAction, AuditRecord, SuperIdentity, match_key};
pub use ids::{hex, new_super_identity_id, parse_uuid};
pub use model::{ApiKey, Channel, ExternalUser, ExternalUserGroup, StaffUser, Tier, Workspace, check_identifier};
pub use staff::{
    CollectionKind, Password, StaffCollection, WebsiteRole, parse_person_name, parse_staff_external_id,
    parse_website_role, website_role,
};
pub use text::{BoundedText, CustomerName, DisplayName, ExternalId, Identifier, TierDescription, bounded, max_bytes};
pub use ticket::{
    ActivityKind, Attachment, Location, LocationName, MemberRef, Membership, Ticket, TicketActivity, TicketParticipant,
    TicketStatus, TicketText, TicketType,
};
pub use time::{Seconds, Timestamp};
pub use webhook::{DeliveryAttempt, DeliveryStatus, Webhook, WebhookDelivery, WebhookSecret, WebhookUrl};

use serde::{Deserialize, Serialize};

/// Which rule a refused value broke. Contracts that report a code per field (seed 003) pick it from
/// this kind, never from the message's wording, so rewording a message cannot change an API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// The field is missing.
    Required,
    /// The field is present but empty or blank.
    NotEmpty,
    /// Shorter than `min` (characters, or items of a list).
    TooShort { min: usize },
    /// Longer than `max` (characters, bytes, or items of a list).
    TooLong { max: usize },
    /// Not an e-mail address by the seed's pattern.
    Email,
    /// A number outside its bounds.
    Range,
    /// The JSON value has the wrong type (a number where a string belongs, ...).
    Type,
    /// The right type in the wrong form: not a UUID, not one of the allowed names, not JSON.
    Format,
    /// Another record already has this value.
    Taken,
    /// Names a record that does not exist.
    NotFound,
    /// Valid alone, but not together with the rest of the request.
    Combination,
}

/// A refused value: the rule it broke and that rule stated the way a client reads it ("must be at most
/// 50 characters"). A [`FieldError`] once the field it came from is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub rule: Rule,
    pub message: String,
}

impl Refusal {
    pub fn new(rule: Rule, message: impl Into<String>) -> Self {
        Self { rule, message: message.into() }
    }

    pub fn required() -> Self {
        Self::new(Rule::Required, "is required")
    }

    /// At most `max` characters.
    pub fn too_long(max: usize) -> Self {
        Self::new(Rule::TooLong { max }, format!("must be at most {max} characters"))
    }

    /// At most `max` items in a list (of ids, of anything).
    pub fn too_many(max: usize) -> Self {
        Self::new(Rule::TooLong { max }, format!("must hold at most {max} items"))
    }

    /// At least `min` characters.
    pub fn too_short(min: usize) -> Self {
        Self::new(Rule::TooShort { min }, format!("must be at least {min} characters"))
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Why a value was refused: the field it came from, the rule it broke, and that rule in words a client
/// can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub rule: Rule,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, refusal: Refusal) -> Self {
        Self { field: field.into(), rule: refusal.rule, message: refusal.message }
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
