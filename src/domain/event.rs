//! Events: what changed, recorded in the same transaction as the change (docs/webhooks.md).
//!
//! A resource appears in an event as the admin API shows it (the same keys and values as its `GET`),
//! so an integrator reads one shape whether it pulls, receives a webhook or asks the API.

use serde::Serialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::{
    ApiKey, Channel, CollectionKind, ExternalUser, ExternalUserGroup, Location, MemberRef, StaffCollection, StaffUser,
    Ticket, TicketActivity, TicketParticipant, Tier, Timestamp,
};

/// Who made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Actor {
    ApiKey(Uuid),
    StaffUser(Uuid),
    ExternalUser(Uuid),
    /// Whoever runs the CLI on the server.
    Operator,
}

impl Actor {
    /// The id a record's `created_by` keeps of it (nil for the operator).
    pub fn id(self) -> Uuid {
        match self {
            Actor::ApiKey(id) | Actor::StaffUser(id) | Actor::ExternalUser(id) => id,
            Actor::Operator => Uuid::nil(),
        }
    }

    /// The ticket membership that acted, when an external user did (a timeline names staff by
    /// `created_by`).
    pub fn member(self) -> Option<MemberRef> {
        match self {
            Actor::ExternalUser(id) => Some(MemberRef::External(id)),
            _ => None,
        }
    }

    pub fn to_json(self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

macro_rules! event_types {
    ($($variant:ident => $name:literal),* $(,)?) => {
        /// Every kind of event, by its wire name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EventType { $($variant),* }

        impl EventType {
            pub const ALL: &'static [EventType] = &[$(EventType::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $(EventType::$variant => $name),* }
            }
        }
    };
}

event_types! {
    ExternalUserCreated => "external_user.created",
    ExternalUserUpdated => "external_user.updated",
    ExternalUserBlocked => "external_user.blocked",
    ExternalUserUnblocked => "external_user.unblocked",
    ExternalUserDeleted => "external_user.deleted",
    SuperIdentityMerged => "super_identity.merged",
    CustomerCreated => "customer.created",
    TicketCreated => "ticket.created",
    TicketStatusChanged => "ticket.status_changed",
    TicketAssigned => "ticket.assigned",
    TicketCommented => "ticket.commented",
    TicketTypeChanged => "ticket.type_changed",
    TicketParticipantAdded => "ticket.participant_added",
    TicketParticipantRemoved => "ticket.participant_removed",
    StaffUserInvited => "staff_user.invited",
    StaffUserActivated => "staff_user.activated",
    StaffUserDisabled => "staff_user.disabled",
    StaffUserDeleted => "staff_user.deleted",
    StaffGroupCreated => "staff_group.created",
    StaffGroupDeleted => "staff_group.deleted",
    StaffFolderCreated => "staff_folder.created",
    StaffFolderDeleted => "staff_folder.deleted",
    AutomaticMatchingChanged => "settings.automatic_matching_changed",
    ApiKeyCreated => "api_key.created",
    ApiKeyRevoked => "api_key.revoked",
    ChannelCreated => "channel.created",
    ChannelUpdated => "channel.updated",
    ChannelDeleted => "channel.deleted",
    TierCreated => "tier.created",
    TierUpdated => "tier.updated",
    TierDeleted => "tier.deleted",
    GroupCreated => "external_user_group.created",
    GroupDeleted => "external_user_group.deleted",
    LocationCreated => "location.created",
    LocationUpdated => "location.updated",
    LocationDeleted => "location.deleted",
    WebhookCreated => "webhook.created",
    WebhookUpdated => "webhook.updated",
    WebhookDeleted => "webhook.deleted",
}

impl EventType {
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|t| t.as_str() == s)
    }
}

/// An event about to be recorded; the store gives it its id and sequence.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub kind: EventType,
    pub actor: Actor,
    pub resource: Value,
    /// For `*.updated` (and the other changes of one record): the changed fields' previous values.
    pub previous: Option<Value>,
}

impl NewEvent {
    pub fn new(kind: EventType, actor: Actor, resource: Value) -> Self {
        Self { kind, actor, resource, previous: None }
    }

    /// The update event of a record going from `before` to `after`, or `None` when no field but the
    /// modification time differs: nothing fires when nothing changed.
    pub fn updated(kind: EventType, actor: Actor, before: &Value, after: Value) -> Option<Self> {
        let previous = previous_values(before, &after)?;
        Some(Self { kind, actor, resource: after, previous: Some(previous) })
    }
}

