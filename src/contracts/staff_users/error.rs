//! Seed 003's envelope: the operation's response DTO carrying `ResponseStatus{ErrorCode, Message,
//! Errors[{ErrorCode, FieldName, Message}]}`, in the request's format. See docs/contracts.md.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::xml::Out;
use crate::app::{AppError, Conflict, Entity, Unique};
use crate::domain::FieldError;
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

    /// The response's format: `?format=json|xml` (the product's own switch), else an `Accept` naming
    /// JSON or XML, else the request's `Content-Type`, else XML.
    pub fn of_response(headers: &HeaderMap, format_param: Option<&str>) -> Self {
        Self::asked_for(headers, format_param).unwrap_or(Format::Xml)
    }

    /// The response format the request names, if it names one (see [`Format::of_response`]).
    pub fn asked_for(headers: &HeaderMap, format_param: Option<&str>) -> Option<Self> {
        if let Some(f) = format_param.and_then(Self::from_media_type) {
            return Some(f);
        }
        if let Some(f) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).and_then(Self::from_media_type) {
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

/// Seed 003's field names are PascalCase; the use cases speak camelCase.
fn field_name(field: &str) -> String {
    let mut chars = field.chars();
    chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

/// ServiceStack-style validator codes, chosen from the rule a message states.
fn error_code(message: &str) -> &'static str {
    if message == "is required" {
        "NotEmpty"
    } else if message.starts_with("must be at most") {
        "MaximumLength"
    } else if message.starts_with("must be at least") {
        "MinimumLength"
    } else if message.contains("e-mail address") {
        "Email"
    } else if message.contains("already exists") {
        "AlreadyExists"
    } else if message.contains("does not exist") {
        "NotFound"
    } else {
        "Invalid"
    }
}

pub fn response_status(code: &str, message: &str, errors: &[FieldError]) -> Out {
    let errors = errors
        .iter()
        .map(|e| {
            Out::Object(vec![
                ("ErrorCode", Out::text(error_code(&e.message))),
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
                vec![FieldError::new(conflict_field(c), "already exists in this workspace")],
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
