//! Tickets: the list with the support tickets API's filters and keyset paging, and a ticket's page
//! with its timeline, replies and internal notes, status, assignee, type and participants.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

use super::super::layout::{self, Field, csrf, empty, notice, refused, time};
use super::super::{Ctx, Draft, Form, SignedInForm, error_page, field_errors, html, see_other};
use super::team::{self, Team};
use super::{Area, TICKETS, member, page, person_href, staff_name, ticket_href};
use crate::app::{
    ActivityCursor, AppError, CommentInput, Conflict, Entity, ParticipantCursor, ParticipantPage, ParticipantRef,
    TicketCursor, TicketDetail, TicketFilter, TicketOrder, TicketSortKey,
};
use crate::domain::{
    ActivityKind, EmailAddress, FieldError, MemberRef, Membership, Refusal, Rule, StaffUser, TicketActivity,
    TicketStatus, TicketText, TicketType, parse_uuid,
};
use crate::http::AppState;

const PAGE_SIZE: i64 = 50;
/// Activities and participants a ticket's page shows at once; links page through the rest. Each
/// entry costs a row, often a person's row, and its markup: a page of 25 stays quick at any size.
const TIMELINE_PER_PAGE: i64 = 25;
const PARTICIPANTS_PER_PAGE: i64 = 25;
/// The list's orders (the support tickets API's, by its names) and their headings; the first is the
/// default: what changed last comes first.
const ORDERS: [(&str, &str, TicketOrder); 4] = [
    ("updateDate:desc", "Latest activity first", TicketOrder { key: TicketSortKey::Updated, descending: true }),
    (
        "updateDate:asc",
        "Longest without activity first",
        TicketOrder { key: TicketSortKey::Updated, descending: false },
    ),
    ("createDate:desc", "Newest first", TicketOrder { key: TicketSortKey::Created, descending: true }),
    ("createDate:asc", "Oldest first", TicketOrder { key: TicketSortKey::Created, descending: false }),
];

/// The order a list asked for by name; the default for none (or a name it does not know).
fn order_named(name: Option<&str>) -> (&'static str, &'static str, TicketOrder) {
    ORDERS.into_iter().find(|(n, _, _)| Some(*n) == name).unwrap_or(ORDERS[0])
}

pub fn status_label(s: TicketStatus) -> &'static str {
    match s {
        TicketStatus::New => "New",
        TicketStatus::InProgress => "In progress",
        TicketStatus::Solved => "Solved",
        TicketStatus::Closed => "Closed",
    }
}

pub fn status_badge(s: TicketStatus) -> Markup {
    let class = match s {
        TicketStatus::New => "badge invited",
        TicketStatus::InProgress => "badge admin",
        TicketStatus::Solved => "badge active",
        TicketStatus::Closed => "badge",
    };
    html! { span class=(class) { (status_label(s)) } }
}

/// The first line of a ticket's text, at most 80 characters.
pub fn excerpt(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    let mut short: String = line.chars().take(80).collect();
    if short.len() < line.len() || text.lines().nth(1).is_some() {
        short.push('…');
    }
    short
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    status: Option<String>,
    assignee: Option<String>,
    requester: Option<String>,
    location: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    after: Option<String>,
    /// The assignee named by address instead of `assignee` (a team larger than the select lists).
    assignee_email: Option<String>,
    /// One of [`ORDERS`] by name.
    order: Option<String>,
}

/// `updatedAtMicros.number` of the last ticket of the previous page (`0.number` in an order by creation).
fn read_cursor(s: &str) -> Option<TicketCursor> {
    let (value, number) = s.split_once('.')?;
    Some(TicketCursor { value: value.parse().ok()?, number: number.parse().ok().filter(|n: &i64| *n >= 0)? })
}

fn list_href(q: &ListQuery, status: Option<&str>, after: Option<TicketCursor>) -> String {
    let mut url = form_urlencoded::Serializer::new(String::new());
    if let Some(v) = status.filter(|v| !v.is_empty()) {
        url.append_pair("status", v);
    }
    for (k, v) in [
        ("assignee", &q.assignee),
        (team::EMAIL_FIELD, &q.assignee_email),
        ("requester", &q.requester),
        ("location", &q.location),
        ("type", &q.kind),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            url.append_pair(k, v);
        }
    }
    let (order, _, _) = order_named(q.order.as_deref());
    if order != ORDERS[0].0 {
        url.append_pair("order", order);
    }
    if let Some(c) = after {
        url.append_pair("after", &format!("{}.{}", c.value, c.number));
    }
    format!("{TICKETS}?{}", url.finish())
}

