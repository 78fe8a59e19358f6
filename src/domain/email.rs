use std::fmt;

use super::{Refusal, Rule};

/// An e-mail address any of the contracts accepts, so one person's address is one value whichever
/// contract it came in through. The domain's rule is the union of the products' rules:
///
/// - at most 254 characters, one `@`;
/// - the local part: RFC 5322 `atext` characters (letters, digits and ``!#$%&'*+/=?^_`{|}~-``) and
///   dots, neither first nor last nor doubled;
/// - the domain: two or more labels of letters, digits and hyphens, each starting with a letter or
///   digit; the last (the TLD) is two or more letters or a punycode label (`xn--p1ai`).
///
/// Contracts whose product is stricter check more before they build one: the CRM ticket external
/// users API holds addresses to its document's pattern ([`EmailAddress::parse_crm`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

pub const EMAIL_MAX_LEN: usize = 254;

/// The sign-in throttle's key for an account: a SHA-256 of the lower-cased address, so the throttle's
/// table has fixed-size keys and keeps no address anyone typed, and erasing a person can find the row.
pub fn sign_in_account_key(email: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(email.trim().to_lowercase());
    format!("a:{}", super::hex(&digest))
}

const INVALID: &str = "must be a valid e-mail address";

impl EmailAddress {
    /// The domain's rule, which Jira Service Management, the users API's forms platform and the
    /// e-mail channel accept.
    pub fn parse(s: &str) -> Result<Self, Refusal> {
        super::bounded(s, EMAIL_MAX_LEN)?;
        if matches_domain_rule(s) { Ok(Self(s.to_owned())) } else { Err(Refusal::new(Rule::Email, INVALID)) }
    }

    /// The CRM ticket external users API's rule (seed 000): at most 254 characters and the pattern
    /// `^(?!\.)(?!.*\.\.)([A-Za-z0-9_'+\-\.]*)[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}$`,
    /// checked by hand because it uses look-ahead, which the `regex` crate does not offer. Everything
    /// it accepts the domain rule accepts too.
    pub fn parse_crm(s: &str) -> Result<Self, Refusal> {
        let address = Self::parse(s)?;
        if matches_crm_pattern(s) { Ok(address) } else { Err(Refusal::new(Rule::Email, INVALID)) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_atext(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~-".contains(&c)
}

/// `[A-Za-z0-9][A-Za-z0-9-]*`: a domain label as both rules allow it.
fn is_label(label: &str) -> bool {
    let mut bytes = label.bytes();
    bytes.next().is_some_and(|c| c.is_ascii_alphanumeric()) && bytes.all(|c| c.is_ascii_alphanumeric() || c == b'-')
}

fn matches_domain_rule(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.bytes().all(|c| c == b'.' || is_atext(c));
    let Some((labels, tld)) = domain.rsplit_once('.') else {
        return false;
    };
    let tld_ok = (tld.len() >= 2 && tld.bytes().all(|c| c.is_ascii_alphabetic()))
        || tld.strip_prefix("xn--").is_some_and(|rest| !rest.is_empty() && is_label(rest));
    local_ok && tld_ok && labels.split('.').all(is_label)
}

fn matches_crm_pattern(s: &str) -> bool {
    if s.starts_with('.') || s.contains("..") {
        return false;
    }
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let local_ok = local.bytes().all(|c| c.is_ascii_alphanumeric() || b"_'+-.".contains(&c))
        && local.bytes().last().is_some_and(|c| c.is_ascii_alphanumeric() || b"_+-".contains(&c));
    // `([A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}`: at least one label before an alphabetic TLD.
    let Some((labels, tld)) = domain.rsplit_once('.') else {
        return false;
    };
    let tld_ok = tld.len() >= 2 && tld.bytes().all(|c| c.is_ascii_alphabetic());
    local_ok && tld_ok && labels.split('.').all(is_label)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CRM_ACCEPTS: [&str; 5] =
        ["jsmith@example.com", "o'brien+tag@mail.example.co", "a@b.cd", "first.last-@x-.io", "_@a1.example.museum"];

    #[test]
    fn the_crm_rule_accepts_what_its_pattern_accepts() {
        for ok in CRM_ACCEPTS {
            assert!(EmailAddress::parse_crm(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn the_crm_rule_refuses_what_its_pattern_refuses() {
        for bad in [
            "",
            ".jsmith@example.com",
            "j..smith@example.com",
            "jsmith.@example.com",
            "jsmith'@example.com",
            "jsmith@example",
            "jsmith@example.c",
            "jsmith@-example.com",
            "jsmith@example.c0m",
            "js mith@example.com",
            "jsmith@@example.com",
            "jsmith@exa_mple.com",
            "@example.com",
            "ivan@example.xn--p1ai",
            "a!b@example.com",
        ] {
            assert!(EmailAddress::parse_crm(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_domain_rule_holds_every_address_the_crm_rule_accepts() {
        for ok in CRM_ACCEPTS {
            assert!(EmailAddress::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn the_domain_rule_accepts_punycode_plus_addressing_and_special_characters() {
        for ok in [
            "ivan@example.xn--p1ai",
            "user@xn--bcher-kva.example",
            "jsmith+support@example.com",
            "o'brien@example.ie",
            "a!b#c$d%e&f*g=h?i^j`k{l|m}n~o/p@example.com",
            "jsmith'@example.com",
        ] {
            assert!(EmailAddress::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn the_domain_rule_refuses_what_is_no_address() {
        for bad in [
            "",
            "not an address",
            "+15551234",
            "@example.com",
            "jsmith@",
            "jsmith@example",
            ".jsmith@example.com",
            "jsmith.@example.com",
            "j..smith@example.com",
            "js mith@example.com",
            "jsmith@@example.com",
            "jsmith@-example.com",
            "jsmith@example.c0m",
            "jsmith@example.xn--",
            "\"quoted\"@example.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn length_limit_is_254_characters() {
        let domain = format!("{}.com", "a".repeat(63));
        let local = |n: usize| "l".repeat(n);
        let at_limit = format!("{}@{domain}", local(254 - 1 - domain.len()));
        assert_eq!(at_limit.len(), 254);
        assert!(EmailAddress::parse(&at_limit).is_ok());
        assert!(EmailAddress::parse_crm(&at_limit).is_ok());
        let over = format!("{}@{domain}", local(255 - 1 - domain.len()));
        assert_eq!(EmailAddress::parse(&over), Err(Refusal::too_long(254)));
        assert_eq!(EmailAddress::parse_crm(&over), Err(Refusal::too_long(254)));
    }
}