/// A recorded event: its stable id, its place in the workspace's sequence (1, 2, 3... without gaps).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub sequence: i64,
    pub kind: String,
    pub occurred_at: Timestamp,
    pub actor: Value,
    pub resource: Value,
    pub previous: Option<Value>,
}

impl Event {
    /// The event as the pull API and webhook deliveries show it.
    pub fn to_json(&self) -> Value {
        let mut body = json!({
            "id": self.id,
            "sequence": self.sequence,
            "type": self.kind,
            "occurredAt": self.occurred_at,
            "workspaceId": self.workspace_id,
            "actor": self.actor,
            "data": self.resource,
        });
        if let (Some(previous), Some(map)) = (&self.previous, body.as_object_mut()) {
            map.insert("previous".into(), previous.clone());
        }
        body
    }
}

/// The fields of `after` whose value differs from `before`, with their values in `before`; `None`
/// when only the modification time moved.
pub fn previous_values(before: &Value, after: &Value) -> Option<Value> {
    let (Some(before), Some(after)) = (before.as_object(), after.as_object()) else {
        return None;
    };
    let changed: Map<String, Value> = after
        .iter()
        .filter(|(k, v)| k.as_str() != "updatedAt" && before.get(k.as_str()) != Some(v))
        .map(|(k, _)| (k.clone(), before.get(k.as_str()).cloned().unwrap_or(Value::Null)))
        .collect();
    (!changed.is_empty()).then_some(Value::Object(changed))
}

fn ts(t: Timestamp) -> Value {
    Value::String(t.to_rfc3339_millis())
}

/// An external user as `GET /api/v1/external-users/{id}` shows it, in its order: the one definition of
/// the shape, as a [`Value`] ([`external_user`]) or straight as text ([`external_user_text`]).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Shown<'a> {
    created_at: Timestamp,
    id: Uuid,
    updated_at: Timestamp,
    blocked: bool,
    channel_id: Uuid,
    external_id: &'a Option<String>,
    external_user_group_id: Option<Uuid>,
    identifier: &'a Option<String>,
    name: &'a Option<String>,
    super_identity_id: Uuid,
    tier_id: Option<Uuid>,
    workspace_id: Uuid,
}

impl<'a> Shown<'a> {
    fn of(u: &'a ExternalUser) -> Self {
        Shown {
            created_at: u.created_at,
            id: u.id,
            updated_at: u.updated_at,
            blocked: u.blocked,
            channel_id: u.channel_id,
            external_id: &u.external_id,
            external_user_group_id: u.external_user_group_id,
            identifier: &u.identifier,
            name: &u.name,
            super_identity_id: u.super_identity_id,
            tier_id: u.tier_id,
            workspace_id: u.workspace_id,
        }
    }
}

/// As `GET /api/v1/external-users/{id}` shows it.
pub fn external_user(u: &ExternalUser) -> Value {
    serde_json::to_value(Shown::of(u)).unwrap_or(Value::Null)
}

/// [`external_user`] as JSON text, written straight from the user without building a [`Value`] (an
/// import records thousands per batch, and the tree of strings was most of their cost).
pub fn external_user_text(u: &ExternalUser) -> String {
    serde_json::to_string(&Shown::of(u)).unwrap_or_else(|_| "null".to_owned())
}

/// The event of an external user's update: blocking and unblocking are events of their own, any
/// other change is `external_user.updated`.
pub fn external_user_changes(actor: Actor, before: &ExternalUser, after: &ExternalUser) -> Vec<NewEvent> {
    let mut events = Vec::new();
    let (old, new) = (external_user(before), external_user(after));
    let mut without_block = before.clone();
    without_block.blocked = after.blocked;
    if let Some(e) =
        NewEvent::updated(EventType::ExternalUserUpdated, actor, &external_user(&without_block), new.clone())
    {
        events.push(e);
    }
    if before.blocked != after.blocked {
        let kind = if after.blocked { EventType::ExternalUserBlocked } else { EventType::ExternalUserUnblocked };
        let previous = previous_values(&old, &new).and_then(|p| p.get("blocked").cloned());
        events.push(NewEvent { kind, actor, resource: new, previous: previous.map(|b| json!({ "blocked": b })) });
    }
    events
}

