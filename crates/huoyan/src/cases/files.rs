//! Photos and files on a case: the supervisor's photo of an open gate, the department's evidence
//! of the fix, the verifier's photo. The type is read from the content (not the name or the
//! declared type), the size is capped, and each content is stored once under its SHA-256 so the
//! same photo sent twice from a flaky phone costs nothing twice.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Multipart, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;
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

/// Largest file accepted: a phone photo is 2–8 MB.
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
/// Largest upload request: a few photos at once.
const MAX_REQUEST_BYTES: usize = 32 * 1024 * 1024;

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
    pub name: String,
    pub media_type: String,
    pub size: i64,
    pub sha256: String,
    pub uploaded_by: Option<i64>,
    pub uploaded_at: String,
}

/// An upload checked before anything is written.
pub struct Upload {
    pub name: String,
    pub media_type: &'static str,
    pub sha256: String,
    pub content: Vec<u8>,
}

/// Checks one file: not empty, not too large, of an allowed type by its content.
pub fn check(field: &str, name: &str, content: Vec<u8>) -> Result<Upload, FieldError> {
    if content.is_empty() {
        return Err(FieldError::new(field, "the file is empty"));
    }
    if content.len() > MAX_FILE_BYTES {
        return Err(FieldError::new(
            field,
            format!("a file may be at most {} MB", MAX_FILE_BYTES / 1024 / 1024),
        ));
    }
    let media_type = infer::get(&content)
        .map(|t| t.mime_type())
        .and_then(|m| ALLOWED.iter().copied().find(|a| *a == m))
        .ok_or_else(|| {
            FieldError::new(
                field,
                "only photos (JPEG, PNG, WebP, HEIC), PDF and MP4 video are accepted",
            )
        })?;
    let name: String = name
        .chars()
        .filter(|c| !c.is_control() && *c != '/' && *c != '\\')
        .take(200)
        .collect();
    Ok(Upload {
        name: if name.is_empty() { "file".into() } else { name },
        media_type,
        sha256: hex::encode(Sha256::digest(&content)),
        content,
    })
}

pub async fn for_case(db: &Db, case_id: i64) -> AppResult<Vec<CaseFile>> {
    let rows = sqlx::query("SELECT id, name, media_type, size, sha256, uploaded_by, uploaded_at FROM case_files WHERE case_id = $1 ORDER BY id")
        .bind(case_id)
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(CaseFile {
                id: r.try_get(0)?,
                name: r.try_get(1)?,
                media_type: r.try_get(2)?,
                size: r.try_get(3)?,
                sha256: r.try_get(4)?,
                uploaded_by: r.try_get(5)?,
                uploaded_at: rfc3339(r.try_get(6)?),
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// Text fields and checked files of a multipart form (the upload API and the pages' forms).
pub struct FormParts {
    pub fields: HashMap<String, Vec<String>>,
    pub uploads: Vec<Upload>,
    /// One per refused `file` part, named by its place among the parts (`file[2]`).
    pub file_errors: Vec<FieldError>,
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

    pub fn ids(&self, name: &str) -> Vec<i64> {
        self.fields
            .get(name)
            .into_iter()
            .flatten()
            .filter_map(|v| v.trim().parse().ok())
            .collect()
    }

    /// The named fields that were filled in, as JSON for `http::from_fields`: `text` as strings,
    /// `numbers` as numbers (or as sent, for the parser to refuse by name), `ids` as lists of
    /// numbers, `times` (`datetime-local`, Beijing wall time) as RFC 3339.
    pub fn json(
        &self,
        text: &[&str],
        numbers: &[&str],
        ids: &[&str],
        times: &[&str],
    ) -> serde_json::Map<String, serde_json::Value> {
        use serde_json::Value;
        let mut out = serde_json::Map::new();
        for &name in text {
            if let Some(v) = self.opt(name) {
                out.insert(name.into(), Value::String(v));
            }
        }
        for &name in numbers {
            if let Some(v) = self.opt(name) {
                let n = serde_json::from_str::<serde_json::Number>(&v)
                    .map(Value::Number)
                    .unwrap_or(Value::String(v));
                out.insert(name.into(), n);
            }
        }
        for &name in ids {
            if self.fields.contains_key(name) {
                out.insert(name.into(), self.ids(name).into());
            }
        }
        for &name in times {
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

/// Reads a multipart body: text parts by name, `file` parts checked one by one. An oversized
/// body is refused while it streams in, naming `file`.
pub async fn read_form(mut form: Multipart) -> AppResult<FormParts> {
    let mut parts = FormParts {
        fields: HashMap::new(),
        uploads: Vec::new(),
        file_errors: Vec::new(),
    };
    let stream_error = |e: axum::extract::multipart::MultipartError, field: &str| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            AppError::invalid(field, e.body_text())
        }
    };
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| stream_error(e, "body"))?
    {
        let name = field.name().unwrap_or_default().to_string();
        if name != "file" {
            let text = field.text().await.map_err(|e| stream_error(e, &name))?;
            parts.fields.entry(name).or_default().push(text);
            continue;
        }
        let index = parts.uploads.len() + parts.file_errors.len();
        let file_name = field.file_name().unwrap_or_default().to_string();
        let bytes = field.bytes().await.map_err(|e| stream_error(e, "file"))?;
        // An empty file input still sends an empty, nameless part: no file was chosen.
        if bytes.is_empty() && file_name.is_empty() {
            continue;
        }
        match check(&format!("file[{index}]"), &file_name, bytes.to_vec()) {
            Ok(u) => parts.uploads.push(u),
            Err(e) => parts.file_errors.push(e),
        }
    }
    Ok(parts)
}

/// Reads an upload's `file` parts; all are refused if one is bad.
pub async fn read_uploads(form: Multipart) -> AppResult<Vec<Upload>> {
    let parts = read_form(form).await?;
    if !parts.file_errors.is_empty() {
        return Err(AppError::Invalid(parts.file_errors));
    }
    if parts.uploads.is_empty() {
        return Err(AppError::invalid(
            "file",
            "send one or more parts named file",
        ));
    }
    Ok(parts.uploads)
}

/// The multipart body of an upload, for the API document.
#[derive(ToSchema)]
#[allow(dead_code)]
struct FileUpload {
    /// One or more photos or files (repeat the part).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Attach photos or files to an open case (multipart, parts named `file`; at most 10 MB each):
/// its reporter, the office, the group and a unit with an open task on it may; each upload is a
/// step of the timeline.
#[utoipa::path(post, path = "/api/v1/cases/{id}/files", tag = "cases", params(("id" = i64, Path)),
    request_body(content = FileUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = Vec<CaseFile>), (status = 413, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn upload_route(
    State(state): State<CasesState>,
    Can(p, _): Can<perm::CasesEvidence>,
    ApiPath(id): ApiPath<i64>,
    form: Multipart,
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
#[utoipa::path(get, path = "/api/v1/cases/{id}/files/{file_id}", tag = "cases", params(("id" = i64, Path), ("file_id" = i64, Path)),
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
    let (name, media_type, bytes): (String, String, Vec<u8>) =
        (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
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
