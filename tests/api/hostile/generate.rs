//! Bad requests made from the served OpenAPI document: for every operation, a request that is valid
//! in most ways and wrong in one or a few (a field of the wrong type, missing or extra; a huge or
//! strange string; malformed JSON or XML; a wrong content type; an absurd query string; a bad path
//! id), sometimes a valid one. Seeded, so that a failing run can be replayed.

use std::collections::HashMap;

use base64::Engine;
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use serde_json::{Map, Value, json};

/// Stands for a lone UTF-16 surrogate inside a JSON string: Rust strings cannot hold one, so the
/// JSON text gets the `\ud800` escape where this marker was serialized.
const SURROGATE_MARK: &str = "\u{E000}lone-surrogate\u{E000}";

pub struct Operation {
    pub method: String,
    pub template: String,
    params: Vec<Param>,
    /// The request body's media types, with the schema of each (JSON schema or a text description).
    body: Vec<(String, Value)>,
}

struct Param {
    name: String,
    location: String,
    schema: Value,
}

/// A request ready to send; `describe` is what a failure prints to replay it by hand.
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Option<Vec<u8>>,
}

impl Request {
    pub fn describe(&self) -> String {
        let mut out = format!("{} {}", self.method, shorten(&self.path, 400));
        for (name, value) in &self.headers {
            out.push_str(&format!("\n{name}: {}", shorten(&String::from_utf8_lossy(value), 200)));
        }
        if let Some(body) = &self.body {
            out.push_str(&format!("\n\n{}", shorten(&String::from_utf8_lossy(body), 600)));
        }
        out
    }
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let head: String = s.chars().take(max).collect();
    format!("{head}… ({} bytes in all)", s.len())
}

/// What the fixtures of a run are: ids that exist, keyed by what they name, and the credentials.
pub struct World {
    pub key: String,
    pub workspace_id: String,
    pub other_workspace_id: String,
    /// (template prefix, ids that exist under it) for path parameters, most specific prefix first.
    pub path_ids: Vec<(&'static str, Vec<String>)>,
    /// Ids of the kind a body field or query parameter of this name refers to.
    pub named_ids: HashMap<&'static str, Vec<String>>,
    pub all_ids: Vec<String>,
    pub staff_emails: Vec<String>,
}

pub struct Generator {
    doc: Value,
    pub operations: Vec<Operation>,
}

impl Generator {
    pub fn new(doc: Value) -> Self {
        let mut operations = Vec::new();
        for (template, item) in doc["paths"].as_object().expect("paths") {
            let shared = item.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
            for (method, op) in item.as_object().expect("path item") {
                if op.get("responses").is_none() {
                    continue;
                }
                let own = op.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
                let params = shared
                    .iter()
                    .chain(&own)
                    .map(|p| resolve(&doc, p).clone())
                    .map(|p| Param {
                        name: p["name"].as_str().unwrap_or_default().to_owned(),
                        location: p["in"].as_str().unwrap_or_default().to_owned(),
                        schema: p.get("schema").cloned().unwrap_or(json!({})),
                    })
                    .collect();
                let body = op["requestBody"]["content"]
                    .as_object()
                    .map(|c| {
                        c.iter().map(|(m, d)| (m.clone(), d.get("schema").cloned().unwrap_or(json!({})))).collect()
                    })
                    .unwrap_or_default();
                operations.push(Operation { method: method.to_uppercase(), template: template.clone(), params, body });
            }
        }
        Self { doc, operations }
    }

