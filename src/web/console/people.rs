//! People: search and filter the workspace's external users, and a person's page with every
//! identity of their super identity, their tickets, editing, blocking and merging.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

use super::super::layout::{self, Field, csrf, empty, notice, refused, time};
use super::super::{Ctx, Draft, Form, SignedInForm, error_page, field_errors, html, see_other};
use super::{Area, PEOPLE, page, person_href, person_name, ticket_href};
use crate::app::{
    AppError, Entity, ExternalUserFilter, ExternalUserPatch, GroupFilter, Paging, TicketFilter, TicketOrder,
    TicketSortKey,
};
use crate::domain::{DisplayName, ExternalUser, FieldError, Refusal, Rule, Ticket, Timestamp, parse_uuid};
use crate::http::AppState;

/// People per page of the list.
const PAGE_SIZE: i64 = 50;
/// How many identities and tickets a person's page shows.
const PERSON_LIMIT: i64 = 100;
/// How many access tokens a person's page lists.
const TOKEN_LIMIT: i64 = 20;

fn ticket_table(tickets: &[Ticket], none: &str) -> Markup {
    html! {
        @if tickets.is_empty() {
            (empty(none, ""))
        } @else {
            div.table-wrap { table {
                thead { tr { th scope="col" { "#" } th scope="col" { "Text" } th scope="col" { "Status" } th scope="col" { "Updated" } } }
                tbody {
                    @for t in tickets {
                        tr data-nav-row {
                            td { a href=(ticket_href(t.id)) { "#" (t.number) } }
                            td { (super::tickets::excerpt(&t.text)) }
                            td { (super::tickets::status_badge(t.status)) }
                            td { (time(t.updated_at)) }
                        }
                    }
                }
            } }
        }
    }
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    q: Option<String>,
    channel: Option<String>,
    tier: Option<String>,
    group: Option<String>,
    from: Option<String>,
}

/// The names of the workspace's channels, tiers and groups, for filters, tables and selects.
struct Names {
    channels: Vec<(Uuid, String)>,
    tiers: Vec<(Uuid, String)>,
    groups: Vec<(Uuid, String)>,
}

impl Names {
    async fn load(s: &AppState, ctx: &Ctx) -> Result<Self, AppError> {
        let who = &ctx.who.principal;
        let any_group = GroupFilter::default();
        let (channels, tiers, groups) = tokio::try_join!(
            s.app.list_channels(who),
            s.app.list_tiers(who, &[], None),
            s.app.list_groups(who, &any_group, Paging { offset: 0, limit: 1000 })
        )?;
        Ok(Self {
            channels: channels.into_iter().map(|c| (c.id, c.name)).collect(),
            tiers: tiers.into_iter().map(|t| (t.id, t.name)).collect(),
            groups: groups.items.into_iter().map(|g| (g.id, g.name)).collect(),
        })
    }

    fn name(list: &[(Uuid, String)], id: Option<Uuid>) -> Markup {
        match id.and_then(|id| list.iter().find(|(i, _)| *i == id)) {
            Some((_, name)) => html! { (name) },
            None => html! { span.muted { "—" } },
        }
    }

    fn options(list: &[(Uuid, String)], none: &str) -> Vec<(String, String)> {
        std::iter::once((String::new(), none.to_owned()))
            .chain(list.iter().map(|(id, name)| (id.to_string(), name.clone())))
            .collect()
    }
}

/// A filter value from the query: blank is no filter; anything else must be one of the ids offered.
fn filter_id(v: &Option<String>) -> Option<Uuid> {
    v.as_deref().and_then(parse_uuid)
}

fn list_href(q: &ListQuery, from: i64) -> String {
    let mut url = form_urlencoded::Serializer::new(String::new());
    for (k, v) in [("q", &q.q), ("channel", &q.channel), ("tier", &q.tier), ("group", &q.group)] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            url.append_pair(k, v);
        }
    }
    if from > 0 {
        url.append_pair("from", &from.to_string());
    }
    format!("{PEOPLE}?{}", url.finish())
}

