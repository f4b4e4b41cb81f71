//! Photos and files on a case: the supervisor's photo of an open gate, the department's evidence
//! of the fix, the verifier's photo. The type is read from the content (not the name or the
//! declared type), the size is capped, a picture's dimensions too, and each content is stored
//! once under its SHA-256 so the same photo sent twice from a flaky phone costs nothing twice.
//!
//! A file streams to an unnamed temporary file as it arrives, counted and hashed on the way, and
//! is read back into memory only when it is written to the database, inside the transaction,
//! which holds the audit chain head's lock: one upload's files at a time, however many phones
//! send at once (24 uploads of 31 MB at once took 967 MB when each was read whole).

use std::collections::HashMap;
use std::io::{BufReader, Read, Seek, SeekFrom};

use axum::body::Body;
use axum::extract::multipart::{Field, MultipartRejection};
use axum::extract::{Multipart, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;
use tokio::io::AsyncWriteExt;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit::Change;
use crate::auth::{Can, Principal, perm};
use crate::cases::CasesState;
use crate::db::Db;
use crate::error::{AppError, AppResult, FieldError};
use crate::http::{ApiJson, ApiPath};
use crate::time::rfc3339;
use huoyan_core::cases::EvidenceKind;

/// Largest file accepted: a phone photo is 2–8 MB.
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
/// Largest upload request: a few photos at once.
pub const MAX_REQUEST_BYTES: usize = 32 * 1024 * 1024;
/// Most files in one upload (each is a temporary file until it is stored).
const MAX_FILES: usize = 20;
/// Most bytes of the text parts of one form, together: a report's fields take a few kB.
const MAX_TEXT_BYTES: usize = 256 * 1024;
/// Most pixels a picture may have. Phones save 12–50 megapixels; a picture's pixels are what a
/// browser sets aside memory for (4 bytes each), whatever the file's size: a 30,000 × 30,000 PNG
/// of a few MB asks for 3.6 GB. Pillow warns from 89 megapixels for the same reason.
pub const MAX_IMAGE_PIXELS: u64 = 100_000_000;
/// Bytes kept from a file's start to tell its type by (`infer` reads at most a few hundred).
const HEAD_BYTES: usize = 8192;

/// What may be attached, by the type the content itself shows.
const ALLOWED: &[&str] = &[
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/heif",
    "image/heic",
    "application/pdf",
    "video/mp4",
];

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseFile {
    pub id: i64,
    /// The timeline entry of the step the file belongs to (`TimelineEntry.id`).
    pub entry_id: i64,
    /// What it shows, by that step: the report (before), a fix (after), a verification.
    pub kind: EvidenceKind,
    pub name: String,
    pub media_type: String,
    pub size: i64,
    pub sha256: String,
    pub uploaded_by: Option<i64>,
    #[schema(format = DateTime)]
    pub uploaded_at: String,
}

/// An upload checked before anything is written.
pub struct Upload {
    pub name: String,
    pub media_type: &'static str,
    pub sha256: String,
    pub size: u64,
    content: Content,
}

enum Content {
    /// Received: in an unnamed temporary file that the system deletes once it is closed.
    Received(std::fs::File),
    /// Made by the server (the demo's pictures).
    Made(std::sync::Arc<[u8]>),
}

impl Upload {
    /// A file the server makes itself, of a type it knows.
    pub fn made(name: &str, media_type: &'static str, bytes: std::sync::Arc<[u8]>) -> Upload {
        Upload {
            name: clean_name(name),
            media_type,
            sha256: hex::encode(Sha256::digest(&bytes)),
            size: bytes.len() as u64,
            content: Content::Made(bytes),
        }
    }

    /// The whole content, read back when it is about to be stored.
    pub async fn read(&self) -> AppResult<Vec<u8>> {
        let mut file = match &self.content {
            Content::Made(bytes) => return Ok(bytes.to_vec()),
            Content::Received(file) => file.try_clone().map_err(anyhow::Error::from)?,
        };
        let capacity = self.size as usize;
        let bytes = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<u8>> {
            file.seek(SeekFrom::Start(0))?;
            let mut bytes = Vec::with_capacity(capacity);
            file.read_to_end(&mut bytes)?;
            Ok(bytes)
        })
        .await
        .map_err(anyhow::Error::from)?
        .map_err(anyhow::Error::from)?;
        Ok(bytes)
    }
}

