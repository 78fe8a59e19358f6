//! Seed 002: locations, tickets and their timeline.
//!
//! The team (API keys, the operator) works every ticket of the workspace. An external user holding an
//! access token opens tickets as their requester, sees the tickets it requested or participates in,
//! and comments on them publicly; it never sees internal comments and changes nothing else.

use crate::app::Conflict;
use uuid::Uuid;

use super::{App, AppError, AppResult, Principal};
use crate::domain::{
    ActivityKind, Attachment, Location, LocationName, MemberRef, Refusal, Role, Ticket, TicketActivity, TicketStatus,
    TicketText, TicketType, Timestamp,
};
use crate::store::{
    ActivityCursor, COUNT_CAP, NewTicket, TicketCursor, TicketDetail, TicketFilter, TicketOrder, TicketPage,
    TicketUpdate, Viewer,
};

#[derive(Debug, Clone)]
pub struct NewTicketInput {
    pub location_id: Uuid,
    pub text: TicketText,
    pub kind: Option<TicketType>,
    /// A staff or external user of the workspace. An external user may leave it out (it is then the
    /// requester) or name itself; the team must name someone.
    pub requester_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
}

#[derive(Debug, Clone)]
pub struct CommentInput {
    pub text: TicketText,
    pub internal: bool,
    pub attachments: Vec<Attachment>,
}

/// How often a change is re-decided when another change of the same ticket committed in between.
const CHANGE_ATTEMPTS: usize = 8;

impl Principal {
    /// Which tickets this principal may see; the team needs at least the agent role.
    pub(super) fn ticket_viewer(&self) -> AppResult<Viewer> {
        match self {
            Principal::ExternalUser { user_id, .. } => Ok(Viewer::ExternalUser(*user_id)),
            _ => {
                self.require(Role::Agent)?;
                Ok(Viewer::Team)
            }
        }
    }

    /// The membership acting, when the principal is a person.
    pub(super) fn member(&self) -> Option<MemberRef> {
        match self {
            Principal::ExternalUser { user_id, .. } => Some(MemberRef::External(*user_id)),
            _ => None,
        }
    }
}

impl App {
    pub async fn create_location(&self, who: &Principal, name: LocationName) -> AppResult<Location> {
        who.require(Role::Admin)?;
        let now = Timestamp::now();
        let location = Location {
            id: Uuid::new_v4(),
            workspace_id: who.workspace_id(),
            name: name.into_string(),
            created_at: now,
            updated_at: now,
        };
        self.store.insert_location(&location, who.actor()).await?;
        Ok(location)
    }

    pub async fn list_locations(&self, who: &Principal) -> AppResult<Vec<Location>> {
        who.require(Role::Agent)?;
        Ok(self.store.list_locations(who.workspace_id()).await?)
    }

    pub async fn get_location(&self, who: &Principal, id: Uuid) -> AppResult<Location> {
        who.require(Role::Agent)?;
        Ok(self.store.get_location(who.workspace_id(), id).await?)
    }

    pub async fn update_location(&self, who: &Principal, id: Uuid, name: Option<LocationName>) -> AppResult<Location> {
        who.require(Role::Admin)?;
        let mut location = self.store.get_location(who.workspace_id(), id).await?;
        if let Some(name) = name {
            location.name = name.into_string();
        }
        location.updated_at = Timestamp::now().max(location.updated_at);
        Ok(self.store.update_location(&location, who.actor()).await?)
    }

    pub async fn delete_location(&self, who: &Principal, id: Uuid) -> AppResult<()> {
        who.require(Role::Admin)?;
        Ok(self.store.delete_location(who.workspace_id(), id, who.actor()).await?)
    }

