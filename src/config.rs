//! Settings: command-line flags over environment variables over a config file over defaults.
//!
//! The config file is TOML with the keys of [`FileSettings`], e.g.
//!
//! ```text
//! bind = "0.0.0.0:8080"
//! database_url = "postgres://frontdesk@db/frontdesk"
//! db_max_connections = 32
//! ```
//!
//! Numbers and `migrate` may also be written as strings (`"32"`, `"false"`), as every value is in
//! the environment. A key Frontdesk does not know is an error at start-up, so a typo is not
//! silently ignored.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use crate::store::postgres::PostgresOptions;

pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://frontdesk.db";
/// How many days delivered events stay in the outbox unless `event_retention_days` says otherwise.
pub const DEFAULT_EVENT_RETENTION_DAYS: u64 = 30;

/// Every key a config file may set; each is also read from `FRONTDESK_<KEY>` in the environment.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub bind: Option<String>,
    pub database_url: Option<DatabaseUrl>,
    pub public_url: Option<String>,
    pub db_max_connections: Option<Whole>,
    pub db_statement_timeout_ms: Option<Whole>,
    pub db_acquire_timeout_ms: Option<Whole>,
    pub db_schema: Option<String>,
    pub migrate: Option<Flag>,
    pub rate_limit_per_second: Option<Whole>,
    pub credential_cache_ttl_ms: Option<Whole>,
    pub webhook_allow_private_targets: Option<Flag>,
    pub webhook_timeout_ms: Option<Whole>,
    pub webhook_retry_base_ms: Option<Whole>,
    pub max_connections: Option<Whole>,
    pub header_read_timeout_ms: Option<Whole>,
    pub request_timeout_ms: Option<Whole>,
    pub max_in_flight: Option<Whole>,
    pub max_body_bytes: Option<Whole>,
    pub metrics_token: Option<Secret>,
    pub trusted_proxies: Option<String>,
    pub event_retention_days: Option<Whole>,
}

/// The keys of [`FileSettings`], for reading them from the environment.
const KEYS: [&str; 21] = [
    "bind",
    "database_url",
    "public_url",
    "db_max_connections",
    "db_statement_timeout_ms",
    "db_acquire_timeout_ms",
    "db_schema",
    "migrate",
    "rate_limit_per_second",
    "credential_cache_ttl_ms",
    "webhook_allow_private_targets",
    "webhook_timeout_ms",
    "webhook_retry_base_ms",
    "max_connections",
    "header_read_timeout_ms",
    "request_timeout_ms",
    "max_in_flight",
    "max_body_bytes",
    "metrics_token",
    "trusted_proxies",
    "event_retention_days",
];