/// A `file` part as it streamed in: counted, hashed and written to a temporary file, never held
/// whole in memory.
struct Received {
    name: String,
    size: u64,
    /// Past `MAX_FILE_BYTES`: the rest was read and thrown away.
    too_large: bool,
    head: Vec<u8>,
    hash: Sha256,
    /// Made at the first byte, so that an empty part makes no file.
    file: Option<tokio::fs::File>,
}

impl Received {
    /// Reads `field` to its end. Past the size limit nothing more is kept: the rest is read only
    /// to reach the next part, so that every bad part is named at once (the request's own limit
    /// bounds that reading).
    async fn read(mut field: Field<'_>) -> AppResult<Received> {
        let mut r = Received {
            name: clean_name(field.file_name().unwrap_or_default()),
            size: 0,
            too_large: false,
            head: Vec::new(),
            hash: Sha256::new(),
            file: None,
        };
        while let Some(chunk) = field.chunk().await.map_err(|e| stream_error(e, "file"))? {
            r.size += chunk.len() as u64;
            if r.too_large || r.size > MAX_FILE_BYTES as u64 {
                r.too_large = true;
                r.file = None;
                continue;
            }
            r.hash.update(&chunk);
            let keep = HEAD_BYTES.saturating_sub(r.head.len()).min(chunk.len());
            r.head.extend_from_slice(&chunk[..keep]);
            let file = match &mut r.file {
                Some(f) => f,
                None => {
                    let f = tokio::task::spawn_blocking(tempfile::tempfile)
                        .await
                        .map_err(anyhow::Error::from)?
                        .map_err(anyhow::Error::from)?;
                    r.file.insert(tokio::fs::File::from_std(f))
                }
            };
            file.write_all(&chunk).await.map_err(anyhow::Error::from)?;
        }
        Ok(r)
    }

    /// Checks the file: not empty, not too large, of an allowed type by its content, a picture
    /// of a sane number of pixels by its header.
    async fn check(self, field: &str) -> AppResult<Result<Upload, FieldError>> {
        let refuse = |message: String| Ok(Err(FieldError::new(field, message)));
        if self.too_large {
            return refuse(format!(
                "a file may be at most {} MB",
                MAX_FILE_BYTES / 1024 / 1024
            ));
        }
        let (Some(mut file), true) = (self.file, self.size > 0) else {
            return refuse("the file is empty".into());
        };
        let Some(media_type) = infer::get(&self.head)
            .map(|t| t.mime_type())
            .and_then(|m| ALLOWED.iter().copied().find(|a| *a == m))
        else {
            return refuse(
                "only photos (JPEG, PNG, WebP, HEIC), PDF and MP4 video are accepted".into(),
            );
        };
        file.flush().await.map_err(anyhow::Error::from)?;
        let file = file.into_std().await;
        if media_type.starts_with("image/") {
            let probe = file.try_clone().map_err(anyhow::Error::from)?;
            let size = tokio::task::spawn_blocking(move || {
                let mut reader = BufReader::new(probe);
                reader.seek(SeekFrom::Start(0))?;
                imagesize::reader_size(reader)
            })
            .await
            .map_err(anyhow::Error::from)?;
            match size {
                Err(_) => {
                    return refuse("the picture's size cannot be read from its header".into());
                }
                Ok(s) if (s.width as u64).saturating_mul(s.height as u64) > MAX_IMAGE_PIXELS => {
                    return refuse(format!(
                        "a picture may have at most {} million pixels",
                        MAX_IMAGE_PIXELS / 1_000_000
                    ));
                }
                Ok(_) => {}
            }
        }
        Ok(Ok(Upload {
            name: if self.name.is_empty() {
                "file".into()
            } else {
                self.name
            },
            media_type,
            sha256: hex::encode(self.hash.finalize()),
            size: self.size,
            content: Content::Received(file),
        }))
    }
}

