//! Seed 003's envelope: the operation's response DTO carrying `ResponseStatus{ErrorCode, Message,
//! Errors[{ErrorCode, FieldName, Message}]}`, in the request's format. See docs/contracts.md.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::xml::Out;
use crate::app::{AppError, Conflict, Entity, Unique};
use crate::domain::{FieldError, Refusal, Rule};
use crate::http::status::{conflict_field, status};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    fn from_media_type(value: &str) -> Option<Self> {
        let v = value.to_ascii_lowercase();
        if v.contains("json") {
            Some(Format::Json)
        } else if v.contains("xml") {
            Some(Format::Xml)
        } else {
            None
        }
    }

    /// The format an `Accept` header prefers: of the media ranges naming JSON or XML, the one of highest
    /// quality (`q`, 1 when absent), the first listed on a tie; `q=0` means "not this". Ranges naming
    /// neither (`*/*`, `text/html`) choose nothing, so the next rule decides (XML in the end).
    fn from_accept(value: &str) -> Option<Self> {
        let mut best: Option<(Self, f32)> = None;
        for range in value.split(',') {
            let mut parts = range.split(';');
            let Some(format) = parts.next().and_then(|m| Self::from_media_type(m.trim())) else { continue };
            let quality = parts
                .filter_map(|p| p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q=")))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if quality > 0.0 && best.is_none_or(|(_, q)| quality > q) {
                best = Some((format, quality));
            }
        }
        best.map(|(format, _)| format)
    }

    /// The request body's format: `Content-Type` JSON or XML, XML when none is given (seed 003). The
    /// media types clients send without being asked (`curl -d`'s form type, `text/plain`,
    /// `application/octet-stream`) are sniffed: a leading `<` is XML, `{` is JSON. `None` otherwise.
    pub fn of_request(headers: &HeaderMap, body: &[u8]) -> Option<Self> {
        let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::trim).unwrap_or_default();
        if ct.is_empty() {
            return Some(Format::Xml);
        }
        if let Some(f) = Self::from_media_type(ct) {
            return Some(f);
        }
        let essence = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        if !matches!(essence.as_str(), "application/x-www-form-urlencoded" | "text/plain" | "application/octet-stream")
        {
            return None;
        }
        Self::sniff(body)
    }

    /// The format a body's first character shows (after white space and a byte order mark).
    fn sniff(body: &[u8]) -> Option<Self> {
        let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
        match body.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'<') => Some(Format::Xml),
            Some(b'{') => Some(Format::Json),
            _ => None,
        }
    }

    /// The response's format: `?format=json|xml` (the product's own switch), else the format `Accept`
    /// prefers ([`Format::from_accept`]), else the request's `Content-Type`, else XML.
    pub fn of_response(headers: &HeaderMap, format_param: Option<&str>) -> Self {
        Self::asked_for(headers, format_param).unwrap_or(Format::Xml)
    }

    /// The response format the request names, if it names one (see [`Format::of_response`]).
    pub fn asked_for(headers: &HeaderMap, format_param: Option<&str>) -> Option<Self> {
        if let Some(f) = format_param.and_then(Self::from_media_type) {
            return Some(f);
        }
        if let Some(f) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).and_then(Self::from_accept) {
            return Some(f);
        }
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).and_then(Self::from_media_type)
    }

    pub fn respond(self, status: StatusCode, root: &str, body: &Out) -> Response {
        let (content_type, bytes) = match self {
            Format::Json => ("application/json; charset=utf-8", body.to_json().to_string()),
            Format::Xml => ("application/xml; charset=utf-8", body.xml_document(root)),
        };
        let mut response = (status, bytes).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        response
    }
}

/// What went wrong, beyond what [`AppError`] says: the transport-level refusals of this contract.
pub enum Failure {
    App(AppError),
    UnsupportedMediaType,
    MethodNotAllowed,
}

/// An error of one operation, rendered as its response DTO (`root`) in `format`.
pub struct UsersError {
    pub format: Format,
    pub root: &'static str,
    pub failure: Failure,
}

/// Seed 003's field names are PascalCase; the use cases name fields in one lower-case word or in
/// snake_case (`email`, `external_id`), the shell's conflicts in camelCase (`externalId`).
fn field_name(field: &str) -> String {
    field
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}

/// The ServiceStack validator code for a broken rule. Chosen from the rule's kind, never from its
/// message, so rewording a message cannot change this API.
fn error_code(rule: Rule) -> &'static str {
    match rule {
        Rule::Required | Rule::NotEmpty => "NotEmpty",
        Rule::TooLong { .. } => "MaximumLength",
        Rule::TooShort { .. } => "MinimumLength",
        Rule::Email => "Email",
        Rule::Taken => "AlreadyExists",
        Rule::NotFound => "NotFound",
        Rule::Range | Rule::Type | Rule::Format | Rule::Combination => "Invalid",
    }
}

pub fn response_status(code: &str, message: &str, errors: &[FieldError]) -> Out {
    let errors = errors
        .iter()
        .map(|e| {
            Out::Object(vec![
                ("ErrorCode", Out::text(error_code(e.rule))),
                ("FieldName", Out::text(field_name(&e.field))),
                ("Message", Out::text(format!("{} {}", field_name(&e.field), e.message))),
            ])
        })
        .collect();
    Out::Object(vec![
        ("ErrorCode", Out::text(code)),
        ("Message", Out::text(message)),
        ("Errors", Out::List(Some("ResponseError"), errors)),
    ])
}

