//! Settings: command-line flags over environment variables over a config file over defaults.
//!
//! The config file is a small `key = value` list (TOML's flat subset), e.g.
//!
//! ```text
//! bind = "0.0.0.0:8080"
//! database_url = "postgres://frontdesk@db/frontdesk"
//! ```

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://frontdesk.db";

/// Keys read from a config file.
#[derive(Debug, Default)]
pub struct FileSettings(HashMap<String, String>);

impl FileSettings {
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let mut map = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = line.split_once('=').ok_or_else(|| format!("line {}: expected key = value", n + 1))?;
            let value = value.trim();
            let value = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
            map.insert(key.trim().to_owned(), value.to_owned());
        }
        Ok(Self(map))
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
}

/// A database URL whose `Debug` and `Display` hide the password.
#[derive(Clone)]
pub struct DatabaseUrl(pub String);

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // scheme://user:password@host → scheme://user:***@host
        match (self.0.find("://"), self.0.rfind('@')) {
            (Some(scheme_end), Some(at)) if at > scheme_end => {
                let credentials = &self.0[scheme_end + 3..at];
                match credentials.split_once(':') {
                    Some((user, _)) => write!(f, "{}{}:***{}", &self.0[..scheme_end + 3], user, &self.0[at..]),
                    None => f.write_str(&self.0),
                }
            }
            _ => f.write_str(&self.0),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_url_hides_the_password() {
        let url = DatabaseUrl("postgres://app:s3cret@db:5432/frontdesk".into());
        assert_eq!(url.to_string(), "postgres://app:***@db:5432/frontdesk");
        assert!(!format!("{url:?}").contains("s3cret"));
        assert_eq!(DatabaseUrl("sqlite://frontdesk.db".into()).to_string(), "sqlite://frontdesk.db");
    }

    #[test]
    fn config_file_reads_flat_key_values() {
        let s = FileSettings::parse("# comment\nbind = \"0.0.0.0:9000\"\ndatabase_url=sqlite://x.db\n").unwrap();
        assert_eq!(s.get("bind"), Some("0.0.0.0:9000"));
        assert_eq!(s.get("database_url"), Some("sqlite://x.db"));
        assert!(FileSettings::parse("nonsense").is_err());
    }
}