/// A file name fit to list and to send back in a header: without control characters, the marks
/// that reorder text (a right-to-left override shows `photo\u{202E}gnp.exe` as `photoexe.png`)
/// or break lines, and path separators; at most 200 characters.
fn clean_name(name: &str) -> String {
    const HIDDEN: &[char] = &[
        // Bidirectional embeddings, overrides, isolates and marks.
        '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
        '\u{2068}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}',
        // Line and paragraph separators, and the byte order mark.
        '\u{2028}', '\u{2029}', '\u{FEFF}',
    ];
    name.chars()
        .filter(|c| !c.is_control() && !HIDDEN.contains(c) && *c != '/' && *c != '\\')
        .take(200)
        .collect::<String>()
        .trim()
        .to_string()
}

/// The files of case `id`, each with the step it belongs to, in the order they were added.
pub async fn for_case(db: &Db, case_id: i64) -> AppResult<Vec<CaseFile>> {
    let rows = sqlx::query(
        "SELECT f.id, f.entry_id, e.action, f.name, f.media_type, f.size, f.sha256, f.uploaded_by, f.uploaded_at \
         FROM case_files f JOIN case_events e ON e.id = f.entry_id WHERE f.case_id = $1 ORDER BY f.id",
    )
    .bind(case_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(CaseFile {
                id: r.try_get("id")?,
                entry_id: r.try_get("entry_id")?,
                kind: EvidenceKind::of(r.try_get("action")?),
                name: r.try_get("name")?,
                media_type: r.try_get("media_type")?,
                size: r.try_get("size")?,
                sha256: r.try_get("sha256")?,
                uploaded_by: r.try_get("uploaded_by")?,
                uploaded_at: rfc3339(r.try_get("uploaded_at")?),
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// Which of a form's fields a request takes, by how they are sent.
#[derive(Default)]
pub struct FormFields {
    pub text: &'static [&'static str],
    pub choices: &'static [&'static str],
    pub numbers: &'static [&'static str],
    pub ids: &'static [&'static str],
    pub times: &'static [&'static str],
}

impl FormFields {
    pub fn names(&self) -> impl Iterator<Item = &'static str> {
        [self.text, self.choices, self.numbers, self.ids, self.times]
            .into_iter()
            .flatten()
            .copied()
    }
}

/// Text fields and checked files of a multipart form (the upload API and the pages' forms).
pub struct FormParts {
    pub fields: HashMap<String, Vec<String>>,
    pub uploads: Vec<Upload>,
    /// One per refused `file` part, named by its place among the parts (`file[2]`).
    pub file_errors: Vec<FieldError>,
    /// The names of the `file` parts, refused or not, in their order.
    pub chosen: Vec<String>,
}

impl FormParts {
    pub fn one(&self, name: &str) -> String {
        self.fields
            .get(name)
            .and_then(|v| v.first())
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    }

    pub fn opt(&self, name: &str) -> Option<String> {
        Some(self.one(name)).filter(|s| !s.is_empty())
    }

    /// The form's files, when it is an upload of files alone: all are refused if one is bad.
    pub fn into_uploads(self) -> AppResult<Vec<Upload>> {
        if !self.file_errors.is_empty() {
            return Err(AppError::Invalid(self.file_errors));
        }
        if self.uploads.is_empty() {
            return Err(AppError::invalid(
                "file",
                "send one or more parts named file",
            ));
        }
        Ok(self.uploads)
    }

    /// Takes a field the form's handler reads itself (`_csrf`, the idempotency key) out of the
    /// fields that the request is read from.
    pub fn take(&mut self, name: &str) -> String {
        let value = self.one(name);
        self.fields.remove(name);
        value
    }

    /// The named fields, as JSON for `http::from_fields`: `text` as sent (a blank one is the
    /// parser's to refuse by name); `choices` (selects), `numbers` (as numbers, or as sent for
    /// the parser to refuse by name) and `times` (`datetime-local`, Beijing wall time, as RFC
    /// 3339) only when filled in; `ids` as lists of numbers (or as sent, to be refused).
    pub fn json(&self, fields: &FormFields) -> serde_json::Map<String, serde_json::Value> {
        use serde_json::Value;
        let mut out = serde_json::Map::new();
        for &name in fields.text {
            if let Some(v) = self.fields.get(name).and_then(|v| v.first()) {
                out.insert(name.into(), Value::String(v.clone()));
            }
        }
        for &name in fields.choices {
            if let Some(v) = self.opt(name) {
                out.insert(name.into(), Value::String(v));
            }
        }
        let number = |v: &str| {
            let v = v.trim();
            serde_json::from_str::<serde_json::Number>(v)
                .map(Value::Number)
                .unwrap_or_else(|_| Value::String(v.to_string()))
        };
        for &name in fields.numbers {
            if let Some(v) = self.opt(name) {
                out.insert(name.into(), number(&v));
            }
        }
        for &name in fields.ids {
            if let Some(values) = self.fields.get(name) {
                out.insert(name.into(), values.iter().map(|v| number(v)).collect());
            }
        }
        for &name in fields.times {
            if let Some(v) = self.opt(name) {
                let t = crate::time::beijing_local(&v).unwrap_or(v);
                out.insert(name.into(), Value::String(t));
            }
        }
        out
    }

