//! A JSON Schema validator for the subset Frontdesk's OpenAPI documents use, so the API tests can
//! hold every response against the document without a schema crate (and its build time).
//!
//! Schemas are read straight from the parsed document: nothing is compiled, a `$ref` is a JSON
//! pointer lookup into the same document. A keyword this validator does not know is reported as a
//! violation rather than ignored, so the document cannot drift into rules nobody checks.

use serde_json::Value;

/// One broken rule: where in the instance (`$.tickets[0].status`) and which rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub at: String,
    pub rule: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.at, self.rule)
    }
}

/// Keywords that describe but never constrain a value.
const ANNOTATIONS: &[&str] =
    &["description", "title", "examples", "example", "default", "xml", "readOnly", "writeOnly", "deprecated"];

/// Checks `instance` against `schema`; `root` is the document `$ref`s point into.
pub fn validate(root: &Value, schema: &Value, instance: &Value) -> Result<(), Vec<Violation>> {
    run(&Cx { root, closed: false }, schema, instance)
}

/// Like [`validate`], and besides an object may carry only the keys its schema declares (in
/// `properties`, also through `allOf` and `$ref`) unless `additionalProperties` says otherwise:
/// a hand-written document that forgets a field the code sends is wrong too.
pub fn validate_closed(root: &Value, schema: &Value, instance: &Value) -> Result<(), Vec<Violation>> {
    run(&Cx { root, closed: true }, schema, instance)
}

struct Cx<'a> {
    root: &'a Value,
    closed: bool,
}

fn run(cx: &Cx, schema: &Value, instance: &Value) -> Result<(), Vec<Violation>> {
    let mut out = Vec::new();
    check(cx, schema, instance, "$", true, &mut out);
    if out.is_empty() { Ok(()) } else { Err(out) }
}