pub async fn list(State(s): State<AppState>, ctx: Ctx, Query(q): Query<ListQuery>) -> Response {
    let search = q.q.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let filter = ExternalUserFilter {
        channel_ids: filter_id(&q.channel).into_iter().collect(),
        tier_ids: filter_id(&q.tier).into_iter().collect(),
        external_user_group_ids: filter_id(&q.group).into_iter().collect(),
        super_identity_ids: Vec::new(),
        search,
    };
    let from = q.from.as_deref().and_then(|v| v.parse::<i64>().ok()).filter(|v| *v >= 0).unwrap_or(0);
    // The names for the filters are read beside the search, not before it.
    let search = s.app.list_external_users(&ctx.who.principal, &filter, Paging { offset: from, limit: PAGE_SIZE });
    let (names, found) = match tokio::try_join!(Names::load(&s, &ctx), search) {
        Ok(both) => both,
        Err(e) => return error_page(Some(&ctx), e),
    };
    let mut draft = Form::default();
    for (k, v) in [("channel", &q.channel), ("tier", &q.tier), ("group", &q.group)] {
        draft.0.insert(k.to_owned(), v.clone().unwrap_or_default());
    }
    let draft = Draft::refused(draft, Vec::new());
    let count = if found.total_is_exact {
        format!("{} {}", found.total, if found.total == 1 { "person" } else { "people" })
    } else {
        format!("More than {} people", found.total)
    };
    let body = html! {
        h1 { "People" }
        section.card aria-labelledby="search-title" {
            h2.visually-hidden #search-title { "Search" }
            form.row method="get" action=(PEOPLE) role="search" {
                div.field {
                    label for="people-q" { "Search" }
                    input #people-q type="search" name="q" value=(q.q.as_deref().unwrap_or_default())
                        data-search autocomplete="off" aria-describedby="people-q-hint";
                    span.hint #people-q-hint { "Name, e-mail or other identifier, external id. Press / to search, j and k to move." }
                }
                (layout::select("people", "channel", "Channel", &Names::options(&names.channels, "Any channel"), &draft))
                (layout::select("people", "tier", "Tier", &Names::options(&names.tiers, "Any tier"), &draft))
                (layout::select("people", "group", "Group", &Names::options(&names.groups, "Any group"), &draft))
                button.button type="submit" { "Search" }
            }
        }
        section.card aria-labelledby="people-title" {
            h2 #people-title { (count) }
            @if found.items.is_empty() {
                (empty("No one matches.", " Try a shorter fragment or fewer filters."))
            } @else {
                div.table-wrap {
                    table {
                        thead { tr {
                            th scope="col" { "Name" } th scope="col" { "Identifier" } th scope="col" { "Channel" }
                            th.optional scope="col" { "Tier" } th.optional scope="col" { "Group" } th scope="col" { "State" }
                        } }
                        tbody {
                            @for u in &found.items {
                                tr data-nav-row {
                                    td { a href=(person_href(u.id)) { (person_name(u)) } }
                                    td { (u.identifier.as_deref().unwrap_or_default()) }
                                    td { (Names::name(&names.channels, Some(u.channel_id))) }
                                    td.optional { (Names::name(&names.tiers, u.tier_id)) }
                                    td.optional { (Names::name(&names.groups, u.external_user_group_id)) }
                                    td { (blocked_badge(u.blocked)) }
                                }
                            }
                        }
                    }
                }
                nav.pager aria-label="Pages" {
                    @if from > 0 { a.button.secondary href=(list_href(&q, (from - PAGE_SIZE).max(0))) rel="prev" { "Previous" } }
                    @if found.more { a.button.secondary href=(list_href(&q, from + PAGE_SIZE)) rel="next" { "Next" } }
                }
            }
        }
    };
    html(StatusCode::OK, page("People", &ctx, Area::People, body))
}

fn blocked_badge(blocked: bool) -> Markup {
    html! { @if blocked { span.badge.revoked { "Blocked" } } @else { span.badge.active { "Active" } } }
}

#[derive(Deserialize, Default)]
pub struct Done {
    done: Option<String>,
    merged: Option<String>,
}

