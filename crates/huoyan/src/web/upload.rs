//! A form's file and text parts, read from multipart/form-data: the imports' upload forms.

use std::collections::HashMap;

use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::http::StatusCode;

use crate::error::{AppError, AppResult, FieldError};

/// The part named `file` (its name and bytes) and the text parts asked for.
#[derive(Default)]
pub struct Upload {
    pub name: String,
    pub bytes: Vec<u8>,
    pub fields: HashMap<String, String>,
}

/// Reads `form`: the `file` part and the text parts named in `texts`; other parts are not read
/// into memory. A body past the limit fails `file` with 413.
pub async fn upload(
    form: Result<Multipart, MultipartRejection>,
    texts: &[&str],
) -> AppResult<Upload> {
    let bad = |e: MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::TooLarge(vec![FieldError::new(
                "file",
                "the request body is too large",
            )])
        } else {
            AppError::invalid("file", e.body_text())
        }
    };
    let mut form =
        form.map_err(|_| AppError::invalid("file", "send the file as multipart/form-data"))?;
    let mut upload = Upload::default();
    while let Some(field) = form.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            upload.name = field.file_name().unwrap_or_default().to_string();
            upload.bytes = field.bytes().await.map_err(bad)?.to_vec();
        } else if texts.contains(&name.as_str()) {
            upload.fields.insert(name, field.text().await.map_err(bad)?);
        }
    }
    Ok(upload)
}
