//! Import and export of external users as NDJSON or CSV (docs/import-export.md):
//! `POST /api/v1/external-users/import` and `GET /api/v1/external-users/export`, and the same
//! reading and writing for the `frontdesk import` and `frontdesk export` commands.
//!
//! Neither holds a file in memory: an import reads its body (or file) line by line, parses each row
//! with the very field readers of `PUT /api/v1/external-users` and hands it to the use case, which
//! writes batches; an export writes the list page by page as it reads it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::error::{ApiError, ApiResult};
use super::external_user_body::ExternalUserBody;
use super::external_users::list_filter;
use super::identities::upsert_fields;
use crate::app::{App, AppError, EXPORT_PAGE_ROWS, ExternalUserFilter, ImportReport, ImportRow, Principal};
use crate::domain::{ExternalId, ExternalUser, FieldError, Refusal, Rule, Timestamp, parse_uuid};
use crate::http::AppState;
use crate::http::body::{Fields, QueryParams, nullable, parsed, uuid};
use crate::http::extract::ApiKey;

/// The import's path: the transport gives it a larger body bound and a longer time than any other
/// route (`Limits::max_import_bytes`, `import_timeout`).
pub const IMPORT_PATH: &str = crate::http::transport::BULK_PATHS[0];
/// A line (a CSV record: all its lines) longer than this is refused as a row, without being kept.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// Rows one import reads at most; past it the import stops and its report says so.
pub const MAX_IMPORT_ROWS: u64 = 10_000_000;
/// The columns of a CSV export, in order (the keys of an NDJSON export's lines too).
pub const EXPORT_COLUMNS: &[&str] = &[
    "id",
    "channelId",
    "externalId",
    "identifier",
    "name",
    "tierId",
    "externalUserGroupId",
    "blocked",
    "superIdentityId",
    "workspaceId",
    "createdAt",
    "updatedAt",
];

pub fn router() -> Router<AppState> {
    Router::new().route(IMPORT_PATH, post(import)).route("/api/v1/external-users/export", get(export))
}

/// The two file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Ndjson,
    Csv,
}

impl Format {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ndjson" | "jsonl" => Some(Format::Ndjson),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }

    /// The format a media type names (`application/x-ndjson`, `text/csv`; parameters ignored).
    pub fn of_media_type(value: &str) -> Option<Self> {
        match value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase().as_str() {
            "application/x-ndjson" | "application/ndjson" | "application/jsonl" => Some(Format::Ndjson),
            "text/csv" => Some(Format::Csv),
            _ => None,
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Format::Ndjson => "application/x-ndjson",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }
}

/// Where an import's bytes come from, chunk by chunk: a request body, or a file.
pub trait ByteSource: Send {
    /// The next chunk; `None` at the end; `Err` (with why) when the upload broke off or went past
    /// its bound.
    fn next_chunk(&mut self) -> impl Future<Output = Result<Option<Bytes>, String>> + Send;
}

/// A request body as a [`ByteSource`].
pub struct BodySource(pub Body);

impl ByteSource for BodySource {
    async fn next_chunk(&mut self) -> Result<Option<Bytes>, String> {
        use http_body_util::BodyExt;
        loop {
            match self.0.frame().await {
                None => return Ok(None),
                Some(Err(e)) => return Err(format!("the upload broke off or exceeded the import's size bound ({e})")),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data()
                        && !data.is_empty()
                    {
                        return Ok(Some(data));
                    }
                }
            }
        }
    }
}

/// Any async reader (a file, standard input) as a [`ByteSource`].
pub struct ReaderSource<R>(pub R);

impl<R: tokio::io::AsyncRead + Unpin + Send> ByteSource for ReaderSource<R> {
    async fn next_chunk(&mut self) -> Result<Option<Bytes>, String> {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 64 * 1024];
        let n = self.0.read(&mut buf).await.map_err(|e| format!("the file could not be read: {e}"))?;
        if n == 0 {
            return Ok(None);
        }
        buf.truncate(n);
        Ok(Some(buf.into()))
    }
}

/// One line of input, or the news that it was too long (and skipped).
enum Line {
    Text(Vec<u8>),
    TooLong,
}