    /// Opens a ticket with the next number of the workspace, status `new`, and a first activity
    /// recording its text.
    pub async fn create_ticket(&self, who: &Principal, input: NewTicketInput) -> AppResult<TicketDetail> {
        let requester_id = match who {
            Principal::ExternalUser { user_id, .. } => {
                if input.requester_id.is_some_and(|r| r != *user_id) {
                    return Err(AppError::Forbidden("External users may open tickets only as their own requester."));
                }
                if input.assignee_id.is_some() {
                    return Err(AppError::Forbidden("External users may not assign tickets."));
                }
                *user_id
            }
            _ => {
                who.require(Role::Agent)?;
                input.requester_id.ok_or_else(|| AppError::invalid("requester", Refusal::required()))?
            }
        };
        let new = NewTicket {
            id: Uuid::new_v4(),
            workspace_id: who.workspace_id(),
            location_id: input.location_id,
            text: input.text.into_string(),
            kind: input.kind.map(TicketType::into_string),
            requester_id,
            assignee_id: input.assignee_id,
            created_by: who.actor_id(),
            created_at: Timestamp::now(),
            activity_id: Uuid::new_v4(),
            actor: who.actor(),
        };
        Ok(self.store.create_ticket(&new).await?)
    }

    /// The ticket with its newest `limit` activities before `before` (the newest of all without it),
    /// oldest first (internal comments only for the team), and where the older ones start. `limit` is
    /// clamped to 1..=[`Ticket::MAX_ACTIVITIES_PER_READ`], so no read loads a whole timeline.
    pub async fn get_ticket(
        &self,
        who: &Principal,
        id: Uuid,
        before: Option<ActivityCursor>,
        limit: i64,
    ) -> AppResult<TicketDetail> {
        let viewer = who.ticket_viewer()?;
        let limit = limit.clamp(1, Ticket::MAX_ACTIVITIES_PER_READ);
        Ok(self.store.ticket_detail(who.workspace_id(), id, viewer, before, limit).await?)
    }

    /// A page of the tickets the principal may see, in `order`, after the position `after`.
    pub async fn list_tickets(
        &self,
        who: &Principal,
        filter: &TicketFilter,
        order: TicketOrder,
        after: Option<TicketCursor>,
        limit: i64,
    ) -> AppResult<TicketPage> {
        let viewer = who.ticket_viewer()?;
        Ok(self.store.list_tickets(who.workspace_id(), viewer, filter, order, after, limit).await?)
    }

    /// Moves the ticket to any status. Its current status changes nothing and records nothing; the
    /// answer then carries the activity that gave the ticket that status (its latest status change,
    /// else its creation), so a retried call reads the same shape as the first.
    pub async fn change_ticket_status(
        &self,
        who: &Principal,
        id: Uuid,
        status: TicketStatus,
    ) -> AppResult<TicketDetail> {
        self.change_ticket_status_at(who, id, status, None).await
    }

    /// [`App::change_ticket_status`] refused (`Conflict::Stale`) unless the ticket is still at the
    /// `expected` version (when given): a change decided on what someone read earlier.
    pub async fn change_ticket_status_at(
        &self,
        who: &Principal,
        id: Uuid,
        status: TicketStatus,
        expected: Option<i64>,
    ) -> AppResult<TicketDetail> {
        self.require_team(who, "External users may not change a ticket's status.")?;
        let done = self.status_change(who, id, status, expected).await?;
        if !done.activities.is_empty() {
            return Ok(done);
        }
        let ws = who.workspace_id();
        let activity = self
            .store
            .status_setter(ws, id)
            .await?
            .ok_or_else(|| AppError::Internal("a ticket without its created activity".into()))?;
        let ticket = done.ticket;
        let ids: Vec<Uuid> = std::iter::once(ticket.requester.id())
            .chain(ticket.assignee_id)
            .chain(activity.actor.map(MemberRef::id))
            .chain(activity.assignee_id)
            .collect();
        let members = self.store.memberships(ws, &ids).await?;
        Ok(TicketDetail { ticket, activities: vec![activity], members, older: None })
    }

