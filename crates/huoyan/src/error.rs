//! The application's one error type. Handlers and storage return `AppError`; it is mapped to an
//! HTTP answer here and nowhere else: JSON for the API (`IntoResponse`), and through
//! `crate::web::PageError` an HTML page for the browser. 500s are logged with their whole
//! chain and never shown.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct FieldError {
    /// The input field at fault, as the client sent it (`phone`, `rows[3].name`, `body`).
    pub field: String,
    pub message: String,
}

impl FieldError {
    /// A field and why it fails. Either may carry what the client sent (serde names an unknown
    /// field and quotes a bad value): the field is cut to [`QUOTE_MAX`] characters and every
    /// quoted run of the message as [`clip_quoted`] cuts it.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        Self {
            field: match field.char_indices().nth(QUOTE_MAX) {
                Some((end, _)) => format!("{}…", &field[..end]),
                None => field,
            },
            message: clip_quoted(&message.into()),
        }
    }
}

/// The most characters of a client's value an error quotes back: enough to recognise it, never
/// the 20 kB a client may have sent.
pub const QUOTE_MAX: usize = 64;

/// `value` as an error quotes it: in double quotes, escaped, cut to [`QUOTE_MAX`] characters.
pub fn quote(value: &str) -> String {
    clip_quoted(&format!("{value:?}"))
}

/// `text` with each run in double quotes or backticks (how our messages, serde's and axum's
/// quote input) cut to [`QUOTE_MAX`] characters and marked `…`; a backslash escapes the next
/// character inside double quotes, and a quote left open runs to the end.
pub fn clip_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(1024));
    let mut open: Option<char> = None;
    let (mut kept, mut escaped) = (0, false);
    for c in text.chars() {
        match open {
            None => {
                if c == '"' || c == '`' {
                    open = Some(c);
                    (kept, escaped) = (0, false);
                }
                out.push(c);
            }
            Some(q) if c == q && !escaped => {
                if kept > QUOTE_MAX {
                    out.push('…');
                }
                out.push(c);
                open = None;
            }
            Some(q) => {
                escaped = q == '"' && c == '\\' && !escaped;
                kept += 1;
                if kept <= QUOTE_MAX {
                    out.push(c);
                }
            }
        }
    }
    if open.is_some() && kept > QUOTE_MAX {
        out.push('…');
    }
    out
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("sign in first")]
    Unauthenticated,
    #[error("your role may not do this")]
    Forbidden,
    /// A write naming something outside the caller's scope (a region, a person, a team): 403,
    /// naming the fields, and nothing written.
    #[error("outside your scope")]
    OutsideScope(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    #[error("conflicts with existing data")]
    Conflict(Vec<FieldError>),
    #[error("the request body is too large")]
    TooLarge(Vec<FieldError>),
    #[error("too many attempts; wait a minute and try again")]
    RateLimited,
    /// More writes queued than the writer takes: refused at once (503 with `Retry-After`), never
    /// held until memory runs out.
    #[error("the server is busy; send again in a second")]
    Busy,
    /// A route asked with a method it does not take (`PUT /api/v1/cases`).
    #[error("this resource does not take this method")]
    MethodNotAllowed,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, message)])
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::OutsideScope(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden | Self::OutsideScope(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Invalid(_) => "invalid",
            Self::Conflict(_) => "conflict",
            Self::TooLarge(_) => "too_large",
            Self::RateLimited => "rate_limited",
            Self::Busy => "busy",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Internal(_) => "internal",
        }
    }

    pub fn fields(&self) -> &[FieldError] {
        match self {
            Self::Invalid(f) | Self::Conflict(f) | Self::TooLarge(f) | Self::OutsideScope(f) => f,
            _ => &[],
        }
    }

    /// Logs a 500 with its cause chain; returns the text a user may see.
    pub fn public_message(&self) -> String {
        if let Self::Internal(e) = self {
            tracing::error!(error = format!("{e:#}"), "internal error");
            "internal error; it has been logged".to_string()
        } else {
            self.to_string()
        }
    }
}

/// The JSON body of every API error. The response also carries it as an extension, so that the
/// layer rendering page routes' errors (`auth::error_pages`) shows it as a page.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: String,
    pub message: String,
    pub fields: Vec<FieldError>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code().to_string(),
            message: self.public_message(),
            fields: self.fields().to_vec(),
        };
        let mut res = (self.status(), Json(body.clone())).into_response();
        if matches!(self, Self::Busy) {
            res.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
        }
        res.extensions_mut().insert(body);
        res
    }
}

impl From<FieldError> for AppError {
    fn from(e: FieldError) -> Self {
        Self::Invalid(vec![e])
    }
}

/// SQLite's primary result code for a database locked by another connection (its extended codes
/// keep it in the low byte).
const SQLITE_BUSY: i32 = 5;

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() {
                let field = constrained_field(db.message(), db.constraint(), db.table());
                return AppError::Conflict(vec![FieldError::new(field, "already exists")]);
            }
            if db.is_foreign_key_violation() {
                return AppError::invalid("id", "refers to something that does not exist");
            }
            // SQLite's write lock still held by another writer after the busy timeout: the
            // request may be sent again (503 with Retry-After), nothing of it was written.
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
                && db
                    .code()
                    .and_then(|c| c.parse::<i32>().ok())
                    .is_some_and(|c| c & 0xff == SQLITE_BUSY)
            {
                return AppError::Busy;
            }
        }
        AppError::Internal(e.into())
    }
}

