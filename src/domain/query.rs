//! The vocabulary of questions asked about stored records: which kind of record, which page, which
//! filter, which order. The use cases and the adapters speak it; the store answers it.

use uuid::Uuid;

use super::{Membership, StaffStatus, Ticket, TicketActivity, TicketParticipant, TicketStatus, Timestamp};

/// A record kind, named in "not found" answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Workspace,
    ApiKey,
    Channel,
    Tier,
    ExternalUserGroup,
    ExternalUser,
    SuperIdentity,
    StaffUser,
    Location,
    Ticket,
    TicketParticipant,
    /// A staff or external user named as a ticket's requester or assignee.
    Membership,
    StaffGroup,
    StaffFolder,
    StaffInvitation,
    Webhook,
    WebhookDelivery,
    /// A ticket's comment, named by its number.
    Comment,
    /// A record of a kind the violated constraint does not name.
    Other,
}

#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub offset: i64,
    pub limit: i64,
}

/// An offset page and how many records match in all.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The number of matches when `total_is_exact`; otherwise a lower bound: at least [`COUNT_CAP`],
    /// and at least every record up to the end of this page and one more when `more`.
    pub total: i64,
    /// Whether `total` is exact.
    pub total_is_exact: bool,
    /// Whether records follow this page: known from the page's own query (it reads one row past the
    /// limit), never from the capped count, so a list never claims an end that is not the end.
    pub more: bool,
}

/// Counting stops here: an exact count of a million matches would cost more than the page itself,
/// and nobody pages through more than this by count (see docs/decisions/list-counts.md).
pub const COUNT_CAP: i64 = 10_000;

/// Which of a channel's keys identifies an external user, in the order seed 001's authenticate tries
/// them.
#[derive(Debug, Clone, Copy)]
pub enum UserKey<'a> {
    Id(Uuid),
    ExternalId(&'a str),
    Identifier(&'a str),
}

#[derive(Debug, Clone, Default)]
pub struct ExternalUserFilter {
    pub channel_ids: Vec<Uuid>,
    pub external_user_group_ids: Vec<Uuid>,
    pub super_identity_ids: Vec<Uuid>,
    pub tier_ids: Vec<Uuid>,
    /// Matched case-insensitively anywhere in name, identifier and external id.
    pub search: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct GroupFilter {
    pub external_id: Option<String>,
    pub ids: Vec<Uuid>,
    pub tier_ids: Vec<Uuid>,
    pub search: Option<String>,
}

/// Seed 003's ways of naming one staff user.
#[derive(Debug, Clone, Copy)]
pub enum StaffKey<'a> {
    Id(Uuid),
    Email(&'a str),
    ExternalId(&'a str),
}

#[derive(Debug, Clone, Default)]
pub struct StaffFilter {
    /// Matched case-insensitively anywhere in first name, last name or "first last".
    pub name: Option<String>,
    /// Matched case-insensitively anywhere in the e-mail address.
    pub email: Option<String>,
    pub external_id: Option<String>,
    pub status: Option<StaffStatus>,
}

/// Who is looking at tickets: the team sees every ticket of the workspace, an external user only the
/// tickets it requested or participates in, and never internal comments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    Team,
    ExternalUser(Uuid),
}

/// List filters; within one filter any of the values matches, across filters all must.
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    pub statuses: Vec<TicketStatus>,
    pub assignee_ids: Vec<Uuid>,
    pub requester_ids: Vec<Uuid>,
    pub location_ids: Vec<Uuid>,
    /// Ticket types, matched exactly.
    pub kinds: Vec<String>,
    /// External users taking part in the ticket (its participants, not its requester).
    pub participant_ids: Vec<Uuid>,
}

/// Which date a list is sorted by; ties (and the creation date itself) go by ticket number, which is
/// handed out in creation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketSortKey {
    Created,
    Updated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketOrder {
    pub key: TicketSortKey,
    pub descending: bool,
}

/// Where a page ended: the last ticket's sort value (its `updated_at` microseconds when sorting by
/// update; unused when sorting by creation) and its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketCursor {
    pub value: i64,
    pub number: i64,
}

/// A position in a ticket's timeline: an activity's `created_at` microseconds and id. A read of the
/// timeline `before` it returns the activities strictly older, newest first in the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivityCursor {
    pub created_at: i64,
    pub id: Uuid,
}

impl ActivityCursor {
    /// The opaque token clients hand back: `a1` and the hex of `created_at,id`.
    pub fn token(self) -> String {
        position_token("a1", self.created_at, self.id)
    }

    /// The position a token holds, if it is one [`ActivityCursor::token`] made.
    pub fn from_token(token: &str) -> Option<Self> {
        let (created_at, id) = position_from_token("a1", token)?;
        Some(Self { created_at, id })
    }
}

