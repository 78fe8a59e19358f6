//! Who a ticket can be assigned to, for the ticket page's assignee form and the list's filter.
//!
//! A page reads at most [`LISTED`] active staff members, never the whole team: reading a team of
//! thousands row by row was most of a ticket page's cost. A larger team is listed as far as that and
//! also offered a field that takes anyone's address.

use std::collections::HashMap;

use maud::{Markup, html};
use uuid::Uuid;

use super::super::layout::Field;
use super::super::{Ctx, Draft};
use super::staff_name;
use crate::app::{AppError, StaffKey};
use crate::domain::{FieldError, Refusal, Rule, StaffStatus, StaffUser};
use crate::http::AppState;

/// Active staff members listed as choices, in the order they joined.
const LISTED: i64 = 100;
/// The field that names an assignee by address, shown when the team has more than [`LISTED`].
pub const EMAIL_FIELD: &str = "assignee_email";

/// The first [`LISTED`] active staff members, and whether there are more.
pub struct Team {
    pub listed: Vec<StaffUser>,
    pub more: bool,
}

impl Team {
    pub async fn load(s: &AppState, ctx: &Ctx) -> Result<Self, AppError> {
        let (listed, more) = s.app.active_staff_users(&ctx.who.principal, LISTED).await?;
        Ok(Self { listed, more })
    }

    /// The choices of a select: `none` first, then the listed members and `current` (the assignee
    /// or the filter's choice, also when disabled or not listed), in the order they joined.
    pub fn choices(&self, none: &str, current: Option<&StaffUser>) -> Vec<(String, String)> {
        let mut members: Vec<&StaffUser> = self.listed.iter().collect();
        if let Some(c) = current.filter(|c| !self.listed.iter().any(|u| u.id == c.id)) {
            members.push(c);
            members.sort_by_key(|u| (u.created_at, u.id));
        }
        std::iter::once((String::new(), none.to_owned()))
            .chain(members.into_iter().map(|u| (u.id.to_string(), staff_name(u))))
            .collect()
    }

    /// The address field beside the select, when the select does not list everyone.
    pub fn email_field(&self, id_prefix: &str, draft: &Draft) -> Markup {
        html! {
            @if self.more {
                (Field::text(EMAIL_FIELD, "Assignee's e-mail").optional().kind("email", "off")
                    .hint("instead of the list: it shows only part of the team").render(id_prefix, draft))
            }
        }
    }
}

/// Adds the staff users among `ids` that `known` lacks, read by id.
pub async fn add_missing(
    s: &AppState,
    ctx: &Ctx,
    known: &mut HashMap<Uuid, StaffUser>,
    ids: impl IntoIterator<Item = Uuid>,
) -> Result<(), AppError> {
    let mut missing: Vec<Uuid> = ids.into_iter().filter(|id| !id.is_nil() && !known.contains_key(id)).collect();
    missing.sort_unstable();
    missing.dedup();
    for u in s.app.staff_users_among(&ctx.who.principal, &missing).await? {
        known.insert(u.id, u);
    }
    Ok(())
}

/// The active staff member whose address was typed into [`EMAIL_FIELD`]; a refusal of that field
/// when there is none.
pub async fn by_email(s: &AppState, ctx: &Ctx, email: &str) -> Result<Result<Uuid, FieldError>, AppError> {
    match s.app.find_staff_member(&ctx.who.principal, StaffKey::Email(email)).await {
        Ok(m) if m.user.status == StaffStatus::Active => Ok(Ok(m.user.id)),
        Ok(_) | Err(AppError::NotFound(_)) => Ok(Err(FieldError::new(
            EMAIL_FIELD,
            Refusal::new(Rule::NotFound, "is not the address of an active member of the team"),
        ))),
        Err(e) => Err(e),
    }
}