impl FileSettings {
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// The `FRONTDESK_<KEY>` variables `var` finds, read with the same rules as the file.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let mut table = toml::Table::new();
        for key in KEYS {
            let name = format!("FRONTDESK_{}", key.to_ascii_uppercase());
            if let Some(value) = var(&name) {
                let one = toml::Table::from_iter([(key.to_owned(), toml::Value::String(value.clone()))]);
                // One variable at a time, so that an error names the variable.
                Self::deserialize(toml::Value::Table(one)).map_err(|e| format!("{name}: {e}"))?;
                table.insert(key.to_owned(), toml::Value::String(value));
            }
        }
        Self::deserialize(toml::Value::Table(table)).map_err(|e| e.to_string())
    }

    /// These settings, with `over`'s wherever it has one.
    pub fn overlaid_by(self, over: Self) -> Self {
        Self {
            bind: over.bind.or(self.bind),
            database_url: over.database_url.or(self.database_url),
            public_url: over.public_url.or(self.public_url),
            db_max_connections: over.db_max_connections.or(self.db_max_connections),
            db_statement_timeout_ms: over.db_statement_timeout_ms.or(self.db_statement_timeout_ms),
            db_acquire_timeout_ms: over.db_acquire_timeout_ms.or(self.db_acquire_timeout_ms),
            db_schema: over.db_schema.or(self.db_schema),
            migrate: over.migrate.or(self.migrate),
            rate_limit_per_second: over.rate_limit_per_second.or(self.rate_limit_per_second),
            credential_cache_ttl_ms: over.credential_cache_ttl_ms.or(self.credential_cache_ttl_ms),
            webhook_allow_private_targets: over.webhook_allow_private_targets.or(self.webhook_allow_private_targets),
            webhook_timeout_ms: over.webhook_timeout_ms.or(self.webhook_timeout_ms),
            webhook_retry_base_ms: over.webhook_retry_base_ms.or(self.webhook_retry_base_ms),
            max_connections: over.max_connections.or(self.max_connections),
            header_read_timeout_ms: over.header_read_timeout_ms.or(self.header_read_timeout_ms),
            request_timeout_ms: over.request_timeout_ms.or(self.request_timeout_ms),
            max_in_flight: over.max_in_flight.or(self.max_in_flight),
            max_body_bytes: over.max_body_bytes.or(self.max_body_bytes),
            metrics_token: over.metrics_token.or(self.metrics_token),
            trusted_proxies: over.trusted_proxies.or(self.trusted_proxies),
            event_retention_days: over.event_retention_days.or(self.event_retention_days),
        }
    }
}

/// What the server and the console commands run with, once every source is read.
#[derive(Debug)]
pub struct Settings {
    /// `None`: the default address, unless a flag names one.
    pub bind: Option<String>,
    pub database_url: DatabaseUrl,
    pub public_url: Option<String>,
    pub pg: PostgresOptions,
    /// Requests a second each credential may make to the support tickets API (then 429); 0 = no limit.
    pub ticket_rate_limit: u32,
    /// How long a node trusts a credential it checked (docs/scaling.md); `None`: the default.
    pub credential_cache_ttl: Option<Duration>,
    /// Whether webhooks may target loopback, private and link-local addresses (docs/webhooks.md).
    pub webhook_allow_private_targets: bool,
    /// How long one webhook delivery attempt may take in all; `None`: the default (15 s). A claim on
    /// a delivery lasts four times as long, so only a dead node's claims run out.
    pub webhook_timeout: Option<Duration>,
    /// The wait after a delivery's first failed attempt (doubled after each further one); `None`:
    /// the default (10 s).
    pub webhook_retry_base: Option<Duration>,
    /// The transport's bounds on connections, time and bodies.
    pub limits: Limits,
    /// When set, `/metrics` answers only `Authorization: Bearer <token>` (401 otherwise).
    pub metrics_token: Option<Secret>,
    /// How long events stay in the outbox once delivered (docs/webhooks.md); `None`: forever
    /// (`event_retention_days = 0`).
    pub event_retention: Option<Duration>,
}

