//! Seed 004: customers. A customer IS an external user of the workspace's built-in e-mail channel,
//! with `identifier` = e-mail and `name` = displayName, so it shows in seed 001's lists and blocking it
//! there makes it inactive here.

use uuid::Uuid;

use super::{App, AppError, AppResult, NewExternalUser, Principal};
use crate::domain::{DisplayName, EmailAddress, ExternalUser, Identifier, Role};
use crate::store::{Entity, ExternalUserFilter, Page, Paging};

impl App {
    /// Creates a customer; only admins may (JSM's "Jira Administrator" permission). A taken e-mail is
    /// `Conflict{field: "identifier"}`.
    pub async fn create_customer(
        &self,
        who: &Principal,
        display_name: DisplayName,
        email: EmailAddress,
    ) -> AppResult<ExternalUser> {
        who.require(Role::Admin)?;
        let channel = self.store.builtin_email_channel(who.workspace_id()).await?;
        let identifier = Identifier::parse(email.as_str()).map_err(|m| AppError::invalid("email", m))?;
        let new = NewExternalUser {
            channel_id: channel.id,
            external_id: None,
            identifier: Some(identifier),
            name: Some(display_name),
            tier_id: None,
            external_user_group_id: None,
            time_zone: None,
        };
        self.create_external_user(who, new).await
    }

    /// The customers (e-mail channel users) matching `query` in name or e-mail, oldest first.
    pub async fn list_customers(
        &self,
        who: &Principal,
        query: Option<String>,
        paging: Paging,
    ) -> AppResult<Page<ExternalUser>> {
        who.require(Role::Agent)?;
        let channel = self.store.builtin_email_channel(who.workspace_id()).await?;
        let filter = ExternalUserFilter { channel_ids: vec![channel.id], search: query, ..Default::default() };
        Ok(self.store.list_external_users(who.workspace_id(), &filter, paging).await?)
    }

    /// One customer by its external user id; users of other channels are not customers.
    pub async fn get_customer(&self, who: &Principal, id: Uuid) -> AppResult<ExternalUser> {
        who.require(Role::Agent)?;
        let channel = self.store.builtin_email_channel(who.workspace_id()).await?;
        let user = self.store.get_external_user(who.workspace_id(), id).await?;
        if user.channel_id != channel.id {
            return Err(AppError::NotFound(Entity::ExternalUser));
        }
        Ok(user)
    }
}
