//! Jira Service Management's organizations: external user groups named by their number in the
//! workspace, whose members are the customers whose group it is (docs/decisions/organizations.md).
//! A customer belongs to at most one organization, as an external user has at most one group.

use uuid::Uuid;

use super::{AccountList, App, AppError, AppResult, GroupInput, Principal};
use crate::domain::{DisplayName, ExternalId, ExternalUser, ExternalUserGroup, FieldError, Refusal, Role, Rule};
use crate::domain::{Timestamp, query::GroupFilter};
use crate::store::{GroupMembersChange, GroupMembersOutcome, Page, Paging};

impl App {
    /// A new organization is a new group; its external id is its own id, since JSM gives none and
    /// seed 001 needs one that is unique in the workspace.
    pub async fn create_organization(&self, who: &Principal, name: DisplayName) -> AppResult<ExternalUserGroup> {
        who.require(Role::Admin)?;
        let id = Uuid::new_v4();
        let external_id = ExternalId::parse(&id.to_string()).map_err(|e| AppError::Internal(e.to_string()))?;
        let input = GroupInput { external_id, name, tier_id: None };
        self.create_group_with_id(who, id, input).await
    }

    pub async fn list_organizations(&self, who: &Principal, paging: Paging) -> AppResult<Page<ExternalUserGroup>> {
        self.list_groups(who, &GroupFilter::default(), paging).await
    }

    pub async fn get_organization(&self, who: &Principal, number: i64) -> AppResult<ExternalUserGroup> {
        who.require(Role::Agent)?;
        Ok(self.store.group_by_number(who.workspace_id(), number).await?)
    }

    /// Its members stay, in no organization.
    pub async fn delete_organization(&self, who: &Principal, number: i64) -> AppResult<()> {
        who.require(Role::Admin)?;
        let group = self.store.group_by_number(who.workspace_id(), number).await?;
        self.delete_group(who, group.id).await
    }

    pub async fn organization_users(
        &self,
        who: &Principal,
        number: i64,
        paging: Paging,
    ) -> AppResult<Page<ExternalUser>> {
        who.require(Role::Agent)?;
        Ok(self.store.group_members(who.workspace_id(), number, paging).await?)
    }

    /// All or none. A customer already in another organization is refused by its index, never moved:
    /// moving would silently take it out of the other one.
    pub async fn add_organization_users(
        &self,
        who: &Principal,
        number: i64,
        accounts: &AccountList<'_>,
    ) -> AppResult<()> {
        self.change_organization_users(who, number, accounts, true).await
    }

    /// All or none; a customer who is no member is left as it is.
    pub async fn remove_organization_users(
        &self,
        who: &Principal,
        number: i64,
        accounts: &AccountList<'_>,
    ) -> AppResult<()> {
        self.change_organization_users(who, number, accounts, false).await
    }

    /// JSM's "add an organization to a service desk": the workspace's organizations all belong to its
    /// one service desk, so this checks the desk and the organization and changes nothing.
    pub async fn check_service_desk_organization(
        &self,
        who: &Principal,
        desk: Option<Uuid>,
        number: i64,
    ) -> AppResult<()> {
        self.named_service_desk(who, desk).await?;
        self.get_organization(who, number).await.map(|_| ())
    }

    async fn change_organization_users(
        &self,
        who: &Principal,
        number: i64,
        accounts: &AccountList<'_>,
        join: bool,
    ) -> AppResult<()> {
        who.require(Role::Agent)?;
        let users = accounts.distinct()?;
        let change = GroupMembersChange {
            workspace_id: who.workspace_id(),
            number,
            users: &users,
            join,
            at: Timestamp::now(),
            actor: who.actor(),
        };
        match self.store.change_group_members(&change).await? {
            GroupMembersOutcome::Done => Ok(()),
            GroupMembersOutcome::Unknown(unknown) => Err(AppError::Invalid(accounts.errors(&unknown))),
            GroupMembersOutcome::InOtherGroup(taken) => Err(AppError::Invalid(
                accounts
                    .users
                    .iter()
                    .enumerate()
                    .filter_map(|(i, u)| {
                        let (_, other) = taken.iter().find(|(id, _)| Some(*id) == *u)?;
                        let why = format!("already belongs to organization {other}; remove it there first");
                        Some(FieldError::new(format!("{}[{i}]", accounts.field), Refusal::new(Rule::Taken, why)))
                    })
                    .collect(),
            )),
        }
    }
}
