//! Sections that set a workspace up: API keys, channels, tiers and external user groups.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use uuid::Uuid;

use super::layout::{self, Field, Section, csrf, empty, notice, refused, role_badge, time};
use super::{Ctx, Draft, Form, SignedInForm, error_page, field_errors, html, see_other};
use crate::app::{AppError, ChannelInput, CreatedApiKey, GroupInput, TierInput};
use crate::app::{GroupFilter, Paging};
use crate::domain::{
    ApiKey, ChannelType, DisplayName, ExternalId, FieldError, Refusal, Role, Rule, TierDescription, parse_uuid,
};
use crate::http::AppState;

/// The confirmations of this section's forms, by their `?done=` value.
const CONFIRMATIONS: &[(&str, &str)] = &[
    ("key-revoked", "The API key was revoked. Requests using it are refused from now on."),
    ("channel-created", "Channel created."),
    ("channel-renamed", "Channel renamed."),
    ("tier-created", "Tier created."),
    ("group-created", "User group created."),
];

fn role_options() -> Vec<(String, String)> {
    vec![
        ("agent".into(), "Agent: works with external users".into()),
        ("admin".into(), "Admin: manages the workspace".into()),
    ]
}

fn read_only_note() -> Markup {
    html! { div.alert.info role="note" { "You are signed in as an agent: this section is read-only. Ask a workspace admin for changes." } }
}

fn parse_with<T>(
    form: &Form,
    name: &str,
    errors: &mut Vec<FieldError>,
    parse: impl Fn(&str) -> Result<T, Refusal>,
) -> Option<T> {
    parse(form.get(name).trim()).map_err(|m| errors.push(FieldError::new(name, m))).ok()
}

// ---------------------------------------------------------------------------------------------- API keys

pub async fn api_keys(State(s): State<AppState>, ctx: Ctx, Query(done): Query<layout::Done>) -> Response {
    render_keys(&s, &ctx, StatusCode::OK, Draft::default(), None, done.message(CONFIRMATIONS)).await
}

pub async fn create_api_key(State(s): State<AppState>, SignedInForm(ctx, form): SignedInForm) -> Response {
    let Some(role) = Role::parse(form.get("role")) else {
        let draft =
            Draft::refused(form, vec![FieldError::new("role", Refusal::new(Rule::Format, "must be admin or agent"))]);
        return render_keys(&s, &ctx, StatusCode::UNPROCESSABLE_ENTITY, draft, None, None).await;
    };
    match s.app.create_api_key(&ctx.who.principal, form.get("name"), role).await {
        Ok(created) => render_keys(&s, &ctx, StatusCode::CREATED, Draft::default(), Some(created), None).await,
        Err(e) => match field_errors(&e) {
            Some(errors) => {
                render_keys(&s, &ctx, StatusCode::UNPROCESSABLE_ENTITY, Draft::refused(form, errors), None, None).await
            }
            None => error_page(Some(&ctx), e),
        },
    }
}

/// Who created a key, in words: a staff member's e-mail, another key's name, or the server console.
async fn key_authors(s: &AppState, ctx: &Ctx, keys: &[ApiKey]) -> HashMap<Uuid, String> {
    let mut names: HashMap<Uuid, String> = keys.iter().map(|k| (k.id, format!("API key “{}”", k.name))).collect();
    if let Ok(staff) = s.app.list_staff_users(&ctx.who.principal).await {
        names.extend(staff.into_iter().map(|u| (u.id, u.email)));
    }
    names
}