/// A position in a ticket's participants, oldest first: a participant's `created_at` microseconds and
/// id. A read `after` it returns the participants added strictly later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParticipantCursor {
    pub created_at: i64,
    pub id: Uuid,
}

impl ParticipantCursor {
    pub fn of(p: &TicketParticipant) -> Self {
        Self { created_at: p.created_at.micros(), id: p.id }
    }

    /// The opaque token a page's link carries: `p1` and the hex of `created_at,id`.
    pub fn token(self) -> String {
        position_token("p1", self.created_at, self.id)
    }

    /// The position a token holds, if it is one [`ParticipantCursor::token`] made.
    pub fn from_token(token: &str) -> Option<Self> {
        let (created_at, id) = position_from_token("p1", token)?;
        Some(Self { created_at, id })
    }
}

/// A page of a ticket's participants, oldest first.
#[derive(Debug, Clone)]
pub struct ParticipantPage {
    pub participants: Vec<TicketParticipant>,
    /// Whether participants follow the last one returned.
    pub more: bool,
}

fn position_token(prefix: &str, created_at: i64, id: Uuid) -> String {
    let plain = format!("{created_at},{id}");
    format!("{prefix}{}", super::hex(plain.as_bytes()))
}

fn position_from_token(prefix: &str, token: &str) -> Option<(i64, Uuid)> {
    let hex = token.strip_prefix(prefix)?;
    if hex.is_empty() || hex.len() % 2 != 0 || hex.len() > 128 {
        return None;
    }
    let bytes: Option<Vec<u8>> =
        (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect();
    let plain = String::from_utf8(bytes?).ok()?;
    let (at, id) = plain.split_once(',')?;
    Some((at.parse().ok()?, Uuid::parse_str(id).ok()?))
}

/// A ticket (or a change of it) with the activities asked for and every membership they name.
#[derive(Debug, Clone)]
pub struct TicketDetail {
    pub ticket: Ticket,
    /// Oldest first.
    pub activities: Vec<TicketActivity>,
    pub members: Vec<Membership>,
    /// On a paged read: where the older activities start, when the timeline holds any before the
    /// first one returned.
    pub older: Option<ActivityCursor>,
}

#[derive(Debug, Clone)]
pub struct TicketPage {
    pub tickets: Vec<Ticket>,
    pub members: Vec<Membership>,
    /// Whether tickets follow the last one returned.
    pub more: bool,
}

/// How a ticket participant is named: by its own id, its external user's id, or an e-mail address
/// (matched case-insensitively against the identifiers of the workspace's built-in e-mail channel).
#[derive(Debug, Clone, Copy)]
pub enum ParticipantKey<'a> {
    Id(Uuid),
    ExternalUser(Uuid),
    Email(&'a str),
}

/// How a request (a ticket) is named: by its id or by its number in the workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestRef {
    Id(Uuid),
    Number(i64),
}

/// Which of a ticket's comments a list holds: public replies, internal notes, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommentKinds {
    pub public: bool,
    pub internal: bool,
}

/// A uniqueness rule the database enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unique {
    ExternalUserExternalId,
    ExternalUserIdentifier,
    GroupExternalId,
    BuiltinChannel,
    StaffEmail,
    StaffExternalId,
    Bootstrap,
    TicketParticipant,
    TicketNumber,
    StaffCollectionName,
    Other,
}

/// An access token as the team may see it: whose, when issued and until when; never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub external_user_id: Uuid,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activity_tokens_round_trip_and_refuse_forgeries() {
        for created_at in [0, -1, 1_700_000_000_000_000, i64::MAX] {
            let c = ActivityCursor { created_at, id: Uuid::new_v4() };
            assert_eq!(ActivityCursor::from_token(&c.token()), Some(c));
        }
        let forged = |plain: &str| format!("a1{}", plain.bytes().map(|b| format!("{b:02x}")).collect::<String>());
        for bad in ["", "a1", "a1zz", "t2", "a1f"] {
            assert_eq!(ActivityCursor::from_token(bad), None, "{bad}");
        }
        for bad in ["1", "x,00000000-0000-0000-0000-000000000000", "1,nope", "1,2,3"] {
            assert_eq!(ActivityCursor::from_token(&forged(bad)), None, "{bad}");
        }
    }

    #[test]
    fn a_participant_token_is_no_activity_token_and_the_other_way_round() {
        let at = ParticipantCursor { created_at: 1_700_000_000_000_000, id: Uuid::new_v4() };
        assert_eq!(ParticipantCursor::from_token(&at.token()), Some(at));
        assert_eq!(ActivityCursor::from_token(&at.token()), None);
        let activity = ActivityCursor { created_at: at.created_at, id: at.id };
        assert_eq!(ParticipantCursor::from_token(&activity.token()), None);
    }
}
