//! Locations, tickets and their activities, and the staff and external users tickets name.

use std::collections::BTreeMap;

use async_trait::async_trait;
use sqlx::FromRow;
use uuid::Uuid;

use super::support::corrupt;
use super::{
    ActivityCursor, CommentKinds, Entity, Paging, RequestRef, StoreError, StoreResult, TicketCursor, TicketDetail,
    TicketFilter, TicketOrder, TicketPage, Viewer,
};
use crate::domain::{
    ActivityKind, Actor, Attachment, Location, MemberRef, Membership, Ticket, TicketActivity, TicketStatus, Timestamp,
};

/// A ticket to open. The store resolves `requester_id` to a staff or external membership and hands
/// out the number, all in the ticket's own transaction.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub location_id: Uuid,
    pub text: String,
    pub kind: Option<String>,
    pub requester_id: Uuid,
    pub assignee_id: Option<Uuid>,
    pub created_by: Uuid,
    pub created_at: Timestamp,
    pub activity_id: Uuid,
    /// Who opens it, for its `ticket.created` event.
    pub actor: Actor,
}

/// A change of a ticket decided on `expected_version`, and the activity recording it.
#[derive(Debug, Clone)]
pub struct TicketUpdate {
    /// The ticket as it is after the change (its `version` already bumped).
    pub ticket: Ticket,
    pub expected_version: i64,
    pub activity: TicketActivity,
    /// Who changes it, for the change's event.
    pub actor: Actor,
}

