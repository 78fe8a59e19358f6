//! The Webhooks section: a workspace's subscriptions with their state and why the server disabled
//! one, creating one (its secret shown once), enabling, disabling and deleting, and one
//! subscription's delivery log with redelivery. Admins only: the use cases require the role, so an
//! agent is told so and its posts are refused.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde_json::{Value, json};

use super::layout::{self, Field, Section, csrf, empty, notice, refused, time};
use super::{Ctx, Draft, Form, SignedInForm, error_page, html, see_other};
use crate::app::{AppError, Entity, WebhookChanges, WebhookWithSecret};
use crate::domain::webhook::{DeliveryStatus, Webhook, WebhookDelivery, WebhookUrl, parse_types};
use crate::domain::{FieldError, parse_uuid};
use crate::http::AppState;

const LIST: &str = "/settings/webhooks";
/// How many of a subscription's latest deliveries its log shows.
const LOG_LENGTH: i64 = 50;

/// The confirmations of this section's forms, by their `?done=` value.
const CONFIRMATIONS: &[(&str, &str)] = &[
    ("enabled", "Webhook enabled: deliveries resume with the oldest waiting event."),
    ("disabled", "Webhook disabled: events are kept and delivered once it is enabled again."),
    ("deleted", "Webhook deleted."),
    ("redelivered", "Delivery queued again: it goes out within a few seconds."),
];

fn only_admins() -> Markup {
    html! { div.card { (empty("Only workspace admins can see webhooks.", " Ask an admin to subscribe an integration to events.")) } }
}

fn state_badge(w: &Webhook) -> Markup {
    html! {
        @if w.enabled { span.badge.active { "Enabled" } } @else { span.badge.disabled { "Disabled" } }
    }
}

fn types_text(w: &Webhook) -> String {
    if w.types.is_empty() {
        "Every event".into()
    } else {
        w.types.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ")
    }
}

pub async fn list(State(s): State<AppState>, ctx: Ctx, Query(done): Query<layout::Done>) -> Response {
    render_list(&s, &ctx, StatusCode::OK, Draft::default(), None, done.message(CONFIRMATIONS)).await
}

/// Reads the form: a URL, and the event types as a comma- or space-separated list (empty: all).
fn read_form(form: &Form) -> Result<(WebhookUrl, Vec<crate::domain::EventType>), Vec<FieldError>> {
    let mut errors = Vec::new();
    let url = WebhookUrl::parse(form.get("url").trim()).map_err(|r| errors.push(FieldError::new("url", r))).ok();
    let names: Vec<Value> =
        form.get("types").split([',', ' ', '\n']).map(str::trim).filter(|t| !t.is_empty()).map(|t| json!(t)).collect();
    let types = parse_types(&json!(names)).map_err(|r| errors.push(FieldError::new("types", r))).ok();
    match (url, types) {
        (Some(url), Some(types)) if errors.is_empty() => Ok((url, types)),
        _ => Err(errors),
    }
}

pub async fn create(State(s): State<AppState>, SignedInForm(ctx, form): SignedInForm) -> Response {
    let (url, types) = match read_form(&form) {
        Ok(read) => read,
        Err(errors) => {
            return render_list(&s, &ctx, StatusCode::UNPROCESSABLE_ENTITY, Draft::refused(form, errors), None, None)
                .await;
        }
    };
    match s.app.create_webhook(&ctx.who.principal, url, types, true, None).await {
        Ok(created) => render_list(&s, &ctx, StatusCode::CREATED, Draft::default(), Some(created), None).await,
        Err(e) => match super::field_errors(&e) {
            Some(errors) => {
                render_list(&s, &ctx, StatusCode::UNPROCESSABLE_ENTITY, Draft::refused(form, errors), None, None).await
            }
            None => error_page(Some(&ctx), e),
        },
    }
}

