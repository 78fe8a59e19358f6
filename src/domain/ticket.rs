//! Tickets (seed 002), their timeline of activities, the people on them (seed 000) and the locations
//! they refer to.

use uuid::Uuid;

use super::{Actor, ExternalUser, Refusal, Rule, StaffUser, Timestamp};

/// A place inside a workspace that a ticket can refer to (seed 002's `locationRef`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Where a ticket is in its life: seed 002's product shows New, In progress, Solved and Closed, and
/// its admins may pick any of them at any time, so every move between statuses is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketStatus {
    New,
    InProgress,
    Solved,
    Closed,
}

impl TicketStatus {
    pub const ALL: [TicketStatus; 4] =
        [TicketStatus::New, TicketStatus::InProgress, TicketStatus::Solved, TicketStatus::Closed];

    /// The API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::New => "new",
            TicketStatus::InProgress => "inProgress",
            TicketStatus::Solved => "solved",
            TicketStatus::Closed => "closed",
        }
    }

    /// An API name, or one of the names earlier versions of this server used (`open` and `pending`
    /// are in progress, `resolved` is solved), so clients written against them keep working.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s).or_else(|| Self::from_stored(s))
    }

    /// The stored name. The schema's check constraint predates the product's names, so the stored
    /// names stay the earlier ones (see docs/decisions/ticket-statuses.md).
    pub fn stored(self) -> &'static str {
        match self {
            TicketStatus::New => "new",
            TicketStatus::InProgress => "open",
            TicketStatus::Solved => "resolved",
            TicketStatus::Closed => "closed",
        }
    }

    /// Every stored name meaning this status (rows written before `pending` became in progress).
    pub fn stored_names(self) -> &'static [&'static str] {
        match self {
            TicketStatus::InProgress => &["open", "pending"],
            TicketStatus::New => &["new"],
            TicketStatus::Solved => &["resolved"],
            TicketStatus::Closed => &["closed"],
        }
    }

    pub fn from_stored(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.stored_names().contains(&s))
    }
}

/// A person's membership in a workspace, as tickets refer to them: a staff member or an external user.
/// The membership id is the person's own id (staff user id or external user id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemberRef {
    Staff(Uuid),
    External(Uuid),
}

impl MemberRef {
    pub fn id(self) -> Uuid {
        match self {
            MemberRef::Staff(id) | MemberRef::External(id) => id,
        }
    }

    /// The two stored columns (staff, external user), exactly one of them set.
    pub fn columns(member: Option<MemberRef>) -> (Option<Uuid>, Option<Uuid>) {
        match member {
            Some(MemberRef::Staff(id)) => (Some(id), None),
            Some(MemberRef::External(id)) => (None, Some(id)),
            None => (None, None),
        }
    }

    pub fn from_columns(staff: Option<Uuid>, external: Option<Uuid>) -> Option<MemberRef> {
        staff.map(MemberRef::Staff).or(external.map(MemberRef::External))
    }
}

/// A membership with the person behind it, for rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Membership {
    Staff(StaffUser),
    External(ExternalUser),
}

