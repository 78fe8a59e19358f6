//! The agent console's live feed: what agents may see of the events outbox (ticket and people
//! events, never the workspace's set-up), read as it is written.
//!
//! Every node reads the same events table, so a change made through any node reaches the streams
//! open on every other. One poller per workspace per node reads the table every
//! [`LiveOptions::poll_every`] while streams of that workspace are open and fans each new event out
//! to them through a broadcast channel; a node holds at most [`LiveOptions::max_streams`] streams.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast};
use uuid::Uuid;

use super::events::{EventCursor, EventPage, MAX_EVENTS_PER_PAGE};
use super::{App, AppError, AppResult, Principal};
use crate::domain::{Event, EventType, Refusal, Role, Rule};
use crate::store::Store;

/// The events an agent may read: what happens to tickets and to people. Keys, channels, tiers,
/// groups, staff, locations and webhooks stay the admins' (docs/permissions.md).
pub const AGENT_EVENT_TYPES: &[EventType] = &[
    EventType::ExternalUserCreated,
    EventType::ExternalUserUpdated,
    EventType::ExternalUserBlocked,
    EventType::ExternalUserUnblocked,
    EventType::ExternalUserDeleted,
    EventType::SuperIdentityMerged,
    EventType::CustomerCreated,
    EventType::TicketCreated,
    EventType::TicketStatusChanged,
    EventType::TicketAssigned,
    EventType::TicketCommented,
    EventType::TicketTypeChanged,
    EventType::TicketParticipantAdded,
    EventType::TicketParticipantRemoved,
];

/// How a node serves live streams.
#[derive(Debug, Clone, Copy)]
pub struct LiveOptions {
    /// Streams open at once on this node; one more is refused until one closes.
    pub max_streams: usize,
    /// How often a workspace's poller reads the outbox while it has streams.
    pub poll_every: Duration,
}

impl Default for LiveOptions {
    fn default() -> Self {
        Self { max_streams: 256, poll_every: Duration::from_millis(500) }
    }
}

/// Events fanned out to one workspace's streams; a stream that falls this far behind reads the
/// table again from where it was.
const FANOUT_CAPACITY: usize = 1024;

/// The node's pollers, one per workspace with open streams, and the bound on streams.
pub(crate) struct LiveHub {
    feeds: Mutex<HashMap<Uuid, broadcast::Sender<Arc<Event>>>>,
    streams: Arc<Semaphore>,
    options: LiveOptions,
}

impl LiveHub {
    pub(crate) fn new(options: LiveOptions) -> Self {
        Self { feeds: Mutex::new(HashMap::new()), streams: Arc::new(Semaphore::new(options.max_streams)), options }
    }

    /// A receiver of the workspace's new events, starting its poller (after `start`, a sequence read
    /// before this call) when it has none. A running poller is at most at the latest event, so any
    /// event it has not sent yet reaches the receiver, and the reader's backlog (read after this
    /// call) holds every event before.
    fn subscribe(
        self: &Arc<Self>,
        store: &Arc<dyn Store>,
        workspace_id: Uuid,
        start: i64,
    ) -> broadcast::Receiver<Arc<Event>> {
        let mut feeds = self.feeds.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = feeds.get(&workspace_id) {
            return tx.subscribe();
        }
        let (tx, rx) = broadcast::channel(FANOUT_CAPACITY);
        feeds.insert(workspace_id, tx.clone());
        tokio::spawn(poll(Arc::clone(self), Arc::clone(store), workspace_id, start, tx));
        rx
    }
}

/// Reads the workspace's agent events every `poll_every` and sends each on `tx`, until no stream
/// listens any more. Streams read what came before `start` themselves.
async fn poll(
    hub: Arc<LiveHub>,
    store: Arc<dyn Store>,
    workspace_id: Uuid,
    start: i64,
    tx: broadcast::Sender<Arc<Event>>,
) {
    let types: Vec<String> = AGENT_EVENT_TYPES.iter().map(|t| t.as_str().to_owned()).collect();
    let mut last = start;
    loop {
        {
            // Checked under the lock that subscribing takes, so no stream subscribes to a poller
            // that is about to end.
            let mut feeds = hub.feeds.lock().unwrap_or_else(|p| p.into_inner());
            if tx.receiver_count() == 0 {
                feeds.remove(&workspace_id);
                return;
            }
        }
        match store.list_events(workspace_id, last, &types, MAX_EVENTS_PER_PAGE).await {
            Ok(events) => {
                let full = events.len() as i64 == MAX_EVENTS_PER_PAGE;
                for e in events {
                    last = e.sequence;
                    // No receiver left: the check above ends the poller.
                    let _ = tx.send(Arc::new(e));
                }
                if full {
                    continue;
                }
            }
            Err(e) => tracing::warn!(error = %e, "live feed could not read the events"),
        }
        tokio::time::sleep(hub.options.poll_every).await;
    }
}