/// The staff members a page names: those its reads brought, the listed team, and any of `others`
/// not among them, read by id.
async fn staff_names(
    s: &AppState,
    ctx: &Ctx,
    members: &[Membership],
    team: &Team,
    others: impl IntoIterator<Item = Uuid>,
) -> Result<HashMap<Uuid, StaffUser>, AppError> {
    let mut known: HashMap<Uuid, StaffUser> = members
        .iter()
        .filter_map(|m| match m {
            Membership::Staff(u) => Some((u.id, u.clone())),
            Membership::External(_) => None,
        })
        .chain(team.listed.iter().map(|u| (u.id, u.clone())))
        .collect();
    team::add_missing(s, ctx, &mut known, others).await?;
    Ok(known)
}

pub async fn list(State(s): State<AppState>, ctx: Ctx, Query(q): Query<ListQuery>) -> Response {
    let who = &ctx.who.principal;
    let status = q.status.as_deref().filter(|v| !v.is_empty()).and_then(TicketStatus::parse);
    let id = |v: &Option<String>| v.as_deref().and_then(parse_uuid).into_iter().collect::<Vec<_>>();
    let mut assignee_ids = id(&q.assignee);
    let mut refusals = Vec::new();
    if let Some(email) = q.assignee_email.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        match team::by_email(&s, &ctx, email).await {
            Ok(Ok(a)) => assignee_ids = vec![a],
            Ok(Err(refusal)) => {
                // An address of no one of the team matches no ticket.
                assignee_ids = vec![Uuid::nil()];
                refusals.push(refusal);
            }
            Err(e) => return error_page(Some(&ctx), e),
        }
    }
    // A type is matched exactly; one no ticket could have (too long, say) simply matches nothing.
    let kind = q.kind.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(|v| v.chars().take(100).collect());
    let filter = TicketFilter {
        statuses: status.into_iter().collect(),
        assignee_ids: assignee_ids.clone(),
        requester_ids: id(&q.requester),
        location_ids: id(&q.location),
        kinds: kind.into_iter().collect(),
        participant_ids: Vec::new(),
    };
    let after = q.after.as_deref().and_then(read_cursor);
    let (order_name, heading, order) = order_named(q.order.as_deref());
    let any_status = TicketFilter { statuses: Vec::new(), ..filter.clone() };
    // Read before the list, so the page's live stream starts no later than what it shows.
    let live_after = match s.app.latest_event(who).await {
        Ok(c) => c,
        Err(e) => return error_page(Some(&ctx), e),
    };
    let (found, counts, team, locations) = match tokio::try_join!(
        s.app.list_tickets(who, &filter, order, after, PAGE_SIZE),
        s.app.count_tickets_by_status(who, &any_status),
        Team::load(&s, &ctx),
        s.app.list_locations(who)
    ) {
        Ok(all) => all,
        Err(e) => return error_page(Some(&ctx), e),
    };
    let members: HashMap<Uuid, &Membership> = found.members.iter().map(|m| (m.id(), m)).collect();
    let chosen = assignee_ids.first().copied();
    let known = match staff_names(&s, &ctx, &found.members, &team, chosen).await {
        Ok(k) => k,
        Err(e) => return error_page(Some(&ctx), e),
    };
    let next = found.tickets.last().filter(|_| found.more).map(|t| TicketCursor {
        value: if order.key == TicketSortKey::Updated { t.updated_at.micros() } else { 0 },
        number: t.number,
    });
    let mut values = Form::default();
    for (k, v) in [
        ("status", &q.status),
        ("assignee", &q.assignee),
        (team::EMAIL_FIELD, &q.assignee_email),
        ("location", &q.location),
        ("type", &q.kind),
    ] {
        values.0.insert(k.to_owned(), v.clone().unwrap_or_default());
    }
    values.0.insert("order".to_owned(), order_name.to_owned());
    let count = |st: TicketStatus| {
        counts
            .iter()
            .find(|(c, _, _)| *c == st)
            .map(|(_, n, exact)| if *exact { n.to_string() } else { format!("{n}+") })
    };
    let all: i64 = counts.iter().map(|(_, n, _)| n).sum();
    let all = if counts.iter().all(|(_, _, exact)| *exact) { all.to_string() } else { format!("{all}+") };
    let draft = Draft::refused(values, refusals);
    let statuses: Vec<(String, String)> = std::iter::once((String::new(), "Any status".to_owned()))
        .chain(TicketStatus::ALL.iter().map(|s| (s.as_str().to_owned(), status_label(*s).to_owned())))
        .collect();
    let assignees = team.choices("Anyone", chosen.and_then(|a| known.get(&a)));
    let places: Vec<(String, String)> = std::iter::once((String::new(), "Any location".to_owned()))
        .chain(locations.iter().map(|l| (l.id.to_string(), l.name.clone())))
        .collect();
    let orders: Vec<(String, String)> =
        ORDERS.iter().map(|(n, label, _)| ((*n).to_owned(), (*label).to_owned())).collect();
    let body = html! {
        h1 { "Tickets" }
        nav.tabs #status-tabs aria-label="By status" data-live-list data-live-after=(live_after.encode()) {
            a href=(list_href(&q, None, None)) aria-current=[status.is_none().then_some("page")] { "All " span.count { (all) } }
            @for st in TicketStatus::ALL {
                a href=(list_href(&q, Some(st.as_str()), None)) aria-current=[(status == Some(st)).then_some("page")] data-status=(st.as_str()) {
                    (status_label(st)) " " span.count { (count(st).unwrap_or_default()) }
                }
            }
        }
        section.card aria-labelledby="filter-title" {
            h2.visually-hidden #filter-title { "Filters" }
            form.row method="get" action=(TICKETS) {
                (layout::select("tickets", "status", "Status", &statuses, &draft))
                (layout::select("tickets", "assignee", "Assignee", &assignees, &draft))
                (team.email_field("tickets", &draft))
                (layout::select("tickets", "location", "Location", &places, &draft))
                (Field::text("type", "Type").optional().hint("exactly, as set on the ticket").render("tickets", &draft))
                (layout::select("tickets", "order", "Order", &orders, &draft))
                @if let Some(r) = q.requester.as_deref().filter(|r| !r.is_empty()) {
                    input type="hidden" name="requester" value=(r);
                }
                button.button type="submit" { "Filter" }
            }
            @if q.requester.as_deref().is_some_and(|r| !r.is_empty()) {
                p { "Only tickets of one requester. " a href=(list_href(&ListQuery { requester: None, ..clone_query(&q) }, q.status.as_deref(), None)) { "Show every requester" } }
            }
        }
        (live_region())
        section.card aria-labelledby="tickets-title" #ticket-list {
            h2 #tickets-title { (heading) }
            @if found.tickets.is_empty() {
                (empty("No tickets match.", " Try another status or fewer filters."))
            } @else {
                div.table-wrap { table {
                    thead { tr {
                        th scope="col" { "#" } th scope="col" { "Text" } th scope="col" { "Status" }
                        th scope="col" { "Requester" } th.optional scope="col" { "Assignee" } th scope="col" { "Updated" }
                    } }
                    tbody {
                        @for t in &found.tickets {
                            tr data-nav-row {
                                td { a href=(ticket_href(t.id)) { "#" (t.number) } }
                                td { (excerpt(&t.text)) }
                                td { (status_badge(t.status)) }
                                td { (member(members.get(&t.requester.id()).copied())) }
                                td.optional { (member(t.assignee_id.and_then(|a| members.get(&a).copied()))) }
                                td { (time(t.updated_at)) }
                            }
                        }
                    }
                } }
                nav.pager aria-label="Pages" {
                    @if after.is_some() { a.button.secondary href=(list_href(&q, q.status.as_deref(), None)) { "First page" } }
                    @if let Some(next) = next { a.button.secondary href=(list_href(&q, q.status.as_deref(), Some(next))) rel="next" { "Next" } }
                }
            }
        }
    };
    html(StatusCode::OK, page("Tickets", &ctx, Area::Tickets, body))
}