/// Splits a [`ByteSource`] into lines, keeping at most [`MAX_LINE_BYTES`] of any line.
struct Lines<S> {
    source: S,
    buf: Vec<u8>,
    start: usize,
    done: bool,
    /// Bytes consumed so far (for the progress line).
    bytes: u64,
}

impl<S: ByteSource> Lines<S> {
    fn new(source: S) -> Self {
        Self { source, buf: Vec::new(), start: 0, done: false, bytes: 0 }
    }

    async fn next(&mut self) -> Result<Option<Line>, String> {
        let mut skipping = false;
        loop {
            if let Some(at) = self.buf[self.start..].iter().position(|b| *b == b'\n') {
                let end = self.start + at;
                let line = &self.buf[self.start..end];
                let line = line.strip_suffix(b"\r").unwrap_or(line).to_vec();
                self.bytes += (end + 1 - self.start) as u64;
                self.start = end + 1;
                let too_long = skipping || line.len() > MAX_LINE_BYTES;
                return Ok(Some(if too_long { Line::TooLong } else { Line::Text(line) }));
            }
            if self.buf.len() - self.start > MAX_LINE_BYTES {
                // Drop what is buffered of this line; keep reading until its end.
                self.bytes += (self.buf.len() - self.start) as u64;
                self.buf.clear();
                self.start = 0;
                skipping = true;
            }
            if self.done {
                if self.start >= self.buf.len() && !skipping {
                    return Ok(None);
                }
                let line = self.buf[self.start..].to_vec();
                self.bytes += line.len() as u64;
                self.buf.clear();
                self.start = 0;
                let too_long = skipping || line.len() > MAX_LINE_BYTES;
                return Ok(Some(if too_long { Line::TooLong } else { Line::Text(line) }));
            }
            if self.start > 0 {
                self.buf.drain(..self.start);
                self.start = 0;
            }
            match self.source.next_chunk().await? {
                Some(chunk) => self.buf.extend_from_slice(&chunk),
                None => self.done = true,
            }
        }
    }
}

/// Progress as an import goes: bytes read and the report so far.
pub type Progress<'a> = &'a mut (dyn FnMut(u64, &ImportReport) + Send);

fn row_error(field: &str, rule: Rule, message: impl Into<String>) -> Vec<FieldError> {
    vec![FieldError::new(field, Refusal::new(rule, message))]
}