impl Done {
    fn message(&self) -> Option<String> {
        Some(match self.done.as_deref()? {
            "saved" => "Saved.".to_owned(),
            "blocked" => "Blocked: this person's access tokens and sign-ins are refused.".to_owned(),
            "unblocked" => "Unblocked.".to_owned(),
            "merged" => match self.merged.as_deref().and_then(parse_uuid) {
                Some(absorbed) => format!("Merged: everyone of super identity {absorbed} is now on this person."),
                None => "Merged.".to_owned(),
            },
            _ => return None,
        })
    }
}

pub async fn show(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>, Query(done): Query<Done>) -> Response {
    let Some(id) = parse_uuid(&id) else {
        return error_page(Some(&ctx), AppError::NotFound(Entity::ExternalUser));
    };
    match s.app.get_external_user(&ctx.who.principal, id).await {
        Ok(user) => render_person(&s, &ctx, StatusCode::OK, &user, Forms::default(), done.message()).await,
        Err(AppError::NotFound(_)) => super_identity_page(&s, &ctx, id).await,
        Err(e) => error_page(Some(&ctx), e),
    }
}

/// A super identity's address: a merged one says where its people went, a live one leads to its
/// first identity.
async fn super_identity_page(s: &AppState, ctx: &Ctx, id: Uuid) -> Response {
    let who = &ctx.who.principal;
    let si = match s.app.get_super_identity(who, id).await {
        Ok(si) => si,
        Err(e) => return error_page(Some(ctx), e),
    };
    let target = si.merged_into.unwrap_or(si.id);
    let filter = ExternalUserFilter { super_identity_ids: vec![target], ..ExternalUserFilter::default() };
    let first = match s.app.list_external_users(who, &filter, Paging { offset: 0, limit: 1 }).await {
        Ok(p) => p.items.into_iter().next(),
        Err(e) => return error_page(Some(ctx), e),
    };
    let (Some(into), Some(first)) = (si.merged_into, first.as_ref()) else {
        return match first {
            Some(u) => see_other(&person_href(u.id)),
            None => error_page(Some(ctx), AppError::NotFound(Entity::ExternalUser)),
        };
    };
    let body = html! {
        div.card role="status" {
            h1 { "This person was merged" }
            p.lead {
                "Super identity " code { (si.id) } " was merged into " code { (into) }
                @if let Some(at) = si.merged_at { " on " (time(at)) } "."
            }
            a.button href=(person_href(first.id)) { "Go to " (person_name(first)) }
        }
    };
    html(StatusCode::OK, page("Merged person", ctx, Area::People, body))
}

/// The drafts of a person page's forms: only the refused one carries values and errors.
#[derive(Default)]
struct Forms {
    edit: Option<Draft>,
    merge: Option<Draft>,
}