    /// One request to `op`, signed in with the workspace's admin key or not.
    pub fn request(&self, rng: &mut StdRng, world: &World, op: &Operation, signed_in: bool) -> Request {
        let mut method = op.method.clone();
        if rng.random_ratio(1, 40) {
            method = ["PUT", "PATCH", "DELETE", "POST", "GET", "OPTIONS"].choose(rng).expect("methods").to_string();
        }
        let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
        let mut query: Vec<String> = Vec::new();
        let mut path = op.template.clone();
        for p in &op.params {
            match p.location.as_str() {
                "path" => {
                    // A route the world made no ids for gets hostile ones (never an empty segment).
                    let known = path_ids(world, &op.template, &p.name).choose(rng).cloned();
                    let value = match known {
                        Some(id) if rng.random_ratio(3, 5) => id,
                        _ => hostile_id(rng),
                    };
                    path = path.replace(&format!("{{{}}}", p.name), &encode_segment(&value));
                }
                "query" => {
                    if rng.random_ratio(1, 2) {
                        continue;
                    }
                    let pairs = self.query_values(rng, world, p);
                    query.extend(pairs);
                }
                "header" => {
                    let value = match rng.random_range(0..10) {
                        0 => None,
                        1 => Some(hostile_id(rng)),
                        2 => Some(world.other_workspace_id.clone()),
                        _ => Some(world.workspace_id.clone()),
                    };
                    if let Some(v) = value {
                        headers.push((p.name.clone(), v.into_bytes()));
                    }
                }
                _ => {}
            }
        }
        if rng.random_ratio(1, 6) {
            query.extend(absurd_query(rng));
        }
        self.credentials(rng, world, signed_in, &mut headers, &mut query);
        if !query.is_empty() {
            path = format!("{path}?{}", query.join("&"));
        }
        let body = if op.body.is_empty() {
            // A body where none belongs must not matter either.
            rng.random_ratio(1, 20).then(|| {
                headers.push(("content-type".into(), b"application/json".to_vec()));
                br#"{"unexpected": true}"#.to_vec()
            })
        } else if rng.random_ratio(1, 30) {
            None
        } else {
            Some(self.body(rng, world, op, &mut headers))
        };
        Request { method, path, headers, body }
    }

    fn credentials(
        &self,
        rng: &mut StdRng,
        world: &World,
        signed_in: bool,
        headers: &mut Vec<(String, Vec<u8>)>,
        query: &mut Vec<String>,
    ) {
        let auth: Option<String> = if signed_in {
            match rng.random_range(0..20) {
                0 => {
                    // The staff users contract also takes the key as a query parameter.
                    query.push(format!("IntegrationKey={}", world.key));
                    None
                }
                1 | 2 => Some(world.key.clone()),
                _ => Some(format!("Bearer {}", world.key)),
            }
        } else {
            let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
            match rng.random_range(0..12) {
                0..=3 => None,
                4 => Some("Bearer".into()),
                5 => Some(format!("Bearer fdk_{}", "x".repeat(40))),
                6 => Some("Basic !!!not-base64!!!".into()),
                7 => Some(format!("Basic {}", b64("admin@example.com:wrong"))),
                8 => Some(format!("Bearer {}", "a".repeat(rng.random_range(100..8000)))),
                9 => Some(format!("bearer  {}", &world.key[..world.key.len() - 1])),
                10 => {
                    let key: String = hostile_string(rng).chars().take(2000).collect();
                    query.push(format!("IntegrationKey={}", encode_component(&key)));
                    None
                }
                _ => Some(format!("Bearer fdt_{}", uuid::Uuid::new_v4().simple())),
            }
        };
        if let Some(auth) = auth {
            headers.push(("authorization".into(), auth.into_bytes()));
        }
    }

    fn query_values(&self, rng: &mut StdRng, world: &World, p: &Param) -> Vec<String> {
        let name = encode_component(&p.name);
        let schema = resolve(&self.doc, &p.schema);
        match rng.random_range(0..10) {
            // A valid value.
            0..=3 => {
                let value = self.valid(rng, world, &p.name, schema, 0);
                match value {
                    Value::Array(items) => {
                        items.iter().map(|v| format!("{name}={}", encode_component(&plain(v)))).collect()
                    }
                    v => vec![format!("{name}={}", encode_component(&plain(&v)))],
                }
            }
            // Repeated, in every array syntax.
            4 => {
                let n = rng.random_range(2..60);
                (0..n)
                    .map(|i| {
                        let v = plain(&self.valid(rng, world, &p.name, schema, 0));
                        match i % 3 {
                            0 => format!("{name}={}", encode_component(&v)),
                            1 => format!("{name}%5B%5D={}", encode_component(&v)),
                            _ => format!("{name}[{i}]={}", encode_component(&v)),
                        }
                    })
                    .collect()
            }
            5 => vec![format!("{name}={}", raw_query_value(rng))],
            // Capped: a URL is at most 64 KiB, for the client as for the server.
            _ => vec![format!(
                "{name}={}",
                encode_component(&hostile_scalar_text(rng).chars().take(2000).collect::<String>())
            )],
        }
    }

