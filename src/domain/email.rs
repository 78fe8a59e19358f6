use std::fmt;

use super::{Refusal, Rule};

/// An e-mail address that satisfies seed 000's rule: at most 254 characters and the pattern
/// `^(?!\.)(?!.*\.\.)([A-Za-z0-9_'+\-\.]*)[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}$`.
///
/// The pattern is checked by hand because it uses look-ahead, which the `regex` crate does not offer,
/// and because the rule is small enough to read as code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

pub const EMAIL_MAX_LEN: usize = 254;

impl EmailAddress {
    pub fn parse(s: &str) -> Result<Self, Refusal> {
        if s.chars().count() > EMAIL_MAX_LEN {
            return Err(Refusal::too_long(EMAIL_MAX_LEN));
        }
        if matches_seed_pattern(s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(Refusal::new(Rule::Email, "must be a valid e-mail address"))
        }
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

fn matches_seed_pattern(s: &str) -> bool {
    if s.starts_with('.') || s.contains("..") {
        return false;
    }
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let local_ok = local.bytes().all(|c| c.is_ascii_alphanumeric() || b"_'+-.".contains(&c))
        && local.bytes().last().is_some_and(|c| c.is_ascii_alphanumeric() || b"_+-".contains(&c));
    if !local_ok {
        return false;
    }
    // `([A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}`: at least one label before an alphabetic TLD.
    let Some((labels, tld)) = domain.rsplit_once('.') else {
        return false;
    };
    let tld_ok = tld.len() >= 2 && tld.bytes().all(|c| c.is_ascii_alphabetic());
    let labels_ok = labels.split('.').all(|label| {
        let mut bytes = label.bytes();
        bytes.next().is_some_and(|c| c.is_ascii_alphanumeric()) && bytes.all(|c| c.is_ascii_alphanumeric() || c == b'-')
    });
    tld_ok && labels_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_the_seed_pattern_accepts() {
        for ok in
            ["jsmith@example.com", "o'brien+tag@mail.example.co", "a@b.cd", "first.last-@x-.io", "_@a1.example.museum"]
        {
            assert!(EmailAddress::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_what_the_seed_pattern_refuses() {
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
        let over = format!("{}@{domain}", local(255 - 1 - domain.len()));
        assert_eq!(
            EmailAddress::parse(&over),
            Err(Refusal::new(Rule::TooLong { max: 254 }, "must be at most 254 characters"))
        );
    }
}