async fn render_person(
    s: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    user: &ExternalUser,
    forms: Forms,
    done: Option<String>,
) -> Response {
    let who = &ctx.who.principal;
    let names = match Names::load(s, ctx).await {
        Ok(n) => n,
        Err(e) => return error_page(Some(ctx), e),
    };
    let filter =
        ExternalUserFilter { super_identity_ids: vec![user.super_identity_id], ..ExternalUserFilter::default() };
    let identities = match s.app.list_external_users(who, &filter, Paging { offset: 0, limit: PERSON_LIMIT }).await {
        Ok(p) => p.items,
        Err(e) => return error_page(Some(ctx), e),
    };
    let ids: Vec<Uuid> = identities.iter().map(|u| u.id).collect();
    let requested = TicketFilter { requester_ids: ids.clone(), ..TicketFilter::default() };
    let taking_part = TicketFilter { participant_ids: ids.clone(), ..TicketFilter::default() };
    let order = TicketOrder { key: TicketSortKey::Updated, descending: true };
    let (tickets, participating, tokens) = match tokio::try_join!(
        s.app.list_tickets(who, &requested, order, None, PERSON_LIMIT),
        s.app.list_tickets(who, &taking_part, order, None, PERSON_LIMIT),
        s.app.issued_tokens(who, &ids, TOKEN_LIMIT),
    ) {
        Ok(all) => all,
        Err(e) => return error_page(Some(ctx), e),
    };
    let now = Timestamp::now();
    let identifier_of = |id: Uuid| {
        identities.iter().find(|u| u.id == id).map(|u| u.identifier.clone().unwrap_or_else(|| person_name(u)))
    };
    let mut current = Form::default();
    current.0.insert("name".into(), user.name.clone().unwrap_or_default());
    current.0.insert("tier".into(), user.tier_id.map(|i| i.to_string()).unwrap_or_default());
    current.0.insert("group".into(), user.external_user_group_id.map(|i| i.to_string()).unwrap_or_default());
    let edit = forms.edit.unwrap_or_else(|| Draft::refused(current, Vec::new()));
    let merge = forms.merge.unwrap_or_else(|| {
        let mut f = Form::default();
        f.0.insert("survivor".into(), "this".into());
        Draft::refused(f, Vec::new())
    });
    let href = person_href(user.id);
    let body = html! {
        h1 { (person_name(user)) " " (blocked_badge(user.blocked)) }
        p.lead { "Super identity " code { (user.super_identity_id) } }
        (notice(done.as_deref()))
        section.card aria-labelledby="identities-title" {
            h2 #identities-title { "Identities across channels" }
            div.table-wrap { table {
                thead { tr {
                    th scope="col" { "Channel" } th scope="col" { "Identifier" } th scope="col" { "External id" }
                    th scope="col" { "Name" } th scope="col" { "State" } th.optional scope="col" { "Since" }
                } }
                tbody {
                    @for u in &identities {
                        tr data-nav-row {
                            td { (Names::name(&names.channels, Some(u.channel_id))) }
                            td { a href=(person_href(u.id)) aria-current=[(u.id == user.id).then_some("page")] {
                                (u.identifier.as_deref().unwrap_or("(no identifier)")) } }
                            td { (u.external_id.as_deref().unwrap_or_default()) }
                            td { (u.name.as_deref().unwrap_or_default()) }
                            td { (blocked_badge(u.blocked)) }
                            td.optional { (time(u.created_at)) }
                        }
                    }
                }
            } }
        }
        section.card aria-labelledby="edit-title" {
            h2 #edit-title { "Details of this identity" }
            (refused(&edit, &["name", "tier", "group"]))
            form.row method="post" action=(href) {
                (csrf(ctx))
                (Field::text("name", "Name").optional().hint("3 to 50 characters").render("person", &edit))
                (layout::select("person", "tier", "Tier", &Names::options(&names.tiers, "No tier"), &edit))
                (layout::select("person", "group", "Group", &Names::options(&names.groups, "No group"), &edit))
                button.button type="submit" { "Save" }
            }
            form.inline method="post" action=(format!("{href}/block")) {
                (csrf(ctx))
                input type="hidden" name="blocked" value=(if user.blocked { "false" } else { "true" });
                @if user.blocked {
                    button.button.secondary type="submit" { "Unblock" }
                } @else {
                    button.button.danger type="submit" { "Block" }
                }
            }
        }
        section.card aria-labelledby="tickets-title" {
            h2 #tickets-title { "Tickets requested" }
            (ticket_table(&tickets.tickets, "No tickets yet."))
        }
        section.card aria-labelledby="participating-title" {
            h2 #participating-title { "Tickets they take part in" }
            (ticket_table(&participating.tickets, "Not a participant of any ticket."))
        }
        section.card aria-labelledby="tokens-title" {
            h2 #tokens-title { "Access tokens" }
            p.hint { "Tokens issued to any of these identities, newest first. Their secrets are never kept; when a token was last used is not recorded." }
            @if tokens.is_empty() {
                (empty("No access tokens issued.", ""))
            } @else {
                div.table-wrap { table {
                    thead { tr { th scope="col" { "Identity" } th scope="col" { "Issued" } th scope="col" { "Expires" } th scope="col" { "State" } } }
                    tbody {
                        @for tk in &tokens {
                            tr {
                                td { (identifier_of(tk.external_user_id).unwrap_or_default()) }
                                td { (time(tk.created_at)) }
                                td { (time(tk.expires_at)) }
                                td { @if tk.expires_at > now { span.badge.active { "Valid" } } @else { span.badge { "Expired" } } }
                            }
                        }
                    }
                } }
            }
        }
        section.card aria-labelledby="merge-title" {
            h2 #merge-title { "Merge with another person" }
            p { "All identities of both people end up on the one that stays; their tickets follow them." }
            (refused(&merge, &["other", "survivor"]))
            form.stack method="post" action=(format!("{href}/merge")) {
                (csrf(ctx))
                (Field::text("other", "Other person").hint("Their e-mail or other identifier, or their id").render("merge", &merge))
                fieldset {
                    legend { "Who stays" }
                    @for (value, label) in [("this", format!("This person ({})", person_name(user))), ("other", "The other person".to_owned())] {
                        div.choice {
                            input #(format!("merge-survivor-{value}")) type="radio" name="survivor" value=(value)
                                checked[merge.value("survivor") == value];
                            label for=(format!("merge-survivor-{value}")) { (label) }
                        }
                    }
                }
                button.button type="submit" { "Merge" }
            }
        }
    };
    html(status, page(&person_name(user), ctx, Area::People, body))
}