    fn body(&self, rng: &mut StdRng, world: &World, op: &Operation, headers: &mut Vec<(String, Vec<u8>)>) -> Vec<u8> {
        let json_schema = op.body.iter().find(|(m, _)| m == "application/json").map(|(_, s)| s);
        let takes_xml = op.body.iter().any(|(m, _)| m == "application/xml");
        let valid = json_schema.map_or(json!({}), |s| self.valid(rng, world, "", resolve(&self.doc, s), 0));
        let content_type = match rng.random_range(0..20) {
            0 => None,
            1 => Some("text/plain"),
            2 => Some("application/xml"),
            3 => Some("application/x-www-form-urlencoded"),
            4 => Some("multipart/form-data; boundary=x"),
            5 => Some("application/json; charset=utf-16"),
            6 => Some("application/octet-stream"),
            7 => Some("APPLICATION/JSON"),
            8 => Some("application/problem+json"),
            _ if takes_xml && rng.random_ratio(1, 2) => Some("application/xml"),
            _ => Some("application/json"),
        };
        if let Some(ct) = content_type {
            headers.push(("content-type".into(), ct.as_bytes().to_vec()));
        }
        if takes_xml && (content_type.is_none_or(|c| c.contains("xml")) || rng.random_ratio(1, 4)) {
            return xml_body(rng, &valid);
        }
        match rng.random_range(0..20) {
            0..=2 => to_json_text(&valid),
            3..=9 => {
                let mut v = valid;
                let n = rng.random_range(1..=3);
                for _ in 0..n {
                    mutate(rng, &mut v);
                }
                to_json_text(&v)
            }
            10 | 11 => {
                // Every field wrong at once.
                let mut v = valid;
                if let Value::Object(map) = &mut v {
                    for value in map.values_mut() {
                        *value = hostile_value(rng);
                    }
                }
                to_json_text(&v)
            }
            _ => malformed_json(rng, &valid),
        }
    }

    /// A value that the schema allows, built from the fixtures where it names something.
    fn valid(&self, rng: &mut StdRng, world: &World, name: &str, schema: &Value, depth: usize) -> Value {
        let schema = resolve(&self.doc, schema);
        if depth > 6 {
            return Value::Null;
        }
        if let Some(values) = schema.get("enum").and_then(Value::as_array) {
            return values.choose(rng).cloned().unwrap_or(Value::Null);
        }
        if let Some(c) = schema.get("const") {
            return c.clone();
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(options) = schema.get(key).and_then(Value::as_array) {
                let pick = options.choose(rng).cloned().unwrap_or(json!({}));
                return self.valid(rng, world, name, &pick, depth + 1);
            }
        }
        if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
            let mut merged = schema.clone();
            if let Some(m) = merged.as_object_mut() {
                m.remove("allOf");
            }
            for part in parts {
                let part = resolve(&self.doc, part);
                for (k, v) in part.as_object().into_iter().flatten() {
                    match (k.as_str(), merged.get_mut(k)) {
                        ("properties", Some(Value::Object(props))) => {
                            props.extend(v.as_object().cloned().unwrap_or_default());
                        }
                        ("required", Some(Value::Array(req))) => {
                            req.extend(v.as_array().cloned().unwrap_or_default());
                        }
                        _ => {
                            merged[k] = v.clone();
                        }
                    }
                }
            }
            return self.valid(rng, world, name, &merged, depth + 1);
        }
        let types: Vec<&str> = match &schema["type"] {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ if schema.get("properties").is_some() => vec!["object"],
            _ => vec!["string"],
        };
        let non_null: Vec<&str> = types.iter().copied().filter(|t| *t != "null").collect();
        if non_null.is_empty() || (types.contains(&"null") && rng.random_ratio(1, 4)) {
            return Value::Null;
        }
        match *non_null.choose(rng).expect("a type") {
            "object" => {
                let required: Vec<&str> =
                    schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
                let mut out = Map::new();
                for (key, prop) in schema["properties"].as_object().into_iter().flatten() {
                    if required.contains(&key.as_str()) || rng.random_ratio(1, 2) {
                        out.insert(key.clone(), self.valid(rng, world, key, prop, depth + 1));
                    }
                }
                Value::Object(out)
            }
            "array" => {
                let max = schema["maxItems"].as_u64().unwrap_or(3).min(3);
                let min = schema["minItems"].as_u64().unwrap_or(0).min(max);
                let n = rng.random_range(min..=max);
                let items = schema.get("items").cloned().unwrap_or(json!({}));
                Value::Array((0..n).map(|_| self.valid(rng, world, name, &items, depth + 1)).collect())
            }
            "integer" => {
                let min = schema["minimum"].as_i64().unwrap_or(0);
                let max = schema["maximum"].as_i64().unwrap_or(min.saturating_add(50)).min(min.saturating_add(1000));
                json!(rng.random_range(min..=max.max(min)))
            }
            "number" => json!(rng.random_range(0.0..100.0)),
            "boolean" => json!(rng.random_bool(0.5)),
            _ => Value::String(self.valid_string(rng, world, name, schema)),
        }
    }

