//! One person across channels: super identities, how identifiers are compared for automatic
//! matching, and the audit trail of merges and erasures.

use uuid::Uuid;

use super::Timestamp;

/// The same person across channels (seed 001's `superIdentityId`). A merged one has no external users
/// left and names the survivor that has them now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuperIdentity {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub created_at: Timestamp,
    pub merged_into: Option<Uuid>,
    pub merged_at: Option<Timestamp>,
}

/// What an audit record says happened. The record holds ids and the time, never personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    /// `subject` (absorbed) was merged into `target` (survivor).
    Merged,
    /// External user `subject` was linked to super identity `target`.
    Linked,
    /// External user `subject` was unlinked into the new super identity `target`.
    Unlinked,
    /// Super identity `subject` and all its external users were erased.
    PersonErased,
    /// External user `subject` was erased.
    ExternalUserErased,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Merged => "super_identity.merged",
            AuditAction::Linked => "external_user.linked",
            AuditAction::Unlinked => "external_user.unlinked",
            AuditAction::PersonErased => "super_identity.erased",
            AuditAction::ExternalUserErased => "external_user.erased",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Merged, Self::Linked, Self::Unlinked, Self::PersonErased, Self::ExternalUserErased]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub action: AuditAction,
    /// The principal's actor id (an API key, a staff user, or nil for the console).
    pub actor_id: Uuid,
    pub subject_id: Uuid,
    pub target_id: Option<Uuid>,
    pub at: Timestamp,
}

/// Characters a phone number may be written with between its digits.
const PHONE_SEPARATORS: [char; 4] = [' ', '-', '(', ')'];

/// The identifier as automatic matching compares it: an e-mail address trimmed and lower-cased, a
/// phone number as `+` and its digits (separators dropped, a `+` only in front); `None` for anything
/// else (a username matches nobody on another channel). Migration 12 computes the same for the rows
/// stored before it.
pub fn match_key(identifier: &str) -> Option<String> {
    let t = identifier.trim();
    let chars: Vec<char> = t.chars().collect();
    if chars.len() >= 3 && chars[1..chars.len() - 1].contains(&'@') {
        return Some(t.to_lowercase());
    }
    let rest = t.strip_prefix('+').unwrap_or(t);
    if !rest.chars().all(|c| c.is_ascii_digit() || c == '.' || PHONE_SEPARATORS.contains(&c)) {
        return None;
    }
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    (7..=15).contains(&digits.len()).then(|| format!("+{digits}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_addresses_match_trimmed_and_in_any_case() {
        assert_eq!(match_key("  Jane.Doe@Example.COM "), Some("jane.doe@example.com".into()));
        assert_eq!(match_key("@example.com"), None);
    }

    #[test]
    fn phone_numbers_match_by_their_digits_with_a_leading_plus() {
        assert_eq!(match_key("+1 (555) 123-4567"), Some("+15551234567".into()));
        assert_eq!(match_key("15551234567"), Some("+15551234567".into()));
        assert_eq!(match_key("555.123.4567"), Some("+5551234567".into()));
        assert_eq!(match_key("1+5551234567"), None);
        assert_eq!(match_key("12345"), None);
    }

    #[test]
    fn usernames_match_nothing() {
        assert_eq!(match_key("jane_doe"), None);
        assert_eq!(match_key("agent007x"), None);
    }

    #[test]
    fn audit_actions_read_back_as_written() {
        for a in [AuditAction::Merged, AuditAction::Unlinked, AuditAction::ExternalUserErased] {
            assert_eq!(AuditAction::parse(a.as_str()), Some(a));
        }
    }
}