async fn render_keys(
    s: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    draft: Draft,
    created: Option<CreatedApiKey>,
    done: Option<&str>,
) -> Response {
    let keys = match s.app.list_api_keys(&ctx.who.principal).await {
        Ok(keys) => Some(keys),
        Err(AppError::Forbidden(_)) => None,
        Err(e) => return error_page(Some(ctx), e),
    };
    let authors = key_authors(s, ctx, keys.as_deref().unwrap_or_default()).await;
    let body = html! {
        h1 { "API keys" }
        p.lead { "Keys let your systems call Frontdesk's APIs. Give each integration its own key, with the least role it needs." }
        (notice(done))
        @if let Some(created) = &created {
            div.alert.success role="status" #new-key {
                strong { "API key “" (created.key.name) "” created." }
                p { "Copy the secret now: it is shown only this once and cannot be recovered." }
                div.secret {
                    label.visually-hidden for="new-key-secret" { "Secret of the new API key" }
                    input #new-key-secret type="text" readonly value=(created.secret) spellcheck="false";
                    button.button type="button" data-copy="new-key-secret" hidden { "Copy" }
                }
            }
        }
        @match &keys {
            None => div.card { (empty("Only workspace admins can see API keys.", " Ask an admin if an integration needs a key.")) },
            Some(keys) => {
                section.card aria-labelledby="create-key-title" {
                    h2 #create-key-title { "Create an API key" }
                    (refused(&draft, &["name", "role"]))
                    form.row method="post" action="/settings/api-keys" {
                        (csrf(ctx))
                        (Field::text("name", "Name").hint("What uses it, e.g. “CRM sync”").render("key", &draft))
                        (layout::select("key", "role", "Role", &role_options(), &draft))
                        button.button type="submit" { "Create key" }
                    }
                }
                section.card aria-labelledby="keys-title" {
                    h2 #keys-title { "Keys" }
                    @if keys.is_empty() {
                        (empty("No API keys yet.", " Create one above to connect your first integration."))
                    } @else {
                        div.table-wrap {
                            table {
                                thead { tr {
                                    th scope="col" { "Name" } th scope="col" { "Role" } th scope="col" { "Prefix" }
                                    th.optional scope="col" { "Created by" } th.optional scope="col" { "Created" }
                                    th scope="col" { "Last used" } th scope="col" { span.visually-hidden { "Actions" } }
                                } }
                                tbody {
                                    @for k in keys.iter().rev() {
                                        tr {
                                            td { (k.name) }
                                            td { (role_badge(k.role)) }
                                            td { code { (k.prefix) "…" } }
                                            td.optional { (k.created_by.and_then(|id| authors.get(&id).cloned()).unwrap_or_else(|| "Server console".into())) }
                                            td.optional { (time(k.created_at)) }
                                            td { @match k.last_used_at { Some(t) => (time(t)), None => span.muted { "Never" } } }
                                            td.actions {
                                                @if k.revoked_at.is_some() {
                                                    span.badge.revoked { "Revoked" }
                                                } @else {
                                                    a.button.secondary.small href=(format!("/settings/api-keys/{}/revoke", k.id))
                                                        aria-label=(format!("Revoke key {}", k.name)) { "Revoke" }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    html(status, layout::page("API keys", ctx, Some(Section::ApiKeys), body))
}

async fn key_to_revoke(s: &AppState, ctx: &Ctx, id: &str) -> Result<ApiKey, Response> {
    let keys = s.app.list_api_keys(&ctx.who.principal).await.map_err(|e| error_page(Some(ctx), e))?;
    let id = parse_uuid(id);
    keys.into_iter()
        .find(|k| Some(k.id) == id)
        .ok_or_else(|| error_page(Some(ctx), AppError::NotFound(crate::app::Entity::ApiKey)))
}

/// Revoking cannot be undone, so it takes a second, explicit step.
pub async fn confirm_revoke(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> Response {
    let key = match key_to_revoke(&s, &ctx, &id).await {
        Ok(key) => key,
        Err(r) => return r,
    };
    let body = html! {
        div.card {
            h1 { "Revoke API key “" (key.name) "”?" }
            p.lead {
                "Every request using the key starting with " code { (key.prefix) } " will be refused at once. "
                "This cannot be undone."
            }
            form.inline method="post" action=(format!("/settings/api-keys/{}/revoke", key.id)) {
                (csrf(&ctx))
                button.button.danger type="submit" { "Revoke key" }
                a.button.secondary href="/settings/api-keys" { "Cancel" }
            }
        }
    };
    html(StatusCode::OK, layout::page("Revoke API key", &ctx, Some(Section::ApiKeys), body))
}

pub async fn revoke_api_key(
    State(s): State<AppState>,
    Path(id): Path<String>,
    SignedInForm(ctx, _): SignedInForm,
) -> Response {
    let Some(id) = parse_uuid(&id) else {
        return error_page(Some(&ctx), AppError::NotFound(crate::app::Entity::ApiKey));
    };
    match s.app.revoke_api_key(&ctx.who.principal, id).await {
        Ok(_) => see_other("/settings/api-keys?done=key-revoked"),
        Err(e) => error_page(Some(&ctx), e),
    }
}

// ---------------------------------------------------------------------------------------------- channels

fn channel_type_options() -> Vec<(String, String)> {
    ChannelType::ALL
        .iter()
        .filter(|t| **t != ChannelType::Email)
        .chain([ChannelType::Email].iter())
        .map(|t| (t.as_str().to_owned(), channel_type_label(*t).to_owned()))
        .collect()
}

fn channel_type_label(t: ChannelType) -> &'static str {
    match t {
        ChannelType::Email => "E-mail",
        ChannelType::Web => "Web",
        ChannelType::Api => "API",
        ChannelType::Phone => "Phone",
        ChannelType::Chat => "Chat",
        ChannelType::Sms => "SMS",
        ChannelType::Whatsapp => "WhatsApp",
        ChannelType::Other => "Other",
    }
}

pub async fn channels(State(s): State<AppState>, ctx: Ctx, Query(done): Query<layout::Done>) -> Response {
    render_channels(&s, &ctx, StatusCode::OK, Draft::default(), None, done.message(CONFIRMATIONS)).await
}

pub async fn create_channel(State(s): State<AppState>, SignedInForm(ctx, form): SignedInForm) -> Response {
    let mut errors = Vec::new();
    let name = parse_with(&form, "name", &mut errors, DisplayName::parse);
    let kind = parse_with(&form, "type", &mut errors, |t| {
        ChannelType::parse(t).ok_or_else(|| Refusal::new(Rule::Format, "is not a channel type"))
    });
    let (Some(name), Some(kind)) = (name, kind) else {
        return render_channels(&s, &ctx, StatusCode::UNPROCESSABLE_ENTITY, Draft::refused(form, errors), None, None)
            .await;
    };
    match s.app.create_channel(&ctx.who.principal, ChannelInput { name, kind }).await {
        Ok(_) => see_other("/settings/channels?done=channel-created"),
        Err(e) => match field_errors(&e) {
            Some(errors) => {
                render_channels(&s, &ctx, StatusCode::UNPROCESSABLE_ENTITY, Draft::refused(form, errors), None, None)
                    .await
            }
            None => error_page(Some(&ctx), e),
        },
    }
}

pub async fn rename_channel(
    State(s): State<AppState>,
    Path(id): Path<String>,
    SignedInForm(ctx, form): SignedInForm,
) -> Response {
    let Some(id) = parse_uuid(&id) else {
        return error_page(Some(&ctx), AppError::NotFound(crate::app::Entity::Channel));
    };
    let name = match DisplayName::parse(form.get("name").trim()) {
        Ok(name) => name,
        Err(m) => {
            let draft = Draft::refused(form, vec![FieldError::new("name", m)]);
            return render_channels(&s, &ctx, StatusCode::UNPROCESSABLE_ENTITY, draft, Some(id), None).await;
        }
    };
    match s.app.update_channel(&ctx.who.principal, id, Some(name), None).await {
        Ok(_) => see_other("/settings/channels?done=channel-renamed"),
        Err(e) => match field_errors(&e) {
            Some(errors) => {
                let draft = Draft::refused(form, errors);
                render_channels(&s, &ctx, StatusCode::UNPROCESSABLE_ENTITY, draft, Some(id), None).await
            }
            None => error_page(Some(&ctx), e),
        },
    }
}

/// `renaming` names the channel whose rename form `draft` belongs to; otherwise it is the create form's.
async fn render_channels(
    s: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    draft: Draft,
    renaming: Option<Uuid>,
    done: Option<&str>,
) -> Response {
    let channels = match s.app.list_channels(&ctx.who.principal).await {
        Ok(c) => c,
        Err(e) => return error_page(Some(ctx), e),
    };
    let blank = Draft::default();
    let create_draft = if renaming.is_none() { &draft } else { &blank };
    let body = html! {
        h1 { "Channels" }
        p.lead { "Where your external users come from. Every workspace has a built-in e-mail channel." }
        (notice(done))
        @if ctx.is_admin() {
            section.card aria-labelledby="create-channel-title" {
                h2 #create-channel-title { "Add a channel" }
                (refused(create_draft, &["name", "type"]))
                form.row method="post" action="/settings/channels" {
                    (csrf(ctx))
                    (Field::text("name", "Name").hint("3 to 50 characters, e.g. “Web chat”").render("channel", create_draft))
                    (layout::select("channel", "type", "Type", &channel_type_options(), create_draft))
                    button.button type="submit" { "Add channel" }
                }
            }
        } @else {
            (read_only_note())
        }
        section.card aria-labelledby="channels-title" {
            h2 #channels-title { "Channels" }
            div.table-wrap {
                table {
                    thead { tr {
                        th scope="col" { "Name" } th scope="col" { "Type" } th.optional scope="col" { "Created" }
                        @if ctx.is_admin() { th scope="col" { "Rename" } }
                    } }
                    tbody {
                        @for c in &channels {
                            @let mine = renaming == Some(c.id);
                            tr {
                                td { (c.name) @if c.builtin { " " span.badge { "built-in" } } }
                                td { (channel_type_label(c.kind)) }
                                td.optional { (time(c.created_at)) }
                                @if ctx.is_admin() {
                                    td {
                                        form.inline method="post" action=(format!("/settings/channels/{}/rename", c.id)) {
                                            (csrf(ctx))
                                            label.visually-hidden for=(format!("rename-{}", c.id)) { "New name for " (c.name) }
                                            input #(format!("rename-{}", c.id)) type="text" name="name" required
                                                value=(if mine { draft.value("name") } else { c.name.as_str() })
                                                aria-invalid=[(mine && draft.error("name").is_some()).then_some("true")];
                                            button.button.secondary.small type="submit" { "Rename" }
                                        }
                                        @if mine { @if let Some(e) = draft.error("name") { span.field-error role="alert" { "Name " (e) } } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    html(status, layout::page("Channels", ctx, Some(Section::Channels), body))
}

// ---------------------------------------------------------------------------------------------- tiers

pub async fn tiers(State(s): State<AppState>, ctx: Ctx, Query(done): Query<layout::Done>) -> Response {
    render_tiers(&s, &ctx, StatusCode::OK, Draft::default(), done.message(CONFIRMATIONS)).await
}

pub async fn create_tier(State(s): State<AppState>, SignedInForm(ctx, form): SignedInForm) -> Response {
    let mut errors = Vec::new();
    let name = parse_with(&form, "name", &mut errors, DisplayName::parse);
    let description = match form.optional("description") {
        None => Some(None),
        Some(d) => {
            parse_with(&form, "description", &mut errors, |_| TierDescription::parse(&d)).map(|d| Some(d.into_string()))
        }
    };
    let (Some(name), Some(description)) = (name, description) else {
        return render_tiers(&s, &ctx, StatusCode::UNPROCESSABLE_ENTITY, Draft::refused(form, errors), None).await;
    };
    match s.app.create_tier(&ctx.who.principal, TierInput { name, description }).await {
        Ok(_) => see_other("/settings/tiers?done=tier-created"),
        Err(e) => match field_errors(&e) {
            Some(errors) => {
                render_tiers(&s, &ctx, StatusCode::UNPROCESSABLE_ENTITY, Draft::refused(form, errors), None).await
            }
            None => error_page(Some(&ctx), e),
        },
    }
}

async fn render_tiers(s: &AppState, ctx: &Ctx, status: StatusCode, draft: Draft, done: Option<&str>) -> Response {
    let tiers = match s.app.list_tiers(&ctx.who.principal, &[], None).await {
        Ok(t) => t,
        Err(e) => return error_page(Some(ctx), e),
    };
    let body = html! {
        h1 { "Tiers" }
        p.lead { "Service levels you can put external users and user groups in, e.g. “Gold”." }
        (notice(done))
        @if ctx.is_admin() {
            section.card aria-labelledby="create-tier-title" {
                h2 #create-tier-title { "Add a tier" }
                (refused(&draft, &["name", "description"]))
                form.row method="post" action="/settings/tiers" {
                    (csrf(ctx))
                    (Field::text("name", "Name").hint("3 to 50 characters").render("tier", &draft))
                    (Field::text("description", "Description").optional().hint("3 to 250 characters").render("tier", &draft))
                    button.button type="submit" { "Add tier" }
                }
            }
        } @else {
            (read_only_note())
        }
        section.card aria-labelledby="tiers-title" {
            h2 #tiers-title { "Tiers" }
            @if tiers.is_empty() {
                (empty("No tiers yet.", if ctx.is_admin() { " Add one above to group customers by service level." } else { "" }))
            } @else {
                div.table-wrap { table {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Description" } th.optional scope="col" { "Created" } } }
                    tbody {
                        @for t in &tiers {
                            tr {
                                td { (t.name) }
                                td { @match &t.description { Some(d) => (d), None => span.muted { "—" } } }
                                td.optional { (time(t.created_at)) }
                            }
                        }
                    }
                } }
            }
        }
    };
    html(status, layout::page("Tiers", ctx, Some(Section::Tiers), body))
}

// ---------------------------------------------------------------------------------------------- groups

pub async fn groups(State(s): State<AppState>, ctx: Ctx, Query(done): Query<layout::Done>) -> Response {
    render_groups(&s, &ctx, StatusCode::OK, Draft::default(), done.message(CONFIRMATIONS)).await
}

pub async fn create_group(State(s): State<AppState>, SignedInForm(ctx, form): SignedInForm) -> Response {
    let mut errors = Vec::new();
    let external_id = parse_with(&form, "externalId", &mut errors, ExternalId::parse);
    let name = parse_with(&form, "name", &mut errors, DisplayName::parse);
    let tier_id = match form.optional("tierId") {
        None => Some(None),
        Some(t) => parse_with(&form, "tierId", &mut errors, |_| {
            parse_uuid(&t).ok_or_else(|| Refusal::new(Rule::Format, "is not a tier"))
        })
        .map(Some),
    };
    let (Some(external_id), Some(name), Some(tier_id)) = (external_id, name, tier_id) else {
        return render_groups(&s, &ctx, StatusCode::UNPROCESSABLE_ENTITY, Draft::refused(form, errors), None).await;
    };
    match s.app.create_group(&ctx.who.principal, GroupInput { external_id, name, tier_id }).await {
        Ok(_) => see_other("/settings/groups?done=group-created"),
        Err(AppError::NotFound(crate::app::Entity::Tier)) => {
            let draft =
                Draft::refused(form, vec![FieldError::new("tierId", Refusal::new(Rule::NotFound, "no longer exists"))]);
            render_groups(&s, &ctx, StatusCode::UNPROCESSABLE_ENTITY, draft, None).await
        }
        Err(e) => match field_errors(&e) {
            Some(errors) => {
                render_groups(&s, &ctx, StatusCode::UNPROCESSABLE_ENTITY, Draft::refused(form, errors), None).await
            }
            None => error_page(Some(&ctx), e),
        },
    }
}

async fn render_groups(s: &AppState, ctx: &Ctx, status: StatusCode, draft: Draft, done: Option<&str>) -> Response {
    let who = &ctx.who.principal;
    let all = Paging { offset: 0, limit: 1000 };
    let (groups, tiers) =
        match (s.app.list_groups(who, &GroupFilter::default(), all).await, s.app.list_tiers(who, &[], None).await) {
            (Ok(g), Ok(t)) => (g, t),
            (Err(e), _) | (_, Err(e)) => return error_page(Some(ctx), e),
        };
    let tier_name: HashMap<Uuid, &str> = tiers.iter().map(|t| (t.id, t.name.as_str())).collect();
    let mut tier_options = vec![(String::new(), "No tier".to_owned())];
    tier_options.extend(tiers.iter().map(|t| (t.id.to_string(), t.name.clone())));
    let body = html! {
        h1 { "External user groups" }
        p.lead { "Organisations your external users belong to, e.g. a customer company. Your systems refer to a group by its external id." }
        (notice(done))
        @if ctx.is_admin() {
            section.card aria-labelledby="create-group-title" {
                h2 #create-group-title { "Add a group" }
                (refused(&draft, &["externalId", "name", "tierId"]))
                form.row method="post" action="/settings/groups" {
                    (csrf(ctx))
                    (Field::text("externalId", "External id").hint("Its id in your systems, 3 to 250 characters").render("group", &draft))
                    (Field::text("name", "Name").hint("3 to 50 characters").render("group", &draft))
                    (layout::select("group", "tierId", "Tier", &tier_options, &draft))
                    button.button type="submit" { "Add group" }
                }
            }
        } @else {
            (read_only_note())
        }
        section.card aria-labelledby="groups-title" {
            h2 #groups-title { "Groups" @if groups.total > 0 { " " span.muted { "(" (groups.total) @if !groups.total_is_exact { "+" } ")" } } }
            @if groups.items.is_empty() {
                (empty("No user groups yet.", if ctx.is_admin() { " Add one above, or create them through the API." } else { "" }))
            } @else {
                div.table-wrap { table {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "External id" } th scope="col" { "Tier" } th.optional scope="col" { "Created" } } }
                    tbody {
                        @for g in &groups.items {
                            tr {
                                td { (g.name) }
                                td { code { (g.external_id) } }
                                td { @match g.tier_id.and_then(|t| tier_name.get(&t).copied()) { Some(n) => (n), None => span.muted { "—" } } }
                                td.optional { (time(g.created_at)) }
                            }
                        }
                    }
                } }
                @if groups.more {
                    p.hint { "Showing the first " (groups.items.len()) " groups; use the API to list them all." }
                }
            }
        }
    };
    html(status, layout::page("User groups", ctx, Some(Section::Groups), body))
}