/// As `GET /api/v1/channels/{id}` shows it.
pub fn channel(c: &Channel) -> Value {
    json!({
        "createdAt": ts(c.created_at),
        "id": c.id,
        "updatedAt": ts(c.updated_at),
        "name": c.name,
        "type": c.kind.as_str(),
        "builtIn": c.builtin,
        "workspaceId": c.workspace_id,
    })
}

/// As `GET /api/v1/tiers/{id}` shows it.
pub fn tier(t: &Tier) -> Value {
    json!({
        "createdAt": ts(t.created_at),
        "id": t.id,
        "updatedAt": ts(t.updated_at),
        "description": t.description,
        "name": t.name,
        "workspaceId": t.workspace_id,
    })
}

/// As `GET /api/v1/external-user-groups/{id}` shows it.
pub fn group(g: &ExternalUserGroup) -> Value {
    json!({
        "createdAt": ts(g.created_at),
        "id": g.id,
        "updatedAt": ts(g.updated_at),
        "externalId": g.external_id,
        "name": g.name,
        "tierId": g.tier_id,
        "workspaceId": g.workspace_id,
    })
}

/// As `GET /api/v1/locations/{id}` shows it.
pub fn location(l: &Location) -> Value {
    json!({
        "createdAt": ts(l.created_at),
        "id": l.id,
        "updatedAt": ts(l.updated_at),
        "name": l.name,
        "workspaceId": l.workspace_id,
    })
}

/// As `GET /api/v1/api-keys` shows it (never the secret).
pub fn api_key(k: &ApiKey) -> Value {
    json!({
        "id": k.id,
        "name": k.name,
        "role": k.role.as_str(),
        "prefix": k.prefix,
        "createdAt": ts(k.created_at),
        "createdBy": k.created_by,
        "lastUsedAt": k.last_used_at.map(ts),
        "revokedAt": k.revoked_at.map(ts),
    })
}

/// A staff user (seed 003's fields in the admin API's spelling).
pub fn staff_user(u: &StaffUser) -> Value {
    json!({
        "createdAt": ts(u.created_at),
        "id": u.id,
        "updatedAt": ts(u.updated_at),
        "email": u.email,
        "firstName": u.first_name,
        "lastName": u.last_name,
        "externalId": u.external_id,
        "role": u.role.as_str(),
        "status": u.status.as_str(),
        "phoneNumber": u.phone_number,
        "workspaceId": u.workspace_id,
    })
}

/// As `GET /api/v1/staff-groups/{id}` (or `staff-folders`) shows it.
pub fn staff_collection(c: &StaffCollection) -> Value {
    json!({
        "createdAt": ts(c.created_at),
        "id": c.id,
        "updatedAt": ts(c.updated_at),
        "name": c.name,
        "workspaceId": c.workspace_id,
    })
}

/// The creation or deletion event of a staff group or folder.
pub fn staff_collection_event(kind: CollectionKind, created: bool) -> EventType {
    match (kind, created) {
        (CollectionKind::Group, true) => EventType::StaffGroupCreated,
        (CollectionKind::Group, false) => EventType::StaffGroupDeleted,
        (CollectionKind::Folder, true) => EventType::StaffFolderCreated,
        (CollectionKind::Folder, false) => EventType::StaffFolderDeleted,
    }
}

/// A staff user's status change: `staff_user.activated` or `staff_user.disabled` (with the previous
/// status), or `None` when the status stayed or became `invited`.
pub fn staff_status_change(actor: Actor, before: &StaffUser, after: &StaffUser) -> Option<NewEvent> {
    use super::StaffStatus;
    let kind = match (before.status, after.status) {
        (b, a) if b == a => return None,
        (_, StaffStatus::Active) => EventType::StaffUserActivated,
        (_, StaffStatus::Disabled) => EventType::StaffUserDisabled,
        (_, StaffStatus::Invited) => return None,
    };
    Some(NewEvent {
        kind,
        actor,
        resource: staff_user(after),
        previous: Some(json!({ "status": before.status.as_str() })),
    })
}

/// A ticket participant's event: the participant as the ticket external users API shows it.
pub fn participant_event(kind: EventType, actor: Actor, p: &TicketParticipant) -> NewEvent {
    NewEvent::new(kind, actor, participant(p))
}

fn member(m: MemberRef) -> Value {
    match m {
        MemberRef::Staff(id) => json!({ "type": "staff_user", "id": id }),
        MemberRef::External(id) => json!({ "type": "external_user", "id": id }),
    }
}