fn clone_query(q: &ListQuery) -> ListQuery {
    ListQuery {
        status: q.status.clone(),
        assignee: q.assignee.clone(),
        requester: q.requester.clone(),
        location: q.location.clone(),
        kind: q.kind.clone(),
        after: None,
        assignee_email: q.assignee_email.clone(),
        order: q.order.clone(),
    }
}

#[derive(Deserialize, Default)]
pub struct Done {
    done: Option<String>,
    /// The support tickets API's `olderActivitiesPageToken`: show the timeline before it.
    before: Option<String>,
    /// Show the participants added after this position.
    participants: Option<String>,
}

/// Which part of a long timeline and of a long list of participants the ticket page shows: the
/// newest activities and the first participants unless a link asked for others.
#[derive(Clone, Copy, Default)]
struct Showing {
    before: Option<ActivityCursor>,
    participants_after: Option<ParticipantCursor>,
}

impl Showing {
    /// The ticket page's address showing this.
    fn href(self, id: Uuid) -> String {
        let mut href = ticket_href(id);
        let mut sep = '?';
        if let Some(b) = self.before {
            href.push_str(&format!("{sep}before={}", b.token()));
            sep = '&';
        }
        if let Some(p) = self.participants_after {
            href.push_str(&format!("{sep}participants={}", p.token()));
        }
        href
    }
}