fn not_found(entity: Entity) -> &'static str {
    match entity {
        Entity::StaffUser => "User not found.",
        Entity::StaffGroup => "Group not found.",
        Entity::StaffFolder => "Folder not found.",
        Entity::StaffInvitation => "Invitation not found or expired.",
        _ => "Not found.",
    }
}

impl IntoResponse for UsersError {
    fn into_response(self) -> Response {
        let (status, code, message, errors): (StatusCode, &str, String, Vec<FieldError>) = match self.failure {
            Failure::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UnsupportedMediaType",
                "The body must be JSON or XML (application/json or application/xml).".into(),
                vec![],
            ),
            Failure::MethodNotAllowed => {
                (StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", "This method is not allowed here.".into(), vec![])
            }
            // A taken e-mail or external id is bad input to this contract (it knows only 200/400/405).
            Failure::App(AppError::Conflict(c @ Conflict::Taken(Unique::StaffEmail | Unique::StaffExternalId))) => (
                StatusCode::BAD_REQUEST,
                "ValidationException",
                c.message().into(),
                vec![FieldError::new(conflict_field(c), Refusal::new(Rule::Taken, "already exists in this workspace"))],
            ),
            Failure::App(e) => {
                let status = status(&e);
                let (code, message, errors) = match e {
                    AppError::Invalid(errors) => ("ValidationException", "Invalid data provided.".into(), errors),
                    // Deleting a user others still refer to (a ticket assignee).
                    AppError::Conflict(c) => ("Conflict", c.message().into(), vec![]),
                    AppError::Unauthorized => ("Unauthorized", "Invalid or missing IntegrationKey.".into(), vec![]),
                    AppError::Forbidden(why) => ("Forbidden", why.into(), vec![]),
                    AppError::NotFound(entity) => ("NotFound", not_found(entity).into(), vec![]),
                    AppError::Unavailable => ("ServiceUnavailable", "Service temporarily unavailable.".into(), vec![]),
                    AppError::Internal(detail) => {
                        tracing::error!(%detail, "internal error");
                        ("InternalServerError", "Internal server error.".into(), vec![])
                    }
                };
                (status, code, message, errors)
            }
        };
        let body = Out::Object(vec![("ResponseStatus", response_status(code, &message, &errors))]);
        self.format.respond(status, self.root, &body)
    }
}

pub type UsersResult<T> = Result<T, UsersError>;

#[cfg(test)]
mod tests {
    use super::*;

    fn codes_of(errors: &[FieldError]) -> Vec<String> {
        let status = response_status("ValidationException", "Invalid data provided.", errors).to_json();
        status["Errors"].as_array().into_iter().flatten().map(|e| e["ErrorCode"].to_string()).collect()
    }

    #[test]
    fn every_rule_has_its_servicestack_validator_code() {
        let cases = [
            (Rule::Required, "NotEmpty"),
            (Rule::NotEmpty, "NotEmpty"),
            (Rule::TooLong { max: 50 }, "MaximumLength"),
            (Rule::TooShort { min: 6 }, "MinimumLength"),
            (Rule::Email, "Email"),
            (Rule::Taken, "AlreadyExists"),
            (Rule::NotFound, "NotFound"),
            (Rule::Range, "Invalid"),
            (Rule::Type, "Invalid"),
            (Rule::Format, "Invalid"),
            (Rule::Combination, "Invalid"),
        ];
        for (rule, code) in cases {
            assert_eq!(error_code(rule), code, "{rule:?}");
        }
    }

    #[test]
    fn rewording_a_message_does_not_change_its_code() {
        // Each message states another rule than the one it carries; the code follows the rule.
        let errors = [
            FieldError::new("Email", Refusal::new(Rule::Required, "must be at most 10 characters")),
            FieldError::new("ExternalId", Refusal::new(Rule::TooLong { max: 50 }, "is required")),
            FieldError::new("Password", Refusal::new(Rule::TooShort { min: 6 }, "already exists")),
            FieldError::new("Email", Refusal::new(Rule::Email, "does not exist")),
            FieldError::new("Email", Refusal::new(Rule::Taken, "must be a valid e-mail address")),
            FieldError::new("Groups", Refusal::new(Rule::NotFound, "must be at least 1 character")),
            FieldError::new("Status", Refusal::new(Rule::Format, "is required")),
        ];
        let codes = codes_of(&errors);
        let expected = ["NotEmpty", "MaximumLength", "MinimumLength", "Email", "AlreadyExists", "NotFound", "Invalid"];
        assert_eq!(codes, expected.map(|c| format!("{c:?}")));
    }

    #[test]
    fn use_case_field_names_become_pascal_case() {
        assert_eq!(field_name("email"), "Email");
        assert_eq!(field_name("external_id"), "ExternalId");
        assert_eq!(field_name("externalId"), "ExternalId");
        assert_eq!(field_name("ExternalId"), "ExternalId");
    }
}