/// One open stream: what happened since its cursor, then every new event as it is read.
pub struct LiveSubscription {
    /// The events after the cursor the stream was opened at, oldest first.
    pub backlog: Vec<Event>,
    /// More happened since the cursor than the backlog holds: the reader should start over.
    pub backlog_cut: bool,
    rx: broadcast::Receiver<Arc<Event>>,
    last: i64,
    who: Principal,
    app: App,
    _slot: OwnedSemaphorePermit,
}

impl LiveSubscription {
    /// The next new event, or `None` when the feed ended. Events already in the backlog are
    /// skipped; a stream that fell behind the fan-out reads the missed ones from the table.
    pub async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(e) = self.backlog.first() {
                self.last = self.last.max(e.sequence);
                return Some(self.backlog.remove(0));
            }
            match self.rx.recv().await {
                Ok(e) if e.sequence > self.last => {
                    self.last = e.sequence;
                    return Some((*e).clone());
                }
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    let page = self.app.agent_events(&self.who, EventCursor::at(self.last), MAX_EVENTS_PER_PAGE).await;
                    match page {
                        Ok(page) => self.backlog = page.events,
                        Err(_) => return None,
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// The sequence of the last event handed out (or the cursor it was opened at).
    pub fn position(&self) -> EventCursor {
        EventCursor::at(self.last)
    }
}

impl App {
    /// The agent-readable feed: the ticket and people events of the workspace after `after`
    /// (agents and admins; see [`AGENT_EVENT_TYPES`]).
    pub async fn agent_events(&self, who: &Principal, after: EventCursor, limit: i64) -> AppResult<EventPage> {
        who.require(Role::Agent)?;
        if !(1..=MAX_EVENTS_PER_PAGE).contains(&limit) {
            return Err(AppError::invalid(
                "limit",
                Refusal::new(Rule::Range, format!("must be 1 to {MAX_EVENTS_PER_PAGE}")),
            ));
        }
        let types: Vec<String> = AGENT_EVENT_TYPES.iter().map(|t| t.as_str().to_owned()).collect();
        let mut events = self.store.list_events(who.workspace_id(), after.sequence(), &types, limit + 1).await?;
        let has_more = events.len() as i64 > limit;
        events.truncate(limit as usize);
        let next = events.last().map_or(after, |e| EventCursor::at(e.sequence));
        Ok(EventPage { events, next, has_more })
    }

    /// Where the workspace's events stand now: a page rendered now opens its stream there.
    pub async fn latest_event(&self, who: &Principal) -> AppResult<EventCursor> {
        who.require(Role::Agent)?;
        Ok(EventCursor::at(self.store.latest_event_sequence(who.workspace_id()).await?))
    }

    /// Opens a live stream of the agent feed after `after`, or `None` when this node already holds
    /// as many streams as it may.
    pub async fn subscribe_agent_events(
        &self,
        who: &Principal,
        after: EventCursor,
    ) -> AppResult<Option<LiveSubscription>> {
        who.require(Role::Agent)?;
        let Ok(slot) = Arc::clone(&self.live.streams).try_acquire_owned() else {
            return Ok(None);
        };
        // Subscribed before the backlog is read, so nothing falls between the two.
        let start = self.store.latest_event_sequence(who.workspace_id()).await?;
        let rx = self.live.subscribe(&self.store, who.workspace_id(), start);
        let page = self.agent_events(who, after, MAX_EVENTS_PER_PAGE).await?;
        Ok(Some(LiveSubscription {
            backlog: page.events,
            backlog_cut: page.has_more,
            rx,
            last: after.sequence(),
            who: who.clone(),
            app: self.clone(),
            _slot: slot,
        }))
    }
}