impl Done {
    fn message(&self) -> Option<&'static str> {
        Some(match self.done.as_deref()? {
            "reply" => "Reply sent.",
            "note" => "Internal note added.",
            "status" => "Status changed.",
            "assignee" => "Assignee changed.",
            "type" => "Type changed.",
            "participant-added" => "Participant added.",
            "participant-removed" => "Participant removed.",
            _ => return None,
        })
    }
}

/// A refused form of the ticket page: which one, and what was typed.
struct Refused {
    form: &'static str,
    draft: Draft,
    /// Refused because the ticket changed since the form's page was rendered.
    stale: bool,
}

/// Where the script announces live changes (docs/console.md); empty without JavaScript.
fn live_region() -> Markup {
    html! { div.alert.info #live-notice role="status" aria-live="polite" hidden {} }
}

/// The ticket's version a form was rendered with: its changes are refused once the ticket moved on.
fn version_input(version: i64) -> Markup {
    html! { input type="hidden" name="version" value=(version); }
}

/// The version a submitted form carries; a form without one (or with garbage) is not checked.
fn form_version(form: &Form) -> Option<i64> {
    form.get("version").trim().parse().ok().filter(|v: &i64| *v >= 0)
}

fn no_ticket(ctx: &Ctx) -> Response {
    error_page(Some(ctx), AppError::NotFound(Entity::Ticket))
}

pub async fn show(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>, Query(done): Query<Done>) -> Response {
    match parse_uuid(&id) {
        Some(id) => {
            let showing = Showing {
                before: done.before.as_deref().and_then(ActivityCursor::from_token),
                participants_after: done.participants.as_deref().and_then(ParticipantCursor::from_token),
            };
            render(&s, &ctx, StatusCode::OK, id, None, done.message(), showing).await
        }
        None => no_ticket(&ctx),
    }
}

/// Who made a change, in words: a person on the ticket, a staff member, or an integration.
fn author(a: &TicketActivity, members: &HashMap<Uuid, &Membership>, team: &HashMap<Uuid, &StaffUser>) -> Markup {
    match a.actor {
        Some(MemberRef::External(id) | MemberRef::Staff(id)) if members.contains_key(&id) => {
            member(members.get(&id).copied())
        }
        _ => match team.get(&a.created_by) {
            Some(u) => html! { (staff_name(u)) },
            None if a.created_by.is_nil() => html! { "The server console" },
            None => html! { "An integration (API key)" },
        },
    }
}

fn staff_or_nobody(id: Option<Uuid>, team: &HashMap<Uuid, &StaffUser>) -> Markup {
    match id.and_then(|id| team.get(&id)) {
        Some(u) => html! { strong { (staff_name(u)) } },
        None if id.is_some() => html! { "a former staff member" },
        None => html! { "nobody" },
    }
}

/// Only web addresses become links: an attachment's URL is whatever a client sent.
fn safe_link(url: Option<&str>) -> Option<&str> {
    url.filter(|u| {
        let lower = u.get(..8).unwrap_or(u).to_ascii_lowercase();
        lower.starts_with("https://") || lower.starts_with("http://")
    })
}

/// What an entry of the timeline did, after its author's name.
fn what_happened(a: &TicketActivity, members: &HashMap<Uuid, &Membership>, team: &HashMap<Uuid, &StaffUser>) -> Markup {
    let participant = || member(a.participant.and_then(|id| members.get(&id).copied()));
    match a.kind {
        ActivityKind::Created => html! { " opened the ticket" },
        ActivityKind::Comment if a.internal => html! { " added an internal note" },
        ActivityKind::Comment => html! { " replied" },
        ActivityKind::StatusChange => html! {
            " changed the status"
            @if let Some(p) = a.previous_status { " from " strong { (status_label(p)) } }
            @if let Some(n) = a.status { " to " strong { (status_label(n)) } }
        },
        ActivityKind::AssigneeChange => html! {
            " assigned the ticket to " (staff_or_nobody(a.assignee_id, team))
            @if a.previous_assignee_id.is_some() { " (was " (staff_or_nobody(a.previous_assignee_id, team)) ")" }
        },
        ActivityKind::TypeChange => html! {
            " set the type to " strong { (a.ticket_type.as_deref().unwrap_or("none")) }
            @if let Some(p) = &a.previous_ticket_type { " (was " (p) ")" }
        },
        ActivityKind::IdentityMerged => html! { " merged people on this ticket" },
        ActivityKind::ParticipantAdded => html! { " added " (participant()) " as a participant" },
        ActivityKind::ParticipantRemoved => html! { " removed " (participant()) " from the participants" },
    }
}

fn activity(a: &TicketActivity, members: &HashMap<Uuid, &Membership>, team: &HashMap<Uuid, &StaffUser>) -> Markup {
    let what = what_happened(a, members, team);
    html! {
        li.entry.internal[a.internal] {
            p.meta {
                strong { (author(a, members, team)) } (what) " · " (time(a.created_at))
                @if a.internal { " " span.badge.invited { "Internal" } }
            }
            @if let Some(text) = &a.text { div.text { (text) } }
            @if !a.attachments.is_empty() {
                ul.attachments aria-label="Attachments" {
                    @for f in &a.attachments {
                        @let name = f.name.as_deref().unwrap_or(&f.key);
                        li { @match safe_link(f.url.as_deref()) {
                            Some(url) => a href=(url) rel="noreferrer noopener" { (name) },
                            None => span { (name) },
                        } }
                    }
                }
            }
        }
    }
}

async fn render(
    s: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    id: Uuid,
    refused_form: Option<Refused>,
    done: Option<&str>,
    showing: Showing,
) -> Response {
    let who = &ctx.who.principal;
    // Read before the ticket, so the page's live stream starts no later than what it shows.
    let live_after = match s.app.latest_event(who).await {
        Ok(c) => c,
        Err(e) => return error_page(Some(ctx), e),
    };
    let read = s.app.get_ticket(who, id, showing.before, TIMELINE_PER_PAGE);
    let participants = s.app.participants_page(who, id, showing.participants_after, PARTICIPANTS_PER_PAGE);
    let (detail, ParticipantPage { participants, more: more_participants }, team): (TicketDetail, _, _) =
        match tokio::try_join!(read, participants, Team::load(s, ctx)) {
            Ok(all) => all,
            Err(e) => return error_page(Some(ctx), e),
        };
    let t = &detail.ticket;
    let members: HashMap<Uuid, &Membership> = detail.members.iter().map(|m| (m.id(), m)).collect();
    // Who added a participant or wrote an activity without acting as a member of the ticket.
    let creators = participants.iter().map(|p| p.created_by).chain(detail.activities.iter().map(|a| a.created_by));
    let known = match staff_names(s, ctx, &detail.members, &team, creators).await {
        Ok(k) => k,
        Err(e) => return error_page(Some(ctx), e),
    };
    let by_id: HashMap<Uuid, &StaffUser> = known.iter().map(|(id, u)| (*id, u)).collect();
    let stale = refused_form.as_ref().is_some_and(|r| r.stale);
    let latest = detail.activities.iter().max_by_key(|a| (a.created_at, a.id));
    let draft_for = |form: &str, initial: &[(&str, String)]| match &refused_form {
        Some(r) if r.form == form => Draft::refused(r.draft.values.clone(), r.draft.errors.clone()),
        _ => Draft::refused(Form(initial.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()), Vec::new()),
    };
    let comment = draft_for("comment", &[("visibility", "public".into())]);
    let status_draft = draft_for("status", &[("status", t.status.as_str().into())]);
    let assignee_draft =
        draft_for("assignee", &[("assignee", t.assignee_id.map(|a| a.to_string()).unwrap_or_default())]);
    let type_draft = draft_for("type", &[("type", t.kind.clone().unwrap_or_default())]);
    let participant_draft = draft_for("participant", &[]);
    let statuses: Vec<(String, String)> =
        TicketStatus::ALL.iter().map(|s| (s.as_str().to_owned(), status_label(*s).to_owned())).collect();
    let assignees = team.choices("Unassigned", t.assignee_id.and_then(|a| by_id.get(&a).copied()));
    let href = ticket_href(t.id);
    let body = html! {
        p { a href=(TICKETS) { "← All tickets" } }
        h1 { "Ticket #" (t.number) " " (status_badge(t.status)) }
        p.lead {
            "Requested by " (member(members.get(&t.requester.id()).copied()))
            @if let MemberRef::External(rid) = t.requester { " · " a href=(person_href(rid)) { "their page" } }
            " · opened " (time(t.created_at))
            @if let Some(kind) = &t.kind { " · type " strong { (kind) } }
        }
        (notice(done))
        @if stale {
            div.alert.error role="alert" #stale-notice {
                strong { "This ticket changed since you opened it: " }
                "it is now " strong { (status_label(t.status)) } ", assigned to " (staff_or_nobody(t.assignee_id, &by_id))
                ", type " strong { (t.kind.as_deref().unwrap_or("none")) }
                @if let Some(a) = latest { "; the latest change: " (author(a, &members, &by_id)) (what_happened(a, &members, &by_id)) " at " (time(a.created_at)) }
                ". Your change was not saved. Read the timeline, then send it again: the form below kept what you chose or wrote."
            }
        }
        (live_region())
        div.ticket-grid data-live-ticket=(t.id) data-live-after=(live_after.encode()) data-version=(t.version) {
            div {
                section.card aria-labelledby="timeline-title" {
                    h2 #timeline-title { "Timeline" }
                    @if let Some(older) = detail.older {
                        p.older { a href=(Showing { before: Some(older), ..showing }.href(t.id)) { "Older activities" } }
                    }
                    ol.timeline #timeline data-ticket=(t.id) {
                        @for a in &detail.activities { (activity(a, &members, &by_id)) }
                    }
                    @if showing.before.is_some() {
                        p.newer { a href=(Showing { before: None, ..showing }.href(t.id)) { "Newest activities" } }
                    }
                }
                section.card aria-labelledby="reply-title" {
                    h2 #reply-title { "Answer" }
                    (refused(&comment, &["text", "visibility"]))
                    form.stack method="post" action=(format!("{href}/comment")) {
                        (csrf(ctx))
                        (version_input(t.version))
                        div.field {
                            label for="comment-text" { "Message" }
                            textarea #comment-text name="text" rows="5" required
                                aria-invalid=[comment.error("text").map(|_| "true")]
                                aria-describedby=[comment.error("text").map(|_| "comment-text-error")] { (comment.value("text")) }
                            @if let Some(e) = comment.error("text") { span.field-error #comment-text-error { "Message " (e) } }
                        }
                        fieldset {
                            legend { "Who sees it" }
                            @for (value, label) in [("public", "Public reply: the requester and participants see it"), ("internal", "Internal note: only the team sees it")] {
                                div.choice {
                                    input #(format!("comment-visibility-{value}")) type="radio" name="visibility" value=(value)
                                        checked[comment.value("visibility") == value];
                                    label for=(format!("comment-visibility-{value}")) { (label) }
                                }
                            }
                        }
                        button.button type="submit" { "Send" }
                    }
                }
            }
            aside {
                section.card aria-labelledby="properties-title" {
                    h2 #properties-title { "Properties" }
                    form.stack method="post" action=(format!("{href}/status")) {
                        (csrf(ctx))
                        (version_input(t.version))
                        (layout::select("ticket", "status", "Status", &statuses, &status_draft))
                        button.button.secondary type="submit" { "Change status" }
                    }
                    form.stack method="post" action=(format!("{href}/assignee")) {
                        (csrf(ctx))
                        (version_input(t.version))
                        (layout::select("ticket", "assignee", "Assignee", &assignees, &assignee_draft))
                        (team.email_field("ticket", &assignee_draft))
                        button.button.secondary type="submit" { "Change assignee" }
                    }
                    form.stack method="post" action=(format!("{href}/type")) {
                        (csrf(ctx))
                        (version_input(t.version))
                        (Field::text("type", "Type").optional().hint("1 to 50 characters; empty clears it").render("ticket", &type_draft))
                        button.button.secondary type="submit" { "Change type" }
                    }
                }
                section.card aria-labelledby="participants-title" {
                    h2 #participants-title { "Participants" }
                    div #participants-list {
                    @if participants.is_empty() && showing.participants_after.is_none() {
                        (empty("No participants.", " Add someone by e-mail to keep them informed."))
                    } @else {
                        ul.participants {
                            @for p in &participants {
                                li {
                                    a href=(person_href(p.external_user_id)) { (p.email.as_deref().unwrap_or("(no address)")) }
                                    " · added " (time(p.created_at)) " by " (staff_or_nobody(Some(p.created_by), &by_id))
                                    form.inline method="post" action=(format!("{href}/participants/remove")) {
                                        (csrf(ctx))
                                        input type="hidden" name="participant" value=(p.id);
                                        button.button.link.small type="submit"
                                            aria-label=(format!("Remove {}", p.email.as_deref().unwrap_or("participant"))) { "Remove" }
                                    }
                                }
                            }
                        }
                        @if more_participants || showing.participants_after.is_some() {
                            nav.pager aria-label="Participants' pages" {
                                @if showing.participants_after.is_some() {
                                    a href=(Showing { participants_after: None, ..showing }.href(t.id)) { "First participants" }
                                }
                                @if let Some(last) = participants.last().filter(|_| more_participants) {
                                    @let next = Showing { participants_after: Some(ParticipantCursor::of(last)), ..showing };
                                    a href=(next.href(t.id)) { "More participants" }
                                }
                            }
                        }
                    }
                    }
                    (refused(&participant_draft, &["email"]))
                    form.stack method="post" action=(format!("{href}/participants")) {
                        (csrf(ctx))
                        (Field::text("email", "E-mail address").kind("email", "off").render("participant", &participant_draft))
                        button.button.secondary type="submit" { "Add participant" }
                    }
                }
            }
        }
    };
    html(status, page(&format!("Ticket #{}", t.number), ctx, Area::Tickets, body))
}