async fn render_list(
    s: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    draft: Draft,
    created: Option<WebhookWithSecret>,
    done: Option<&str>,
) -> Response {
    let hooks = match s.app.list_webhooks(&ctx.who.principal).await {
        Ok(hooks) => Some(hooks),
        Err(AppError::Forbidden(_)) => None,
        Err(e) => return error_page(Some(ctx), e),
    };
    let body = html! {
        h1 { "Webhooks" }
        p.lead { "Frontdesk posts each event of this workspace, signed, to the URLs subscribed here, in order and at least once. See the events API for the catalogue." }
        (notice(done))
        @if let Some(created) = &created {
            div.alert.success role="status" #new-webhook {
                strong { "Webhook for " (created.webhook.url.as_str()) " created." }
                p { "Copy the signing secret now: it is shown only this once. Receivers verify each delivery's webhook-signature with it." }
                div.secret {
                    label.visually-hidden for="new-webhook-secret" { "Signing secret of the new webhook" }
                    input #new-webhook-secret type="text" readonly value=(created.secret) spellcheck="false";
                    button.button type="button" data-copy="new-webhook-secret" hidden { "Copy" }
                }
            }
        }
        @match &hooks {
            None => (only_admins()),
            Some(hooks) => {
                section.card aria-labelledby="create-webhook-title" {
                    h2 #create-webhook-title { "Subscribe a URL" }
                    (refused(&draft, &["url", "types"]))
                    form.row method="post" action=(LIST) {
                        (csrf(ctx))
                        (Field::text("url", "URL").hint("http:// only, e.g. http://hooks.internal/frontdesk").render("webhook", &draft))
                        (Field::text("types", "Event types").optional().hint("Comma-separated, e.g. ticket.created, ticket.commented; empty: every event").render("webhook", &draft))
                        button.button type="submit" { "Create webhook" }
                    }
                }
                section.card aria-labelledby="webhooks-title" {
                    h2 #webhooks-title { "Subscriptions" }
                    @if hooks.is_empty() {
                        (empty("No webhooks yet.", " Subscribe a URL above to receive events as they happen."))
                    } @else {
                        div.table-wrap { table {
                            thead { tr {
                                th scope="col" { "URL" } th scope="col" { "Events" } th scope="col" { "State" }
                                th.optional scope="col" { "Created" } th scope="col" { span.visually-hidden { "Actions" } }
                            } }
                            tbody {
                                @for w in hooks {
                                    tr {
                                        td { a href=(format!("{LIST}/{}", w.id)) { code { (w.url.as_str()) } } }
                                        td { (types_text(w)) }
                                        td {
                                            (state_badge(w))
                                            @if let Some(reason) = &w.disabled_reason {
                                                p.muted.small { (reason) }
                                            }
                                        }
                                        td.optional { (time(w.created_at)) }
                                        td.actions { (actions(ctx, w)) }
                                    }
                                }
                            }
                        } }
                    }
                }
            }
        }
    };
    html(status, layout::page("Webhooks", ctx, Some(Section::Webhooks), body))
}

fn actions(ctx: &Ctx, w: &Webhook) -> Markup {
    let (action, label) = if w.enabled { ("disable", "Disable") } else { ("enable", "Enable") };
    html! {
        form.inline method="post" action=(format!("{LIST}/{}/{action}", w.id)) {
            (csrf(ctx))
            button.button.secondary.small type="submit" aria-label=(format!("{label} the webhook for {}", w.url.as_str())) { (label) }
        }
        a.button.secondary.small href=(format!("{LIST}/{}/delete", w.id))
            aria-label=(format!("Delete the webhook for {}", w.url.as_str())) { "Delete" }
    }
}

async fn webhook(s: &AppState, ctx: &Ctx, id: &str) -> Result<Webhook, Response> {
    let Some(id) = parse_uuid(id) else {
        return Err(error_page(Some(ctx), AppError::NotFound(Entity::Webhook)));
    };
    s.app.get_webhook(&ctx.who.principal, id).await.map_err(|e| error_page(Some(ctx), e))
}

async fn set_enabled(s: &AppState, ctx: &Ctx, id: &str, enabled: bool) -> Response {
    let w = match webhook(s, ctx, id).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let changes = WebhookChanges { enabled: Some(enabled), ..WebhookChanges::default() };
    match s.app.update_webhook(&ctx.who.principal, w.id, changes).await {
        Ok(_) => see_other(&format!("{LIST}?done={}", if enabled { "enabled" } else { "disabled" })),
        Err(e) => error_page(Some(ctx), e),
    }
}

pub async fn enable(State(s): State<AppState>, Path(id): Path<String>, SignedInForm(ctx, _): SignedInForm) -> Response {
    set_enabled(&s, &ctx, &id, true).await
}

pub async fn disable(
    State(s): State<AppState>,
    Path(id): Path<String>,
    SignedInForm(ctx, _): SignedInForm,
) -> Response {
    set_enabled(&s, &ctx, &id, false).await
}

