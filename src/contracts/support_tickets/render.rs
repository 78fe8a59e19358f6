//! Seed 002's bodies: tickets, activities and memberships exactly in the seed's shape, every key
//! present (absent values as `null`), timestamps to the second (`2023-11-07T05:31:56Z`).
//!
//! The bodies borrow from the records and serialize straight into the response: a ticket read is
//! mostly this rendering, and building a `serde_json::Value` first (a map and a key string per field)
//! cost a fifth of the server's time on it.

use std::collections::HashMap;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use uuid::Uuid;

use crate::app::{TicketDetail, TicketPage};
use crate::domain::{ActivityKind, Attachment, EmailAddress, Membership, Seconds, StaffStatus, Ticket, TicketActivity};

/// The memberships a response refers to, by id.
pub struct Members<'a>(HashMap<Uuid, &'a Membership>);

impl<'a> Members<'a> {
    pub fn new(members: &'a [Membership]) -> Self {
        Self(members.iter().map(|m| (m.id(), m)).collect())
    }

    fn membership(&self, id: Option<Uuid>) -> Option<MembershipBody<'a>> {
        id.and_then(|id| self.0.get(&id)).map(|m| MembershipBody::new(m))
    }

    fn user(&self, id: Option<Uuid>) -> Option<UserBody<'a>> {
        id.and_then(|id| self.0.get(&id)).map(|m| UserBody::new(m))
    }
}

/// A staff member's membership: `roleType` its role (`admin`/`agent`), `type` `staff`. An external
/// user's: `roleType` `customer`, `type` `external`. The membership id is the person's id.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MembershipBody<'a> {
    id: Uuid,
    role_type: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    user: UserBody<'a>,
}

impl<'a> MembershipBody<'a> {
    fn new(m: &'a Membership) -> Self {
        let (role_type, kind) = match m {
            Membership::Staff(s) => (s.role.as_str(), "staff"),
            Membership::External(_) => ("customer", "external"),
        };
        Self { id: m.id(), role_type, kind, user: UserBody::new(m) }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserBody<'a> {
    id: Uuid,
    /// Always `null`: Frontdesk keeps no photos.
    photo_url: (),
    blocked: bool,
    email: Option<&'a str>,
    name: Option<&'a str>,
    phone_number: Option<&'a str>,
    surname: Option<&'a str>,
}

impl<'a> UserBody<'a> {
    fn new(m: &'a Membership) -> Self {
        match m {
            Membership::Staff(s) => Self {
                id: s.id,
                photo_url: (),
                blocked: s.status == StaffStatus::Disabled,
                email: Some(&s.email),
                name: s.first_name.as_deref(),
                phone_number: s.phone_number.as_deref(),
                surname: s.last_name.as_deref(),
            },
            // The identifier is an e-mail address on the e-mail channel, a phone number or a
            // username elsewhere: only an address is shown as `email`.
            Membership::External(u) => Self {
                id: u.id,
                photo_url: (),
                blocked: u.blocked,
                email: u.identifier.as_deref().filter(|i| EmailAddress::parse(i).is_ok()),
                name: u.name.as_deref(),
                phone_number: None,
                surname: None,
            },
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketBody<'a> {
    create_date: Seconds,
    description: &'a str,
    id: Uuid,
    location_ref: Uuid,
    number: i64,
    status: &'static str,
    #[serde(rename = "type")]
    kind: Option<&'a str>,
    update_date: Seconds,
    membership_assignee: Option<MembershipBody<'a>>,
    membership_ref_assignee: Option<Uuid>,
    membership_ref_requester: Uuid,
    membership_requester: Option<MembershipBody<'a>>,
    status_update_date: Seconds,
    user_assignee: Option<UserBody<'a>>,
    user_requester: Option<UserBody<'a>>,
}

pub fn ticket<'a>(t: &'a Ticket, members: &Members<'a>) -> TicketBody<'a> {
    let requester = Some(t.requester.id());
    TicketBody {
        create_date: t.created_at.seconds(),
        description: &t.text,
        id: t.id,
        location_ref: t.location_id,
        number: t.number,
        status: t.status.as_str(),
        kind: t.kind.as_deref(),
        update_date: t.updated_at.seconds(),
        membership_assignee: members.membership(t.assignee_id),
        membership_ref_assignee: t.assignee_id,
        membership_ref_requester: t.requester.id(),
        membership_requester: members.membership(requester),
        status_update_date: t.status_updated_at.seconds(),
        user_assignee: members.user(t.assignee_id),
        user_requester: members.user(requester),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ActivityBody<'a> {
    create_date: Seconds,
    id: Uuid,
    ticket_ref: Uuid,
    #[serde(rename = "type")]
    kind: &'static str,
    data: ActivityData<'a>,
    /// Always `null`: Frontdesk writes no AI summaries.
    #[serde(rename = "lemAI")]
    lem_ai: (),
    membership: Option<MembershipBody<'a>>,
}

fn activity<'a>(a: &'a TicketActivity, members: &Members<'a>) -> ActivityBody<'a> {
    ActivityBody {
        create_date: a.created_at.seconds(),
        id: a.id,
        ticket_ref: a.ticket_id,
        kind: a.kind.as_str(),
        data: ActivityData::new(a, members),
        lem_ai: (),
        membership: members.membership(a.actor.map(|m| m.id())),
    }
}

/// An activity's `data`: the same five keys on every kind, absent values as `null`, so clients can
/// read any (in the product's order), then the keys of its kind.
struct ActivityData<'a> {
    attachments: &'a [Attachment],
    membership_assignee: Option<MembershipBody<'a>>,
    previous: Previous<'a>,
    status: Option<&'static str>,
    text: Option<&'a str>,
    extra: Extra<'a>,
}

/// `previousAttributes`: what a change replaced.
enum Previous<'a> {
    None,
    Status(Option<&'static str>),
    Assignee(Option<MembershipBody<'a>>),
    Type(Option<&'a str>),
}

/// The key an activity kind adds after the common five.
enum Extra<'a> {
    None,
    Internal(bool),
    Type(Option<&'a str>),
    Participant(Option<MembershipBody<'a>>),
}

impl<'a> ActivityData<'a> {
    fn new(a: &'a TicketActivity, members: &Members<'a>) -> Self {
        let mut data = Self {
            attachments: &a.attachments,
            membership_assignee: None,
            previous: Previous::None,
            status: None,
            text: a.text.as_deref(),
            extra: Extra::None,
        };
        let status = a.status.map(|s| s.as_str());
        match a.kind {
            ActivityKind::Created => {
                data.status = status;
                data.membership_assignee = members.membership(a.assignee_id);
            }
            ActivityKind::Comment => data.extra = Extra::Internal(a.internal),
            ActivityKind::StatusChange => {
                data.status = status;
                data.previous = Previous::Status(a.previous_status.map(|s| s.as_str()));
            }
            ActivityKind::AssigneeChange => {
                data.membership_assignee = members.membership(a.assignee_id);
                data.previous = Previous::Assignee(members.membership(a.previous_assignee_id));
            }
            ActivityKind::TypeChange => {
                data.extra = Extra::Type(a.ticket_type.as_deref());
                data.previous = Previous::Type(a.previous_ticket_type.as_deref());
            }
            // Its sentence is already in `text`.
            ActivityKind::IdentityMerged => {}
            ActivityKind::ParticipantAdded | ActivityKind::ParticipantRemoved => {
                data.extra = Extra::Participant(members.membership(a.participant));
            }
        }
        data
    }
}

impl Serialize for ActivityData<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("attachments", self.attachments)?;
        map.serialize_entry("membershipAssignee", &self.membership_assignee)?;
        map.serialize_entry("previousAttributes", &self.previous)?;
        map.serialize_entry("status", &self.status)?;
        map.serialize_entry("text", &self.text)?;
        match &self.extra {
            Extra::None => {}
            Extra::Internal(internal) => map.serialize_entry("internal", internal)?,
            Extra::Type(kind) => map.serialize_entry("type", kind)?,
            Extra::Participant(m) => map.serialize_entry("membershipParticipant", m)?,
        }
        map.end()
    }
}

impl Serialize for Previous<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Previous::None => serializer.serialize_none(),
            Previous::Status(status) => one_entry(serializer, "status", status),
            Previous::Assignee(m) => one_entry(serializer, "membershipAssignee", m),
            Previous::Type(kind) => one_entry(serializer, "type", kind),
        }
    }
}

fn one_entry<S: Serializer, V: Serialize>(serializer: S, key: &str, value: &V) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(1))?;
    map.serialize_entry(key, value)?;
    map.end()
}