/// Names the column behind a unique violation: SQLite says `UNIQUE constraint failed:
/// people.phone`, PostgreSQL names the constraint `people_phone_key`.
fn constrained_field(message: &str, constraint: Option<&str>, table: Option<&str>) -> String {
    if let Some(cols) = message.strip_prefix("UNIQUE constraint failed: ") {
        let last = cols.split(", ").last().unwrap_or(cols);
        return last.rsplit('.').next().unwrap_or(last).to_string();
    }
    if let Some(c) = constraint {
        let c = c.strip_suffix("_key").unwrap_or(c);
        let prefix = table.map(|t| format!("{t}_")).unwrap_or_default();
        return c.strip_prefix(&prefix).unwrap_or(c).to_string();
    }
    "id".to_string()
}

impl From<JsonRejection> for AppError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::BytesRejection(_) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                AppError::TooLarge(vec![FieldError::new(
                    "body",
                    "the request body is too large",
                )])
            }
            JsonRejection::JsonDataError(e) => {
                let text = e.body_text();
                AppError::Invalid(vec![serde_field_error(&text)])
            }
            JsonRejection::JsonSyntaxError(e) => {
                AppError::invalid("body", format!("malformed JSON: {}", e.body_text()))
            }
            JsonRejection::MissingJsonContentType(_) => {
                AppError::invalid("content-type", "send the body as application/json")
            }
            other => {
                if other.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::TooLarge(vec![FieldError::new(
                        "body",
                        "the request body is too large",
                    )])
                } else {
                    AppError::invalid("body", other.body_text())
                }
            }
        }
    }
}

/// Turns serde's message ("Failed to deserialize…: phone: invalid type…", "unknown field `x`",
/// "missing field `y`") into the field it is about.
pub fn serde_field_error(text: &str) -> FieldError {
    let detail = ["target type: ", "query string: "]
        .iter()
        .find_map(|lead| text.split_once(lead).map(|(_, d)| d))
        .unwrap_or(text);
    for marker in ["unknown field `", "missing field `"] {
        if let Some(rest) = detail.split_once(marker).map(|(_, r)| r)
            && let Some(name) = rest.split('`').next()
        {
            let prefix = detail
                .split_once(": ")
                .map(|(p, _)| p)
                .filter(|p| !p.contains(' '));
            let field = match prefix {
                // serde_path_to_error already ends the path with an unknown field's name.
                Some(p) if p == name || p.ends_with(&format!(".{name}")) => p.to_string(),
                Some(p) if p != "." => format!("{p}.{name}"),
                _ => name.to_string(),
            };
            let why = if marker.starts_with("unknown") {
                "unknown field"
            } else {
                "missing field"
            };
            return FieldError::new(field, why);
        }
    }
    match detail.split_once(": ") {
        Some((path, why)) if !path.contains(' ') => {
            FieldError::new(path, why.split(" at line").next().unwrap_or(why))
        }
        _ => FieldError::new("body", detail),
    }
}

impl From<axum::extract::rejection::QueryRejection> for AppError {
    fn from(r: axum::extract::rejection::QueryRejection) -> Self {
        AppError::Invalid(vec![serde_field_error(&r.body_text())])
    }
}

impl From<axum::extract::rejection::PathRejection> for AppError {
    fn from(r: axum::extract::rejection::PathRejection) -> Self {
        AppError::invalid("path", r.body_text())
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_name_their_field() {
        let f = serde_field_error(
            "Failed to deserialize the JSON body into the target type: unknown field `colour`, expected one of `name` at line 1 column 10",
        );
        assert_eq!(f.field, "colour");
        let f = serde_field_error(
            "Failed to deserialize the JSON body into the target type: missing field `name` at line 1 column 2",
        );
        assert_eq!(f.field, "name");
        let f = serde_field_error(
            "Failed to deserialize the JSON body into the target type: birth_year: invalid type: string \"x\", expected i64 at line 1 column 20",
        );
        assert_eq!(f.field, "birth_year");
        let f = serde_field_error("Failed to deserialize query string: q: at most 100 characters");
        assert_eq!(
            (f.field.as_str(), f.message.as_str()),
            ("q", "at most 100 characters")
        );
    }

    #[test]
    fn errors_quote_at_most_64_characters_of_input() {
        let long = "景".repeat(20_000);
        let quoted = quote(&long);
        assert_eq!(quoted, format!("\"{}…\"", "景".repeat(QUOTE_MAX)));
        assert_eq!(quote("景程小区"), "\"景程小区\"");
        assert_eq!(
            quote("a\"b"),
            "\"a\\\"b\"",
            "an escaped quote does not end the run"
        );
        let serde = format!("unknown variant `{long}`, expected one of `low`, `normal`");
        assert_eq!(
            clip_quoted(&serde),
            format!(
                "unknown variant `{}…`, expected one of `low`, `normal`",
                "景".repeat(QUOTE_MAX)
            )
        );
        assert_eq!(
            clip_quoted(&format!("open \"{long}")),
            format!("open \"{}…", "景".repeat(QUOTE_MAX))
        );
        let f = FieldError::new(long.clone(), format!("invalid type: string {long:?}"));
        assert_eq!(f.field.chars().count(), QUOTE_MAX + 1);
        assert!(f.message.chars().count() < 100, "{}", f.message);
        let f = serde_field_error(&format!(
            "Failed to deserialize the JSON body into the target type: unknown field `{long}`, expected `name` at line 1 column 9"
        ));
        assert!(f.field.chars().count() <= QUOTE_MAX + 1);
    }

    #[test]
    fn unique_violations_name_their_column() {
        assert_eq!(
            constrained_field("UNIQUE constraint failed: people.phone", None, None),
            "phone"
        );
        assert_eq!(
            constrained_field(
                "duplicate key",
                Some("control_orders_number_key"),
                Some("control_orders")
            ),
            "number"
        );
    }
}