/// Deleting cannot be undone (its log goes with it), so it takes a second, explicit step.
pub async fn confirm_delete(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> Response {
    let w = match webhook(&s, &ctx, &id).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let body = html! {
        div.card {
            h1 { "Delete the webhook for " code { (w.url.as_str()) } "?" }
            p.lead { "No more events are posted to it, and its delivery log is removed. This cannot be undone." }
            form.inline method="post" action=(format!("{LIST}/{}/delete", w.id)) {
                (csrf(&ctx))
                button.button.danger type="submit" { "Delete webhook" }
                a.button.secondary href=(LIST) { "Cancel" }
            }
        }
    };
    html(StatusCode::OK, layout::page("Delete webhook", &ctx, Some(Section::Webhooks), body))
}

pub async fn delete(State(s): State<AppState>, Path(id): Path<String>, SignedInForm(ctx, _): SignedInForm) -> Response {
    let w = match webhook(&s, &ctx, &id).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    match s.app.delete_webhook(&ctx.who.principal, w.id).await {
        Ok(()) => see_other(&format!("{LIST}?done=deleted")),
        Err(e) => error_page(Some(&ctx), e),
    }
}

fn status_badge(d: &WebhookDelivery) -> Markup {
    match d.status {
        DeliveryStatus::Delivered => html! { span.badge.active { "Delivered" } },
        DeliveryStatus::Pending => html! { span.badge.invited { "Pending" } },
        DeliveryStatus::Failed => html! { span.badge.revoked { "Failed" } },
    }
}

/// One subscription: its state, and the log of its latest deliveries, each attempt with its status
/// code, latency and the start of the answer; any delivery can be queued again.
pub async fn deliveries(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(done): Query<layout::Done>,
) -> Response {
    let w = match webhook(&s, &ctx, &id).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let log = match s.app.list_webhook_deliveries(&ctx.who.principal, w.id, LOG_LENGTH).await {
        Ok(log) => log,
        Err(e) => return error_page(Some(&ctx), e),
    };
    let body = html! {
        p { a href=(LIST) { "← All webhooks" } }
        h1 { "Webhook " code { (w.url.as_str()) } }
        (notice(done.message(CONFIRMATIONS)))
        div.card {
            p { "Events: " (types_text(&w)) }
            p { "State: " (state_badge(&w)) }
            @if let Some(reason) = &w.disabled_reason { p.alert.info role="note" #disabled-reason { (reason) } }
            div.inline { (actions(&ctx, &w)) }
        }
        section.card aria-labelledby="log-title" {
            h2 #log-title { "Deliveries" }
            @if log.is_empty() {
                (empty("No deliveries yet.", " The next event of a subscribed type is posted within a second."))
            } @else {
                div.table-wrap { table {
                    thead { tr {
                        th scope="col" { "Event" } th scope="col" { "Status" } th scope="col" { "Attempts" }
                        th scope="col" { span.visually-hidden { "Actions" } }
                    } }
                    tbody {
                        @for d in &log {
                            tr {
                                td { code { (d.event_type) } " #" (d.sequence) }
                                td {
                                    (status_badge(d))
                                    @if let Some(next) = d.next_attempt_at { p.muted.small { "Next try " (time(next)) } }
                                }
                                td {
                                    @if d.attempts.is_empty() { span.muted { "None yet" } }
                                    ul.attempts {
                                        @for a in &d.attempts {
                                            li {
                                                (time(a.attempted_at)) " — "
                                                @match a.status_code { Some(code) => { "HTTP " (code) }, None => { "no answer" } }
                                                " in " (a.latency_ms) " ms"
                                                @if let Some(error) = &a.error { br; span.muted { (error) } }
                                                @if let Some(excerpt) = a.response_excerpt.as_deref().filter(|e| !e.is_empty()) {
                                                    br; code.excerpt { (excerpt.chars().take(200).collect::<String>()) }
                                                }
                                            }
                                        }
                                    }
                                }
                                td.actions {
                                    form.inline method="post" action=(format!("{LIST}/{}/deliveries/{}/redeliver", w.id, d.id)) {
                                        (csrf(&ctx))
                                        button.button.secondary.small type="submit"
                                            aria-label=(format!("Redeliver event {}", d.sequence)) { "Redeliver" }
                                    }
                                }
                            }
                        }
                    }
                } }
            }
        }
    };
    html(StatusCode::OK, layout::page("Webhook deliveries", &ctx, Some(Section::Webhooks), body))
}

pub async fn redeliver(
    State(s): State<AppState>,
    Path((id, delivery)): Path<(String, String)>,
    SignedInForm(ctx, _): SignedInForm,
) -> Response {
    let w = match webhook(&s, &ctx, &id).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let Some(delivery) = parse_uuid(&delivery) else {
        return error_page(Some(&ctx), AppError::NotFound(Entity::WebhookDelivery));
    };
    match s.app.redeliver_webhook(&ctx.who.principal, w.id, delivery).await {
        Ok(_) => see_other(&format!("{LIST}/{}?done=redelivered", w.id)),
        Err(e) => error_page(Some(&ctx), e),
    }
}
