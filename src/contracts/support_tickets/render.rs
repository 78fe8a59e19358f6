//! Seed 002's bodies: tickets, activities and memberships exactly in the seed's shape, every key
//! present (absent values as `null`), timestamps to the second (`2023-11-07T05:31:56Z`).

use std::collections::HashMap;

use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::app::TicketDetail;
use crate::domain::{ActivityKind, EmailAddress, Membership, StaffStatus, Ticket, TicketActivity};

/// The memberships a response refers to, by id.
pub struct Members<'a>(HashMap<Uuid, &'a Membership>);

impl<'a> Members<'a> {
    pub fn new(members: &'a [Membership]) -> Self {
        Self(members.iter().map(|m| (m.id(), m)).collect())
    }

    fn membership(&self, id: Option<Uuid>) -> Value {
        id.and_then(|id| self.0.get(&id)).map_or(Value::Null, |m| membership(m))
    }

    fn user(&self, id: Option<Uuid>) -> Value {
        id.and_then(|id| self.0.get(&id)).map_or(Value::Null, |m| user(m))
    }
}

/// A staff member's membership: `roleType` its role (`admin`/`agent`), `type` `staff`. An external
/// user's: `roleType` `customer`, `type` `external`. The membership id is the person's id.
pub fn membership(m: &Membership) -> Value {
    let (role_type, kind) = match m {
        Membership::Staff(s) => (s.role.as_str(), "staff"),
        Membership::External(_) => ("customer", "external"),
    };
    json!({"id": m.id(), "roleType": role_type, "type": kind, "user": user(m)})
}

fn user(m: &Membership) -> Value {
    match m {
        Membership::Staff(s) => json!({
            "id": s.id, "photoUrl": null, "blocked": s.status == StaffStatus::Disabled, "email": s.email,
            "name": s.first_name, "phoneNumber": s.phone_number, "surname": s.last_name,
        }),
        Membership::External(u) => {
            // The identifier is an e-mail address on the e-mail channel, a phone number or a
            // username elsewhere: only an address is shown as `email`.
            let email = u.identifier.as_deref().filter(|i| EmailAddress::parse(i).is_ok());
            json!({
                "id": u.id, "photoUrl": null, "blocked": u.blocked, "email": email,
                "name": u.name, "phoneNumber": null, "surname": null,
            })
        }
    }
}

pub fn ticket(t: &Ticket, members: &Members) -> Value {
    let requester = Some(t.requester.id());
    json!({
        "createDate": t.created_at.to_rfc3339_seconds(),
        "description": t.text,
        "id": t.id,
        "locationRef": t.location_id,
        "number": t.number,
        "status": t.status.as_str(),
        "type": t.kind,
        "updateDate": t.updated_at.to_rfc3339_seconds(),
        "membershipAssignee": members.membership(t.assignee_id),
        "membershipRefAssignee": t.assignee_id,
        "membershipRefRequester": t.requester.id(),
        "membershipRequester": members.membership(requester),
        "statusUpdateDate": t.status_updated_at.to_rfc3339_seconds(),
        "userAssignee": members.user(t.assignee_id),
        "userRequester": members.user(requester),
    })
}

pub fn activity(a: &TicketActivity, members: &Members) -> Value {
    let mut data = Map::new();
    let attachments: Vec<Value> = a
        .attachments
        .iter()
        .map(|f| {
            json!({"key": f.key, "mime": f.mime, "name": f.name, "size": f.size, "url": f.url,
                   "height": f.height, "width": f.width})
        })
        .collect();
    // Every activity carries the same five keys, absent values as `null`, so clients can read any; in
    // the product's order (later inserts of these keys keep their place).
    data.insert("attachments".into(), Value::Array(attachments));
    data.insert("membershipAssignee".into(), Value::Null);
    data.insert("previousAttributes".into(), Value::Null);
    data.insert("status".into(), Value::Null);
    data.insert("text".into(), json!(a.text));
    match a.kind {
        ActivityKind::Created => {
            data.insert("status".into(), json!(a.status.map(|s| s.as_str())));
            data.insert("membershipAssignee".into(), members.membership(a.assignee_id));
        }
        ActivityKind::Comment => {
            data.insert("internal".into(), json!(a.internal));
        }
        ActivityKind::StatusChange => {
            data.insert("status".into(), json!(a.status.map(|s| s.as_str())));
            data.insert("previousAttributes".into(), json!({"status": a.previous_status.map(|s| s.as_str())}));
        }
        ActivityKind::AssigneeChange => {
            data.insert("membershipAssignee".into(), members.membership(a.assignee_id));
            data.insert(
                "previousAttributes".into(),
                json!({"membershipAssignee": members.membership(a.previous_assignee_id)}),
            );
        }
        ActivityKind::TypeChange => {
            data.insert("type".into(), json!(a.ticket_type));
            data.insert("previousAttributes".into(), json!({"type": a.previous_ticket_type}));
        }
        // Its sentence is already in `text`.
        ActivityKind::IdentityMerged => {}
        ActivityKind::ParticipantAdded | ActivityKind::ParticipantRemoved => {
            data.insert("membershipParticipant".into(), members.membership(a.participant));
        }
    }
    json!({
        "createDate": a.created_at.to_rfc3339_seconds(),
        "id": a.id,
        "ticketRef": a.ticket_id,
        "type": a.kind.as_str(),
        "data": data,
        "lemAI": null,
        "membership": members.membership(a.actor.map(|m| m.id())),
    })
}

/// `{activities[], ticket}`: a ticket with its timeline, oldest first.
pub fn detail(d: &TicketDetail) -> Value {
    let members = Members::new(&d.members);
    let activities: Vec<Value> = d.activities.iter().map(|a| activity(a, &members)).collect();
    json!({"activities": activities, "ticket": ticket(&d.ticket, &members)})
}

/// `{activity, ticket}`: a change and the ticket after it; `activity` is `null` when the ticket
/// already was as asked and nothing changed.
pub fn change(d: &TicketDetail) -> Value {
    let members = Members::new(&d.members);
    let activity = d.activities.last().map_or(Value::Null, |a| activity(a, &members));
    json!({"activity": activity, "ticket": ticket(&d.ticket, &members)})
}

/// `{activity}`: the activity a change recorded, alone.
pub fn activity_only(d: &TicketDetail) -> Value {
    let members = Members::new(&d.members);
    json!({"activity": d.activities.last().map_or(Value::Null, |a| activity(a, &members))})
}