/// `{activities[], ticket}`: a ticket with its timeline, oldest first, and the token of the page
/// before it when older activities remain.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DetailBody<'a> {
    activities: Vec<ActivityBody<'a>>,
    ticket: TicketBody<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    older_activities_page_token: Option<String>,
}

pub fn detail(d: &TicketDetail) -> DetailBody<'_> {
    let members = Members::new(&d.members);
    DetailBody {
        activities: d.activities.iter().map(|a| activity(a, &members)).collect(),
        ticket: ticket(&d.ticket, &members),
        older_activities_page_token: d.older.map(|older| older.token()),
    }
}

/// `{activity, ticket}`: a change and the ticket after it; `activity` is `null` when the ticket
/// already was as asked and nothing changed.
#[derive(Serialize)]
pub struct ChangeBody<'a> {
    activity: Option<ActivityBody<'a>>,
    ticket: TicketBody<'a>,
}

pub fn change(d: &TicketDetail) -> ChangeBody<'_> {
    let members = Members::new(&d.members);
    ChangeBody { activity: d.activities.last().map(|a| activity(a, &members)), ticket: ticket(&d.ticket, &members) }
}

/// `{activity}`: the activity a change recorded, alone.
#[derive(Serialize)]
pub struct ActivityOnlyBody<'a> {
    activity: Option<ActivityBody<'a>>,
}

pub fn activity_only(d: &TicketDetail) -> ActivityOnlyBody<'_> {
    let members = Members::new(&d.members);
    ActivityOnlyBody { activity: d.activities.last().map(|a| activity(a, &members)) }
}

/// `{tickets[], nextPageToken?}`: a page of tickets, with the token of the next page when more follow.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PageBody<'a> {
    tickets: Vec<TicketBody<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

pub fn page(page: &TicketPage, next_page_token: Option<String>) -> PageBody<'_> {
    let members = Members::new(&page.members);
    PageBody { tickets: page.tickets.iter().map(|t| ticket(t, &members)).collect(), next_page_token }
}
