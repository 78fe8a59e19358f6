//! Reading JSON bodies and query strings field by field, so that every broken rule is reported with the
//! field it belongs to instead of a parser's first complaint.

use bytes::Bytes;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::app::AppError;
use crate::domain::{FieldError, Refusal, Rule, parse_uuid};

/// The keys of a JSON object body, read one by one; errors accumulate until [`Fields::finish`].
pub struct Fields {
    object: Map<String, Value>,
    errors: Vec<FieldError>,
    /// Keys already refused when the body was read; asking for them adds no second error.
    reported: Vec<String>,
}

/// No contract's text may hold U+0000: PostgreSQL cannot store or compare it, and no helpdesk field
/// means anything by it. Refused where input is read, so every contract and both backends agree.
pub const NUL_MESSAGE: &str = "must not contain the NUL character (U+0000)";

/// The refusal of a text holding U+0000 (see [`NUL_MESSAGE`]).
pub fn holds_nul_refusal() -> Refusal {
    Refusal::new(Rule::Format, NUL_MESSAGE)
}

fn holds_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

/// Items any list in a body or any repeated query parameter may hold: a list of ids names at most
/// this many records, so no request makes one transaction check 25,000 ids while holding the writer.
/// Each list may have a tighter bound of its own (20 attachments, 100 accounts, ...).
pub const MAX_LIST_ITEMS: usize = 1000;

/// The longest list anywhere inside `v`.
fn longest_list(v: &Value) -> usize {
    match v {
        Value::Array(items) => items.iter().map(longest_list).max().unwrap_or(0).max(items.len()),
        Value::Object(map) => map.values().map(longest_list).max().unwrap_or(0),
        _ => 0,
    }
}

pub type Check<T> = Result<T, Refusal>;

impl Fields {
    /// Parses `body` as a JSON object; anything else is a single error on the field `body`.
    pub fn parse(body: &Bytes) -> Result<Self, AppError> {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(object)) => Ok(Self::from_object(object)),
            Ok(_) => Err(AppError::invalid("body", Refusal::new(Rule::Type, "must be a JSON object"))),
            Err(e) => Err(AppError::invalid("body", Refusal::new(Rule::Format, format!("is not valid JSON: {e}")))),
        }
    }

    /// The fields of an object already parsed (from XML, or a wrapper key); a field holding a NUL
    /// character anywhere is reported once and then read as absent, so it is never checked twice.
    pub fn from_object(mut object: Map<String, Value>) -> Self {
        let mut errors = Vec::new();
        object.retain(|key, value| {
            let poisoned = key.contains('\0') || holds_nul(value);
            if poisoned {
                errors.push(FieldError::new(key.replace('\0', "\\u0000"), holds_nul_refusal()));
                return false;
            }
            let too_long = longest_list(value) > MAX_LIST_ITEMS;
            if too_long {
                errors.push(FieldError::new(key.clone(), Refusal::too_many(MAX_LIST_ITEMS)));
            }
            !too_long
        });
        let reported = errors.iter().map(|e| e.field.clone()).collect();
        Self { object, errors, reported }
    }

    /// A key that must be present (its value may still be `null` if `check` allows it).
    pub fn required<T>(&mut self, key: &str, check: impl FnOnce(&Value) -> Check<T>) -> Option<T> {
        match self.object.get(key) {
            None => {
                if !self.reported.iter().any(|k| k == key) {
                    self.errors.push(FieldError::new(key, Refusal::required()));
                }
                None
            }
            Some(v) => self.record(key, check(v)),
        }
    }

    /// A key that may be absent; `Some` only when present and valid.
    pub fn optional<T>(&mut self, key: &str, check: impl FnOnce(&Value) -> Check<T>) -> Option<T> {
        let v = self.object.get(key)?;
        self.record(key, check(v))
    }

    pub fn has(&self, key: &str) -> bool {
        self.object.contains_key(key)
    }

    pub fn reject(&mut self, key: &str, refusal: Refusal) {
        self.errors.push(FieldError::new(key, refusal));
    }

    fn record<T>(&mut self, key: &str, checked: Check<T>) -> Option<T> {
        checked.map_err(|refusal| self.errors.push(FieldError::new(key, refusal))).ok()
    }

    /// Fails with every error recorded so far.
    pub fn finish(self) -> Result<(), AppError> {
        if self.errors.is_empty() { Ok(()) } else { Err(AppError::Invalid(self.errors)) }
    }

    /// Fails with every error recorded so far, else yields `value`, assembled from the fields read
    /// (a field reader returns `None` only after recording why, so `value` is `Some` here).
    pub fn complete<T>(self, value: Option<T>) -> Result<T, AppError> {
        self.finish()?;
        value.ok_or_else(|| AppError::Internal("a field was neither read nor reported".into()))
    }
}

pub fn uuid(v: &Value) -> Check<Uuid> {
    let s = v.as_str().ok_or_else(|| Refusal::new(Rule::Type, "must be a string (UUID)"))?;
    parse_uuid(s).ok_or_else(|| Refusal::new(Rule::Format, "must be a valid UUID"))
}

pub fn string(v: &Value) -> Check<String> {
    v.as_str().map(str::to_owned).ok_or_else(|| Refusal::new(Rule::Type, "must be a string"))
}

pub fn boolean(v: &Value) -> Check<bool> {
    v.as_bool().ok_or_else(|| Refusal::new(Rule::Type, "must be a boolean"))
}

