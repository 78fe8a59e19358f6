//! Seed 003's staff-side rules: website roles, passwords, names, and the groups and folders a staff user
//! is a member of.

use uuid::Uuid;

use super::{Refusal, Role, Rule, Timestamp};

/// Seed 003's `WebsiteRole`, mapped onto Frontdesk's two roles. Accepted (case-insensitively): `Admin`,
/// and `Agent` or its alias `User` (the forms platform's name for a non-admin member). See
/// docs/decisions/staff-website-roles.md.
pub fn parse_website_role(s: &str) -> Result<WebsiteRole, Refusal> {
    match s.trim().to_ascii_lowercase().as_str() {
        "admin" => Ok(WebsiteRole { role: Role::Admin, named_user: false }),
        "agent" => Ok(WebsiteRole { role: Role::Agent, named_user: false }),
        "user" => Ok(WebsiteRole { role: Role::Agent, named_user: true }),
        _ => Err(Refusal::new(Rule::Format, "must be one of Admin, Agent, User")),
    }
}

/// Seed 003's `WebsiteRole` as a client wrote it: the role, and for agents whether the client called
/// it `User` (the forms platform's word), so it reads back as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebsiteRole {
    pub role: Role,
    pub named_user: bool,
}

/// How a role is written in seed 003 bodies: `Admin`, or `User` / `Agent` as it was written.
pub fn website_role(role: Role, named_user: bool) -> &'static str {
    match role {
        Role::Admin => "Admin",
        Role::Agent if named_user => "User",
        Role::Agent => "Agent",
    }
}

/// A password as chosen by a person: 8 to 128 characters, the minimum NIST SP 800-63B sets for a
/// password a person chooses (seed 003's example `String`, 6 characters, is refused). Never stored:
/// only its argon2id hash is.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub const MIN: usize = 8;
    pub const MAX: usize = 128;
    /// [`Password::MAX`] characters of at most four bytes each.
    pub const MAX_BYTES: usize = 4 * Self::MAX;

    pub fn parse(s: &str) -> Result<Self, Refusal> {
        if s.len() > Self::MAX_BYTES {
            return Err(Refusal::too_long(Self::MAX));
        }
        let n = s.chars().count();
        if n < Self::MIN {
            Err(Refusal::too_short(Self::MIN))
        } else if n > Self::MAX {
            Err(Refusal::too_long(Self::MAX))
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
pub fn parse_person_name(s: &str) -> Result<String, Refusal> {
    super::text::bounded(s, 100).map(|()| s.trim().to_owned())
}

/// Seed 003: `ExternalId` is at most 50 characters.
pub fn parse_staff_external_id(s: &str) -> Result<String, Refusal> {
    if s.is_empty() {
        return Err(Refusal::new(Rule::NotEmpty, "must not be empty"));
    }
    super::text::bounded(s, 50).map(|()| s.to_owned())
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
        assert_eq!(parse_website_role("Admin").map(|w| w.role), Ok(Role::Admin));
        assert_eq!(parse_website_role("agent"), Ok(WebsiteRole { role: Role::Agent, named_user: false }));
        assert_eq!(parse_website_role("User"), Ok(WebsiteRole { role: Role::Agent, named_user: true }));
        assert_eq!(website_role(Role::Agent, true), "User");
        assert_eq!(website_role(Role::Admin, true), "Admin");
        assert!(parse_website_role("String").is_err());
    }

    #[test]
    fn passwords_are_6_to_128_characters_and_never_printed() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse("String").is_err(), "6 characters");
        assert!(Password::parse("Seven77").is_err(), "7 characters");
        assert!(Password::parse("Eight888").is_ok());
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