async fn person(s: &AppState, ctx: &Ctx, id: &str) -> Result<ExternalUser, Response> {
    let id = parse_uuid(id).ok_or_else(|| error_page(Some(ctx), AppError::NotFound(Entity::ExternalUser)))?;
    s.app.get_external_user(&ctx.who.principal, id).await.map_err(|e| error_page(Some(ctx), e))
}

/// The use case names fields as the external users API does; the form's names differ.
fn form_errors(mut errors: Vec<FieldError>) -> Vec<FieldError> {
    for e in &mut errors {
        e.field = match e.field.as_str() {
            "tierId" => "tier".into(),
            "externalUserGroupId" => "group".into(),
            "absorbedId" | "survivorId" => "other".into(),
            other => other.to_owned(),
        };
    }
    errors
}

fn optional_id(form: &Form, name: &str, errors: &mut Vec<FieldError>) -> Option<Uuid> {
    let v = form.get(name).trim();
    if v.is_empty() {
        return None;
    }
    let id = parse_uuid(v);
    if id.is_none() {
        errors.push(FieldError::new(name, Refusal::new(Rule::Format, "must be one of the choices")));
    }
    id
}

pub async fn edit(
    State(s): State<AppState>,
    Path(id): Path<String>,
    SignedInForm(ctx, form): SignedInForm,
) -> Response {
    let user = match person(&s, &ctx, &id).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let mut errors = Vec::new();
    let typed = form.get("name").trim();
    // An unchanged name is left alone: one that came in through another contract need not meet this
    // form's rule, and saving the tier must not fail on it.
    let name = if typed == user.name.as_deref().unwrap_or_default() {
        None
    } else if typed.is_empty() {
        Some(None)
    } else {
        DisplayName::parse(typed).map(|n| Some(Some(n))).unwrap_or_else(|m| {
            errors.push(FieldError::new("name", m));
            None
        })
    };
    let tier = optional_id(&form, "tier", &mut errors);
    let group = optional_id(&form, "group", &mut errors);
    if !errors.is_empty() {
        let forms = Forms { edit: Some(Draft::refused(form, errors)), merge: None };
        return render_person(&s, &ctx, StatusCode::UNPROCESSABLE_ENTITY, &user, forms, None).await;
    }
    let patch =
        ExternalUserPatch { name, tier_id: Some(tier), external_user_group_id: Some(group), ..Default::default() };
    match s.app.update_external_user(&ctx.who.principal, user.id, patch).await {
        Ok(u) => see_other(&format!("{}?done=saved", person_href(u.id))),
        Err(e) => match field_errors(&e) {
            Some(errors) => {
                let forms = Forms { edit: Some(Draft::refused(form, form_errors(errors))), merge: None };
                render_person(&s, &ctx, StatusCode::UNPROCESSABLE_ENTITY, &user, forms, None).await
            }
            None => error_page(Some(&ctx), e),
        },
    }
}