/// `check`, or `None` for an explicit JSON `null`.
pub fn nullable<T>(check: impl FnOnce(&Value) -> Check<T>) -> impl FnOnce(&Value) -> Check<Option<T>> {
    move |v| if v.is_null() { Ok(None) } else { check(v).map(Some) }
}

/// A string that must also satisfy a domain type's `parse`.
pub fn parsed<T>(parse: impl FnOnce(&str) -> Check<T>) -> impl FnOnce(&Value) -> Check<T> {
    move |v| parse(v.as_str().ok_or_else(|| Refusal::new(Rule::Type, "must be a string"))?)
}

/// Query string parameters, with repeated keys kept (`?ids=a&ids=b`, `?ids[]=a`).
pub struct QueryParams {
    pairs: Vec<(String, String)>,
    errors: Vec<FieldError>,
}

impl QueryParams {
    pub fn parse(raw: Option<&str>) -> Self {
        let mut errors = Vec::new();
        let pairs = form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
            .into_owned()
            .filter(|(k, v)| {
                let poisoned = k.contains('\0') || v.contains('\0');
                if poisoned {
                    errors.push(FieldError::new(k.replace('\0', "\\u0000"), holds_nul_refusal()));
                }
                !poisoned
            })
            .collect();
        Self { pairs, errors }
    }

    /// Every value given for `key`, also in the `key[]` and `key[n]` forms and comma-separated.
    pub fn values<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(k, _)| {
                k == key || k.strip_prefix(key).is_some_and(|rest| rest.starts_with('[') && rest.ends_with(']'))
            })
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }

    pub fn string(&self, key: &str) -> Option<String> {
        self.pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    }

    /// A search term; blank means no search.
    pub fn search(&self, key: &str) -> Option<String> {
        self.string(key).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
    }

    pub fn uuids(&mut self, key: &str) -> Vec<Uuid> {
        if self.values(key).nth(MAX_LIST_ITEMS).is_some() {
            self.errors.push(FieldError::new(key, Refusal::too_many(MAX_LIST_ITEMS)));
            return Vec::new();
        }
        let mut ids = Vec::new();
        let mut bad = false;
        for v in self.values(key) {
            match parse_uuid(v) {
                Some(id) => ids.push(id),
                None => bad = true,
            }
        }
        if bad {
            self.errors.push(FieldError::new(key, Refusal::new(Rule::Format, "must be a UUID or a list of UUIDs")));
        }
        ids
    }

    /// An integer within `min..=max`, `default` when absent.
    pub fn integer(&mut self, key: &str, min: i64, max: i64, default: i64) -> i64 {
        let Some(raw) = self.string(key) else { return default };
        match raw.trim().parse::<f64>() {
            Ok(n) if n.fract() == 0.0 && n >= min as f64 && n <= max as f64 => n as i64,
            Ok(n) if n.fract() == 0.0 && n < min as f64 => {
                let message = format!("must be greater than or equal to {min}");
                self.errors.push(FieldError::new(key, Refusal::new(Rule::Range, message)));
                default
            }
            Ok(n) if n.fract() == 0.0 => {
                let message = format!("must be less than or equal to {max}");
                self.errors.push(FieldError::new(key, Refusal::new(Rule::Range, message)));
                default
            }
            _ => {
                self.errors.push(FieldError::new(key, Refusal::new(Rule::Type, "must be an integer")));
                default
            }
        }
    }

    pub fn reject(&mut self, key: &str, refusal: Refusal) {
        self.errors.push(FieldError::new(key, refusal));
    }

    pub fn finish(self) -> Result<(), AppError> {
        if self.errors.is_empty() { Ok(()) } else { Err(AppError::Invalid(self.errors)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_bracketed_and_comma_separated_ids_are_all_read() {
        let a = "3c90c3cc-0d44-4b50-8888-8dd25736052a";
        let b = "4c90c3cc-0d44-4b50-8888-8dd25736052a";
        let c = "5c90c3cc-0d44-4b50-8888-8dd25736052a";
        let raw = format!("tierIds={a}&tierIds%5B%5D={b}&tierIds[2]={c},{a}&other={b}");
        let mut q = QueryParams::parse(Some(&raw));
        assert_eq!(q.uuids("tierIds").len(), 4);
        assert!(q.finish().is_ok());
    }

    #[test]
    fn a_nul_character_anywhere_in_a_field_is_refused_once_under_that_field() {
        let body = Bytes::from_static(br#"{"name": "a\u0000b", "tags": [{"x": "\u0000"}], "ok": "fine"}"#);
        let mut f = Fields::parse(&body).unwrap_or_else(|_| panic!("an object"));
        assert_eq!(f.required("name", string), None);
        assert_eq!(f.optional("ok", string).as_deref(), Some("fine"));
        let Err(AppError::Invalid(errors)) = f.finish() else { panic!("expected errors") };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "tags"], "one error each, no second 'is required'");
        assert!(errors.iter().all(|e| e.message == NUL_MESSAGE));

        let q = QueryParams::parse(Some("search=a%00b&pageSize=10"));
        assert_eq!(q.search("search"), None);
        let Err(AppError::Invalid(errors)) = q.finish() else { panic!("expected errors") };
        assert_eq!(errors[0].field, "search");
    }

    #[test]
    fn paging_bounds_are_reported_by_field() {
        let mut q = QueryParams::parse(Some("pageSize=101&pageNumber=0"));
        q.integer("pageNumber", 1, i64::MAX, 1);
        q.integer("pageSize", 1, 100, 10);
        let Err(AppError::Invalid(errors)) = q.finish() else { panic!("expected errors") };
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].field, "pageNumber");
        assert_eq!(errors[1].field, "pageSize");
    }
}