    fn valid_string(&self, rng: &mut StdRng, world: &World, name: &str, schema: &Value) -> String {
        let format = schema["format"].as_str().unwrap_or_default();
        let lower = name.to_ascii_lowercase();
        if format == "uuid" || lower.ends_with("id") || lower.ends_with("ref") || lower.ends_with("ids") {
            if let Some(ids) = world.named_ids.get(name)
                && let Some(id) = ids.choose(rng)
            {
                return id.clone();
            }
            if format == "uuid" {
                return world.all_ids.choose(rng).cloned().unwrap_or_default();
            }
        }
        if format == "email" || lower.contains("email") || lower == "identifier" {
            if rng.random_ratio(1, 4)
                && let Some(known) = world.staff_emails.choose(rng)
            {
                return known.clone();
            }
            return format!("p{}@example.com", rng.random_range(0..1_000_000));
        }
        if format == "date-time" {
            return "2024-01-02T03:04:05Z".into();
        }
        let min = schema["minLength"].as_u64().unwrap_or(3).max(1) as usize;
        let max = schema["maxLength"].as_u64().unwrap_or(24).min(40) as usize;
        let len = rng.random_range(min.min(max)..=max.max(min));
        (0..len).map(|_| *b"abcdefghijklmnopqrstuvwxyz0123456789 ".choose(rng).expect("char") as char).collect()
    }
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    let mut s = schema;
    for _ in 0..8 {
        let Some(r) = s.get("$ref").and_then(Value::as_str) else { break };
        s = doc.pointer(r.trim_start_matches('#')).unwrap_or(&Value::Null);
    }
    s
}

fn path_ids<'a>(world: &'a World, template: &str, name: &str) -> &'a [String] {
    world
        .path_ids
        .iter()
        .find(|(prefix, _)| {
            let (prefix, param) = prefix.split_once('#').unwrap_or((prefix, ""));
            template.starts_with(prefix) && (param.is_empty() || param == name)
        })
        .map_or(&[], |(_, ids)| ids.as_slice())
}

/// A query value's text: strings as they are, anything else as JSON.
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A path segment; a few hostile ids are left as written, since the encoding is their point.
fn encode_segment(s: &str) -> String {
    if s.starts_with('%') || s == ".." { s.to_owned() } else { encode_component(s) }
}

pub fn hostile_id(rng: &mut StdRng) -> String {
    let fixed = [
        "not-a-uuid",
        "00000000-0000-0000-0000-000000000000",
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
        "3C90C3CC-0D44-4B50-8888-8DD25736052A",
        "{3c90c3cc-0d44-4b50-8888-8dd25736052a}",
        "3c90c3cc0d444b5088888dd25736052a",
        "3c90c3cc-0d44-4b50-8888-8dd25736052",
        "0",
        "-1",
        "1",
        "99999999999999999999999999",
        "9223372036854775807",
        "FD-0",
        "FD-99999999999999999999",
        "fd--1",
        "qm:00000000-0000-0000-0000-000000000000:x",
        "%00",
        "%2e%2e",
        "%2F",
        "%C3%28",
        "..",
        "null",
        "'; DROP TABLE tickets; --",
    ];
    match rng.random_range(0..6) {
        0 => uuid::Uuid::new_v4().to_string(),
        // Never empty: an empty segment is another path, which the contract check cannot place.
        1 => Some(hostile_string(rng).chars().take(3000).collect::<String>())
            .filter(|s| !s.is_empty())
            .unwrap_or("%20".into()),
        _ => fixed.choose(rng).expect("ids").to_string(),
    }
}