    async fn status_change(
        &self,
        who: &Principal,
        id: Uuid,
        status: TicketStatus,
        expected: Option<i64>,
    ) -> AppResult<TicketDetail> {
        self.change_ticket(who, id, expected, |current, activity| {
            if current.status == status {
                return Ok(None);
            }
            let mut next = current.clone();
            next.status = status;
            next.status_updated_at = activity.created_at;
            activity.kind = ActivityKind::StatusChange;
            activity.status = Some(status);
            activity.previous_status = Some(current.status);
            Ok(Some(next))
        })
        .await
    }

    /// Sets (or with `None` clears) the ticket's type. Its current type changes nothing.
    pub async fn change_ticket_type(&self, who: &Principal, id: Uuid, kind: Option<TicketType>) -> AppResult<()> {
        self.change_ticket_type_at(who, id, kind, None).await
    }

    /// [`App::change_ticket_type`] at the `expected` version, as [`App::change_ticket_status_at`].
    pub async fn change_ticket_type_at(
        &self,
        who: &Principal,
        id: Uuid,
        kind: Option<TicketType>,
        expected: Option<i64>,
    ) -> AppResult<()> {
        self.require_team(who, "External users may not change a ticket's type.")?;
        let kind = kind.map(TicketType::into_string);
        self.change_ticket(who, id, expected, |current, activity| {
            if current.kind == kind {
                return Ok(None);
            }
            let mut next = current.clone();
            next.kind = kind.clone();
            activity.kind = ActivityKind::TypeChange;
            activity.ticket_type = kind.clone();
            activity.previous_ticket_type = current.kind.clone();
            Ok(Some(next))
        })
        .await?;
        Ok(())
    }

    /// Assigns the ticket to a staff member, or unassigns it with `None`. Its current assignee changes
    /// nothing and records nothing, as with status and type.
    pub async fn assign_ticket(&self, who: &Principal, id: Uuid, assignee: Option<Uuid>) -> AppResult<TicketDetail> {
        self.assign_ticket_at(who, id, assignee, None).await
    }

    /// [`App::assign_ticket`] at the `expected` version, as [`App::change_ticket_status_at`].
    pub async fn assign_ticket_at(
        &self,
        who: &Principal,
        id: Uuid,
        assignee: Option<Uuid>,
        expected: Option<i64>,
    ) -> AppResult<TicketDetail> {
        self.require_team(who, "External users may not assign tickets.")?;
        self.change_ticket(who, id, expected, |current, activity| {
            if current.assignee_id == assignee {
                return Ok(None);
            }
            let mut next = current.clone();
            next.assignee_id = assignee;
            activity.kind = ActivityKind::AssigneeChange;
            activity.assignee_id = assignee;
            activity.previous_assignee_id = current.assignee_id;
            Ok(Some(next))
        })
        .await
    }

    pub async fn comment_on_ticket(&self, who: &Principal, id: Uuid, comment: CommentInput) -> AppResult<TicketDetail> {
        self.comment_on_ticket_at(who, id, comment, None).await
    }

    /// [`App::comment_on_ticket`] at the `expected` version, as [`App::change_ticket_status_at`]: a
    /// reply written while someone else changed the ticket is refused, so its author reads first.
    pub async fn comment_on_ticket_at(
        &self,
        who: &Principal,
        id: Uuid,
        comment: CommentInput,
        expected: Option<i64>,
    ) -> AppResult<TicketDetail> {
        if comment.internal && matches!(who, Principal::ExternalUser { .. }) {
            return Err(AppError::Forbidden("External users may only comment publicly."));
        }
        self.change_ticket_counting(who, id, true, expected, |current, activity| {
            activity.kind = ActivityKind::Comment;
            activity.text = Some(comment.text.as_str().to_owned());
            activity.internal = comment.internal;
            activity.attachments = comment.attachments.clone();
            Ok(Some(current.clone()))
        })
        .await
    }

