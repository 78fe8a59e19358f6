use std::fmt;

use super::{Refusal, Rule};

/// Refuses text of more than `max_chars` characters or [`max_bytes`]`(max_chars)` bytes in UTF-8:
/// what a stored field holds is bounded in bytes, whatever its characters.
pub fn bounded(s: &str, max_chars: usize) -> Result<(), Refusal> {
    if s.len() > max_bytes(max_chars) || s.chars().count() > max_chars {
        return Err(Refusal::too_long(max_chars));
    }
    Ok(())
}

/// The byte ceiling of a text of `max_chars` characters: four bytes each, UTF-8's longest.
pub const fn max_bytes(max_chars: usize) -> usize {
    4 * max_chars
}

/// Text whose length in characters lies within `MIN..=MAX`, and so at most
/// [`BoundedText::MAX_BYTES`] bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundedText<const MIN: usize, const MAX: usize>(String);

impl<const MIN: usize, const MAX: usize> BoundedText<MIN, MAX> {
    /// The most bytes the text takes in UTF-8 (what a row stores).
    pub const MAX_BYTES: usize = max_bytes(MAX);

    /// Refuses text outside the bounds with the rule stated the way a client reads it; the byte
    /// bound is checked first, so a huge value is refused without counting its characters.
    pub fn parse(s: &str) -> Result<Self, Refusal> {
        if s.len() > Self::MAX_BYTES {
            return Err(Refusal::too_long(MAX));
        }
        let n = s.chars().count();
        if n < MIN {
            Err(Refusal::too_short(MIN))
        } else if n > MAX {
            Err(Refusal::too_long(MAX))
        } else {
            Ok(Self(s.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl<const MIN: usize, const MAX: usize> fmt::Display for BoundedText<MIN, MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Seed 001: "External reference in the integrated system", 3 to 250 characters.
pub type ExternalId = BoundedText<3, 250>;
/// The product's rule for a tier's description (seed 001's sibling tiers API): 3 to 250 characters.
pub type TierDescription = BoundedText<3, 250>;
/// Seed 001: the display name of an external user (and of groups and tiers), 3 to 50 characters.
pub type DisplayName = BoundedText<3, 50>;
impl DisplayName {
    /// A stored name as the external users API may show it. Names that came in through another
    /// contract (JSM allows 1..255 characters) need not meet this contract's 3..50: a longer one is
    /// shown cut to its first 50 characters, a shorter one as no name. Patching back what was shown
    /// keeps the stored name (see [`DisplayName::is_shown_as`]).
    pub fn show(stored: Option<&str>) -> Option<String> {
        let stored = stored?;
        match stored.chars().count() {
            n if n < 3 => None,
            n if n > 50 => Some(stored.chars().take(50).collect()),
            _ => Some(stored.to_owned()),
        }
    }

    /// Whether `given` is what [`DisplayName::show`] makes of `stored`: a client that read a user and
    /// writes it back unchanged changes nothing.
    pub fn is_shown_as(stored: Option<&str>, given: Option<&DisplayName>) -> bool {
        Self::show(stored).as_deref() == given.map(DisplayName::as_str)
    }
}

/// Seed 001: "usernames, emails, phone numbers and etc". The seed sets no bounds; an empty identifier
/// identifies nobody, and 250 matches `externalId`.
pub type Identifier = BoundedText<1, 250>;

/// Seed 004: a customer's `displayName`, by JSM's own rule: 1 to 255 characters once trimmed, so not
/// blank. Looser than seed 001's [`DisplayName`], which still rules `/api/v1/external-users`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerName(String);

impl CustomerName {
    pub const MAX: usize = 255;

    pub fn parse(s: &str) -> Result<Self, Refusal> {
        let s = s.trim();
        if s.is_empty() {
            Err(Refusal::new(Rule::NotEmpty, "must not be blank"))
        } else if bounded(s, Self::MAX).is_err() {
            Err(Refusal::too_long(Self::MAX))
        } else {
            Ok(Self(s.to_owned()))
        }
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_name_is_1_to_255_characters_and_not_blank() {
        assert!(CustomerName::parse("Al").is_ok());
        assert_eq!(CustomerName::parse(" J ").map(CustomerName::into_string), Ok("J".into()));
        assert_eq!(CustomerName::parse("  "), Err(Refusal::new(Rule::NotEmpty, "must not be blank")));
        assert!(CustomerName::parse(&"é".repeat(255)).is_ok());
        assert!(CustomerName::parse(&"é".repeat(256)).is_err());
    }

    #[test]
    fn external_id_is_3_to_250_characters() {
        assert!(ExternalId::parse("ab").is_err());
        assert!(ExternalId::parse("abc").is_ok());
        assert!(ExternalId::parse(&"x".repeat(250)).is_ok());
        assert_eq!(
            ExternalId::parse(&"x".repeat(251)),
            Err(Refusal::new(Rule::TooLong { max: 250 }, "must be at most 250 characters"))
        );
    }

    #[test]
    fn name_is_3_to_50_characters_counted_as_characters_not_bytes() {
        assert_eq!(
            DisplayName::parse("Jo"),
            Err(Refusal::new(Rule::TooShort { min: 3 }, "must be at least 3 characters"))
        );
        assert!(DisplayName::parse("Zoë").is_ok());
        assert!(DisplayName::parse(&"é".repeat(50)).is_ok());
        assert!(DisplayName::parse(&"é".repeat(51)).is_err());
    }

    #[test]
    fn names_from_other_contracts_are_shown_within_3_to_50_characters() {
        assert_eq!(DisplayName::show(Some("Al")), None);
        assert_eq!(DisplayName::show(Some("Zoë")), Some("Zoë".into()));
        assert_eq!(DisplayName::show(Some(&"é".repeat(51))), Some("é".repeat(50)));
        assert_eq!(DisplayName::show(None), None);
        assert!(DisplayName::is_shown_as(Some("Al"), None));
        let cut = DisplayName::parse(&"é".repeat(50)).unwrap();
        assert!(DisplayName::is_shown_as(Some(&"é".repeat(200)), Some(&cut)));
        assert!(!DisplayName::is_shown_as(Some("Al"), Some(&DisplayName::parse("Alf").unwrap())));
    }

    #[test]
    fn every_bound_holds_in_bytes_for_four_byte_characters() {
        let clef = |n: usize| "𝄞".repeat(n);
        assert_eq!(ExternalId::MAX_BYTES, 1000);
        assert!(ExternalId::parse(&clef(250)).is_ok());
        assert!(ExternalId::parse(&clef(251)).is_err());
        assert!(DisplayName::parse(&clef(51)).is_err());
        assert!(Identifier::parse(&clef(251)).is_err());
        assert!(CustomerName::parse(&clef(256)).is_err());
        assert!(bounded(&clef(100), 100).is_ok());
        assert!(bounded(&clef(101), 100).is_err());
        assert!(bounded(&"x".repeat(401), 100).is_err());
    }

    #[test]
    fn identifier_must_not_be_empty() {
        assert!(Identifier::parse("").is_err());
        assert!(Identifier::parse("+15551234").is_ok());
    }
}