/// Strings that have broken servers: empty, huge, multi-byte, NUL, direction marks, lone
/// surrogates, injection attempts, control characters.
pub fn hostile_string(rng: &mut StdRng) -> String {
    match rng.random_range(0..18) {
        0 => String::new(),
        1 => " \t\n\r ".into(),
        2 => "a".repeat(rng.random_range(51..300)),
        3 => "x".repeat(rng.random_range(10_000..70_000)),
        4 => "😀".repeat(rng.random_range(1..3000)),
        5 => "𝕏\u{10FFFF}\u{1F4A9}𠜎".repeat(rng.random_range(1..40)),
        6 => "a\u{0}b\u{0}".into(),
        7 => "\u{202E}gnp.exe\u{202C}\u{200F}\u{200E}\u{2067}".into(),
        8 => "\u{FEFF}\u{200B}zero\u{2060}width\u{FFFE}".into(),
        9 => "e\u{301}\u{302}\u{303}".repeat(rng.random_range(1..800)),
        10 => format!("a{SURROGATE_MARK}b"),
        11 => "' OR 1=1 --; DROP TABLE tickets; --".into(),
        12 => "<script>alert(1)</script>&amp;<![CDATA[x]]>&#0;".into(),
        13 => "%s%n%x{0}${jndi:ldap://x}\\u0000\\".into(),
        14 => "ﷺ".repeat(rng.random_range(1..4000)),
        15 => "\u{1}\u{7}\u{1b}[31m\r\n\u{7f}\u{85}".into(),
        16 => ["a@b", "@example.com", "a@", "üñí@exämple.com", "a b@example.com", "a\u{0}@example.com"]
            .choose(rng)
            .expect("emails")
            .to_string(),
        _ => format!("{}@example.com", "u".repeat(rng.random_range(240..20_000))),
    }
}

fn hostile_scalar_text(rng: &mut StdRng) -> String {
    let numbers = [
        "-1",
        "0",
        "-0",
        "1.5",
        "1e3",
        "1e400",
        "NaN",
        "Infinity",
        "-9223372036854775808",
        "9223372036854775807",
        "9223372036854775808",
        "99999999999999999999999999999",
        "0x10",
        "true",
        "[]",
        "{}",
        "null",
    ];
    if rng.random_ratio(1, 2) { numbers.choose(rng).expect("numbers").to_string() } else { hostile_string(rng) }
}

/// Query text the client writes as it is: bad percent-encodings and the like.
fn raw_query_value(rng: &mut StdRng) -> String {
    ["%ZZ", "%", "%C3%28", "%00", "%FF%FE", "a%2Cb%2C%2C", "+++", "=", "a=b=c", ";", "%E2%80%AE"]
        .choose(rng)
        .expect("raw values")
        .to_string()
}

fn absurd_query(rng: &mut StdRng) -> Vec<String> {
    match rng.random_range(0..5) {
        0 => (0..rng.random_range(50..500)).map(|i| format!("k{i}=v")).collect(),
        1 => vec![format!("q={}", "a".repeat(rng.random_range(1000..6000)))],
        2 => vec!["&&&".into(), "=".into(), "==".into()],
        3 => vec![format!("{}=1", encode_component(&hostile_string(rng).chars().take(500).collect::<String>()))],
        _ => vec!["limit=-1&start=-5&pageNumber=-1&pageSize=0&PageNo=-1&PageSize=99999999".into()],
    }
}

fn hostile_value(rng: &mut StdRng) -> Value {
    match rng.random_range(0..14) {
        0 => Value::Null,
        1 => json!(true),
        2 => json!(-1),
        3 => json!(1.5),
        4 => json!(1e308),
        5 => json!(i64::MAX),
        6 => json!(u64::MAX),
        7 => json!([]),
        8 => json!({}),
        9 => json!([hostile_string(rng), 1, null]),
        10 => json!({"nested": {"deeper": [hostile_string(rng)]}}),
        _ => Value::String(hostile_string(rng)),
    }
}

/// Changes one spot of `v`: a value replaced, a key removed, or a key added.
fn mutate(rng: &mut StdRng, v: &mut Value) {
    match v {
        Value::Object(map) if !map.is_empty() && rng.random_ratio(4, 5) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let key = keys.choose(rng).expect("a key").clone();
            match rng.random_range(0..5) {
                0 => {
                    map.remove(&key);
                }
                1 | 2 => mutate(rng, map.get_mut(&key).expect("the key")),
                _ => {
                    map.insert(key, hostile_value(rng));
                }
            }
        }
        Value::Object(map) => {
            let key = if rng.random_ratio(1, 2) { "unexpectedField".to_owned() } else { hostile_string(rng) };
            map.insert(key, hostile_value(rng));
        }
        Value::Array(items) if !items.is_empty() && rng.random_ratio(1, 2) => {
            let i = rng.random_range(0..items.len());
            mutate(rng, &mut items[i]);
        }
        Value::Array(items) => {
            let n = rng.random_range(1..300);
            items.extend((0..n).map(|_| hostile_value(rng)));
        }
        other => *other = hostile_value(rng),
    }
}

