//! Seed 003's staff-side rules: website roles, passwords, names, and the groups and folders a staff user
//! is a member of.

use uuid::Uuid;

use super::{Role, Timestamp};

/// Seed 003's `WebsiteRole`, mapped onto Frontdesk's two roles. Accepted (case-insensitively): `Admin`,
/// and `Agent` or its alias `User` (the forms platform's name for a non-admin member). See
/// docs/decisions/staff-website-roles.md.
pub fn parse_website_role(s: &str) -> Result<Role, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "admin" => Ok(Role::Admin),
        "agent" | "user" => Ok(Role::Agent),
        _ => Err("must be one of Admin, Agent, User".into()),
    }
}

/// How a role is written in seed 003 bodies.
pub fn website_role(role: Role) -> &'static str {
    match role {
        Role::Admin => "Admin",
        Role::Agent => "Agent",
    }
}

/// A password as chosen by a person: 6 to 128 characters (6: seed 003's own example, `String`, must
/// pass). Never stored: only its argon2id hash is.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub const MIN: usize = 6;
    pub const MAX: usize = 128;
    /// [`Password::MAX`] characters of at most four bytes each.
    pub const MAX_BYTES: usize = 4 * Self::MAX;

    pub fn parse(s: &str) -> Result<Self, String> {
        let n = s.chars().count();
        if n < Self::MIN {
            Err(format!("must be at least {} characters", Self::MIN))
        } else if n > Self::MAX {
            Err(format!("must be at most {} characters", Self::MAX))
        } else {
            Ok(Self(s.to_owned()))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

/// A staff user's first or last name: at most 100 characters (the seed sets no bound; this keeps rows small).
pub fn parse_person_name(s: &str) -> Result<String, String> {
    if s.chars().count() > 100 { Err("must be at most 100 characters".into()) } else { Ok(s.trim().to_owned()) }
}

/// Seed 003: `ExternalId` is at most 50 characters.
pub fn parse_staff_external_id(s: &str) -> Result<String, String> {
    let n = s.chars().count();
    if n == 0 {
        Err("must not be empty".into())
    } else if n > 50 {
        Err("must be at most 50 characters".into())
    } else {
        Ok(s.to_owned())
    }
}

/// Which kind of named collection of staff users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectionKind {
    Group,
    Folder,
}

impl CollectionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CollectionKind::Group => "group",
            CollectionKind::Folder => "folder",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "group" => Some(CollectionKind::Group),
            "folder" => Some(CollectionKind::Folder),
            _ => None,
        }
    }
}

/// A staff group or folder of a workspace (seed 003's `Groups` and `Folders`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffCollection {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub kind: CollectionKind,
    pub name: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn website_roles_map_onto_admin_and_agent() {
        assert_eq!(parse_website_role("Admin"), Ok(Role::Admin));
        assert_eq!(parse_website_role("agent"), Ok(Role::Agent));
        assert_eq!(parse_website_role("User"), Ok(Role::Agent));
        assert!(parse_website_role("String").is_err());
    }

    #[test]
    fn passwords_are_6_to_128_characters_and_never_printed() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse("String").is_ok());
        assert!(Password::parse("long enough").is_ok());
        assert!(Password::parse(&"x".repeat(129)).is_err());
        assert_eq!(format!("{:?}", Password::parse("secret123").unwrap()), "Password(***)");
    }

    #[test]
    fn external_id_is_at_most_50_characters() {
        assert!(parse_staff_external_id(&"x".repeat(50)).is_ok());
        assert!(parse_staff_external_id(&"x".repeat(51)).is_err());
    }
}
