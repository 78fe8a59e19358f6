//! Seed 004: a request's comments the Jira Service Management way. They are the ticket's comment
//! activities, the same ones the support tickets API and the agent console show: a public comment is
//! a public reply, an internal one an internal note. A customer (an external user's access token)
//! reads and writes only public comments, on the requests it may see; the team reads and writes both.

use uuid::Uuid;

use super::{App, AppError, AppResult, CommentInput, Principal};
use crate::domain::{MemberRef, Membership, Ticket, TicketActivity, TicketText};
use crate::store::{CommentKinds, Entity, Paging, RequestRef, Viewer};

/// Comments of one request, with the people who wrote them.
#[derive(Debug, Clone)]
pub struct RequestComments {
    pub ticket: Ticket,
    pub comments: Vec<TicketActivity>,
    /// The staff and external users among the comments' authors (an API key or the console is none).
    pub authors: Vec<Membership>,
    /// Whether comments follow the page.
    pub more: bool,
}

impl App {
    /// Adds a public or internal comment to the request, as [`App::comment_on_ticket`] does (the same
    /// bound, event and rules: a customer may only comment publicly).
    pub async fn add_request_comment(
        &self,
        who: &Principal,
        request: RequestRef,
        text: TicketText,
        public: bool,
    ) -> AppResult<RequestComments> {
        let viewer = who.ticket_viewer()?;
        let ticket = self.store.find_ticket(who.workspace_id(), request, viewer).await?;
        let input = CommentInput { text, internal: !public, attachments: Vec::new() };
        let done = self.comment_on_ticket(who, ticket.id, input).await?;
        let comments = done.activities;
        let authors = self.authors(who, &comments).await?;
        Ok(RequestComments { ticket: done.ticket, comments, authors, more: false })
    }

    /// A page of the request's comments of `kinds`, oldest first. A customer is shown public ones only,
    /// whatever it asks for.
    pub async fn request_comments(
        &self,
        who: &Principal,
        request: RequestRef,
        kinds: CommentKinds,
        paging: Paging,
    ) -> AppResult<RequestComments> {
        let viewer = who.ticket_viewer()?;
        let ws = who.workspace_id();
        let ticket = self.store.find_ticket(ws, request, viewer).await?;
        let kinds = CommentKinds { internal: kinds.internal && viewer == Viewer::Team, ..kinds };
        let (comments, more) = self.store.comments(ws, ticket.id, kinds, paging).await?;
        let authors = self.authors(who, &comments).await?;
        Ok(RequestComments { ticket, comments, authors, more })
    }

    /// One comment of the request, by the number `number` reads off the ticket (a contract's comment
    /// id may carry the ticket's number); an internal one is absent for a customer.
    pub async fn request_comment(
        &self,
        who: &Principal,
        request: RequestRef,
        number: impl FnOnce(&Ticket) -> Option<i64>,
    ) -> AppResult<RequestComments> {
        let viewer = who.ticket_viewer()?;
        let ws = who.workspace_id();
        let ticket = self.store.find_ticket(ws, request, viewer).await?;
        let found = match number(&ticket) {
            Some(n) => self.store.comment(ws, ticket.id, n).await?,
            None => None,
        };
        let comment =
            found.filter(|c| !c.internal || viewer == Viewer::Team).ok_or(AppError::NotFound(Entity::Comment))?;
        let comments = vec![comment];
        let authors = self.authors(who, &comments).await?;
        Ok(RequestComments { ticket, comments, authors, more: false })
    }

    /// The people who wrote `comments`: the acting person, else the staff user signed in to the console.
    async fn authors(&self, who: &Principal, comments: &[TicketActivity]) -> AppResult<Vec<Membership>> {
        let mut ids: Vec<Uuid> =
            comments.iter().flat_map(|c| [c.actor.map(MemberRef::id), Some(c.created_by)]).flatten().collect();
        ids.sort_unstable();
        ids.dedup();
        Ok(self.store.memberships(who.workspace_id(), &ids).await?)
    }
}