fn to_json_text(v: &Value) -> Vec<u8> {
    let text = v.to_string();
    let mark = serde_json::to_string(SURROGATE_MARK).expect("json");
    let mark = mark.trim_matches('"');
    text.replace(mark, "\\ud800").into_bytes()
}

fn malformed_json(rng: &mut StdRng, valid: &Value) -> Vec<u8> {
    let text = valid.to_string();
    match rng.random_range(0..16) {
        0 => text.as_bytes()[..text.len() / 2].to_vec(),
        1 => format!("{text},").into_bytes(),
        2 => text.replace('"', "'").into_bytes(),
        3 => format!("\u{FEFF}{text}").into_bytes(),
        4 => b"{\"a\": NaN, \"b\": Infinity}".to_vec(),
        5 => "[".repeat(rng.random_range(100..100_000)).into_bytes(),
        6 => format!("{}1{}", "{\"a\":".repeat(200), "}".repeat(200)).into_bytes(),
        7 => Vec::new(),
        8 => ["[]", "\"text\"", "1", "null", "true", "-0", "1e999"].choose(rng).expect("scalars").as_bytes().to_vec(),
        9 => {
            let mut bytes = text.into_bytes();
            bytes.extend_from_slice(&[0xff, 0xfe, 0xc3, 0x28]);
            bytes
        }
        10 => r#"{"a": "\ud800", "b": "\udfff\ud800", "c": "\u0000"}"#.as_bytes().to_vec(),
        11 => format!("{text}{text}").into_bytes(),
        12 => {
            // Every key twice, the second time with a wrong value.
            let mut out = text.trim_end_matches('}').to_owned();
            if let Value::Object(map) = valid {
                for k in map.keys() {
                    out.push_str(&format!(",{}:{{\"x\":[1,2]}}", Value::String(k.clone())));
                }
            }
            out.push('}');
            out.into_bytes()
        }
        13 => format!("{{\"big\": \"{}\"}}", "é".repeat(rng.random_range(100_000..400_000))).into_bytes(),
        14 => b"\x00\x01\x02\x03".to_vec(),
        _ => b"<User><Email>x@example.com</Email></User>".to_vec(),
    }
}

/// The XML form of a JSON body (elements named by its keys), whole or broken.
fn xml_body(rng: &mut StdRng, valid: &Value) -> Vec<u8> {
    let mut inner = String::new();
    if let Value::Object(map) = valid {
        for (k, v) in map {
            let text = match v {
                Value::String(s) => xml_escape(s),
                Value::Array(items) => {
                    items.iter().map(|i| format!("<Id>{}</Id>", xml_escape(&plain(i)))).collect::<String>()
                }
                other => xml_escape(&plain(other)),
            };
            inner.push_str(&format!("<{k}>{text}</{k}>"));
        }
    }
    let whole = format!("<User>{inner}</User>");
    match rng.random_range(0..16) {
        0..=3 => whole.into_bytes(),
        4 => whole.as_bytes()[..whole.len() / 2].to_vec(),
        5 => format!("<User>{inner}</Usr>").into_bytes(),
        6 => format!(
            "<?xml version=\"1.0\"?><!DOCTYPE User [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]><User><Email>&b;</Email>{inner}</User>"
        )
        .into_bytes(),
        7 => format!("<?xml version=\"1.0\" encoding=\"UTF-16\"?>{whole}").into_bytes(),
        8 => format!("<User><Email>&undefined;</Email><FirstName>&#0;&#xD800;</FirstName>{inner}</User>").into_bytes(),
        9 => format!("<User a=\"1\" a=\"2\" b='3' c=\"&lt;\">{inner}</User>").into_bytes(),
        10 => {
            let depth = rng.random_range(100..5000);
            format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth)).into_bytes()
        }
        11 => format!("<User><![CDATA[{inner}]]><!-- c --><?pi x?>{inner}</User>").into_bytes(),
        12 => {
            let mut bytes = b"<User><Email>".to_vec();
            bytes.extend_from_slice(&[0xff, 0xfe, 0x00, 0xc3, 0x28]);
            bytes.extend_from_slice(b"</Email></User>");
            bytes
        }
        13 => format!("<User><Email>{}</Email></User>", xml_escape(&hostile_string(rng))).into_bytes(),
        14 => format!("<UserRequest><User>{inner}</User><User>{inner}</User></UserRequest>").into_bytes(),
        _ => format!("<User>{inner}{}</User>", "<Extra>x</Extra>".repeat(rng.random_range(1..2000))).into_bytes(),
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
