//! Use cases: one method per operation, each a single store transaction, each checking who may do it.
//!
//! Inputs arrive already parsed into domain types by the contract that received them, so the rules live
//! in `domain` and the field names in each contract; what remains here is permission, existence and
//! the order of effects.

mod admin;
mod auth;
mod credential_cache;
mod customers;
mod error;
mod event_retention;
mod events;
mod external_users;
mod idempotency;
mod identities;
mod import;
mod live;
mod organizations;
mod participants;
mod purge;
mod request_comments;
mod request_participants;
mod staff;
mod staff_accounts;
mod tickets;
mod web_sessions;
mod webhook_worker;
mod webhooks;

use std::sync::Arc;
use std::time::Duration;

pub use admin::{ChannelInput, CreatedApiKey, CreatedWorkspace, GroupInput, TierInput};
pub use auth::{
    MIN_BOOTSTRAP_KEY_CHARS, MIN_BOOTSTRAP_KEY_DISTINCT, Principal, Secret, bootstrap_key_weakness, credential,
    hash_secret,
};
pub use credential_cache::DEFAULT_CREDENTIAL_CACHE_TTL;
pub use error::{AppError, AppResult, Conflict};
pub use event_retention::{DEFAULT_EVENT_RETENTION, RetentionOptions, run_event_retention};
pub use events::{EventCursor, EventPage, MAX_EVENTS_PER_PAGE, parse_event_types};
pub use external_users::{AuthenticatedUser, ExternalUserPatch, NewExternalUser};
pub use idempotency::{
    ABANDONED_AFTER, IDEMPOTENCY_KEY_FIELD, IDEMPOTENCY_KEY_TTL, KeyDecision, KeyRefusal, KeyScope,
    MAX_IDEMPOTENCY_KEY_LEN, MAX_KEPT_ANSWER_BYTES, StoredAnswer, parse_idempotency_key,
};
pub use identities::{ExternalUserUpsert, MergeDone, Upserted};
pub use import::{EXPORT_PAGE_ROWS, ExternalUserImport, ImportReport, ImportRow, MAX_LISTED_REJECTIONS, RejectedRow};
pub use live::{AGENT_EVENT_TYPES, LiveOptions, LiveSubscription};
pub use participants::ParticipantRef;
pub use purge::{PurgeOptions, run_purge};
pub use request_comments::RequestComments;
pub use request_participants::{AccountList, MAX_PARTICIPANTS_PER_CHANGE};
pub use staff::NewStaffUser;
pub use staff_accounts::{INVITATION_TTL_SECONDS, InvitedStaffUser, StaffInvite, StaffMember, invitation_url};
pub use tickets::{CommentInput, NewTicketInput};
pub use web_sessions::{
    MAX_FAILED_SIGN_INS, SESSION_TTL_SECONDS, SIGN_IN_WINDOW_SECONDS, SignIn, SignedIn, WebSession,
};
pub use webhook_worker::{WebhookOptions, run_webhook_worker};
pub use webhooks::{WebhookChanges, WebhookWithSecret};

/// The query vocabulary adapters speak (paging, filters, cursors, which entity was not found), so no
/// adapter imports from `store`.
pub use crate::domain::query::{
    ActivityCursor, CommentKinds, Entity, ExternalUserFilter, GroupFilter, IssuedToken, Page, Paging,
    ParticipantCursor, ParticipantPage, RequestRef, StaffFilter, StaffKey, TicketCursor, TicketDetail, TicketFilter,
    TicketOrder, TicketPage, TicketSortKey, Unique,
};
use crate::store::Store;

/// Everything a use case needs; cheap to clone into every request.
#[derive(Clone)]
pub struct App {
    pub(crate) store: Arc<dyn Store>,
    /// Bounds the memory and CPU that password hashing may take at once (see `staff_accounts`).
    pub(crate) hashing: Arc<staff_accounts::HashingPool>,
    credentials: Arc<credential_cache::CredentialCache>,
    /// The agent console's live feed on this node.
    live: Arc<live::LiveHub>,
}

impl App {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self::with_credential_cache_ttl(store, DEFAULT_CREDENTIAL_CACHE_TTL)
    }

    /// `ttl` bounds how long a revocation made on another node goes unnoticed here (zero: no cache).
    pub fn with_credential_cache_ttl(store: Arc<dyn Store>, ttl: Duration) -> Self {
        Self {
            store,
            hashing: Arc::new(staff_accounts::HashingPool::sized_to_cores()),
            credentials: Arc::new(credential_cache::CredentialCache::new(ttl)),
            live: Arc::new(live::LiveHub::new(LiveOptions::default())),
        }
    }

    /// The same use cases with live streams bounded and polled as `options` says.
    pub fn with_live_options(mut self, options: LiveOptions) -> Self {
        self.live = Arc::new(live::LiveHub::new(options));
        self
    }

    /// Whether the database answers; `/readyz` reports it.
    pub async fn ready(&self) -> bool {
        self.store.ping().await.is_ok()
    }
}
