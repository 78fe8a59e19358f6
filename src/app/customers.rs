//! Seed 004: customers and the service desk. A customer IS an external user of the workspace's
//! built-in e-mail channel, with `identifier` = e-mail and `name` = displayName, so it shows in seed
//! 001's lists and blocking it there makes it inactive here. The workspace is the one service desk.

use uuid::Uuid;

use super::{AccountList, App, AppError, AppResult, NewExternalUser, Principal};
use crate::domain::{CustomerName, EmailAddress, ExternalUser, Identifier, Role, Workspace};
use crate::store::{Entity, ExternalUserFilter, Page, Paging};

impl App {
    /// Creates a customer; only admins may (JSM's "Jira Administrator" permission). A taken e-mail is
    /// `Conflict::Taken(Unique::ExternalUserIdentifier)`.
    pub async fn create_customer(
        &self,
        who: &Principal,
        display_name: CustomerName,
        email: EmailAddress,
    ) -> AppResult<ExternalUser> {
        who.require(Role::Admin)?;
        let channel = self.store.builtin_email_channel(who.workspace_id()).await?;
        let identifier = Identifier::parse(email.as_str()).map_err(|m| AppError::invalid("email", m))?;
        let new = NewExternalUser {
            channel_id: channel.id,
            external_id: None,
            identifier: Some(identifier),
            name: None,
            tier_id: None,
            external_user_group_id: None,
            time_zone: None,
        };
        self.insert_external_user_named(who, new, Some(display_name.into_string())).await
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

    /// The caller's service desk (its workspace).
    pub async fn service_desk(&self, who: &Principal) -> AppResult<Workspace> {
        who.require(Role::Agent)?;
        Ok(self.store.service_desk(who.workspace_id()).await?)
    }

    /// The service desk `id` names (`None`: an id that is no UUID): the caller's workspace, or
    /// `NotFound(Workspace)`.
    pub async fn named_service_desk(&self, who: &Principal, id: Option<Uuid>) -> AppResult<Workspace> {
        who.require(Role::Agent)?;
        if id != Some(who.workspace_id()) {
            return Err(AppError::NotFound(Entity::Workspace));
        }
        Ok(self.store.service_desk(who.workspace_id()).await?)
    }

    /// JSM's "add/remove customers to/from a service desk". Every customer of the workspace already
    /// belongs to its one service desk, so this changes nothing; it checks that the desk is the
    /// caller's and that every account is a customer (each unknown one reported by its index).
    pub async fn check_service_desk_customers(
        &self,
        who: &Principal,
        id: Option<Uuid>,
        accounts: &AccountList<'_>,
    ) -> AppResult<()> {
        who.require(Role::Agent)?;
        if id != Some(who.workspace_id()) {
            return Err(AppError::NotFound(Entity::Workspace));
        }
        let users = accounts.distinct()?;
        let unknown = self.store.unknown_customers(who.workspace_id(), &users).await?;
        if unknown.is_empty() { Ok(()) } else { Err(AppError::Invalid(accounts.errors(&unknown))) }
    }
}
