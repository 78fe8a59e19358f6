//! The agent console: people and tickets for the team, beside the settings and signed in with the
//! same staff sessions. It lives under `/settings/console` because the session cookie is scoped to
//! `/settings` (never sent to the API routes). Every change goes through the same use cases as the
//! APIs with the signed-in user's `Principal::Staff`; this module renders and reads forms only.
//! See docs/console.md.

mod live;
mod people;
mod team;
mod tickets;

use axum::Router;
use axum::routing::{get, post};
use maud::{Markup, html};
use uuid::Uuid;

use super::Ctx;
use super::layout;
use crate::domain::{ExternalUser, Membership, StaffUser};
use crate::http::AppState;

pub const PEOPLE: &str = "/settings/console/people";
pub const TICKETS: &str = "/settings/console/tickets";
/// The live feed's server-sent events stream (live.rs).
pub const EVENTS: &str = "/settings/console/events";

pub fn routes(router: Router<AppState>) -> Router<AppState> {
    router
        .route("/settings/console", get(|| async { super::see_other(PEOPLE) }))
        .route(PEOPLE, get(people::list))
        .route("/settings/console/people/{id}", get(people::show).post(people::edit))
        .route("/settings/console/people/{id}/block", post(people::block))
        .route("/settings/console/people/{id}/merge", post(people::merge))
        .route(EVENTS, get(live::stream))
        .route(TICKETS, get(tickets::list))
        .route("/settings/console/tickets/{id}", get(tickets::show))
        .route("/settings/console/tickets/{id}/comment", post(tickets::comment))
        .route("/settings/console/tickets/{id}/status", post(tickets::status))
        .route("/settings/console/tickets/{id}/assignee", post(tickets::assignee))
        .route("/settings/console/tickets/{id}/type", post(tickets::kind))
        .route("/settings/console/tickets/{id}/participants", post(tickets::add_participant))
        .route("/settings/console/tickets/{id}/participants/remove", post(tickets::remove_participant))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Area {
    People,
    Tickets,
}

/// A console page: People and Tickets for every staff user, the settings link for admins only
/// (docs/permissions.md: agents work with people and tickets, admins also set the workspace up).
fn page(title: &str, ctx: &Ctx, current: Area, body: Markup) -> Markup {
    let mut nav = vec![(PEOPLE, "People", current == Area::People), (TICKETS, "Tickets", current == Area::Tickets)];
    if ctx.is_admin() {
        nav.push(("/settings/api-keys", "Settings", false));
    }
    layout::frame(title, ctx, "Console sections", &nav, body)
}

fn person_href(id: Uuid) -> String {
    format!("{PEOPLE}/{id}")
}

fn ticket_href(id: Uuid) -> String {
    format!("{TICKETS}/{id}")
}

/// A person's name as the list shows it: the name, else the identifier, else the id.
fn person_name(u: &ExternalUser) -> String {
    let shown = u.display_name();
    if shown.is_empty() { u.id.to_string() } else { shown.to_owned() }
}

fn staff_name(u: &StaffUser) -> String {
    match (u.first_name.as_deref(), u.last_name.as_deref()) {
        (Some(f), Some(l)) => format!("{f} {l}"),
        (Some(n), None) | (None, Some(n)) => n.to_owned(),
        (None, None) => u.email.clone(),
    }
}

/// A membership as a link (external users) or a name (staff).
fn member(m: Option<&Membership>) -> Markup {
    html! {
        @match m {
            Some(Membership::External(u)) => a href=(person_href(u.id)) { (person_name(u)) },
            Some(Membership::Staff(u)) => span { (staff_name(u)) },
            None => span.muted { "—" },
        }
    }
}