    pub fn number<T: std::str::FromStr>(
        &self,
        name: &str,
        errors: &mut Vec<FieldError>,
    ) -> Option<T> {
        let v = self.opt(name)?;
        match v.parse() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.push(FieldError::new(name, "expected a number"));
                None
            }
        }
    }
}

fn too_large() -> AppError {
    AppError::TooLarge(vec![FieldError::new(
        "file",
        format!(
            "a file may be at most {} MB, and one upload {} MB",
            MAX_FILE_BYTES / 1024 / 1024,
            MAX_REQUEST_BYTES / 1024 / 1024
        ),
    )])
}

fn stream_error(e: axum::extract::multipart::MultipartError, field: &str) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        AppError::invalid(field, e.body_text())
    }
}

/// Reads a text part, refusing it as soon as the form's text passes `MAX_TEXT_BYTES`.
async fn read_text(mut field: Field<'_>, name: &str, budget: &mut usize) -> AppResult<String> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| stream_error(e, name))? {
        *budget = budget.checked_sub(chunk.len()).ok_or_else(|| {
            AppError::TooLarge(vec![FieldError::new(
                name,
                format!(
                    "the form's text may be at most {} kB",
                    MAX_TEXT_BYTES / 1024
                ),
            )])
        })?;
        bytes.extend_from_slice(&chunk);
    }
    // As multer's own `text()`: bytes that are not UTF-8 become U+FFFD.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Reads a multipart body: text parts by name, `file` parts checked one by one. An oversized
/// body is refused while it streams in, naming `file`; a body that is not multipart, naming
/// `content-type`.
pub async fn read_form(form: Result<Multipart, MultipartRejection>) -> AppResult<FormParts> {
    let mut form = form
        .map_err(|_| AppError::invalid("content-type", "send the files as multipart/form-data"))?;
    let mut parts = FormParts {
        fields: HashMap::new(),
        uploads: Vec::new(),
        file_errors: Vec::new(),
        chosen: Vec::new(),
    };
    let mut text_budget = MAX_TEXT_BYTES;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| stream_error(e, "body"))?
    {
        let name = field.name().unwrap_or_default().to_string();
        if name != "file" {
            let text = read_text(field, &name, &mut text_budget).await?;
            parts.fields.entry(name).or_default().push(text);
            continue;
        }
        let index = parts.chosen.len();
        if index == MAX_FILES {
            return Err(AppError::invalid(
                "file",
                format!("at most {MAX_FILES} files in one upload"),
            ));
        }
        let received = Received::read(field).await?;
        // An empty file input still sends an empty, nameless part: no file was chosen.
        if received.size == 0 && received.name.is_empty() {
            continue;
        }
        parts.chosen.push(received.name.clone());
        match received.check(&format!("file[{index}]")).await? {
            Ok(u) => parts.uploads.push(u),
            Err(e) => parts.file_errors.push(e),
        }
    }
    Ok(parts)
}

/// Reads an upload's `file` parts; all are refused if one is bad.
pub async fn read_uploads(form: Result<Multipart, MultipartRejection>) -> AppResult<Vec<Upload>> {
    read_form(form).await?.into_uploads()
}

