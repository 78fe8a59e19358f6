//! Storage: one trait per area, one implementation per database, each with its own migrations.
//!
//! Each area's file (`workspaces.rs`, `tickets.rs`, ...) holds its trait, its row types and its SQL
//! as `const &str`, compiled once. How the SQL runs is written once too, in `run/<area>.rs`, against
//! a type alias `Db`; `sqlite.rs` and `postgres.rs` each declare `run/` as a module of their own, so
//! the same code is compiled once for each backend with concrete sqlx types. What differs between
//! the backends is the [`Dialect`] each implements (docs/decisions/one-sql-two-backends.md).
//!
//! Every method is one transaction. Methods that write check the ids they are given against the
//! caller's workspace inside that transaction, so a reference is never dangling or foreign.

mod channels;
mod dialect;
mod error;
mod events;
mod external_users;
mod group_commit;
mod idempotency;
mod identities;
mod migrations;
mod organizations;
mod participants;
mod planner_statistics;
pub mod postgres;
mod postgres_reads;
mod purge;
mod sample;
mod search_upkeep;
mod sqlite;
mod sqlite_checkpoint;
mod sqlite_direct;
mod staff;
mod support;
mod tickets;
mod web_sessions;
mod webhooks;
mod workspaces;

pub use crate::domain::query::{
    ActivityCursor, COUNT_CAP, CommentKinds, Entity, ExternalUserFilter, GroupFilter, IssuedToken, Page, Paging,
    ParticipantCursor, ParticipantKey, ParticipantPage, RequestRef, StaffFilter, StaffKey, TicketCursor, TicketDetail,
    TicketFilter, TicketOrder, TicketPage, TicketSortKey, Unique, UserKey, Viewer,
};
pub use channels::ChannelStore;
pub use error::StoreError;
pub use events::EventStore;
pub use external_users::{AccessToken, ExternalUserStore, ImportBatchOutcome, ImportWrite};
pub use idempotency::{IdempotencyStore, KeyClaim, StoredAnswer};
pub use identities::{IdentityStore, LinkOutcome, Merge, MergeOutcome, Merged};
pub use organizations::{GroupMembersChange, GroupMembersOutcome, OrganizationStore};
pub use participants::{NewParticipant, ParticipantStore, ParticipantsChange, ParticipantsOutcome};
pub use postgres::PostgresStore;
pub use purge::{PurgeCutoffs, PurgeStore, Purged};
pub use sqlite::SqliteStore;
pub use staff::{
    FoundInvitation, NewInvitation, NewStaffMember, StaffConflicts, StaffCredentials, StaffMemberOutcome, StaffStore,
};
pub use tickets::{NewTicket, TicketStore, TicketUpdate};
pub use web_sessions::{NewWebSession, WebSessionStore};
pub use webhooks::{ClaimedDelivery, DeliveryOutcome, WebhookStore};
pub use workspaces::{NewWorkspace, WorkspaceStore};

pub type StoreResult<T> = Result<T, StoreError>;

/// The whole store, as the use cases hold it: every area on one database.
pub trait Store:
    WorkspaceStore
    + ChannelStore
    + ExternalUserStore
    + IdentityStore
    + IdempotencyStore
    + TicketStore
    + ParticipantStore
    + OrganizationStore
    + StaffStore
    + WebSessionStore
    + EventStore
    + WebhookStore
    + PurgeStore
    + Send
    + Sync
    + 'static
{
}

impl<T> Store for T where
    T: WorkspaceStore
        + ChannelStore
        + ExternalUserStore
        + IdentityStore
        + IdempotencyStore
        + TicketStore
        + ParticipantStore
        + OrganizationStore
        + StaffStore
        + WebSessionStore
        + EventStore
        + WebhookStore
        + PurgeStore
        + Send
        + Sync
        + 'static
{
}