impl Settings {
    /// `file` overlaid by `env`, then checked; `database_url` is the flag's, when given.
    pub fn resolve(file: FileSettings, env: FileSettings, database_url: Option<String>) -> Result<Self, String> {
        let s = file.overlaid_by(env);
        let mut pg = PostgresOptions::default();
        if let Some(n) = s.db_max_connections {
            pg.max_connections = n.narrow("db_max_connections")?;
        }
        if let Some(ms) = s.db_statement_timeout_ms {
            pg.statement_timeout = Duration::from_millis(ms.0);
        }
        if let Some(ms) = s.db_acquire_timeout_ms {
            pg.acquire_timeout = Duration::from_millis(ms.0);
        }
        if let Some(Flag(migrate)) = s.migrate {
            pg.migrate = migrate;
        }
        pg.schema = s.db_schema;
        let ticket_rate_limit = match s.rate_limit_per_second {
            Some(n) => n.narrow("rate_limit_per_second")?,
            None => 0,
        };
        let database_url = database_url
            .map(DatabaseUrl)
            .or(s.database_url)
            .unwrap_or_else(|| DatabaseUrl(DEFAULT_DATABASE_URL.into()));
        let credential_cache_ttl = s.credential_cache_ttl_ms.map(|ms| Duration::from_millis(ms.0));
        let webhook_allow_private_targets = s.webhook_allow_private_targets.is_some_and(|Flag(on)| on);
        let webhook_timeout = match s.webhook_timeout_ms {
            Some(ms) => Some(Duration::from_millis(ms.positive("webhook_timeout_ms")? as u64)),
            None => None,
        };
        let webhook_retry_base = match s.webhook_retry_base_ms {
            Some(ms) => Some(Duration::from_millis(ms.positive("webhook_retry_base_ms")? as u64)),
            None => None,
        };
        let mut limits = Limits::default();
        if let Some(n) = s.max_connections {
            limits.max_connections = n.positive("max_connections")?;
        }
        if let Some(ms) = s.header_read_timeout_ms {
            limits.header_read_timeout = Duration::from_millis(ms.positive("header_read_timeout_ms")? as u64);
        }
        if let Some(ms) = s.request_timeout_ms {
            limits.request_timeout = Duration::from_millis(ms.positive("request_timeout_ms")? as u64);
        }
        if let Some(n) = s.max_in_flight {
            limits.max_in_flight = n.positive("max_in_flight")?;
        }
        if let Some(n) = s.max_body_bytes {
            limits.max_body_bytes = n.positive("max_body_bytes")?;
        }
        let metrics_token = match s.metrics_token {
            Some(t) if t.0.trim().len() < MIN_METRICS_TOKEN_CHARS => {
                return Err(format!("metrics_token must be at least {MIN_METRICS_TOKEN_CHARS} characters"));
            }
            other => other,
        };
        for part in s.trusted_proxies.as_deref().unwrap_or("").split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let ip = part.parse().map_err(|_| format!("trusted_proxies: {part:?} is not an IP address"))?;
            limits.trusted_proxies.push(ip);
        }
        let event_retention = match s.event_retention_days {
            None => Some(Duration::from_secs(DEFAULT_EVENT_RETENTION_DAYS * 24 * 3600)),
            Some(Whole(0)) => None,
            Some(Whole(days)) if days <= 36_500 => Some(Duration::from_secs(days * 24 * 3600)),
            Some(_) => return Err("event_retention_days must be at most 36500 (0 keeps events forever)".into()),
        };
        Ok(Self {
            bind: s.bind,
            metrics_token,
            database_url,
            public_url: s.public_url,
            pg,
            ticket_rate_limit,
            credential_cache_ttl,
            webhook_allow_private_targets,
            webhook_timeout,
            webhook_retry_base,
            limits,
            event_retention,
        })
    }
}

/// The transport's bounds (`http::transport` enforces them); [`Limits::default`] is what the server runs with unless configured.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Open connections at most; further clients wait in the kernel's accept queue.
    pub max_connections: usize,
    /// Time a client has to send a request's headers, and to start its next one on a kept-alive
    /// connection.
    pub header_read_timeout: Duration,
    /// Time from a request's headers to its whole answer, the body's upload included (408 past it).
    pub request_timeout: Duration,
    /// Requests handled at once; past it a request is answered 503 at once instead of queueing.
    pub max_in_flight: usize,
    /// The largest request body the transport passes on (413 past it, at once when the body declares
    /// its length). Each contract has a lower limit of its own, answered in its own envelope after the
    /// body is drained; this one stops what no contract would take from being uploaded at all.
    pub max_body_bytes: usize,
    /// Reverse proxies whose `X-Forwarded-Proto: https` is believed: behind one, cookies get `Secure`.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The body bound of a bulk import (`POST /api/v1/external-users/import`), streamed row by row
    /// rather than held, so it may be far larger than any other body.
    pub max_import_bytes: usize,
    /// The time a bulk import may take, its upload included (`request_timeout` for every other route).
    pub import_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_in_flight: 256,
            // Eight times the largest body a contract takes (1 MiB).
            max_body_bytes: 8 * 1024 * 1024,
            trusted_proxies: Vec::new(),
            // A million rows of a few hundred bytes each, with room to spare.
            max_import_bytes: 1024 * 1024 * 1024,
            import_timeout: Duration::from_secs(60 * 60),
        }
    }
}