pub async fn block(
    State(s): State<AppState>,
    Path(id): Path<String>,
    SignedInForm(ctx, form): SignedInForm,
) -> Response {
    let user = match person(&s, &ctx, &id).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let blocked = form.get("blocked") == "true";
    let patch = ExternalUserPatch { blocked: Some(blocked), ..Default::default() };
    match s.app.update_external_user(&ctx.who.principal, user.id, patch).await {
        Ok(u) => see_other(&format!("{}?done={}", person_href(u.id), if blocked { "blocked" } else { "unblocked" })),
        Err(e) => error_page(Some(&ctx), e),
    }
}

/// The other person of a merge, named by id, or by an identifier (exactly, any case), or by a search
/// fragment that matches one person only.
async fn other_person(s: &AppState, ctx: &Ctx, named: &str) -> Result<Result<ExternalUser, Refusal>, AppError> {
    let who = &ctx.who.principal;
    if let Some(id) = parse_uuid(named) {
        return match s.app.get_external_user(who, id).await {
            Ok(u) => Ok(Ok(u)),
            Err(AppError::NotFound(_)) => Ok(Err(Refusal::new(Rule::NotFound, "is no one in this workspace"))),
            Err(e) => Err(e),
        };
    }
    let filter = ExternalUserFilter { search: Some(named.to_owned()), ..ExternalUserFilter::default() };
    let found = s.app.list_external_users(who, &filter, Paging { offset: 0, limit: 20 }).await?.items;
    let exact: Vec<&ExternalUser> =
        found.iter().filter(|u| u.identifier.as_deref().is_some_and(|i| i.eq_ignore_ascii_case(named))).collect();
    Ok(match (exact.as_slice(), found.as_slice()) {
        ([one], _) => Ok((*one).clone()),
        ([], [one]) => Ok(one.clone()),
        ([], []) => Err(Refusal::new(Rule::NotFound, "matches no one")),
        _ => Err(Refusal::new(Rule::Combination, "matches several people; give the whole identifier or the id")),
    })
}

pub async fn merge(
    State(s): State<AppState>,
    Path(id): Path<String>,
    SignedInForm(ctx, form): SignedInForm,
) -> Response {
    let user = match person(&s, &ctx, &id).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let refuse = |form: Form, errors: Vec<FieldError>| Forms { edit: None, merge: Some(Draft::refused(form, errors)) };
    let named = form.get("other").trim().to_owned();
    let mut errors = Vec::new();
    let other = if named.is_empty() {
        errors.push(FieldError::new("other", Refusal::required()));
        None
    } else {
        match other_person(&s, &ctx, &named).await {
            Ok(Ok(u)) => Some(u),
            Ok(Err(m)) => {
                errors.push(FieldError::new("other", m));
                None
            }
            Err(e) => return error_page(Some(&ctx), e),
        }
    };
    let keep_this = match form.get("survivor") {
        "this" => Some(true),
        "other" => Some(false),
        _ => {
            errors.push(FieldError::new("survivor", Refusal::new(Rule::Format, "must be this person or the other")));
            None
        }
    };
    let (Some(other), Some(keep_this), true) = (other, keep_this, errors.is_empty()) else {
        return render_person(&s, &ctx, StatusCode::UNPROCESSABLE_ENTITY, &user, refuse(form, errors), None).await;
    };
    let (survivor, absorbed) = if keep_this { (&user, &other) } else { (&other, &user) };
    match s.app.merge_super_identities(&ctx.who.principal, survivor.super_identity_id, absorbed.super_identity_id).await
    {
        Ok(_) => see_other(&format!("{}?done=merged&merged={}", person_href(survivor.id), absorbed.super_identity_id)),
        Err(e) => match field_errors(&e) {
            Some(errors) => {
                let errors = form_errors(errors);
                render_person(&s, &ctx, StatusCode::UNPROCESSABLE_ENTITY, &user, refuse(form, errors), None).await
            }
            None => error_page(Some(&ctx), e),
        },
    }
}