/// The multipart body of an upload, for the API document.
#[derive(ToSchema)]
#[allow(dead_code)]
struct FileUpload {
    /// One or more photos or files (repeat the part).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Add photos or files to an open case on their own (multipart, parts named `file`; at most 10
/// MB each): its reporter, the office, the group and a unit with an open task on it may. They
/// join the caller's latest report, fix or verification on the case (a reporter's photo found
/// later joins the report), else they are a step of their own; each upload is an `attach` entry
/// of the timeline. To send a step's evidence with the step, send the step as multipart.
#[utoipa::path(post, path = "/api/v1/cases/{id}/files", tag = "cases", operation_id = "upload_case_files", params(("id" = i64, Path)),
    request_body(content = FileUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = Vec<CaseFile>), (status = 413, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn upload_route(
    State(state): State<CasesState>,
    Can(p, _): Can<perm::CasesEvidence>,
    ApiPath(id): ApiPath<i64>,
    form: Result<Multipart, MultipartRejection>,
) -> AppResult<(StatusCode, ApiJson<Vec<CaseFile>>)> {
    super::get_scoped(&state.db, &p, id).await?;
    let uploads = read_uploads(form).await?;
    let ids = Change::run(&state.db, &p.actor(), async |change| {
        super::workflow::attach(change, &p, id, &uploads).await
    })
    .await?;
    let files = for_case(&state.db, id)
        .await?
        .into_iter()
        .filter(|f| ids.contains(&f.id))
        .collect();
    Ok((StatusCode::CREATED, ApiJson(files)))
}

/// One file's content.
#[utoipa::path(get, path = "/api/v1/cases/{id}/files/{file_id}", tag = "cases", operation_id = "download_case_file", params(("id" = i64, Path), ("file_id" = i64, Path)),
    responses((status = 200, description = "the content, with its media type"), (status = 404, body = crate::error::ErrorBody)))]
async fn download_route(
    State(state): State<CasesState>,
    Can(p, _): Can<perm::CasesRead>,
    ApiPath((id, file_id)): ApiPath<(i64, i64)>,
) -> AppResult<Response> {
    content(&state.db, &p, id, file_id).await
}

/// A file of a case the caller may see, as an HTTP answer (shared with the pages).
pub async fn content(db: &Db, p: &Principal, case_id: i64, file_id: i64) -> AppResult<Response> {
    super::get_scoped(db, p, case_id).await?;
    let row = sqlx::query("SELECT f.name, f.media_type, b.content FROM case_files f JOIN file_blobs b ON b.sha256 = f.sha256 WHERE f.id = $1 AND f.case_id = $2")
        .bind(file_id)
        .bind(case_id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(AppError::NotFound("file"))?;
    let (name, media_type, bytes): (String, String, Vec<u8>) = (
        row.try_get("name")?,
        row.try_get("media_type")?,
        row.try_get("content")?,
    );
    let disposition = format!("inline; filename*=UTF-8''{}", utf8_percent(&name));
    Response::builder()
        .header(header::CONTENT_TYPE, media_type)
        .header(header::CONTENT_DISPOSITION, disposition)
        .header(header::CACHE_CONTROL, "private, max-age=86400, immutable")
        .body(Body::from(bytes))
        .map_err(|e| AppError::Internal(e.into()))
}

/// RFC 5987 percent-encoding of a file name (Chinese names survive the header).
fn utf8_percent(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub fn api() -> OpenApiRouter<CasesState> {
    OpenApiRouter::new()
        .routes(routes!(upload_route))
        .routes(routes!(download_route))
        // Anything larger is cut off while it streams in; `read_uploads` names the field.
        .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST_BYTES))
}

#[cfg(test)]
mod tests {
    use super::clean_name;

    #[test]
    fn file_names_lose_what_hides_or_turns_their_text() {
        assert_eq!(clean_name("东门\u{202E}gnp.exe"), "东门gnp.exe");
        assert_eq!(
            clean_name(
                "\u{202A}\u{202B}\u{202C}\u{202D}a\u{2066}\u{2067}\u{2068}\u{2069}b\u{200E}\u{200F}\u{061C}c"
            ),
            "abc"
        );
        assert_eq!(
            clean_name(" ../x\u{0}\u{7}\u{1B}\u{85}\u{2028}\u{FEFF}y\\z.png\n"),
            "..xyz.png"
        );
        assert_eq!(clean_name("\u{202E}"), "");
        assert_eq!(clean_name(&"长".repeat(300)).chars().count(), 200);
    }
}