/// `owner`: this schema is the whole description of `v`, not one `allOf` part of it, so it may
/// judge which keys are undeclared.
fn check(cx: &Cx, schema: &Value, v: &Value, at: &str, owner: bool, out: &mut Vec<Violation>) {
    let root = cx.root;
    let whole = schema;
    let mut fail = |rule: String| out.push(Violation { at: at.to_owned(), rule });
    let schema = match schema {
        Value::Bool(true) => return,
        Value::Bool(false) => return fail("schema `false` allows nothing".into()),
        Value::Object(s) => s,
        other => return fail(format!("schema is not an object: {other}")),
    };
    let nullable = schema.get("nullable").and_then(Value::as_bool).unwrap_or(false);
    if nullable && v.is_null() {
        return;
    }
    for (keyword, rule) in schema {
        match keyword.as_str() {
            "$ref" => match rule.as_str().and_then(|r| resolve(root, r)) {
                // The referring schema judges undeclared keys, following the reference.
                Some(target) => check(cx, target, v, at, false, out),
                None => out.push(Violation { at: at.to_owned(), rule: format!("$ref {rule} does not resolve") }),
            },
            "type" => {
                let allowed: Vec<&str> = match rule {
                    Value::String(t) => vec![t.as_str()],
                    Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                    _ => vec![],
                };
                if !allowed.iter().any(|t| has_type(v, t)) {
                    out.push(Violation { at: at.to_owned(), rule: format!("type: expected {rule}, got {}", kind(v)) });
                }
            }
            "enum" => {
                let options = rule.as_array().map(Vec::as_slice).unwrap_or_default();
                if !options.contains(v) {
                    out.push(Violation { at: at.to_owned(), rule: format!("enum: {v} is not one of {rule}") });
                }
            }
            "const" if rule != v => {
                out.push(Violation { at: at.to_owned(), rule: format!("const: expected {rule}, got {v}") });
            }
            "properties" => {
                if let (Some(props), Some(obj)) = (rule.as_object(), v.as_object()) {
                    for (name, sub) in props {
                        if let Some(value) = obj.get(name) {
                            check(cx, sub, value, &format!("{at}.{name}"), true, out);
                        }
                    }
                }
            }
            "required" => {
                if let Some(obj) = v.as_object() {
                    for name in rule.as_array().into_iter().flatten().filter_map(Value::as_str) {
                        if !obj.contains_key(name) {
                            out.push(Violation { at: at.to_owned(), rule: format!("required: `{name}` is missing") });
                        }
                    }
                }
            }
            "additionalProperties" => {
                if let Some(obj) = v.as_object() {
                    let declared = schema.get("properties").and_then(Value::as_object);
                    for (name, value) in obj {
                        if declared.is_some_and(|d| d.contains_key(name)) {
                            continue;
                        }
                        if rule == &Value::Bool(false) {
                            out.push(Violation {
                                at: at.to_owned(),
                                rule: format!("additionalProperties: `{name}` is not allowed"),
                            });
                        } else {
                            check(cx, rule, value, &format!("{at}.{name}"), true, out);
                        }
                    }
                }
            }
            "items" => {
                for (i, item) in v.as_array().into_iter().flatten().enumerate() {
                    check(cx, rule, item, &format!("{at}[{i}]"), true, out);
                }
            }
            "minItems" | "maxItems" => {
                if let (Some(items), Some(limit)) = (v.as_array(), rule.as_u64()) {
                    let n = items.len() as u64;
                    if (keyword == "minItems" && n < limit) || (keyword == "maxItems" && n > limit) {
                        out.push(Violation { at: at.to_owned(), rule: format!("{keyword} {limit}: has {n} items") });
                    }
                }
            }
            "minLength" | "maxLength" => {
                if let (Some(s), Some(limit)) = (v.as_str(), rule.as_u64()) {
                    let n = s.chars().count() as u64;
                    if (keyword == "minLength" && n < limit) || (keyword == "maxLength" && n > limit) {
                        out.push(Violation { at: at.to_owned(), rule: format!("{keyword} {limit}: {n} characters") });
                    }
                }
            }
            "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" => {
                if let (Some(n), Some(limit)) = (v.as_f64(), rule.as_f64()) {
                    let broken = match keyword.as_str() {
                        "minimum" => n < limit,
                        "maximum" => n > limit,
                        "exclusiveMinimum" => n <= limit,
                        _ => n >= limit,
                    };
                    if broken {
                        out.push(Violation { at: at.to_owned(), rule: format!("{keyword} {limit}: got {n}") });
                    }
                }
            }
            "format" => {
                if let (Some(s), Some(format)) = (v.as_str(), rule.as_str())
                    && !format_holds(format, s)
                {
                    out.push(Violation { at: at.to_owned(), rule: format!("format {format}: {s:?}") });
                }
            }
            "allOf" => {
                for sub in rule.as_array().into_iter().flatten() {
                    check(cx, sub, v, at, false, out);
                }
            }
            "anyOf" | "oneOf" => {
                let options = rule.as_array().map(Vec::as_slice).unwrap_or_default();
                let mut reasons = Vec::new();
                let mut passed = 0;
                for sub in options {
                    match run(cx, sub, v).map_err(|e| e.into_iter().map(|x| x.to_string())) {
                        Ok(()) => passed += 1,
                        Err(e) => reasons.extend(e),
                    }
                }
                if passed == 0 {
                    out.push(Violation {
                        at: at.to_owned(),
                        rule: format!("{keyword}: matches none of {} ({})", options.len(), reasons.join("; ")),
                    });
                } else if keyword == "oneOf" && passed > 1 {
                    out.push(Violation { at: at.to_owned(), rule: format!("oneOf: matches {passed} of them") });
                }
            }
            "nullable" | "const" => {}
            other if ANNOTATIONS.contains(&other) => {}
            other => out.push(Violation { at: at.to_owned(), rule: format!("unsupported keyword `{other}`") }),
        }
    }
    if cx.closed
        && owner
        && let Some(obj) = v.as_object()
    {
        let mut declared = Vec::new();
        // A schema that declares nothing (`{"type": "object"}`) leaves the object open.
        if declares(root, whole, &mut declared) {
            for name in obj.keys().filter(|k| !declared.contains(k)) {
                out.push(Violation { at: at.to_owned(), rule: format!("undeclared key `{name}`") });
            }
        }
    }
}