/// After a use case ran: back to the ticket with a confirmation, or the form shown again with what
/// was wrong next to its field.
/// A submitted form of the ticket page: which one, what was typed, and the field a refusal of the use
/// case belongs to.
struct Submitted<'a> {
    form_name: &'static str,
    form: Form,
    field: &'a str,
}

async fn finish<T>(
    s: &AppState,
    ctx: &Ctx,
    id: Uuid,
    Submitted { form_name, form, field }: Submitted<'_>,
    result: Result<T, AppError>,
    done: &str,
) -> Response {
    match result {
        Ok(_) => see_other(&format!("{}?done={done}", ticket_href(id))),
        Err(AppError::Conflict(Conflict::Stale)) => {
            // The page is rendered again from the ticket as it is now (with its new version), the
            // form holding what was sent.
            let refused = Refused { form: form_name, draft: Draft::refused(form, Vec::new()), stale: true };
            render(s, ctx, StatusCode::CONFLICT, id, Some(refused), None, Showing::default()).await
        }
        Err(e) => match field_errors(&e) {
            Some(mut errors) => {
                // The use case names fields as its API does; on this form the field is `field`.
                for err in &mut errors {
                    err.field = field.to_owned();
                }
                let refused = Refused { form: form_name, draft: Draft::refused(form, errors), stale: false };
                render(s, ctx, StatusCode::UNPROCESSABLE_ENTITY, id, Some(refused), None, Showing::default()).await
            }
            None => error_page(Some(ctx), e),
        },
    }
}

