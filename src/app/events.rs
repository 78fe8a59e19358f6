//! The pull side of the outbox: a workspace's events in order, from a cursor.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{App, AppError, AppResult, Principal};
use crate::domain::{Event, EventType, Refusal, Role, Rule};

/// At most this many events come back at once.
pub const MAX_EVENTS_PER_PAGE: i64 = 500;

/// A position in a workspace's event sequence, opaque to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EventCursor(i64);

impl EventCursor {
    pub fn parse(s: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(s).ok()?;
        let text = std::str::from_utf8(&bytes).ok()?;
        let n: i64 = text.strip_prefix("ev:")?.parse().ok()?;
        (n >= 0).then_some(Self(n))
    }

    pub fn encode(self) -> String {
        URL_SAFE_NO_PAD.encode(format!("ev:{}", self.0))
    }

    pub fn sequence(self) -> i64 {
        self.0
    }

    /// The position right after the event numbered `sequence` (0: before the first).
    pub fn at(sequence: i64) -> Self {
        Self(sequence.max(0))
    }
}

pub struct EventPage {
    pub events: Vec<Event>,
    /// Where the next call goes on from: after the last event returned, or where this one started.
    pub next: EventCursor,
    pub has_more: bool,
}

/// Reads a comma-separated list of event types, refusing unknown ones.
pub fn parse_event_types(list: &str) -> Result<Vec<EventType>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| EventType::parse(t).ok_or_else(|| format!("unknown event type {t:?}")))
        .collect()
}

impl App {
    pub async fn list_events(
        &self,
        who: &Principal,
        after: EventCursor,
        types: &[EventType],
        limit: i64,
    ) -> AppResult<EventPage> {
        who.require(Role::Admin)?;
        if !(1..=MAX_EVENTS_PER_PAGE).contains(&limit) {
            return Err(AppError::invalid(
                "limit",
                Refusal::new(Rule::Range, format!("must be 1 to {MAX_EVENTS_PER_PAGE}")),
            ));
        }
        let types: Vec<String> = types.iter().map(|t| t.as_str().to_owned()).collect();
        let mut events = self.store.list_events(who.workspace_id(), after.0, &types, limit + 1).await?;
        let has_more = events.len() as i64 > limit;
        events.truncate(limit as usize);
        let next = events.last().map_or(after, |e| EventCursor(e.sequence));
        Ok(EventPage { events, next, has_more })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_anything_else() {
        let c = EventCursor(42);
        assert_eq!(EventCursor::parse(&c.encode()), Some(c));
        assert_eq!(EventCursor::parse("42"), None);
        assert_eq!(EventCursor::parse(&URL_SAFE_NO_PAD.encode("ev:-1")), None);
    }

    #[test]
    fn event_type_lists_name_the_unknown_one() {
        assert_eq!(parse_event_types("ticket.created, external_user.blocked").map(|v| v.len()), Ok(2));
        assert!(parse_event_types("ticket.created,nope").unwrap_err().contains("nope"));
    }
}
