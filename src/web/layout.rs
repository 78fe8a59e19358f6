//! The page frame and the form pieces every section shares.

use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;

use super::session::CSRF_FIELD;
use super::{Ctx, Draft};
use crate::domain::{Role, Timestamp};

/// The sections of the settings page, in navigation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    ApiKeys,
    Channels,
    Tiers,
    Groups,
    Staff,
    Webhooks,
}

impl Section {
    const ALL: [Section; 6] =
        [Section::ApiKeys, Section::Channels, Section::Tiers, Section::Groups, Section::Staff, Section::Webhooks];

    fn href(self) -> &'static str {
        match self {
            Section::ApiKeys => "/settings/api-keys",
            Section::Channels => "/settings/channels",
            Section::Tiers => "/settings/tiers",
            Section::Groups => "/settings/groups",
            Section::Staff => "/settings/staff",
            Section::Webhooks => "/settings/webhooks",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Section::ApiKeys => "API keys",
            Section::Channels => "Channels",
            Section::Tiers => "Tiers",
            Section::Groups => "User groups",
            Section::Staff => "Staff",
            Section::Webhooks => "Webhooks",
        }
    }
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Frontdesk" }
            link rel="stylesheet" href="/settings/assets/app.css";
            script src="/settings/assets/app.js" defer {}
        }
    }
}

fn brand() -> Markup {
    html! { a.brand href="/settings" { span.brand-mark aria-hidden="true" { "F" } "Frontdesk" } }
}

/// A signed-in page of the settings: top bar with the user and sign-out, section navigation, and `body`.
pub fn page(title: &str, ctx: &Ctx, current: Option<Section>, body: Markup) -> Markup {
    let mut nav: Vec<(&str, &str, bool)> =
        Section::ALL.iter().map(|s| (s.href(), s.label(), Some(*s) == current)).collect();
    nav.push((super::console::PEOPLE, "Console", false));
    frame(title, ctx, "Settings sections", &nav, body)
}

/// The signed-in frame shared by the settings and the console: `nav` is (href, label, current).
pub fn frame(title: &str, ctx: &Ctx, nav_label: &str, nav: &[(&str, &str, bool)], body: Markup) -> Markup {
    let user = &ctx.who.user;
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to content" }
                header.topbar {
                    (brand())
                    div.who {
                        span.email { (user.email) }
                        (role_badge(user.role))
                        form.inline method="post" action="/settings/sign-out" {
                            (csrf(ctx))
                            button.button.link type="submit" { "Sign out" }
                        }
                    }
                }
                div.shell {
                    nav.sidenav aria-label=(nav_label) {
                        ul {
                            @for (href, label, current) in nav {
                                li { a href=(href) aria-current=[current.then_some("page")] { (label) } }
                            }
                        }
                    }
                    main #main tabindex="-1" { (body) }
                }
            }
        }
    }
}

/// A page outside the session: sign-in, invitation, errors before sign-in.
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                main.auth #main {
                    div.card { (brand()) (body) }
                }
            }
        }
    }
}

pub fn csrf(ctx: &Ctx) -> Markup {
    csrf_input(&ctx.csrf)
}

pub fn csrf_input(token: &str) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(token); }
}

pub fn role_badge(role: Role) -> Markup {
    html! { span.badge.admin[role == Role::Admin] { (role.as_str()) } }
}

/// `2024-05-01 13:45 UTC`, in a `<time>` element carrying the exact instant.
pub fn time(t: Timestamp) -> Markup {
    let exact = t.to_rfc3339_seconds();
    // A timeline shows dozens: pieces of the exact form rather than `format!` and `replace`.
    let mut shown = String::with_capacity(20);
    match (exact.get(..10), exact.get(11..16)) {
        (Some(day), Some(minute)) => {
            shown.push_str(day);
            shown.push(' ');
            shown.push_str(minute);
        }
        _ => shown.push_str(&exact),
    }
    shown.push_str(" UTC");
    html! { time datetime=(exact) { (shown) } }
}

/// Where a form's text field was: its label, input, hint and the error of the last submission.
pub struct Field<'a> {
    pub name: &'a str,
    pub label: &'a str,
    pub kind: &'a str,
    pub required: bool,
    pub hint: Option<&'a str>,
    pub autocomplete: Option<&'a str>,
}

