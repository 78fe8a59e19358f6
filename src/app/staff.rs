//! Staff users: the members of a workspace's team.

use uuid::Uuid;

use super::{App, AppResult, Principal};
use crate::domain::{EmailAddress, Role, StaffStatus, StaffUser, Timestamp};

#[derive(Debug, Clone)]
pub struct NewStaffUser {
    pub email: EmailAddress,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub external_id: Option<String>,
    pub role: Role,
    pub phone_number: Option<String>,
}

impl App {
    /// Adds a member to the team, `Invited` until the invitation is accepted.
    pub async fn create_staff_user(&self, who: &Principal, new: NewStaffUser) -> AppResult<StaffUser> {
        who.require(Role::Admin)?;
        let now = Timestamp::now();
        let user = StaffUser {
            id: Uuid::new_v4(),
            workspace_id: who.workspace_id(),
            email: new.email.into_string(),
            first_name: new.first_name,
            last_name: new.last_name,
            external_id: new.external_id,
            role: new.role,
            role_named_user: false,
            status: StaffStatus::Invited,
            phone_number: new.phone_number,
            created_at: now,
            updated_at: now,
        };
        self.store.insert_staff_user(&user, who.actor()).await?;
        Ok(user)
    }

    pub async fn get_staff_user(&self, who: &Principal, id: Uuid) -> AppResult<StaffUser> {
        who.require(Role::Agent)?;
        Ok(self.store.get_staff_user(who.workspace_id(), id).await?)
    }

    pub async fn list_staff_users(&self, who: &Principal) -> AppResult<Vec<StaffUser>> {
        who.require(Role::Agent)?;
        Ok(self.store.list_staff_users(who.workspace_id()).await?)
    }

    /// The staff users among `ids`, whatever their status: the names a page shows beside what they
    /// did, read by primary key rather than with the whole team. Ids of anything else are left out.
    pub async fn staff_users_among(&self, who: &Principal, ids: &[Uuid]) -> AppResult<Vec<StaffUser>> {
        who.require(Role::Agent)?;
        Ok(self.store.staff_users_among(who.workspace_id(), ids).await?)
    }

    /// The first `limit` active staff users in the order they joined (who can be chosen as an
    /// assignee), and whether more follow.
    pub async fn active_staff_users(&self, who: &Principal, limit: i64) -> AppResult<(Vec<StaffUser>, bool)> {
        who.require(Role::Agent)?;
        Ok(self.store.active_staff_users(who.workspace_id(), limit).await?)
    }
}