    /// How many tickets match `filter` (its statuses aside) in each status, for the team: each
    /// counted up to [`COUNT_CAP`], so the answer is `(status, count, exact)`, `exact` false past it.
    pub async fn count_tickets_by_status(
        &self,
        who: &Principal,
        filter: &TicketFilter,
    ) -> AppResult<Vec<(TicketStatus, i64, bool)>> {
        self.require_team(who, "External users may not count tickets.")?;
        let mut counts = Vec::with_capacity(TicketStatus::ALL.len());
        for status in TicketStatus::ALL {
            let one = TicketFilter { statuses: vec![status], ..filter.clone() };
            let n = self.store.count_tickets(who.workspace_id(), &one, COUNT_CAP + 1).await?;
            counts.push((status, n.min(COUNT_CAP), n <= COUNT_CAP));
        }
        Ok(counts)
    }

    fn require_team(&self, who: &Principal, why: &'static str) -> AppResult<()> {
        match who {
            Principal::ExternalUser { .. } => Err(AppError::Forbidden(why)),
            _ => who.require(Role::Agent),
        }
    }

    /// Decides a change on the ticket as it is now and commits it with its activity, deciding again
    /// when another change committed in between, so `previousAttributes` are always the real
    /// before-values. `decide` fills in the activity and returns the ticket as it will be, or `None`
    /// when the ticket already is as asked: then nothing is written and the ticket comes back with no
    /// activities.
    async fn change_ticket(
        &self,
        who: &Principal,
        id: Uuid,
        expected: Option<i64>,
        decide: impl Fn(&Ticket, &mut TicketActivity) -> AppResult<Option<Ticket>>,
    ) -> AppResult<TicketDetail> {
        self.change_ticket_counting(who, id, false, expected, decide).await
    }

    /// [`App::change_ticket`], refusing when `adds_comment` and the ticket is full. The count is read
    /// after the ticket, and every comment moves the ticket's version, so a comment that slipped in
    /// between makes the update find another version and count again: the bound holds under races.
    /// With an `expected` version, a ticket found at another one (first or on a retry) is refused
    /// as stale instead of decided again: the caller's view of it is out of date.
    async fn change_ticket_counting(
        &self,
        who: &Principal,
        id: Uuid,
        adds_comment: bool,
        expected: Option<i64>,
        decide: impl Fn(&Ticket, &mut TicketActivity) -> AppResult<Option<Ticket>>,
    ) -> AppResult<TicketDetail> {
        let viewer = who.ticket_viewer()?;
        let ws = who.workspace_id();
        for _ in 0..CHANGE_ATTEMPTS {
            let current = self.store.get_ticket(ws, id, viewer).await?;
            if !current.is_at(expected) {
                return Err(AppError::Conflict(Conflict::Stale));
            }
            // The comment's number is its place among the ticket's comments: exact, because a comment
            // committed after the ticket was read moved its version and this update then retries.
            let comment_number = if adds_comment {
                let held = self.store.count_comments(ws, id).await?;
                if held >= Ticket::MAX_COMMENTS {
                    return Err(AppError::Conflict(Conflict::TicketFull));
                }
                Some(held + 1)
            } else {
                None
            };
            // Strictly after the previous change, so the timeline's order is the order of changes.
            let at = Timestamp::now().max(Timestamp::from_micros(current.updated_at.micros() + 1));
            let mut activity = TicketActivity {
                comment_number,
                ..TicketActivity::new(ActivityKind::Comment, (ws, id), (who.member(), who.actor_id()), at)
            };
            let Some(mut next) = decide(&current, &mut activity)? else {
                let ids: Vec<Uuid> = std::iter::once(current.requester.id()).chain(current.assignee_id).collect();
                let members = self.store.memberships(ws, &ids).await?;
                return Ok(TicketDetail { ticket: current, activities: Vec::new(), members, older: None });
            };
            next.version = current.version + 1;
            next.updated_at = at;
            let update = TicketUpdate { ticket: next, expected_version: current.version, activity, actor: who.actor() };
            if let Some(done) = self.store.update_ticket(&update).await? {
                return Ok(done);
            }
        }
        Err(AppError::Conflict(Conflict::Contended))
    }
}