impl<'a> Field<'a> {
    pub fn text(name: &'a str, label: &'a str) -> Self {
        Self { name, label, kind: "text", required: true, hint: None, autocomplete: Some("off") }
    }

    pub fn optional(mut self) -> Self {
        self.required = false;
        self
    }

    pub fn hint(mut self, hint: &'a str) -> Self {
        self.hint = Some(hint);
        self
    }

    pub fn kind(mut self, kind: &'a str, autocomplete: &'a str) -> Self {
        self.kind = kind;
        self.autocomplete = Some(autocomplete);
        self
    }

    /// `id_prefix` keeps ids unique when a page holds several forms.
    pub fn render(&self, id_prefix: &str, draft: &Draft) -> Markup {
        let id = format!("{id_prefix}-{}", self.name);
        let error = draft.error(self.name);
        let described = describedby(&id, self.hint.is_some(), error.is_some());
        let value = if self.kind == "password" { "" } else { draft.value(self.name) };
        html! {
            div.field {
                label for=(id) { (self.label) @if !self.required { " " span.hint { "(optional)" } } }
                input #(id) type=(self.kind) name=(self.name) value=(value) required[self.required]
                    autocomplete=[self.autocomplete] aria-invalid=[error.map(|_| "true")]
                    aria-describedby=[described];
                @if let Some(hint) = self.hint { span.hint #(format!("{id}-hint")) { (hint) } }
                @if let Some(error) = error { span.field-error #(format!("{id}-error")) { (self.label) " " (error) } }
            }
        }
    }
}

fn describedby(id: &str, hint: bool, error: bool) -> Option<String> {
    let parts: Vec<String> =
        [hint.then(|| format!("{id}-hint")), error.then(|| format!("{id}-error"))].into_iter().flatten().collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// A `<select>` with a label; `options` are (value, label).
pub fn select(id_prefix: &str, name: &str, label: &str, options: &[(String, String)], draft: &Draft) -> Markup {
    let id = format!("{id_prefix}-{name}");
    let error = draft.error(name);
    let chosen = draft.value(name);
    html! {
        div.field {
            label for=(id) { (label) }
            select #(id) name=(name) aria-invalid=[error.map(|_| "true")]
                aria-describedby=[error.map(|_| format!("{id}-error"))] {
                @for (value, text) in options {
                    option value=(value) selected[value == chosen] { (text) }
                }
            }
            @if let Some(error) = error { span.field-error #(format!("{id}-error")) { (label) " " (error) } }
        }
    }
}

/// A list's empty state: what is missing and what to do about it.
pub fn empty(title: &str, text: &str) -> Markup {
    html! { div.empty { strong { (title) } (text) } }
}

/// The banner of a refused form, listing errors that belong to no field shown.
pub fn refused(draft: &Draft, fields: &[&str]) -> Markup {
    let others: Vec<_> = draft.errors.iter().filter(|e| !fields.contains(&e.field.as_str())).collect();
    html! {
        @if draft.is_refused() {
            div.alert.error role="alert" {
                strong { "Please correct the highlighted fields." }
                @for e in others { p { (e.field) " " (e.message) } }
            }
        }
    }
}

pub fn notice(text: Option<&str>) -> Markup {
    html! { @if let Some(text) = text { div.alert.success role="status" { (text) } } }
}

/// `?done=…` after a form succeeded: which confirmation to show, looked up in the page's own table,
/// so the page never shows free text from the URL.
#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

impl Done {
    pub fn message(&self, known: &[(&str, &'static str)]) -> Option<&'static str> {
        let done = self.done.as_deref()?;
        known.iter().find(|(key, _)| *key == done).map(|(_, message)| *message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_shows_its_minute_in_utc_and_carries_the_exact_instant() {
        let t = Timestamp::from_micros(1_714_571_100_123_456); // 2024-05-01T13:45:00.123456Z
        assert_eq!(time(t).into_string(), "<time datetime=\"2024-05-01T13:45:00Z\">2024-05-01 13:45 UTC</time>");
    }
}
