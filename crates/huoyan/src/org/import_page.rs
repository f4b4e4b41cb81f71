//! The administrator's import page: a people, teams or regions table (xlsx, csv) or zones
//! (GeoJSON) uploaded through the browser and written by `import::run`, exactly as the command
//! line and the API write it: every row or none, and every bad row shown in a table of row,
//! column and reason, in the page's language.

use axum::Router;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

use super::OrgState;
use crate::auth::{Page, perm};
use crate::error::{AppError, AppResult, FieldError};
use crate::i18n::Locale;
use crate::tabular::Format;
use crate::web::{PageCtx, PageError, PageResultExt, Upload, render};

/// What may be imported, in the order the page offers it (regions before the teams and people
/// that name them).
const KINDS: [&str; 4] = ["regions", "zones", "teams", "people"];

/// One reason a file was refused, placed where a person finds it in the file.
pub struct Located {
    /// The spreadsheet row (`5`), the GeoJSON feature (`feature 3`), or empty for the whole file.
    pub row: String,
    /// The column (`phone`), the feature's member (`geometry`), or the form's field (`file`).
    pub column: String,
    pub reason: String,
}

impl Located {
    /// Places an import's error: `row 5: phone` (a table's), `features[2].geometry` (zones'), or
    /// a field of the whole file or form.
    fn of(e: &FieldError, locale: Locale) -> Located {
        let reason = locale.message(&e.message);
        if let Some(rest) = e.field.strip_prefix("row ") {
            let (row, column) = rest.split_once(": ").unwrap_or((rest, ""));
            return Located {
                row: row.to_string(),
                column: column_label(column, locale),
                reason,
            };
        }
        if let Some((index, member)) = e
            .field
            .strip_prefix("features[")
            .and_then(|rest| rest.split_once("]."))
            && let Ok(i) = index.parse::<usize>()
        {
            return Located {
                row: locale
                    .t("import.feature")
                    .replace("{n}", &(i + 1).to_string()),
                column: member.to_string(),
                reason,
            };
        }
        Located {
            row: String::new(),
            column: column_label(&e.field, locale),
            reason,
        }
    }
}

/// A table's column as its file may head it: the English key with its Chinese heading (both
/// are accepted), or the field as named.
fn column_label(key: &str, locale: Locale) -> String {
    let heading = match key {
        "name" => "姓名 / 名称",
        "phone" => "手机",
        "gender" => "性别",
        "birth_year" => "出生年份",
        "home_region_code" => "小区编码",
        "skills" => "技能",
        "employer" => "单位",
        "party_member" => "党员",
        "kind" => "类型",
        "parent" => "上级",
        "region_code" => "区域编码",
        "code" => "编码",
        "level" => "级别",
        "parent_code" | "parent_id" => "上级编码",
        "file" => return locale.t("import.file").to_string(),
        "kind_choice" => return locale.t("import.kind").to_string(),
        "_csrf" => return locale.t("import.form").to_string(),
        _ => return key.to_string(),
    };
    format!("{key}（{heading}）")
}

#[derive(Deserialize, Default)]
struct DoneQuery {
    kind: Option<String>,
    rows: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "org/import.html")]
struct ImportPage {
    ctx: PageCtx,
    kinds: Vec<(&'static str, &'static str)>,
    kind: String,
    errors: Vec<Located>,
    /// The confirmation of an import just written.
    done: Option<String>,
}

fn kind_key(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "regions" => "import.kind.regions",
        "zones" => "import.kind.zones",
        "teams" => "import.kind.teams",
        "people" => "import.kind.people",
        _ => return None,
    })
}

fn page(ctx: PageCtx, kind: String, errors: Vec<Located>, done: Option<(&str, usize)>) -> Response {
    let locale = ctx.locale;
    let kinds = KINDS
        .iter()
        .filter_map(|k| kind_key(k).map(|key| (*k, locale.t(key))))
        .collect();
    let done = done.and_then(|(k, n)| {
        kind_key(k).map(|key| {
            locale
                .t("import.done")
                .replace("{kind}", locale.t(key))
                .replace("{n}", &n.to_string())
        })
    });
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = ImportPage {
        ctx,
        kinds,
        kind,
        errors,
        done,
    };
    (status, render(&page)).into_response()
}

async fn form(Page { ctx, .. }: Page<perm::Import>, Query(q): Query<DoneQuery>) -> Response {
    let kind = q.kind.unwrap_or_default();
    let done = q
        .rows
        .and_then(|n| n.parse().ok())
        .map(|n| (kind.as_str(), n));
    page(ctx, kind.clone(), vec![], done)
}

/// Runs the import the form asks for; the fields of what is wrong with the form itself (no
/// file, an unknown kind or file type, an expired form) come first, and nothing is written.
async fn import(
    state: &OrgState,
    user: &crate::auth::Principal,
    upload: &Upload,
    kind: &str,
) -> AppResult<usize> {
    let mut errors = Vec::new();
    if let Err(e) = user.check_csrf(upload.fields.get("_csrf").map(String::as_str)) {
        errors.extend(e.fields().iter().cloned());
    }
    if !KINDS.contains(&kind) {
        errors.push(FieldError::new("kind_choice", "choose from the list"));
    }
    let format = if upload.name.is_empty() && upload.bytes.is_empty() {
        errors.push(FieldError::new("file", "choose a file"));
        None
    } else {
        let format = Format::from_path(std::path::Path::new(&upload.name)).ok();
        if format.is_none() {
            errors.push(FieldError::new(
                "file",
                "use a .xlsx, .csv or .geojson file",
            ));
        }
        format
    };
    match format {
        Some(format) if errors.is_empty() => {
            super::import::run(
                &state.db,
                &user.actor(),
                kind,
                format,
                &upload.bytes,
                &|_, _, _| {},
            )
            .await
        }
        _ => Err(AppError::Invalid(errors)),
    }
}

async fn submit(
    State(state): State<OrgState>,
    Page {
        user, locale, ctx, ..
    }: Page<perm::Import>,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    let upload = crate::web::upload(form, &["_csrf", "kind"])
        .await
        .page(locale)?;
    let kind = upload.fields.get("kind").cloned().unwrap_or_default();
    match import(&state, &user, &upload, &kind).await {
        Ok(rows) => {
            let done = format!("/imports?kind={kind}&rows={rows}");
            Ok(Redirect::to(&done).into_response())
        }
        Err(AppError::Invalid(fields) | AppError::Conflict(fields)) => {
            let errors = fields.iter().map(|e| Located::of(e, locale)).collect();
            Ok(page(ctx, kind, errors, None))
        }
        Err(e) => Err(e).page(locale),
    }
}

pub fn router() -> Router<OrgState> {
    Router::new().route("/imports", get(form).post(submit))
}