#[async_trait]
pub trait TicketStore: Send + Sync {
    async fn insert_location(&self, location: &Location, actor: Actor) -> StoreResult<()>;
    async fn list_locations(&self, workspace_id: Uuid) -> StoreResult<Vec<Location>>;
    async fn get_location(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<Location>;
    async fn update_location(&self, location: &Location, actor: Actor) -> StoreResult<Location>;
    /// Refuses (`InUse`) while tickets refer to the location.
    async fn delete_location(&self, workspace_id: Uuid, id: Uuid, actor: Actor) -> StoreResult<()>;

    /// The staff and external users of the workspace with these ids (unknown ids are left out).
    async fn memberships(&self, workspace_id: Uuid, ids: &[Uuid]) -> StoreResult<Vec<Membership>>;

    async fn create_ticket(&self, new: &NewTicket) -> StoreResult<TicketDetail>;
    /// The ticket if `viewer` may see it, else `NotFound`.
    async fn get_ticket(&self, workspace_id: Uuid, id: Uuid, viewer: Viewer) -> StoreResult<Ticket>;
    /// How many comments the ticket holds, internal ones included.
    async fn count_comments(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<i64>;
    /// The ticket with its newest `limit` activities older than `before` (the newest of all without
    /// it), oldest first, as `viewer` may see them; `older` says where the rest starts. Reads at most
    /// `limit + 1` activities, by the `(ticket_id, created_at, id)` index.
    async fn ticket_detail(
        &self,
        workspace_id: Uuid,
        id: Uuid,
        viewer: Viewer,
        before: Option<ActivityCursor>,
        limit: i64,
    ) -> StoreResult<TicketDetail>;
    /// The activity that gave the ticket its current status: its latest status change, else its
    /// creation (`None` only for a ticket without its created activity).
    async fn status_setter(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<Option<TicketActivity>>;
    /// Up to `limit` tickets in `order`, after the position `after` when given.
    async fn list_tickets(
        &self,
        workspace_id: Uuid,
        viewer: Viewer,
        filter: &TicketFilter,
        order: TicketOrder,
        after: Option<TicketCursor>,
        limit: i64,
    ) -> StoreResult<TicketPage>;
    /// How many of the workspace's tickets match `filter`, counting no further than `cap`.
    async fn count_tickets(&self, workspace_id: Uuid, filter: &TicketFilter, cap: i64) -> StoreResult<i64>;
    /// Applies the change with its activity, or returns `None` (and changes nothing) when the ticket
    /// is no longer at `expected_version`.
    async fn update_ticket(&self, update: &TicketUpdate) -> StoreResult<Option<TicketDetail>>;

    /// The ticket a request names (its id or its number) if `viewer` may see it, else `NotFound`.
    async fn find_ticket(&self, workspace_id: Uuid, request: RequestRef, viewer: Viewer) -> StoreResult<Ticket>;
    /// Up to `paging.limit` of the ticket's comments of `kinds` in their order, from `paging.offset`, and
    /// whether more follow (read one past the page).
    async fn comments(
        &self,
        workspace_id: Uuid,
        ticket_id: Uuid,
        kinds: CommentKinds,
        paging: Paging,
    ) -> StoreResult<(Vec<TicketActivity>, bool)>;
    /// The ticket's comment with this number, internal or not.
    async fn comment(&self, workspace_id: Uuid, ticket_id: Uuid, number: i64) -> StoreResult<Option<TicketActivity>>;
}

/// `SELECT <every activity column> FROM ticket_activities <rest>`, as a constant: one column list for
/// every query that reads activities, in the order `ActivityRow` expects.
macro_rules! select_activities {
    ($rest:literal) => {
        concat!(
            "SELECT id, workspace_id, ticket_id, type, actor_staff_id, actor_external_user_id, created_by, text, \
             internal, attachments, status, assignee_id, previous_status, previous_assignee_id, ticket_type, \
             previous_ticket_type, created_at, comment_number, participant_user_id FROM ticket_activities ",
            $rest
        )
    };
}
/// `SELECT <every ticket column> FROM tickets <rest>`, in the order `TicketRow` expects.
macro_rules! select_tickets {
    ($rest:literal) => {
        concat!(
            "SELECT id, workspace_id, number, location_id, text, type, status, requester_staff_id, \
             requester_external_user_id, assignee_id, version, created_by, created_at, updated_at, \
             status_updated_at FROM tickets ",
            $rest
        )
    };
}
pub(super) const INSERT_LOCATION: &str =
    "INSERT INTO locations (id, workspace_id, name, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)";
pub(super) const LIST_LOCATIONS: &str = "SELECT id, workspace_id, name, created_at, updated_at FROM locations WHERE workspace_id = $1 ORDER BY created_at, id";
pub(super) const GET_LOCATION: &str =
    "SELECT id, workspace_id, name, created_at, updated_at FROM locations WHERE id = $1 AND workspace_id = $2";
pub(super) const UPDATE_LOCATION: &str =
    "UPDATE locations SET name = $1, updated_at = $2 WHERE id = $3 AND workspace_id = $4";
pub(super) const LOCATION_HAS_TICKETS: &str = "SELECT 1 FROM tickets WHERE location_id = $1 LIMIT 1";
pub(super) const DELETE_LOCATION: &str = "DELETE FROM locations WHERE id = $1 AND workspace_id = $2";
/// Followed by the workspace id and `AND id IN (...)`.
pub(super) const MEMBER_EXTERNAL_USERS: &str = "SELECT id, workspace_id, channel_id, super_identity_id, \
     external_id, identifier, name, tier_id, group_id, blocked, time_zone, created_at, updated_at \
     FROM external_users WHERE ";
/// What a new ticket names, each `true` when the workspace has it: the location, the requester as a
/// staff user and as an external user, and the assignee (`true` when there is none).
pub(super) const TICKET_REFS: &str = "SELECT \
     EXISTS (SELECT 1 FROM locations WHERE id = $1 AND workspace_id = $4), \
     EXISTS (SELECT 1 FROM staff_users WHERE id = $2 AND workspace_id = $4), \
     EXISTS (SELECT 1 FROM external_users WHERE id = $2 AND workspace_id = $4), \
     $3 IS NULL OR EXISTS (SELECT 1 FROM staff_users WHERE id = $3 AND workspace_id = $4)";
/// Creates the workspace's counter row on its first ticket.
pub(super) const START_TICKET_COUNTER: &str =
    "INSERT INTO ticket_counters (workspace_id, n) VALUES ($1, 0) ON CONFLICT (workspace_id) DO NOTHING";
/// Hands out `$2` numbers at once: answers the last of them.
pub(super) const ADVANCE_TICKET_NUMBERS: &str =
    "UPDATE ticket_counters SET n = n + $2 WHERE workspace_id = $1 RETURNING n";
/// Followed by one `(...)` of [`NEW_TICKET_COLUMNS`] values per ticket.
pub(super) const INSERT_TICKETS: &str = "INSERT INTO tickets (id, workspace_id, number, location_id, text, type, status, \
     requester_staff_id, requester_external_user_id, assignee_id, version, created_by, created_at, updated_at, \
     status_updated_at) ";
pub(super) const NEW_TICKET_COLUMNS: usize = 15;
/// A new ticket's first activity (`created`): followed by one `(...)` of [`CREATED_ACTIVITY_COLUMNS`]
/// values per ticket; the columns of other kinds stay NULL.
pub(super) const INSERT_CREATED_ACTIVITIES: &str = "INSERT INTO ticket_activities (id, workspace_id, ticket_id, type, \
     actor_staff_id, actor_external_user_id, created_by, text, internal, attachments, status, assignee_id, created_at) ";
pub(super) const CREATED_ACTIVITY_COLUMNS: usize = 13;
/// Followed by the ticket id, `AND workspace_id = ` and the workspace id.
pub(super) const GET_TICKET: &str = select_tickets!("WHERE id = ");
/// Followed by the workspace id, the filters, the order and the limit.
pub(super) const LIST_TICKETS: &str = select_tickets!("WHERE workspace_id = ");
/// Followed by the workspace id, the filters, ` LIMIT ` the cap and `) capped`: a count that stops at
/// the cap, so a status tab's number costs at most that many index entries.
pub(super) const COUNT_TICKETS_CAPPED: &str = "SELECT COUNT(*) FROM (SELECT 1 FROM tickets WHERE workspace_id = ";
pub(super) const UPDATE_TICKET: &str = "UPDATE tickets SET status = $1, assignee_id = $2, version = $3, \
     updated_at = $4, status_updated_at = $5, type = $9 WHERE id = $6 AND workspace_id = $7 AND version = $8";
pub(super) const COUNT_COMMENTS: &str =
    "SELECT COUNT(*) FROM ticket_activities WHERE ticket_id = $1 AND workspace_id = $2 AND type = 'comment'";
pub(super) const INSERT_ACTIVITY: &str = "INSERT INTO ticket_activities (id, workspace_id, ticket_id, type, actor_staff_id, actor_external_user_id, \
     created_by, text, internal, attachments, status, assignee_id, previous_status, previous_assignee_id, ticket_type, \
     previous_ticket_type, created_at, comment_number, participant_user_id) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)";
/// A ticket's timeline, newest first; followed by `AND NOT internal` for external users, the
/// position (`before`) when given, the order and the limit.
pub(super) const ACTIVITIES: &str = select_activities!("WHERE ticket_id = ");
/// The newest activity that set the ticket's status.
pub(super) const STATUS_SETTER: &str = select_activities!(
    "WHERE ticket_id = $1 AND workspace_id = $2 AND type IN ('created', 'statusChange') \
     ORDER BY created_at DESC, id DESC LIMIT 1"
);
/// Followed by the ticket number, `AND workspace_id = ` and the workspace id.
pub(super) const GET_TICKET_BY_NUMBER: &str = select_tickets!("WHERE number = ");
/// A ticket's comments; followed by which kinds, the order and the page.
pub(super) const COMMENTS: &str = select_activities!("WHERE comment_number IS NOT NULL AND ticket_id = ");
pub(super) const COMMENT: &str =
    select_activities!("WHERE ticket_id = $1 AND workspace_id = $2 AND comment_number = $3");
fn status(s: &str) -> Result<TicketStatus, StoreError> {
    TicketStatus::from_stored(s).ok_or_else(|| corrupt("ticket status", s))
}

/// [`attachments_json`] of none: a new ticket's first activity.
pub(super) const NO_ATTACHMENTS: &str = "[]";

pub(super) fn attachments_json(a: &[Attachment]) -> StoreResult<String> {
    serde_json::to_string(a).map_err(|e| StoreError::Other(e.to_string()))
}

#[derive(FromRow)]
pub(super) struct LocationRow {
    id: Uuid,
    workspace_id: Uuid,
    name: String,
    created_at: i64,
    updated_at: i64,
}

impl From<LocationRow> for Location {
    fn from(r: LocationRow) -> Self {
        Location {
            id: r.id,
            workspace_id: r.workspace_id,
            name: r.name,
            created_at: Timestamp::from_micros(r.created_at),
            updated_at: Timestamp::from_micros(r.updated_at),
        }
    }
}

#[derive(FromRow)]
pub(super) struct TicketRow {
    pub(super) id: Uuid,
    pub(super) workspace_id: Uuid,
    pub(super) number: i64,
    pub(super) location_id: Uuid,
    pub(super) text: String,
    #[sqlx(rename = "type")]
    pub(super) kind: Option<String>,
    pub(super) status: String,
    pub(super) requester_staff_id: Option<Uuid>,
    pub(super) requester_external_user_id: Option<Uuid>,
    pub(super) assignee_id: Option<Uuid>,
    pub(super) version: i64,
    pub(super) created_by: Uuid,
    pub(super) created_at: i64,
    pub(super) updated_at: i64,
    pub(super) status_updated_at: i64,
}

impl TryFrom<TicketRow> for Ticket {
    type Error = StoreError;
    fn try_from(r: TicketRow) -> Result<Self, StoreError> {
        Ok(Ticket {
            status: status(&r.status)?,
            requester: MemberRef::from_columns(r.requester_staff_id, r.requester_external_user_id)
                .ok_or_else(|| corrupt("ticket requester", "none"))?,
            id: r.id,
            workspace_id: r.workspace_id,
            number: r.number,
            location_id: r.location_id,
            text: r.text,
            kind: r.kind,
            assignee_id: r.assignee_id,
            version: r.version,
            created_by: r.created_by,
            created_at: Timestamp::from_micros(r.created_at),
            updated_at: Timestamp::from_micros(r.updated_at),
            status_updated_at: Timestamp::from_micros(r.status_updated_at),
        })
    }
}

#[derive(FromRow)]
pub(super) struct ActivityRow {
    pub(super) id: Uuid,
    pub(super) workspace_id: Uuid,
    pub(super) ticket_id: Uuid,
    #[sqlx(rename = "type")]
    pub(super) kind: String,
    pub(super) actor_staff_id: Option<Uuid>,
    pub(super) actor_external_user_id: Option<Uuid>,
    pub(super) created_by: Uuid,
    pub(super) text: Option<String>,
    pub(super) internal: bool,
    pub(super) attachments: String,
    pub(super) status: Option<String>,
    pub(super) assignee_id: Option<Uuid>,
    pub(super) previous_status: Option<String>,
    pub(super) previous_assignee_id: Option<Uuid>,
    pub(super) ticket_type: Option<String>,
    pub(super) previous_ticket_type: Option<String>,
    pub(super) created_at: i64,
    pub(super) comment_number: Option<i64>,
    pub(super) participant_user_id: Option<Uuid>,
}

impl TryFrom<ActivityRow> for TicketActivity {
    type Error = StoreError;
    fn try_from(r: ActivityRow) -> Result<Self, StoreError> {
        Ok(TicketActivity {
            kind: ActivityKind::parse(&r.kind).ok_or_else(|| corrupt("activity type", &r.kind))?,
            actor: MemberRef::from_columns(r.actor_staff_id, r.actor_external_user_id),
            attachments: serde_json::from_str(&r.attachments).map_err(|_| corrupt("attachments", &r.attachments))?,
            status: r.status.as_deref().map(status).transpose()?,
            previous_status: r.previous_status.as_deref().map(status).transpose()?,
            id: r.id,
            workspace_id: r.workspace_id,
            ticket_id: r.ticket_id,
            created_by: r.created_by,
            text: r.text,
            internal: r.internal,
            assignee_id: r.assignee_id,
            previous_assignee_id: r.previous_assignee_id,
            ticket_type: r.ticket_type,
            previous_ticket_type: r.previous_ticket_type,
            comment_number: r.comment_number,
            participant: r.participant_user_id,
            created_at: Timestamp::from_micros(r.created_at),
        })
    }
}

/// The people a response names, each once, by the table that holds them. A ticket and its
/// activities say which kind each id is (an assignee is always staff, a participant always an
/// external user), so a read looks only where one can be: most tickets name no staff at all.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct MemberIds {
    pub staff: Vec<Uuid>,
    pub external: Vec<Uuid>,
}

impl MemberIds {
    /// Ids whose kind is not known, looked for among both.
    pub fn either(ids: &[Uuid]) -> Self {
        Self { staff: ids.to_vec(), external: ids.to_vec() }
    }

    fn member(&mut self, m: MemberRef) {
        match m {
            MemberRef::Staff(id) => self.staff.push(id),
            MemberRef::External(id) => self.external.push(id),
        }
    }
}

/// The people a set of tickets and activities refer to.
pub(super) fn member_ids<'a>(
    tickets: impl IntoIterator<Item = &'a Ticket>,
    activities: &[TicketActivity],
) -> MemberIds {
    let mut ids = MemberIds::default();
    for t in tickets {
        ids.member(t.requester);
        ids.staff.extend(t.assignee_id);
    }
    for a in activities {
        if let Some(actor) = a.actor {
            ids.member(actor);
        }
        ids.staff.extend(a.assignee_id.into_iter().chain(a.previous_assignee_id));
        ids.external.extend(a.participant);
    }
    for list in [&mut ids.staff, &mut ids.external] {
        list.sort_unstable();
        list.dedup();
    }
    ids
}

/// A ticket as its batch opened it, with its first activity.
pub(super) type Opened = (Ticket, TicketActivity);

/// What [`TICKET_REFS`] found, in its order.
pub(super) type FoundRefs = (bool, bool, bool, bool);

/// Who opens `new` as its requester, or the first thing it names that its workspace lacks, checked
/// in the order a single create reports them: the location, the requester, the assignee.
pub(super) fn requester(
    new: &NewTicket,
    (location, staff, external, assignee): FoundRefs,
) -> Result<MemberRef, Entity> {
    let requester = match (location, staff, external) {
        (false, ..) => return Err(Entity::Location),
        (true, true, _) => MemberRef::Staff(new.requester_id),
        (true, false, true) => MemberRef::External(new.requester_id),
        (true, false, false) => return Err(Entity::Membership),
    };
    if assignee { Ok(requester) } else { Err(Entity::StaffUser) }
}

/// How many numbers each workspace of the batch hands out (one per ticket whose references were
/// found), in workspace order: the order every node takes the counter rows in, so two batches wait
/// for each other rather than deadlock.
pub(super) fn numbers_needed(batch: &[NewTicket], requesters: &[Result<MemberRef, Entity>]) -> BTreeMap<Uuid, i64> {
    let mut needed = BTreeMap::new();
    for (new, requester) in batch.iter().zip(requesters) {
        if requester.is_ok() {
            *needed.entry(new.workspace_id).or_insert(0) += 1;
        }
    }
    needed
}

/// The batch's tickets, status `new`, numbered in the batch's order from `next` (each workspace's
/// first new number), each with the `created` activity recording its text.
pub(super) fn open(
    batch: &[NewTicket],
    requesters: Vec<Result<MemberRef, Entity>>,
    mut next: BTreeMap<Uuid, i64>,
) -> Vec<Result<Opened, Entity>> {
    batch
        .iter()
        .zip(requesters)
        .map(|(new, requester)| {
            let requester = requester?;
            // `next` holds every workspace `numbers_needed` counted; one it missed has no number.
            let number = next.get_mut(&new.workspace_id).ok_or(Entity::Workspace)?;
            let ticket = Ticket {
                id: new.id,
                workspace_id: new.workspace_id,
                number: *number,
                location_id: new.location_id,
                text: new.text.clone(),
                kind: new.kind.clone(),
                status: TicketStatus::New,
                requester,
                assignee_id: new.assignee_id,
                version: 1,
                created_by: new.created_by,
                created_at: new.created_at,
                updated_at: new.created_at,
                status_updated_at: new.created_at,
            };
            *number += 1;
            let activity = TicketActivity {
                id: new.activity_id,
                text: Some(ticket.text.clone()),
                status: Some(TicketStatus::New),
                assignee_id: ticket.assignee_id,
                ..TicketActivity::new(
                    ActivityKind::Created,
                    (new.workspace_id, ticket.id),
                    (Some(requester), new.created_by),
                    ticket.created_at,
                )
            };
            Ok((ticket, activity))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_ticket(workspace_id: Uuid) -> NewTicket {
        NewTicket {
            id: Uuid::new_v4(),
            workspace_id,
            location_id: Uuid::new_v4(),
            text: "Printer on fire".into(),
            kind: None,
            requester_id: Uuid::new_v4(),
            assignee_id: None,
            created_by: Uuid::new_v4(),
            created_at: Timestamp::now(),
            activity_id: Uuid::new_v4(),
            actor: Actor::Operator,
        }
    }

    #[test]
    fn no_attachments_are_written_as_an_empty_list_is() {
        assert_eq!(attachments_json(&[]).unwrap(), NO_ATTACHMENTS);
    }

    #[test]
    fn a_new_ticket_reports_the_first_missing_reference_in_the_order_a_single_create_checks_them() {
        let new = new_ticket(Uuid::new_v4());
        assert_eq!(requester(&new, (false, false, false, false)), Err(Entity::Location));
        assert_eq!(requester(&new, (true, false, false, false)), Err(Entity::Membership));
        assert_eq!(requester(&new, (true, false, true, false)), Err(Entity::StaffUser));
        assert_eq!(requester(&new, (true, true, true, true)), Ok(MemberRef::Staff(new.requester_id)));
        assert_eq!(requester(&new, (true, false, true, true)), Ok(MemberRef::External(new.requester_id)));
    }

    #[test]
    fn the_people_a_ticket_names_are_looked_for_only_where_their_kind_is_kept() {
        let mut new = new_ticket(Uuid::new_v4());
        let (assignee, agent, customer) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        new.assignee_id = Some(assignee);
        let requester = MemberRef::External(new.requester_id);
        let next = BTreeMap::from([(new.workspace_id, 1)]);
        let Some(Ok((ticket, created))) = open(std::slice::from_ref(&new), vec![Ok(requester)], next).pop() else {
            panic!("the ticket opens");
        };
        let added = TicketActivity {
            participant: Some(customer),
            previous_assignee_id: Some(assignee),
            ..TicketActivity::new(
                ActivityKind::ParticipantAdded,
                (new.workspace_id, ticket.id),
                (Some(MemberRef::Staff(agent)), agent),
                Timestamp::now(),
            )
        };
        let ids = member_ids([&ticket, &ticket], &[created, added]);
        let mut staff = vec![assignee, agent];
        let mut external = vec![new.requester_id, customer];
        staff.sort_unstable();
        external.sort_unstable();
        assert_eq!(ids, MemberIds { staff, external });
        assert_eq!(member_ids([&ticket], &[]).staff, vec![assignee]);
        assert_eq!(MemberIds::either(&[agent]), MemberIds { staff: vec![agent], external: vec![agent] });
    }

    #[test]
    fn a_batch_numbers_each_workspaces_tickets_in_order_and_skips_none_for_a_refused_one() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let batch = [new_ticket(a), new_ticket(b), new_ticket(a), new_ticket(a)];
        let requesters: Vec<_> = batch
            .iter()
            .enumerate()
            .map(|(i, new)| if i == 2 { Err(Entity::Location) } else { Ok(MemberRef::External(new.requester_id)) })
            .collect();
        let needed = numbers_needed(&batch, &requesters);
        assert_eq!(needed, BTreeMap::from([(a, 2), (b, 1)]));
        let opened = open(&batch, requesters, BTreeMap::from([(a, 41), (b, 1)]));
        let numbers: Vec<_> = opened.iter().map(|o| o.as_ref().map(|(t, _)| t.number).map_err(|e| *e)).collect();
        assert_eq!(numbers, [Ok(41), Ok(1), Err(Entity::Location), Ok(42)]);
        let (ticket, created) = opened[0].as_ref().unwrap();
        assert_eq!(
            (created.kind, created.text.as_deref(), created.id),
            (ActivityKind::Created, Some("Printer on fire"), batch[0].activity_id)
        );
        assert_eq!((ticket.status, ticket.version, created.ticket_id), (TicketStatus::New, 1, ticket.id));
    }
}