/// Collects the property names `schema` declares, through `$ref` and `allOf`; false when any part
/// leaves the object open (`additionalProperties`) or nothing is declared at all.
fn declares(root: &Value, schema: &Value, names: &mut Vec<String>) -> bool {
    let Some(s) = schema.as_object() else { return false };
    if s.contains_key("additionalProperties") {
        return false;
    }
    let mut any = false;
    if let Some(props) = s.get("properties").and_then(Value::as_object) {
        names.extend(props.keys().cloned());
        any = true;
    }
    if let Some(target) = s.get("$ref").and_then(Value::as_str).and_then(|r| resolve(root, r)) {
        if !declares(root, target, names) {
            return false;
        }
        any = true;
    }
    for part in s.get("allOf").and_then(Value::as_array).into_iter().flatten() {
        if !declares(root, part, names) {
            return false;
        }
        any = true;
    }
    any
}

/// A local reference (`#/components/schemas/X`) into `root`.
fn resolve<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    root.pointer(reference.strip_prefix('#')?)
}

fn has_type(v: &Value, t: &str) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "string" => v.is_string(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        _ => false,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Loose checks: the shape of the value, not every corner of its RFC. Unknown formats pass, as
/// JSON Schema says they should.
fn format_holds(format: &str, s: &str) -> bool {
    match format {
        "uuid" => {
            let groups: Vec<&str> = s.split('-').collect();
            groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
                && groups.iter().all(|g| g.chars().all(|c| c.is_ascii_hexdigit()))
        }
        "date-time" => is_date_time(s),
        "email" => {
            s.split_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty() && !domain.contains('@'))
                && !s.chars().any(char::is_whitespace)
        }
        _ => true,
    }
}