/// Reads `source` in `format` and imports every row into the principal's workspace. With
/// `channel_id`, every row goes to that channel (a row's own `channelId` is ignored). Calls
/// `progress` after every batch or so; answers the report once the last row is written.
pub async fn run_import(
    app: &App,
    who: &Principal,
    format: Format,
    channel_id: Option<Uuid>,
    source: impl ByteSource,
    progress: Progress<'_>,
) -> Result<ImportReport, AppError> {
    let mut import = app.start_import(who)?;
    let mut lines = Lines::new(source);
    let mut line_no: u64 = 0;
    let mut header: Option<Vec<String>> = None;
    let mut rows: u64 = 0;
    loop {
        let next = match lines.next().await {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(why) => {
                import.stop(why);
                break;
            }
        };
        line_no += 1;
        let first_line = line_no;
        let text = match next {
            Line::TooLong => {
                let message = format!("is longer than {MAX_LINE_BYTES} bytes");
                if format == Format::Csv && header.is_none() {
                    import.stop(format!("the header line {message}"));
                    break;
                }
                import.reject(first_line, row_error("row", Rule::TooLong { max: MAX_LINE_BYTES }, message));
                rows += 1;
                continue;
            }
            Line::Text(text) => text,
        };
        let object = match format {
            Format::Ndjson => {
                if text.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                match Fields::parse(&Bytes::from(text)) {
                    Ok(fields) => Ok(fields),
                    Err(AppError::Invalid(errors)) => Err(errors.into_iter().map(row_field).collect()),
                    Err(e) => Err(row_error("row", Rule::Format, e.to_string())),
                }
            }
            Format::Csv => {
                // A quoted cell may hold line breaks: the record goes on until its quotes close.
                let mut record = text;
                let mut too_long = false;
                while record.iter().filter(|b| **b == b'"').count() % 2 == 1 {
                    match lines.next().await {
                        Ok(Some(Line::Text(more))) => {
                            line_no += 1;
                            record.push(b'\n');
                            record.extend_from_slice(&more);
                            if record.len() > MAX_LINE_BYTES {
                                too_long = true;
                            }
                        }
                        Ok(Some(Line::TooLong)) => {
                            line_no += 1;
                            too_long = true;
                        }
                        Ok(None) => break,
                        Err(why) => {
                            import.stop(why);
                            break;
                        }
                    }
                    if too_long {
                        break;
                    }
                }
                let record = String::from_utf8(record);
                match (&header, record) {
                    _ if too_long => {
                        let message = format!("is longer than {MAX_LINE_BYTES} bytes");
                        Err(row_error("row", Rule::TooLong { max: MAX_LINE_BYTES }, message))
                    }
                    (_, Err(_)) if header.is_none() => {
                        import.stop("the header line is not UTF-8");
                        break;
                    }
                    (_, Err(_)) => Err(row_error("row", Rule::Format, "is not UTF-8")),
                    (None, Ok(text)) => match csv_record(&text) {
                        Ok(names) => {
                            if let Some(why) = header_problem(&names, channel_id.is_some()) {
                                import.stop(why);
                                break;
                            }
                            header = Some(names.into_iter().map(|n| n.trim().to_owned()).collect());
                            continue;
                        }
                        Err(why) => {
                            import.stop(format!("the header line {why}"));
                            break;
                        }
                    },
                    (Some(names), Ok(text)) if text.trim().is_empty() && names.len() > 1 => continue,
                    (Some(names), Ok(text)) => match csv_record(&text) {
                        Ok(cells) if cells.len() != names.len() => Err(row_error(
                            "row",
                            Rule::Format,
                            format!("has {} cells where the header has {}", cells.len(), names.len()),
                        )),
                        Ok(cells) => Ok(Fields::from_object(csv_object(names, cells))),
                        Err(why) => Err(row_error("row", Rule::Format, why)),
                    },
                }
            }
        };
        rows += 1;
        if rows > MAX_IMPORT_ROWS {
            import.stop(format!("the import stopped after {MAX_IMPORT_ROWS} rows, its bound"));
            break;
        }
        match object.and_then(|fields| parse_row(fields, first_line, channel_id)) {
            Ok(row) => import.push(row).await?,
            Err(errors) => import.reject(first_line, errors),
        }
        if import.report().stopped.is_some() {
            break;
        }
        if rows.is_multiple_of(1000) {
            progress(lines.bytes, import.report());
        }
    }
    if format == Format::Csv && header.is_none() && import.report().stopped.is_none() {
        import.stop("the file has no header line");
    }
    let report = import.finish().await?;
    progress(lines.bytes, &report);
    Ok(report)
}

/// A body-level refusal of a whole line (not JSON, not an object) is the row's, not the body's.
fn row_field(e: FieldError) -> FieldError {
    if e.field == "body" { FieldError { field: "row".into(), ..e } } else { e }
}

/// Why a CSV header cannot be imported, if it cannot.
fn header_problem(names: &[String], channel_given: bool) -> Option<String> {
    let names: Vec<&str> = names.iter().map(|n| n.trim()).collect();
    for (i, n) in names.iter().enumerate() {
        if names[..i].contains(n) {
            return Some(format!("the header names the column {n:?} twice"));
        }
    }
    if !channel_given && !names.contains(&"channelId") {
        return Some("the header has no channelId column (or give the import a channelId)".into());
    }
    None
}

/// A CSV record's cells as the JSON object an NDJSON line would be: an empty cell is `null` (an
/// empty `blocked`, which cannot be null, is left out), and `blocked` is a boolean when it reads
/// `true` or `false` (anything else stays text, and is refused by the same rule as a JSON string).
fn csv_object(names: &[String], cells: Vec<String>) -> Map<String, Value> {
    let mut object = Map::new();
    for (name, cell) in names.iter().zip(cells) {
        let value = if cell.is_empty() && name == "blocked" {
            // `blocked` cannot be null: an empty cell leaves it as it is.
            continue;
        } else if cell.is_empty() {
            Value::Null
        } else if name == "blocked" && (cell == "true" || cell == "false") {
            Value::Bool(cell == "true")
        } else {
            Value::String(cell)
        };
        object.insert(name.clone(), value);
    }
    object
}