/// A whole number, written as a TOML integer or as a string of digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Whole(pub u64);

impl Whole {
    fn narrow(self, key: &str) -> Result<u32, String> {
        u32::try_from(self.0).map_err(|_| format!("{key} is too large"))
    }

    /// For a bound where 0 would refuse everything (a count, a timeout): above 0, or an error.
    fn positive(self, key: &str) -> Result<usize, String> {
        match usize::try_from(self.0) {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("{key} must be a whole number above 0")),
        }
    }
}

impl<'de> Deserialize<'de> for Whole {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Whole;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a whole number")
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Whole, E> {
                u64::try_from(n).map(Whole).map_err(|_| E::invalid_value(de::Unexpected::Signed(n), &self))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Whole, E> {
                Ok(Whole(n))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Whole, E> {
                s.trim().parse().map(Whole).map_err(|_| E::invalid_value(de::Unexpected::Str(s), &self))
            }
        }
        d.deserialize_any(V)
    }
}

/// `true` or `false`, written as a TOML boolean or as a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag(pub bool);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Flag;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("true or false")
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<Flag, E> {
                Ok(Flag(b))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Flag, E> {
                s.trim().parse().map(Flag).map_err(|_| E::invalid_value(de::Unexpected::Str(s), &self))
            }
        }
        d.deserialize_any(V)
    }
}

/// A database URL whose `Debug` and `Display` hide the password.
/// The shortest `metrics_token` accepted: a guessable token would protect nothing.
pub const MIN_METRICS_TOKEN_CHARS: usize = 16;

/// A secret setting: never shown by `Debug`.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(pub String);

/// Whether a query parameter of a database URL holds a secret (`password`, `sslpassword`, ...).
fn is_secret_parameter(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.contains("password") || key.contains("secret") || key == "pass" || key == "pwd"
}

