//! Helpers the areas' SQL shares, independent of the backend.

use super::StoreError;

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