/// One row's fields, read as `PUT /api/v1/external-users` reads its query's key and its body.
fn parse_row(mut f: Fields, line: u64, channel: Option<Uuid>) -> Result<ImportRow, Vec<FieldError>> {
    let channel_id = match channel {
        Some(id) => Some(id),
        None => f.required("channelId", uuid),
    };
    let external_id = f.optional("externalId", nullable(parsed(ExternalId::parse)));
    let fields = upsert_fields(&mut f);
    match (f.finish(), channel_id) {
        (Ok(()), Some(channel_id)) => Ok(ImportRow { line, channel_id, external_id: external_id.flatten(), fields }),
        (Err(AppError::Invalid(errors)), _) => Err(errors),
        _ => Err(row_error("channelId", Rule::Required, "is required")),
    }
}

/// The cells of one CSV record (RFC 4180: `"` quotes a cell, `""` inside one is a quote).
fn csv_record(text: &str) -> Result<Vec<String>, String> {
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    cell.push('"');
                }
                '"' => quoted = false,
                c => cell.push(c),
            }
            continue;
        }
        match c {
            ',' => {
                cells.push(std::mem::take(&mut cell));
                was_quoted = false;
            }
            '"' if cell.is_empty() && !was_quoted => {
                quoted = true;
                was_quoted = true;
            }
            '"' => return Err("has a quote inside an unquoted cell".into()),
            _ if was_quoted => return Err("has text after a quoted cell's closing quote".into()),
            c => cell.push(c),
        }
    }
    if quoted {
        return Err("has a quoted cell that is never closed".into());
    }
    cells.push(cell);
    Ok(cells)
}

/// The report as both the API and the command show it.
pub fn report_json(r: &ImportReport) -> Value {
    let rejections: Vec<Value> = r
        .rejections
        .iter()
        .map(|row| {
            let errors: Vec<Value> =
                row.errors.iter().map(|e| json!({"field": e.field, "message": e.message})).collect();
            json!({"line": row.line, "errors": errors})
        })
        .collect();
    json!({
        "rows": r.rows(),
        "created": r.created,
        "updated": r.updated,
        "unchanged": r.unchanged,
        "rejected": r.rejected,
        "rejections": rejections,
        "rejectionsTruncated": r.rejections_truncated(),
        "stopped": r.stopped,
    })
}

/// `POST /api/v1/external-users/import`: the body (NDJSON or CSV, by its Content-Type) streamed
/// row by row; the report when the last row is written.
async fn import(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Body,
) -> ApiResult<Response> {
    let mut q = QueryParams::parse(raw.as_deref());
    let channel_id = q.string("channelId").map(|raw| {
        let id = parse_uuid(raw.trim());
        if id.is_none() {
            q.reject("channelId", Refusal::new(Rule::Format, "must be a valid UUID"));
        }
        id
    });
    let media = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let format = media.and_then(Format::of_media_type);
    if format.is_none() {
        let why = "must be application/x-ndjson or text/csv";
        q.reject("Content-Type", Refusal::new(Rule::Format, why));
    }
    q.finish()?;
    let format = format.unwrap_or(Format::Ndjson);
    let channel_id = channel_id.flatten();
    if let Some(channel_id) = channel_id {
        s.app.get_channel(&who, channel_id).await?;
    }
    let report = run_import(&s.app, &who, format, channel_id, BodySource(body), &mut |_, _| {}).await?;
    Ok(Json(report_json(&report)).into_response())
}