async fn refuse(s: &AppState, ctx: &Ctx, id: Uuid, form_name: &'static str, form: Form, error: FieldError) -> Response {
    let refused = Refused { form: form_name, draft: Draft::refused(form, vec![error]), stale: false };
    render(s, ctx, StatusCode::UNPROCESSABLE_ENTITY, id, Some(refused), None, Showing::default()).await
}

pub async fn comment(
    State(s): State<AppState>,
    Path(id): Path<String>,
    SignedInForm(ctx, form): SignedInForm,
) -> Response {
    let Some(id) = parse_uuid(&id) else { return no_ticket(&ctx) };
    let internal = match form.get("visibility") {
        "public" => false,
        "internal" => true,
        _ => {
            let e =
                FieldError::new("visibility", Refusal::new(Rule::Format, "must be a public reply or an internal note"));
            return refuse(&s, &ctx, id, "comment", form, e).await;
        }
    };
    let text = match TicketText::parse(form.get("text")) {
        Ok(t) if !t.as_str().trim().is_empty() => t,
        Ok(_) => {
            let e = FieldError::new("text", Refusal::new(Rule::NotEmpty, "must not be blank"));
            return refuse(&s, &ctx, id, "comment", form, e).await;
        }
        Err(m) => return refuse(&s, &ctx, id, "comment", form, FieldError::new("text", m)).await,
    };
    let comment = CommentInput { text, internal, attachments: Vec::new() };
    let result = s.app.comment_on_ticket_at(&ctx.who.principal, id, comment, form_version(&form)).await;
    finish(
        &s,
        &ctx,
        id,
        Submitted { form_name: "comment", form, field: "text" },
        result,
        if internal { "note" } else { "reply" },
    )
    .await
}

