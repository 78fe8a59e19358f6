//! Helpers the areas' SQL shares, independent of the backend.

use std::fmt::Display;

use sqlx::{Database, Encode, QueryBuilder, Type};
use uuid::Uuid;

use super::StoreError;

/// A value bound to a [`Statement`], kept beside sqlx's own arguments (which cannot be read back) so
/// that SQLite can run the same statement on a direct connection (`sqlite_direct.rs`).
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Bound {
    Id(Uuid),
    Text(String),
    Int(i64),
}

impl From<Uuid> for Bound {
    fn from(v: Uuid) -> Self {
        Self::Id(v)
    }
}

impl From<String> for Bound {
    fn from(v: String) -> Self {
        Self::Text(v)
    }
}

impl From<i64> for Bound {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}

/// A statement being written: sqlx's builder, and every bound value once more as a [`Bound`].
pub(super) struct Statement<DB: Database> {
    pub(super) qb: QueryBuilder<DB>,
    pub(super) values: Vec<Bound>,
}

impl<DB: Database> Statement<DB> {
    pub(super) fn new(sql: impl Into<String>) -> Self {
        Self { qb: QueryBuilder::new(sql), values: Vec::new() }
    }

    pub(super) fn push(&mut self, sql: impl Display) -> &mut Self {
        self.qb.push(sql);
        self
    }

    pub(super) fn push_bind<T>(&mut self, value: T) -> &mut Self
    where
        T: Into<Bound> + Clone + for<'t> Encode<'t, DB> + Type<DB>,
    {
        self.values.push(value.clone().into());
        self.qb.push_bind(value);
        self
    }
}

/// A `LIKE` pattern that finds `needle` anywhere, case-insensitively, with its own wildcards escaped
/// (used with `ESCAPE '\'`).
pub(super) fn contains_pattern(needle: &str) -> String {
    let mut p = String::with_capacity(needle.len() + 2);
    p.push('%');
    for c in needle.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// Converts every row, failing on the first that does not make a valid record.
pub(super) fn convert<R, T: TryFrom<R, Error = StoreError>>(rows: Vec<R>) -> Result<Vec<T>, StoreError> {
    rows.into_iter().map(T::try_from).collect()
}

/// A stored value no valid write could have produced.
pub(super) fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Other(format!("unexpected {what} in database: {value:?}"))
}