/// One page of users in `format`: NDJSON lines, or CSV records (after the header on the first page).
pub fn export_chunk(format: Format, users: Vec<ExternalUser>, first: bool) -> Bytes {
    let mut out = String::new();
    if first && format == Format::Csv {
        out.push_str(&EXPORT_COLUMNS.join(","));
        out.push_str("\r\n");
    }
    for user in users {
        let value = serde_json::to_value(ExternalUserBody::from(user)).unwrap_or(Value::Null);
        match format {
            Format::Ndjson => {
                let mut ordered = Map::new();
                for column in EXPORT_COLUMNS {
                    ordered.insert((*column).to_owned(), value.get(*column).cloned().unwrap_or(Value::Null));
                }
                out.push_str(&Value::Object(ordered).to_string());
                out.push('\n');
            }
            Format::Csv => {
                let cells: Vec<String> = EXPORT_COLUMNS
                    .iter()
                    .map(|column| match value.get(*column) {
                        None | Some(Value::Null) => String::new(),
                        Some(Value::String(s)) => csv_cell(s),
                        Some(other) => other.to_string(),
                    })
                    .collect();
                out.push_str(&cells.join(","));
                out.push_str("\r\n");
            }
        }
    }
    out.into()
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\r', '\n']) || s.is_empty() {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// The position after a page's last user, where the next page starts; `None` after a short page,
/// the last one.
fn after(users: &[ExternalUser]) -> Option<(Timestamp, Uuid)> {
    if (users.len() as i64) < EXPORT_PAGE_ROWS {
        return None;
    }
    users.last().map(|u| (u.created_at, u.id))
}

/// Sends the export page by page to `out`, starting after `first` (already sent). Stops when the
/// receiver goes away; an error is sent as the last item.
pub async fn export_rest(
    app: App,
    who: Principal,
    filter: ExternalUserFilter,
    format: Format,
    mut position: Option<(Timestamp, Uuid)>,
    out: mpsc::Sender<Result<Bytes, String>>,
) {
    while let Some(at) = position {
        let page = match app.export_external_users(&who, &filter, Some(at)).await {
            Ok(page) => page,
            Err(e) => {
                let _ = out.send(Err(format!("the export broke off: {e}"))).await;
                return;
            }
        };
        position = after(&page);
        if out.send(Ok(export_chunk(format, page, false))).await.is_err() {
            return;
        }
    }
}

/// The first page of an export (so its refusals are answered with a status) and where it ended.
pub async fn export_first(
    app: &App,
    who: &Principal,
    filter: &ExternalUserFilter,
    format: Format,
) -> Result<(Bytes, Option<(Timestamp, Uuid)>), AppError> {
    let page = app.export_external_users(who, filter, None).await?;
    let position = after(&page);
    Ok((export_chunk(format, page, true), position))
}

/// A streamed answer fed by [`export_rest`]; an error ends it unfinished, so a client never takes a
/// cut-off export for a whole one.
struct ChannelBody {
    first: Option<Bytes>,
    rest: mpsc::Receiver<Result<Bytes, String>>,
}

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(Ok(http_body::Frame::data(first))));
        }
        match self.rest.poll_recv(cx) {
            Poll::Ready(Some(Ok(chunk))) => Poll::Ready(Some(Ok(http_body::Frame::data(chunk)))),
            Poll::Ready(Some(Err(why))) => Poll::Ready(Some(Err(std::io::Error::other(why)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// `GET /api/v1/external-users/export?format=ndjson|csv` with the list's filters.
async fn export(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let mut q = QueryParams::parse(raw.as_deref());
    let filter = list_filter(&mut q);
    let format = match q.string("format") {
        None => Some(Format::Ndjson),
        Some(raw) => Format::parse(&raw),
    };
    if format.is_none() {
        q.reject("format", Refusal::new(Rule::Format, "must be ndjson or csv"));
    }
    q.finish()?;
    let format = format.unwrap_or(Format::Ndjson);
    let (first, position) = export_first(&s.app, &who, &filter, format).await?;
    if first.is_empty() {
        // No user matches, and NDJSON has no header: nothing to send.
        return Ok(axum::http::StatusCode::NO_CONTENT.into_response());
    }
    let (out, rest) = mpsc::channel(2);
    tokio::spawn(export_rest(s.app.clone(), who, filter, format, position, out));
    let mut response = Response::new(Body::new(ChannelBody { first: Some(first), rest }));
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(format.media_type()));
    Ok(response)
}