impl Membership {
    pub fn id(&self) -> Uuid {
        match self {
            Membership::Staff(u) => u.id,
            Membership::External(u) => u.id,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub id: Uuid,
    pub workspace_id: Uuid,
    /// Sequential per workspace from 1, never repeated.
    pub number: i64,
    pub location_id: Uuid,
    pub text: String,
    pub kind: Option<String>,
    pub status: TicketStatus,
    pub requester: MemberRef,
    /// Always a staff user.
    pub assignee_id: Option<Uuid>,
    /// Bumped by every change; a change applies only to the version it was decided on.
    pub version: i64,
    pub created_by: Uuid,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub status_updated_at: Timestamp,
}

impl Ticket {
    /// Comments one ticket may hold. Anyone with access to a ticket, a customer's token included, may
    /// comment on it; the bound keeps one ticket from growing without end (a longer conversation is a
    /// new ticket).
    pub const MAX_COMMENTS: i64 = 1000;
    /// Activities one read of a ticket returns at most; older ones are read page by page.
    pub const MAX_ACTIVITIES_PER_READ: i64 = 100;
    /// Activities a read of a ticket returns when the caller does not say.
    pub const ACTIVITIES_PER_READ: i64 = 50;

    /// Whether a change decided on the ticket at `expected` (a version a client read) may go ahead:
    /// without an expected version always; with one only while the ticket is still at it. Every
    /// change of the ticket moves its version on, in the statement that makes the change.
    pub fn is_at(&self, expected: Option<i64>) -> bool {
        expected.is_none_or(|v| v == self.version)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityKind {
    /// The ticket was opened; carries its text.
    Created,
    Comment,
    StatusChange,
    AssigneeChange,
    TypeChange,
    /// The requester's or a participant's super identity was merged into another; `text` says which
    /// into which, by id.
    IdentityMerged,
    /// An external user was given access to the ticket (seed 000); `participant` says who.
    ParticipantAdded,
    /// A participant was removed; `participant` says who.
    ParticipantRemoved,
}

impl ActivityKind {
    pub const ALL: [ActivityKind; 8] = [
        ActivityKind::Created,
        ActivityKind::Comment,
        ActivityKind::StatusChange,
        ActivityKind::AssigneeChange,
        ActivityKind::TypeChange,
        ActivityKind::IdentityMerged,
        ActivityKind::ParticipantAdded,
        ActivityKind::ParticipantRemoved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::Created => "created",
            ActivityKind::Comment => "comment",
            ActivityKind::StatusChange => "statusChange",
            ActivityKind::AssigneeChange => "assigneeChange",
            ActivityKind::TypeChange => "typeChange",
            ActivityKind::IdentityMerged => "identityMerged",
            ActivityKind::ParticipantAdded => "participantAdded",
            ActivityKind::ParticipantRemoved => "participantRemoved",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Metadata of a file attached to a comment; the file itself lives wherever `url` points.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Attachment {
    pub key: String,
    pub mime: Option<String>,
    pub name: Option<String>,
    pub size: Option<i64>,
    pub url: Option<String>,
    pub height: Option<i64>,
    pub width: Option<i64>,
}

impl Attachment {
    /// A comment carries at most this many attachments.
    pub const MAX_PER_COMMENT: usize = 20;
    /// An attachment's texts (key, media type, name, address) are at most this many characters each.
    pub const MAX_TEXT_CHARS: usize = 2048;
    /// ... and at most this many bytes each: keys, media types and addresses are ASCII, so only a
    /// name in a non-Latin script comes near it, while 2,048 four-byte characters (8 KiB) are refused.
    /// A comment's attachments then store at most 20 × 4 × 4 KiB = 320 KiB, not 640 KiB.
    pub const MAX_TEXT_BYTES: usize = 4096;

    /// Whether a comment may carry `count` attachments.
    pub fn check_count(count: usize) -> Result<(), Refusal> {
        if count > Self::MAX_PER_COMMENT {
            let max = Self::MAX_PER_COMMENT;
            Err(Refusal::new(Rule::TooLong { max }, format!("must hold at most {max} attachments")))
        } else {
            Ok(())
        }
    }

    /// Whether `text` may be one of an attachment's texts.
    pub fn check_text(text: &str) -> Result<(), Refusal> {
        if text.chars().count() > Self::MAX_TEXT_CHARS {
            Err(Refusal::too_long(Self::MAX_TEXT_CHARS))
        } else if text.len() > Self::MAX_TEXT_BYTES {
            let max = Self::MAX_TEXT_BYTES;
            Err(Refusal::new(Rule::TooLong { max }, format!("must be at most {max} bytes in UTF-8")))
        } else {
            Ok(())
        }
    }
}

/// One entry of a ticket's timeline. Append-only: written with the change it records, never edited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketActivity {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub ticket_id: Uuid,
    pub kind: ActivityKind,
    /// The membership that acted, when a person did (an API key is not a person).
    pub actor: Option<MemberRef>,
    pub created_by: Uuid,
    pub text: Option<String>,
    /// Internal comments are for the team only; external users never see them.
    pub internal: bool,
    pub attachments: Vec<Attachment>,
    /// The status after a status change.
    pub status: Option<TicketStatus>,
    /// The assignee after an assignee change (`None`: unassigned).
    pub assignee_id: Option<Uuid>,
    pub previous_status: Option<TicketStatus>,
    pub previous_assignee_id: Option<Uuid>,
    /// The type after a type change (`None`: cleared), and before it.
    pub ticket_type: Option<String>,
    pub previous_ticket_type: Option<String>,
    /// A comment's place among its ticket's comments (1, 2, ...; internal ones count too), handed out
    /// when it is written and never reused; `None` for every other activity.
    pub comment_number: Option<i64>,
    /// The external user a participant activity added or removed.
    pub participant: Option<Uuid>,
    pub created_at: Timestamp,
}

impl TicketActivity {
    /// A new entry of `kind` on the workspace's ticket, by `actor` (`created_by` its id) at `at`, with
    /// none of the kinds' own fields set.
    pub fn new(
        kind: ActivityKind,
        (workspace_id, ticket_id): (Uuid, Uuid),
        (actor, created_by): (Option<MemberRef>, Uuid),
        at: Timestamp,
    ) -> Self {
        TicketActivity {
            id: Uuid::new_v4(),
            workspace_id,
            ticket_id,
            kind,
            actor,
            created_by,
            text: None,
            internal: false,
            attachments: Vec::new(),
            status: None,
            assignee_id: None,
            previous_status: None,
            previous_assignee_id: None,
            ticket_type: None,
            previous_ticket_type: None,
            comment_number: None,
            participant: None,
            created_at: at,
        }
    }

    /// The timeline's entry for a participant added (or removed) by `actor` at `at`.
    pub fn participant_change(kind: ActivityKind, p: &TicketParticipant, actor: Actor, at: Timestamp) -> Self {
        let on = (p.workspace_id, p.ticket_id);
        Self { participant: Some(p.external_user_id), ..Self::new(kind, on, (actor.member(), actor.id()), at) }
    }
}

/// Seed 000: an external user given access to one ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketParticipant {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub ticket_id: Uuid,
    pub external_user_id: Uuid,
    /// The external user's identifier (its e-mail address on the e-mail channel).
    pub email: Option<String>,
    pub created_at: Timestamp,
    pub created_by: Uuid,
    pub updated_at: Timestamp,
    pub updated_by: Uuid,
}

impl TicketParticipant {
    /// The most participants one page read returns.
    pub const MAX_PER_PAGE: i64 = 100;
}

/// A location's name: 1 to 100 characters.
pub type LocationName = super::BoundedText<1, 100>;
/// A ticket's text (seed 002's `text`, returned as `description`) or a comment's: 1 to 10,000 characters.
pub type TicketText = super::BoundedText<1, 10_000>;
/// A ticket's type (seed 002's example: `access`): 1 to 50 characters.
pub type TicketType = super::BoundedText<1, 50>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comment_holds_at_most_twenty_attachments_of_texts_up_to_2048_characters() {
        assert_eq!(Attachment::check_count(20), Ok(()));
        assert_eq!(
            Attachment::check_count(21),
            Err(Refusal::new(Rule::TooLong { max: 20 }, "must hold at most 20 attachments"))
        );
        assert_eq!(Attachment::check_text(&"é".repeat(2048)), Ok(()));
        assert_eq!(
            Attachment::check_text(&"a".repeat(2049)),
            Err(Refusal::new(Rule::TooLong { max: 2048 }, "must be at most 2048 characters"))
        );
    }

    #[test]
    fn an_attachment_text_is_also_at_most_4096_bytes_so_four_byte_characters_count_fourfold() {
        assert_eq!(Attachment::check_text(&"😀".repeat(1024)), Ok(()));
        assert_eq!(
            Attachment::check_text(&"😀".repeat(1025)),
            Err(Refusal::new(Rule::TooLong { max: 4096 }, "must be at most 4096 bytes in UTF-8"))
        );
    }

    #[test]
    fn api_names_and_earlier_names_parse_and_stored_names_round_trip() {
        for s in TicketStatus::ALL {
            assert_eq!(TicketStatus::parse(s.as_str()), Some(s));
            assert_eq!(TicketStatus::from_stored(s.stored()), Some(s));
        }
        assert_eq!(TicketStatus::parse("open"), Some(TicketStatus::InProgress));
        assert_eq!(TicketStatus::parse("pending"), Some(TicketStatus::InProgress));
        assert_eq!(TicketStatus::parse("resolved"), Some(TicketStatus::Solved));
        assert_eq!(TicketStatus::parse("in_progress"), None);
    }
}
