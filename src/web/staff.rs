//! The staff section: the team's members, inviting new ones and disabling accounts.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

use super::layout::{self, Field, Section, csrf, empty, notice, refused, role_badge, time};
use super::{Ctx, Draft, SignedInForm, error_page, field_errors, html, message_page, see_other};
use crate::app::Entity;
use crate::app::{AppError, InvitedStaffUser, StaffInvite, invitation_url};
use crate::domain::{
    EmailAddress, FieldError, Refusal, Role, Rule, StaffStatus, StaffUser, parse_person_name, parse_uuid,
};
use crate::http::AppState;

pub async fn list(State(s): State<AppState>, ctx: Ctx, Query(done): Query<layout::Done>) -> Response {
    let message = done.message(&[("disabled", "The account was disabled and signed out everywhere.")]);
    render(&s, &ctx, StatusCode::OK, Draft::default(), None, message).await
}

pub async fn invite(State(s): State<AppState>, SignedInForm(ctx, form): SignedInForm) -> Response {
    let mut errors = Vec::new();
    let email =
        EmailAddress::parse(form.get("email").trim()).map_err(|m| errors.push(FieldError::new("email", m))).ok();
    let role = Role::parse(form.get("role"));
    if role.is_none() {
        errors.push(FieldError::new("role", Refusal::new(Rule::Format, "must be admin or agent")));
    }
    let mut name = |field: &str| {
        form.optional(field)
            .and_then(|v| parse_person_name(&v).map_err(|m| errors.push(FieldError::new(field, m))).ok())
    };
    let (first_name, last_name) = (name("firstName"), name("lastName"));
    let (Some(email), Some(role), true) = (email, role, errors.is_empty()) else {
        return render(&s, &ctx, StatusCode::UNPROCESSABLE_ENTITY, Draft::refused(form, errors), None, None).await;
    };
    let input = StaffInvite {
        email,
        first_name,
        last_name,
        external_id: None,
        role,
        role_named_user: false,
        password: None,
        group_ids: Vec::new(),
        folder_ids: Vec::new(),
    };
    match s.app.invite_staff_user(&ctx.who.principal, input).await {
        Ok(invited) => render(&s, &ctx, StatusCode::CREATED, Draft::default(), Some(invited), None).await,
        Err(e) => match field_errors(&e) {
            Some(errors) => {
                render(&s, &ctx, StatusCode::UNPROCESSABLE_ENTITY, Draft::refused(form, errors), None, None).await
            }
            None => error_page(Some(&ctx), e),
        },
    }
}

fn status_badge(status: StaffStatus) -> maud::Markup {
    let class = status.as_str();
    html! { span class=(format!("badge {class}")) { (status.title()) } }
}

fn full_name(u: &StaffUser) -> String {
    [u.first_name.as_deref(), u.last_name.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ")
}

async fn render(
    s: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    draft: Draft,
    invited: Option<InvitedStaffUser>,
    done: Option<&str>,
) -> Response {
    let users = match s.app.list_staff_users(&ctx.who.principal).await {
        Ok(u) => u,
        Err(e) => return error_page(Some(ctx), e),
    };
    let roles = vec![("agent".to_owned(), "Agent".to_owned()), ("admin".to_owned(), "Admin".to_owned())];
    let body = html! {
        h1 { "Staff" }
        p.lead { "The members of your team. Admins manage this workspace; agents work with external users and tickets." }
        (notice(done))
        @if let Some(invited) = &invited {
            div.alert.success role="status" #new-invitation {
                strong { (invited.user.email) " is invited." }
                p { "Send them this link to choose a password. It is shown only this once and works for 7 days." }
                div.secret {
                    label.visually-hidden for="invitation-link" { "Invitation link" }
                    input #invitation-link type="text" readonly value=(invitation_url(&s.public_base_url, &invited.invitation_token)) spellcheck="false";
                    button.button type="button" data-copy="invitation-link" hidden { "Copy" }
                }
            }
        }
        @if ctx.is_admin() {
            section.card aria-labelledby="invite-title" {
                h2 #invite-title { "Invite a team member" }
                (refused(&draft, &["email", "role", "firstName", "lastName"]))
                form.row method="post" action="/settings/staff" {
                    (csrf(ctx))
                    (Field::text("email", "E-mail").kind("email", "off").render("invite", &draft))
                    (Field::text("firstName", "First name").optional().render("invite", &draft))
                    (Field::text("lastName", "Last name").optional().render("invite", &draft))
                    (layout::select("invite", "role", "Role", &roles, &draft))
                    button.button type="submit" { "Invite" }
                }
            }
        } @else {
            div.alert.info role="note" { "You are signed in as an agent: this section is read-only." }
        }
        section.card aria-labelledby="staff-title" {
            h2 #staff-title { "Team" }
            @if users.is_empty() {
                (empty("No team members yet.", " Invite your first colleague above."))
            } @else {
                div.table-wrap { table {
                    thead { tr {
                        th scope="col" { "E-mail" } th.optional scope="col" { "Name" } th scope="col" { "Role" }
                        th scope="col" { "Status" } th.optional scope="col" { "Added" }
                        @if ctx.is_admin() { th scope="col" { span.visually-hidden { "Actions" } } }
                    } }
                    tbody {
                        @for u in &users {
                            tr {
                                td { (u.email) @if u.id == ctx.who.user.id { " " span.muted { "(you)" } } }
                                td.optional { (full_name(u)) }
                                td { (role_badge(u.role)) }
                                td { (status_badge(u.status)) }
                                td.optional { (time(u.created_at)) }
                                @if ctx.is_admin() {
                                    td.actions {
                                        @if u.id != ctx.who.user.id && u.status != StaffStatus::Disabled {
                                            a.button.secondary.small href=(format!("/settings/staff/{}/disable", u.id))
                                                aria-label=(format!("Disable {}", u.email)) { "Disable" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                } }
            }
        }
    };
    html(status, layout::page("Staff", ctx, Some(Section::Staff), body))
}

async fn user_to_disable(s: &AppState, ctx: &Ctx, id: &str) -> Result<StaffUser, Response> {
    let Some(id) = parse_uuid(id) else {
        return Err(error_page(Some(ctx), AppError::NotFound(Entity::StaffUser)));
    };
    if id == ctx.who.user.id {
        return Err(message_page(
            StatusCode::CONFLICT,
            Some(ctx),
            "You can't disable your own account",
            "Ask another admin to do it, so the workspace is never left without one.",
        ));
    }
    s.app.get_staff_user(&ctx.who.principal, id).await.map_err(|e| error_page(Some(ctx), e))
}

pub async fn confirm_disable(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> Response {
    let user = match user_to_disable(&s, &ctx, &id).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let body = html! {
        div.card {
            h1 { "Disable " (user.email) "?" }
            p.lead { "They are signed out at once and can no longer sign in. Their work stays as it is." }
            form.inline method="post" action=(format!("/settings/staff/{}/disable", user.id)) {
                (csrf(&ctx))
                button.button.danger type="submit" { "Disable account" }
                a.button.secondary href="/settings/staff" { "Cancel" }
            }
        }
    };
    html(StatusCode::OK, layout::page("Disable account", &ctx, Some(Section::Staff), body))
}

pub async fn disable(
    State(s): State<AppState>,
    Path(id): Path<String>,
    SignedInForm(ctx, _): SignedInForm,
) -> Response {
    let user = match user_to_disable(&s, &ctx, &id).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    match s.app.disable_staff_user(&ctx.who.principal, user.id).await {
        Ok(_) => see_other("/settings/staff?done=disabled"),
        Err(e) => error_page(Some(&ctx), e),
    }
}
