//! Every response an API test receives is held against the OpenAPI document: the operation found by
//! method and path template must document the status (or a `default`), and a JSON body must match
//! that response's schema, carrying no key the schema does not declare. The document is
//! hand-written; this is what keeps it true.

use std::sync::OnceLock;

use serde_json::Value;

use crate::schema;

/// A response value known to break a product document on the code's side, waiting for a fix in
/// the code. Only that value is let through; the rest of the body is still checked.
struct KnownCodeDefect {
    method: &'static str,
    template: &'static str,
    /// Where in the body, array indices written `[]`: `$.values[].displayName`.
    at: &'static str,
    /// How the broken rule's text begins.
    rule: &'static str,
}

const KNOWN_CODE_DEFECTS: &[KnownCodeDefect] = &[];

/// The document, parsed once per test process. It is the one the server serves: a test in
/// `openapi.rs` holds `/openapi.json` equal to it.
fn document() -> &'static Document {
    static DOC: OnceLock<Document> = OnceLock::new();
    DOC.get_or_init(|| Document::new(frontdesk::contracts::openapi_document()))
}

struct Document {
    root: Value,
    /// Path templates split into segments, most literal segments first, so `/x/authenticate` is
    /// found before `/x/{id}` (the order the router matches in).
    templates: Vec<(String, Vec<String>)>,
}

impl Document {
    fn new(root: Value) -> Self {
        let mut templates: Vec<(String, Vec<String>)> = root["paths"]
            .as_object()
            .expect("the document has paths")
            .keys()
            .map(|t| (t.clone(), t.split('/').map(str::to_owned).collect()))
            .collect();
        templates
            .sort_by_key(|(_, segments)| std::cmp::Reverse(segments.iter().filter(|s| !s.starts_with('{')).count()));
        Self { root, templates }
    }

    fn template_of(&self, path: &str) -> Option<&str> {
        let segments: Vec<&str> = path.split('/').collect();
        self.templates
            .iter()
            .find(|(_, t)| {
                t.len() == segments.len()
                    && t.iter().zip(&segments).all(|(t, s)| t == s || (t.starts_with('{') && !s.is_empty()))
            })
            .map(|(template, _)| template.as_str())
    }
}

/// Panics, naming the operation and each broken rule, when the response is not what the document
/// says `method path` answers. `path` may carry a query string.
pub fn check_response(method: &str, path: &str, status: u16, content_type: Option<&str>, body: &str) {
    if let Err(problem) = conformance(method, path, status, content_type, body) {
        panic!("{method} {path} answered {status}, which the OpenAPI document does not allow: {problem}\nbody: {body}");
    }
}

