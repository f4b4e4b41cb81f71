//! Requests that may carry files: a report or a workflow step, sent as JSON, or as
//! multipart/form-data with the same fields as text parts and its photos as `file` parts. Sent so,
//! a step and its evidence are written together or not at all: a refused photo refuses the
//! request, naming the part, and nothing is filed without the photos it was sent with. The pages'
//! forms are read by the same functions.

use axum::extract::{FromRequest, Multipart};
use axum::http::header;
use huoyan_core::cases::{Action, Category, Kind, Priority, Source};
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

use super::files::{FormFields, FormParts, Upload, read_form};
use super::{NewCase, TransitionRequest};
use crate::error::{AppError, AppResult, FieldError};
use crate::http::{ApiJson, from_fields};

/// A request type read from a form's text parts.
pub trait FromForm: Sized + DeserializeOwned {
    /// The fields the form may hold; any other part is refused by name.
    const FIELDS: FormFields;

    /// The request from the form's fields (`json` as `FormParts::json` reads them).
    fn from_json(json: serde_json::Map<String, serde_json::Value>) -> AppResult<Self> {
        from_fields(json)
    }

    /// Reads the request from `parts`, refusing parts it does not take and naming each refused
    /// file with the fields at fault. Nothing is taken from a form that fails.
    fn from_form(parts: FormParts) -> AppResult<(Self, Vec<Upload>)> {
        let mut errors: Vec<FieldError> = parts.file_errors.clone();
        for name in parts.fields.keys() {
            if !Self::FIELDS.names().any(|n| n == name) {
                errors.push(FieldError::new(name.as_str(), "not a field of this form"));
            }
        }
        let parsed = Self::from_json(parts.json(&Self::FIELDS));
        match parsed {
            Ok(request) if errors.is_empty() => Ok((request, parts.uploads)),
            Ok(_) => Err(AppError::Invalid(errors)),
            Err(AppError::Invalid(fields)) => {
                errors.extend(fields);
                Err(AppError::Invalid(errors))
            }
            Err(e) => Err(e),
        }
    }
}

impl FromForm for NewCase {
    const FIELDS: FormFields = FormFields {
        text: &["address", "description"],
        choices: &["kind", "source", "category", "priority"],
        numbers: &["compound_id", "lon", "lat"],
        ids: &[],
        times: &[],
    };
}

impl FromForm for TransitionRequest {
    const FIELDS: FormFields = FormFields {
        text: &["note"],
        choices: &["action", "category", "priority"],
        numbers: &["department_id", "into_case_id", "lon", "lat"],
        ids: &["department_ids", "co"],
        times: &["due_at", "until"],
    };

    /// Each action's page form holds only its own inputs, bar the place every form records, which
    /// only the steps taken in the field keep; co-responsible units come as one id each.
    fn from_json(mut json: serde_json::Map<String, serde_json::Value>) -> AppResult<Self> {
        let in_the_field = [
            Action::Accept,
            Action::ReportFix,
            Action::Verify,
            Action::Rework,
            Action::FixOnSite,
        ];
        let action = json.get("action").and_then(|a| a.as_str());
        if !in_the_field.iter().any(|a| Some(a.code()) == action) {
            json.remove("lon");
            json.remove("lat");
        }
        if let Some(serde_json::Value::Array(units)) = json.remove("co") {
            let co = units
                .into_iter()
                .map(|d| serde_json::json!({"department_id": d}));
            json.insert("co".into(), co.collect());
        }
        from_fields(json)
    }
}

/// A request as JSON (no files) or as multipart/form-data with its files (`FromForm`).
pub struct WithFiles<T> {
    pub body: T,
    pub files: Vec<Upload>,
}

impl<S: Send + Sync, T: FromForm> FromRequest<S> for WithFiles<T> {
    type Rejection = AppError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, AppError> {
        let multipart = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("multipart/form-data")
            });
        if !multipart {
            let ApiJson(body) = ApiJson::from_request(req, state).await?;
            return Ok(WithFiles {
                body,
                files: Vec::new(),
            });
        }
        let parts = read_form(Multipart::from_request(req, state).await).await?;
        let (body, files) = T::from_form(parts)?;
        Ok(WithFiles { body, files })
    }
}

/// A report as multipart/form-data: the fields of `NewCase` as text parts and its photos as
/// `file` parts, filed together or not at all (for the API document; read by `FromForm`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct NewCaseForm {
    kind: Option<Kind>,
    source: Option<Source>,
    category: Category,
    priority: Option<Priority>,
    compound_id: Option<i64>,
    lon: Option<f64>,
    lat: Option<f64>,
    #[schema(max_length = 200)]
    address: Option<String>,
    #[schema(max_length = 4000)]
    description: String,
    /// Photos or files, at most 10 MB each (repeat the part).
    #[schema(value_type = Option<Vec<String>>, format = Binary)]
    file: Option<Vec<Vec<u8>>>,
}

/// A workflow step as multipart/form-data, with its evidence: the step's fields as text parts
/// (times in RFC 3339; a Beijing wall time such as `2022-08-21T18:00`, as a page's form sends
/// it, is taken too), `department_ids` and `co` (co-responsible units, each with the lead's
/// deadline) repeated one unit each, and its photos as `file` parts, which belong to the step
/// (for the API document; read by `FromForm`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct StepForm {
    action: Action,
    #[schema(max_length = 4000)]
    note: Option<String>,
    category: Option<Category>,
    priority: Option<Priority>,
    department_id: Option<i64>,
    into_case_id: Option<i64>,
    #[schema(format = DateTime)]
    due_at: Option<String>,
    #[schema(format = DateTime)]
    until: Option<String>,
    department_ids: Option<Vec<i64>>,
    co: Option<Vec<i64>>,
    lon: Option<f64>,
    lat: Option<f64>,
    /// Photos or files, at most 10 MB each (repeat the part).
    #[schema(value_type = Option<Vec<String>>, format = Binary)]
    file: Option<Vec<Vec<u8>>>,
}