/// `YYYY-MM-DDTHH:MM:SS`, optional fraction, then `Z` or `±HH:MM` (RFC 3339).
fn is_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |range: std::ops::Range<usize>| b.get(range).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let fixed = digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && b.get(7) == Some(&b'-')
        && digits(8..10)
        && matches!(b.get(10), Some(b'T' | b't'))
        && digits(11..13)
        && b.get(13) == Some(&b':')
        && digits(14..16)
        && b.get(16) == Some(&b':')
        && digits(17..19);
    if !fixed {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let n = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &fraction[n..];
    }
    match rest.as_bytes() {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::validate;

    fn doc() -> Value {
        json!({"components": {"schemas": {
            "User": {
                "type": "object",
                "required": ["id", "status"],
                "additionalProperties": false,
                "properties": {
                    "id": {"type": "string", "format": "uuid"},
                    "status": {"type": "string", "enum": ["new", "closed"]},
                    "name": {"type": ["string", "null"], "minLength": 3, "maxLength": 5},
                    "tags": {"type": "array", "items": {"type": "integer", "minimum": 1}},
                    "at": {"type": "string", "format": "date-time"},
                }
            }
        }}})
    }

    /// The rules that failed, as `path: rule` lines.
    fn failures(instance: Value) -> Vec<String> {
        let root = doc();
        let schema = json!({"$ref": "#/components/schemas/User"});
        match validate(&root, &schema, &instance) {
            Ok(()) => vec![],
            Err(v) => v.iter().map(ToString::to_string).collect(),
        }
    }

    const ID: &str = "3c90c3cc-0d44-4b50-8888-8dd25736052a";

    #[test]
    fn a_value_that_follows_every_rule_passes() {
        let ok = json!({"id": ID, "status": "new", "name": null, "tags": [1, 2], "at": "2024-01-02T03:04:05.123Z"});
        assert_eq!(failures(ok), Vec::<String>::new());
    }

    #[test]
    fn a_wrong_type_is_reported_with_its_path() {
        assert_eq!(
            failures(json!({"id": ID, "status": "new", "tags": [1, "two"]})),
            ["$.tags[1]: type: expected \"integer\", got string"]
        );
        assert_eq!(failures(json!([])), ["$: type: expected \"object\", got array"]);
    }

    #[test]
    fn a_missing_required_key_is_reported() {
        assert_eq!(failures(json!({"id": ID})), ["$: required: `status` is missing"]);
    }

    #[test]
    fn an_extra_key_is_rejected_where_additional_properties_is_false() {
        assert_eq!(
            failures(json!({"id": ID, "status": "new", "colour": "red"})),
            ["$: additionalProperties: `colour` is not allowed"]
        );
    }

    #[test]
    fn a_value_outside_the_enum_is_rejected() {
        assert_eq!(
            failures(json!({"id": ID, "status": "open"})),
            ["$.status: enum: \"open\" is not one of [\"new\",\"closed\"]"]
        );
    }

    #[test]
    fn lengths_bounds_and_formats_are_checked() {
        let bad = json!({"id": "not-a-uuid", "status": "new", "name": "ab", "tags": [0], "at": "2024-01-02 03:04"});
        assert_eq!(
            failures(bad),
            // In the order the schema declares the properties.
            [
                "$.id: format uuid: \"not-a-uuid\"",
                "$.name: minLength 3: 2 characters",
                "$.tags[0]: minimum 1: got 0",
                "$.at: format date-time: \"2024-01-02 03:04\"",
            ]
        );
    }

    #[test]
    fn one_of_needs_exactly_one_match_and_any_of_at_least_one() {
        let root = json!({});
        let one_of = json!({"oneOf": [{"type": "string"}, {"type": "string", "maxLength": 2}]});
        assert!(validate(&root, &one_of, &json!("abc")).is_ok());
        assert!(validate(&root, &one_of, &json!("a")).is_err(), "both match");
        let any_of = json!({"anyOf": [{"type": "null"}, {"const": 1}]});
        assert!(validate(&root, &any_of, &json!(1)).is_ok());
        assert!(validate(&root, &any_of, &json!(2)).is_err());
    }

    #[test]
    fn closed_objects_refuse_keys_no_part_of_the_schema_declares() {
        let root = doc();
        let both = json!({"allOf": [{"$ref": "#/components/schemas/Named"}, {"properties": {"b": {}}}]});
        let root = json!({"components": {"schemas": {"Named": {"properties": {"a": {"type": "string"}}}}}, "x": root});
        assert!(super::validate_closed(&root, &both, &json!({"a": "x", "b": 1})).is_ok());
        let extra = super::validate_closed(&root, &both, &json!({"a": "x", "c": 1})).unwrap_err();
        assert_eq!(extra.iter().map(ToString::to_string).collect::<Vec<_>>(), ["$: undeclared key `c`"]);
        assert!(validate(&root, &both, &json!({"c": 1})).is_ok(), "plain validation leaves objects open");
        let open = json!({"type": "object"});
        assert!(super::validate_closed(&root, &open, &json!({"c": 1})).is_ok(), "nothing declared: open");
    }

    #[test]
    fn nullable_admits_null_and_unknown_keywords_and_refs_are_errors() {
        let root = json!({});
        assert!(validate(&root, &json!({"type": "string", "nullable": true}), &Value::Null).is_ok());
        assert!(validate(&root, &json!({"type": "string", "pattern": "^a"}), &json!("a")).is_err());
        assert!(validate(&root, &json!({"$ref": "#/components/schemas/Nope"}), &json!("a")).is_err());
    }
}