pub async fn status(
    State(s): State<AppState>,
    Path(id): Path<String>,
    SignedInForm(ctx, form): SignedInForm,
) -> Response {
    let Some(id) = parse_uuid(&id) else { return no_ticket(&ctx) };
    let Some(next) = TicketStatus::parse(form.get("status")) else {
        let e = FieldError::new("status", Refusal::new(Rule::Format, "must be one of the choices"));
        return refuse(&s, &ctx, id, "status", form, e).await;
    };
    let result = s.app.change_ticket_status_at(&ctx.who.principal, id, next, form_version(&form)).await;
    finish(&s, &ctx, id, Submitted { form_name: "status", form, field: "status" }, result, "status").await
}

pub async fn assignee(
    State(s): State<AppState>,
    Path(id): Path<String>,
    SignedInForm(ctx, form): SignedInForm,
) -> Response {
    let Some(id) = parse_uuid(&id) else { return no_ticket(&ctx) };
    let chosen = form.get("assignee").trim();
    let by_email = form.get(team::EMAIL_FIELD).trim();
    let assignee = if !by_email.is_empty() {
        match team::by_email(&s, &ctx, by_email).await {
            Ok(Ok(a)) => Some(a),
            Ok(Err(refusal)) => return refuse(&s, &ctx, id, "assignee", form, refusal).await,
            Err(e) => return error_page(Some(&ctx), e),
        }
    } else if chosen.is_empty() {
        None
    } else if let Some(a) = parse_uuid(chosen) {
        Some(a)
    } else {
        let e = FieldError::new("assignee", Refusal::new(Rule::Format, "must be one of the choices"));
        return refuse(&s, &ctx, id, "assignee", form, e).await;
    };
    let result = s.app.assign_ticket_at(&ctx.who.principal, id, assignee, form_version(&form)).await;
    finish(&s, &ctx, id, Submitted { form_name: "assignee", form, field: "assignee" }, result, "assignee").await
}