impl fmt::Display for DatabaseUrl {
    /// The URL with the password of its user part (`scheme://user:***@host`) and the value of any
    /// password query parameter (`?password=***`) hidden, so it can be logged.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (base, query) = match self.0.split_once('?') {
            Some((base, query)) => (base, Some(query)),
            None => (self.0.as_str(), None),
        };
        match (base.find("://"), base.rfind('@')) {
            (Some(scheme_end), Some(at)) if at > scheme_end => match base[scheme_end + 3..at].split_once(':') {
                Some((user, _)) => write!(f, "{}{}:***{}", &base[..scheme_end + 3], user, &base[at..])?,
                None => f.write_str(base)?,
            },
            _ => f.write_str(base)?,
        }
        if let Some(query) = query {
            f.write_str("?")?;
            for (i, pair) in query.split('&').enumerate() {
                if i > 0 {
                    f.write_str("&")?;
                }
                match pair.split_once('=') {
                    Some((key, _)) if is_secret_parameter(key) => write!(f, "{key}=***")?,
                    _ => f.write_str(pair)?,
                }
            }
        }
        Ok(())
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |name| vars.get(name).cloned()
    }

    #[test]
    fn database_url_hides_a_password_query_parameter() {
        let url = DatabaseUrl("postgres://db/frontdesk?user=app&password=s3cret&sslmode=require".into());
        assert_eq!(url.to_string(), "postgres://db/frontdesk?user=app&password=***&sslmode=require");
        let both = DatabaseUrl("postgres://app:one@db/x?PassWord=two&sslpassword=three".into());
        let shown = format!("{both} {both:?}");
        assert!(!shown.contains("one") && !shown.contains("two") && !shown.contains("three"), "{shown}");
        let file = FileSettings::parse("database_url = \"postgres://db/x?password=s3cret\"").unwrap();
        assert!(!format!("{file:?}").contains("s3cret"), "{file:?}");
    }

    #[test]
    fn metrics_token_and_trusted_proxies_are_read_and_checked() {
        let vars =
            env(&[("FRONTDESK_METRICS_TOKEN", "0123456789abcdefXYZ"), ("FRONTDESK_TRUSTED_PROXIES", "10.0.0.1, ::1")]);
        let s = Settings::resolve(FileSettings::default(), FileSettings::from_env(vars).unwrap(), None).unwrap();
        assert_eq!(s.metrics_token, Some(Secret("0123456789abcdefXYZ".into())));
        assert!(!format!("{s:?}").contains("0123456789abcdef"), "the token is not shown");
        assert_eq!(s.limits.trusted_proxies, ["10.0.0.1".parse::<std::net::IpAddr>().unwrap(), "::1".parse().unwrap()]);
        let short = env(&[("FRONTDESK_METRICS_TOKEN", "short")]);
        let e = Settings::resolve(FileSettings::default(), FileSettings::from_env(short).unwrap(), None).unwrap_err();
        assert!(e.contains("metrics_token"), "{e}");
        let bad = env(&[("FRONTDESK_TRUSTED_PROXIES", "10.0.0.1,proxy.local")]);
        let e = Settings::resolve(FileSettings::default(), FileSettings::from_env(bad).unwrap(), None).unwrap_err();
        assert!(e.contains("trusted_proxies") && e.contains("proxy.local"), "{e}");
    }

    #[test]
    fn database_url_hides_the_password() {
        let url = DatabaseUrl("postgres://app:s3cret@db:5432/frontdesk".into());
        assert_eq!(url.to_string(), "postgres://app:***@db:5432/frontdesk");
        assert!(!format!("{url:?}").contains("s3cret"));
        assert_eq!(DatabaseUrl("sqlite://frontdesk.db".into()).to_string(), "sqlite://frontdesk.db");
        let file = FileSettings::parse("database_url = \"postgres://app:s3cret@db/frontdesk\"").unwrap();
        assert!(!format!("{file:?}").contains("s3cret"), "{file:?}");
    }

    #[test]
    fn config_file_reads_quoted_values_and_toml_numbers_alike() {
        let text = "# comment\nbind = \"0.0.0.0:9000\"\ndb_max_connections = \"8\"\nrate_limit_per_second = 5\n\
                    migrate = false\ndb_statement_timeout_ms = \"2500\"\n";
        let s = Settings::resolve(FileSettings::parse(text).unwrap(), FileSettings::default(), None).unwrap();
        assert_eq!(s.bind.as_deref(), Some("0.0.0.0:9000"));
        assert_eq!((s.pg.max_connections, s.ticket_rate_limit, s.pg.migrate), (8, 5, false));
        assert_eq!(s.pg.statement_timeout, Duration::from_millis(2500));
        assert_eq!(s.database_url.0, DEFAULT_DATABASE_URL);
    }

    #[test]
    fn an_unknown_key_is_an_error_naming_it() {
        let e = FileSettings::parse("bind = \"0.0.0.0:9000\"\ndatabse_url = \"sqlite://x.db\"\n").unwrap_err();
        assert!(e.contains("databse_url"), "{e}");
        assert!(FileSettings::parse("nonsense").is_err());
    }

    #[test]
    fn a_value_of_the_wrong_kind_is_an_error_naming_its_key() {
        let e = FileSettings::parse("db_max_connections = \"many\"").unwrap_err();
        assert!(e.contains("db_max_connections") && e.contains("whole number"), "{e}");
        let e = FileSettings::parse("migrate = \"sometimes\"").unwrap_err();
        assert!(e.contains("migrate") && e.contains("true or false"), "{e}");
        let file = FileSettings::parse("rate_limit_per_second = 5000000000").unwrap();
        let e = Settings::resolve(file, FileSettings::default(), None).unwrap_err();
        assert!(e.contains("rate_limit_per_second"), "{e}");
    }

    #[test]
    fn flags_win_over_the_environment_which_wins_over_the_file() {
        let file =
            FileSettings::parse("database_url = \"sqlite://file.db\"\ndb_schema = \"file\"\nbind = \"f:1\"").unwrap();
        let env = FileSettings::from_env(env(&[
            ("FRONTDESK_DATABASE_URL", "sqlite://env.db"),
            ("FRONTDESK_DB_SCHEMA", "env"),
            ("FRONTDESK_MIGRATE", "false"),
            ("FRONTDESK_LOG", "debug"),
        ]))
        .unwrap();
        let s = Settings::resolve(file, env, Some("sqlite://flag.db".into())).unwrap();
        assert_eq!(s.database_url.0, "sqlite://flag.db");
        assert_eq!((s.pg.schema.as_deref(), s.bind.as_deref(), s.pg.migrate), (Some("env"), Some("f:1"), false));
    }

    #[test]
    fn a_bad_environment_value_names_its_variable() {
        let e = FileSettings::from_env(env(&[("FRONTDESK_DB_ACQUIRE_TIMEOUT_MS", "soon")])).unwrap_err();
        assert!(e.contains("FRONTDESK_DB_ACQUIRE_TIMEOUT_MS") && e.contains("whole number"), "{e}");
    }

    #[test]
    fn the_environment_reads_exactly_the_file_keys() {
        for key in KEYS {
            let value = if key == "migrate" || key.ends_with("_targets") { "true" } else { "1" };
            let text = format!("{key} = \"{value}\"");
            assert!(FileSettings::parse(&text).is_ok(), "{key}");
        }
        // The other way round: the unknown-key error lists every field the file accepts.
        let e = FileSettings::parse("x = 1").unwrap_err();
        let listed = e.split('`').skip(3).step_by(2).collect::<Vec<_>>();
        assert_eq!(listed, KEYS, "{e}");
    }

    #[test]
    fn webhook_timings_come_from_the_file_and_refuse_zero() {
        let file = FileSettings::parse("webhook_timeout_ms = 2000\nwebhook_retry_base_ms = 50\n").unwrap();
        let s = Settings::resolve(file, FileSettings::default(), None).unwrap();
        assert_eq!(
            (s.webhook_timeout, s.webhook_retry_base),
            (Some(Duration::from_secs(2)), Some(Duration::from_millis(50)))
        );
        let zero = FileSettings::parse("webhook_timeout_ms = 0").unwrap();
        assert!(Settings::resolve(zero, FileSettings::default(), None).unwrap_err().contains("webhook_timeout_ms"));
    }

    #[test]
    fn transport_limits_come_from_the_file_and_the_environment_and_refuse_zero() {
        let file = FileSettings::parse("max_connections = 10\nheader_read_timeout_ms = 500\n").unwrap();
        let env =
            FileSettings::from_env(env(&[("FRONTDESK_MAX_IN_FLIGHT", "3"), ("FRONTDESK_MAX_BODY_BYTES", "4096")]))
                .unwrap();
        let limits = Settings::resolve(file, env, None).unwrap().limits;
        assert_eq!(limits.max_connections, 10);
        assert_eq!(limits.header_read_timeout, Duration::from_millis(500));
        assert_eq!(limits.request_timeout, Limits::default().request_timeout);
        assert_eq!((limits.max_in_flight, limits.max_body_bytes), (3, 4096));
        let zero = FileSettings::parse("request_timeout_ms = 0").unwrap();
        let err = Settings::resolve(zero, FileSettings::default(), None).unwrap_err();
        assert!(err.contains("request_timeout_ms"), "{err}");
    }
}