fn conformance(method: &str, path: &str, status: u16, content_type: Option<&str>, body: &str) -> Result<(), String> {
    let path = path.split('?').next().unwrap_or_default();
    // The settings pages are HTML for browsers (pages, redirects, assets), outside the API document.
    if path == "/settings" || path.starts_with("/settings/") {
        return Ok(());
    }
    let doc = document();
    let Some(template) = doc.template_of(path) else {
        // A path the document does not know must be one the server does not route either.
        return if status == 404 { Ok(()) } else { Err("the path matches no documented template".into()) };
    };
    let Some(operation) = doc.root["paths"][template].get(method.to_lowercase()) else {
        return if status == 405 { Ok(()) } else { Err(format!("{method} is not documented on {template}")) };
    };
    let responses = &operation["responses"];
    let code = status.to_string();
    let range = format!("{}XX", status / 100);
    let Some(response) = [code.as_str(), range.as_str(), "default"].into_iter().find_map(|k| responses.get(k)) else {
        let documented: Vec<&String> = responses.as_object().into_iter().flat_map(|r| r.keys()).collect();
        return Err(format!("status {status} is not documented for {method} {template} (documented: {documented:?})"));
    };
    let content = response.get("content").and_then(Value::as_object).filter(|c| !c.is_empty());
    let Some(content) = content else {
        return if body.is_empty() {
            Ok(())
        } else {
            Err(format!("{method} {template} {status} documents no body, but one came"))
        };
    };
    if body.is_empty() {
        return Err(format!("{method} {template} {status} documents a body, but none came"));
    }
    let media = content_type.unwrap_or_default().split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let Some(described) = content.get(&media) else {
        let documented: Vec<&String> = content.keys().collect();
        return Err(format!("media type {media:?} is not documented (documented: {documented:?})"));
    };
    // Only JSON bodies are validated. The staff users contract's XML answers are held to a documented
    // XML media type above; their element structure is covered by that contract's own tests.
    if !(media == "application/json" || media.ends_with("+json")) {
        return Ok(());
    }
    let Some(schema) = described.get("schema") else { return Ok(()) };
    let value: Value = serde_json::from_str(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let Err(violations) = schema::validate_closed(&doc.root, schema, &value) else { return Ok(()) };
    let lines: Vec<String> =
        violations.iter().filter(|v| !is_known_defect(method, template, v)).map(ToString::to_string).collect();
    if lines.is_empty() {
        return Ok(());
    }
    Err(format!("the body breaks the schema of {method} {template} {status}:\n  {}", lines.join("\n  ")))
}

fn is_known_defect(method: &str, template: &str, v: &schema::Violation) -> bool {
    let mut at = String::with_capacity(v.at.len());
    let mut in_index = false;
    for c in v.at.chars() {
        match c {
            '[' => in_index = true,
            ']' => {
                in_index = false;
                at.push_str("[]");
            }
            _ if in_index => {}
            _ => at.push(c),
        }
    }
    KNOWN_CODE_DEFECTS
        .iter()
        .any(|d| d.method == method && d.template == template && d.at == at && v.rule.starts_with(d.rule))
}

#[cfg(test)]
mod tests {
    use super::{KNOWN_CODE_DEFECTS, conformance, document};

    #[test]
    fn every_known_code_defect_names_a_documented_operation() {
        for d in KNOWN_CODE_DEFECTS {
            let operation = document().root["paths"][d.template].get(d.method.to_lowercase());
            assert!(operation.is_some(), "{} {} is not in the document", d.method, d.template);
        }
    }

    const ID: &str = "3c90c3cc-0d44-4b50-8888-8dd25736052a";

    #[test]
    fn an_undocumented_status_is_refused() {
        let problem = conformance("GET", "/api/v1/channels", 418, Some("application/json"), "{}").unwrap_err();
        assert!(problem.contains("status 418 is not documented"), "{problem}");
    }

    #[test]
    fn a_body_that_breaks_the_schema_is_refused_with_the_path_of_the_value() {
        let body = r#"[{"id": 7}]"#;
        let problem = conformance("GET", "/api/v1/channels?x=1", 200, Some("application/json"), body).unwrap_err();
        assert!(problem.contains("$[0].id: type"), "{problem}");
    }

    #[test]
    fn the_template_is_found_by_segments_and_literals_win_over_parameters() {
        let path = format!("/api/v1/external-users/{ID}");
        let problem = conformance("GET", &path, 200, Some("application/json"), "[]").unwrap_err();
        assert!(problem.contains("GET /api/v1/external-users/{id} 200"), "{problem}");
        let problem = conformance("POST", "/api/v1/external-users/authenticate", 200, Some("application/json"), "[]")
            .unwrap_err();
        assert!(problem.contains("/api/v1/external-users/authenticate 200"), "{problem}");
    }

    #[test]
    fn an_undocumented_media_type_is_refused() {
        let problem = conformance("GET", "/api/v1/channels", 200, Some("text/html"), "<p>").unwrap_err();
        assert!(problem.contains("media type \"text/html\""), "{problem}");
    }

    #[test]
    fn unknown_routes_and_methods_may_only_answer_the_routers_fallbacks() {
        assert!(conformance("GET", "/nothing", 404, Some("application/json"), "{}").is_ok());
        assert!(conformance("GET", "/nothing", 200, Some("application/json"), "{}").is_err());
        assert!(conformance("PUT", "/api/v1/channels", 405, Some("application/json"), "{}").is_ok());
        assert!(conformance("PUT", "/api/v1/channels", 200, Some("application/json"), "{}").is_err());
    }
}