pub async fn kind(
    State(s): State<AppState>,
    Path(id): Path<String>,
    SignedInForm(ctx, form): SignedInForm,
) -> Response {
    let Some(id) = parse_uuid(&id) else { return no_ticket(&ctx) };
    let typed = form.get("type").trim();
    let kind = if typed.is_empty() {
        None
    } else {
        match TicketType::parse(typed) {
            Ok(k) => Some(k),
            Err(m) => return refuse(&s, &ctx, id, "type", form, FieldError::new("type", m)).await,
        }
    };
    let result = s.app.change_ticket_type_at(&ctx.who.principal, id, kind, form_version(&form)).await;
    finish(&s, &ctx, id, Submitted { form_name: "type", form, field: "type" }, result, "type").await
}

pub async fn add_participant(
    State(s): State<AppState>,
    Path(id): Path<String>,
    SignedInForm(ctx, form): SignedInForm,
) -> Response {
    let Some(id) = parse_uuid(&id) else { return no_ticket(&ctx) };
    // Seed 000's address rule, as its API applies it.
    let email = match EmailAddress::parse_crm(form.get("email").trim()) {
        Ok(e) => e,
        Err(m) => return refuse(&s, &ctx, id, "participant", form, FieldError::new("email", m)).await,
    };
    let result = s.app.add_participant(&ctx.who.principal, id, ParticipantRef::Email(email)).await;
    finish(&s, &ctx, id, Submitted { form_name: "participant", form, field: "email" }, result, "participant-added")
        .await
}

pub async fn remove_participant(
    State(s): State<AppState>,
    Path(id): Path<String>,
    SignedInForm(ctx, form): SignedInForm,
) -> Response {
    let Some(id) = parse_uuid(&id) else { return no_ticket(&ctx) };
    let Some(participant) = parse_uuid(form.get("participant")) else {
        return error_page(Some(&ctx), AppError::NotFound(Entity::TicketParticipant));
    };
    match s.app.remove_participant(&ctx.who.principal, id, ParticipantRef::Id(participant)).await {
        Ok(_) => see_other(&format!("{}?done=participant-removed", ticket_href(id))),
        Err(e) => error_page(Some(&ctx), e),
    }
}