/// A ticket as seed 002 names its fields.
pub fn ticket(t: &Ticket) -> Value {
    json!({
        "id": t.id,
        "number": t.number,
        "locationId": t.location_id,
        "text": t.text,
        "type": t.kind,
        "status": t.status.as_str(),
        "requester": member(t.requester),
        "assigneeId": t.assignee_id,
        "createdAt": ts(t.created_at),
        "updatedAt": ts(t.updated_at),
        "workspaceId": t.workspace_id,
    })
}

/// A ticket's comment: the ticket with the comment beside it.
pub fn comment(t: &Ticket, a: &TicketActivity) -> Value {
    json!({
        "ticket": ticket(t),
        "comment": {
            "id": a.id,
            "text": a.text,
            "internal": a.internal,
            "author": a.actor.map(member),
            "attachments": a.attachments.len(),
            "createdAt": ts(a.created_at),
        },
    })
}

/// A ticket participant as seed 000 shows it.
pub fn participant(p: &TicketParticipant) -> Value {
    json!({
        "id": p.id,
        "ticketId": p.ticket_id,
        "externalUserId": p.external_user_id,
        "email": p.email,
        "createdAt": ts(p.created_at),
        "updatedAt": ts(p.updated_at),
        "workspaceId": p.workspace_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previous_values_name_only_the_changed_fields_and_ignore_the_modification_time() {
        let before = json!({"name": "A", "tierId": null, "updatedAt": "1"});
        let after = json!({"name": "B", "tierId": null, "updatedAt": "2"});
        assert_eq!(previous_values(&before, &after), Some(json!({"name": "A"})));
        let touched = json!({"name": "A", "tierId": null, "updatedAt": "3"});
        assert_eq!(previous_values(&before, &touched), None);
    }

    #[test]
    fn an_external_user_as_text_is_the_text_of_its_json() {
        let full = ExternalUser {
            id: Uuid::from_u128(1),
            workspace_id: Uuid::from_u128(2),
            channel_id: Uuid::from_u128(3),
            super_identity_id: Uuid::from_u128(4),
            external_id: Some("ext-1".into()),
            identifier: Some("a\"b\\c@example.com".into()),
            name: Some("Zoë \u{1F600}\n".into()),
            tier_id: Some(Uuid::from_u128(5)),
            external_user_group_id: Some(Uuid::from_u128(6)),
            blocked: true,
            time_zone: Some("Europe/Paris".into()),
            created_at: Timestamp::from_micros(1_700_000_000_123_456),
            updated_at: Timestamp::from_micros(1_700_000_001_000_000),
        };
        let bare = ExternalUser {
            external_id: None,
            identifier: None,
            name: None,
            tier_id: None,
            external_user_group_id: None,
            blocked: false,
            time_zone: None,
            ..full.clone()
        };
        for u in [full, bare] {
            assert_eq!(external_user_text(&u), external_user(&u).to_string());
        }
    }

    #[test]
    fn every_event_type_parses_back_from_its_name() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(*t));
        }
        assert_eq!(EventType::parse("ticket.exploded"), None);
    }

    #[test]
    fn blocking_a_user_is_its_own_event_and_not_an_update() {
        let actor = Actor::Operator;
        let now = Timestamp::from_micros(1);
        let before = ExternalUser {
            id: Uuid::nil(),
            workspace_id: Uuid::nil(),
            channel_id: Uuid::nil(),
            super_identity_id: Uuid::nil(),
            external_id: None,
            identifier: None,
            name: Some("A".into()),
            tier_id: None,
            external_user_group_id: None,
            blocked: false,
            time_zone: None,
            created_at: now,
            updated_at: now,
        };
        let after = ExternalUser { blocked: true, updated_at: Timestamp::from_micros(2), ..before.clone() };
        let kinds: Vec<_> = external_user_changes(actor, &before, &after).iter().map(|e| e.kind).collect();
        assert_eq!(kinds, vec![EventType::ExternalUserBlocked]);
        let renamed = ExternalUser { name: Some("B".into()), ..after.clone() };
        let kinds: Vec<_> = external_user_changes(actor, &before, &renamed).iter().map(|e| e.kind).collect();
        assert_eq!(kinds, vec![EventType::ExternalUserUpdated, EventType::ExternalUserBlocked]);
        assert!(external_user_changes(actor, &before, &before).is_empty());
    }
}
