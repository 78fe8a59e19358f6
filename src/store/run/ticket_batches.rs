//! Group commit (`group_commit.rs`) for ticket creates.
//!
//! A batch checks each ticket's references, takes each workspace's numbers with one counter update,
//! and writes its tickets, their first activities and their events with one multi-row insert each:
//! the counter row, which every create of a workspace waits for, is held once per batch rather
//! than once per ticket. No insert of a batch can break a rule (ids are new, numbers come from the
//! counter), so a refused ticket is one whose references are missing, known before anything is
//! written.

use std::collections::BTreeMap;

use sqlx::{Pool, QueryBuilder};
use uuid::Uuid;

use super::events::{EventText, record_texts};
use super::{Backend, Db, Dialect, Tx};
use crate::domain::event::{self, EventType, NewEvent};
use crate::domain::{MemberRef, TicketStatus};
use crate::store::group_commit::{Batches, Commit, retried};
use crate::store::tickets::*;
use crate::store::{StoreError, StoreResult};

/// The queue to a store's one writer of ticket creates.
pub(in crate::store) type TicketBatches = Batches<NewTicket, Opened>;

impl Commit<NewTicket> for Pool<Db> {
    type Done = Opened;

    async fn commit(&self, batch: &[NewTicket]) -> Vec<StoreResult<Opened>> {
        retried(batch.len(), || async {
            let mut tx = self.begin_with(Backend::BEGIN_WRITE).await?;
            let outcomes = write_tickets(&mut tx, batch).await?;
            tx.commit().await?;
            Ok(outcomes)
        })
        .await
    }
}

/// The batch's writes in `tx`: each create's outcome, or an error that ended the transaction.
async fn write_tickets(tx: &mut Tx, batch: &[NewTicket]) -> StoreResult<Vec<StoreResult<Opened>>> {
    let mut requesters = Vec::with_capacity(batch.len());
    for new in batch {
        let found: FoundRefs = sqlx::query_as(TICKET_REFS)
            .bind(new.location_id)
            .bind(new.requester_id)
            .bind(new.assignee_id)
            .bind(new.workspace_id)
            .fetch_one(&mut **tx)
            .await?;
        requesters.push(requester(new, found));
    }
    let mut first = BTreeMap::new();
    for (workspace_id, count) in numbers_needed(batch, &requesters) {
        sqlx::query(START_TICKET_COUNTER).bind(workspace_id).execute(&mut **tx).await?;
        let last: i64 =
            sqlx::query_scalar(ADVANCE_TICKET_NUMBERS).bind(workspace_id).bind(count).fetch_one(&mut **tx).await?;
        first.insert(workspace_id, last - count + 1);
    }
    let opened = open(batch, requesters, first);
    let written: Vec<&Opened> = opened.iter().filter_map(|o| o.as_ref().ok()).collect();
    if !written.is_empty() {
        let mut tickets = QueryBuilder::<Db>::new(INSERT_TICKETS);
        tickets.push_values(&written, |mut row, (t, _)| {
            let (requester_staff, requester_user) = MemberRef::columns(Some(t.requester));
            let at = t.created_at.micros();
            row.push_bind(t.id)
                .push_bind(t.workspace_id)
                .push_bind(t.number)
                .push_bind(t.location_id)
                .push_bind(t.text.clone())
                .push_bind(t.kind.clone())
                .push_bind(t.status.stored())
                .push_bind(requester_staff)
                .push_bind(requester_user)
                .push_bind(t.assignee_id)
                .push_bind(t.version)
                .push_bind(t.created_by)
                .push_bind(at)
                .push_bind(at)
                .push_bind(at);
        });
        tickets.build().execute(&mut **tx).await?;
        let mut activities = QueryBuilder::<Db>::new(INSERT_CREATED_ACTIVITIES);
        activities.push_values(&written, |mut row, (_, a)| {
            let (actor_staff, actor_user) = MemberRef::columns(a.actor);
            row.push_bind(a.id)
                .push_bind(a.workspace_id)
                .push_bind(a.ticket_id)
                .push_bind(a.kind.as_str())
                .push_bind(actor_staff)
                .push_bind(actor_user)
                .push_bind(a.created_by)
                .push_bind(a.text.clone())
                .push_bind(a.internal)
                .push_bind(NO_ATTACHMENTS)
                .push_bind(a.status.map(TicketStatus::stored))
                .push_bind(a.assignee_id)
                .push_bind(a.created_at.micros());
        });
        activities.build().execute(&mut **tx).await?;
        for (workspace_id, events) in ticket_events(batch, &opened) {
            record_texts(tx, workspace_id, events).await?;
        }
    }
    Ok(opened.into_iter().map(|o| o.map_err(StoreError::NotFound)).collect())
}

/// The `ticket.created` events of the batch's opened tickets, by workspace in workspace order (as
/// `numbers_needed` takes the counters), each workspace's in the batch's order.
pub(in crate::store) fn ticket_events(
    batch: &[NewTicket],
    opened: &[Result<Opened, crate::store::Entity>],
) -> BTreeMap<Uuid, Vec<EventText>> {
    let mut events: BTreeMap<Uuid, Vec<EventText>> = BTreeMap::new();
    for (new, (ticket, _)) in batch.iter().zip(opened).filter_map(|(n, o)| Some((n, o.as_ref().ok()?))) {
        let created = NewEvent::new(EventType::TicketCreated, new.actor, event::ticket(ticket));
        events.entry(new.workspace_id).or_default().push(EventText::of(&created));
    }
    events
}
