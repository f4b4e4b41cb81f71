//! Imports of people, teams and regions (xlsx, csv) and zones (GeoJSON). All-or-nothing: every
//! row is checked inside one transaction, every bad row is reported with its row number, column
//! and reason, and any bad row rolls the whole file back.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit::{Actor, Change};
use crate::auth::{Can, perm};
use crate::db::Db;
use crate::error::{AppError, AppResult, FieldError};
use crate::http::{ApiJson, ApiPath, ApiQuery};
use crate::org::OrgState;
use crate::tabular::{self, Format, Table};

/// Reports progress: rows done, rows in all, and what is happening.
pub type Progress<'a> = &'a (dyn Fn(u64, u64, &'static str) + Sync);

pub async fn run(
    db: &Db,
    actor: &Actor,
    kind: &str,
    format: Format,
    bytes: &[u8],
    progress: Progress<'_>,
) -> AppResult<usize> {
    let mut change = Change::begin(db, actor).await?;
    let mut errors = Vec::new();
    let n = match (kind, format) {
        ("zones", Format::GeoJson) => zones(&mut change, bytes, &mut errors, progress).await?,
        ("zones", _) => return Err(AppError::invalid("format", "zones come as GeoJSON")),
        (_, Format::GeoJson) => {
            return Err(AppError::invalid(
                "format",
                "people, teams and regions come as xlsx or csv",
            ));
        }
        (table_kind @ ("people" | "teams" | "regions"), f) => {
            let table = tabular::read(f, bytes)?;
            match table_kind {
                "people" => people(&mut change, &table, &mut errors, progress).await?,
                "teams" => teams(&mut change, &table, &mut errors, progress).await?,
                _ => regions(&mut change, &table, &mut errors, progress).await?,
            }
        }
        _ => {
            return Err(AppError::invalid(
                "kind",
                "one of people, teams, regions, zones",
            ));
        }
    };
    if !errors.is_empty() {
        // Dropping the change rolls back every row written so far.
        return Err(AppError::Invalid(errors));
    }
    change
        .record(
            "import",
            kind,
            "import",
            &serde_json::json!({"kind": kind, "rows": n}),
        )
        .await?;
    progress(n as u64, n as u64, "committing");
    change.commit().await?;
    Ok(n)
}

/// Runs one row's insert; a row's own mistakes are collected, anything else stops the import.
fn collect<T>(result: AppResult<T>, errors: &mut Vec<FieldError>) -> AppResult<Option<T>> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(AppError::Invalid(f) | AppError::Conflict(f)) => {
            errors.extend(f);
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

fn cell(row: &[String], col: Option<usize>) -> String {
    col.and_then(|c| row.get(c)).cloned().unwrap_or_default()
}

/// The region a row names by code in `field`: `None` for an empty cell, and for an unknown code
/// (noted in `row_errors`).
async fn region_ref(
    change: &mut Change,
    code: &str,
    field: &str,
    row_errors: &mut Vec<FieldError>,
) -> AppResult<Option<i64>> {
    if code.is_empty() {
        return Ok(None);
    }
    let id = region_by_code(change, code).await?;
    if id.is_none() {
        row_errors.push(FieldError::new(
            field,
            format!("no region with code {code}"),
        ));
    }
    Ok(id)
}

async fn region_by_code(change: &mut Change, code: &str) -> AppResult<Option<i64>> {
    Ok(sqlx::query_scalar("SELECT id FROM regions WHERE code = $1")
        .bind(code)
        .fetch_optional(&mut *change.tx)
        .await?)
}

async fn people(
    change: &mut Change,
    t: &Table,
    errors: &mut Vec<FieldError>,
    progress: Progress<'_>,
) -> AppResult<usize> {
    let cols = t.require(&[
        &["name", "姓名"],
        &["phone", "手机", "电话"],
        &["gender", "性别"],
        &["birth_year", "出生年份"],
    ])?;
    let party = t.column(&["party_member", "党员"]);
    let employer = t.column(&["employer", "单位", "工作单位"]);
    let home = t.column(&["home_region_code", "home", "小区编码"]);
    let skills = t.column(&["skills", "技能"]);
    let total = t.rows.len() as u64;
    let mut seen_phones: HashMap<String, usize> = HashMap::new();
    let mut n = 0;
    for (i, (line, row)) in t.rows.iter().enumerate() {
        let prefix = format!("row {line}: ");
        let mut row_errors = Vec::new();
        let gender = match cell(row, Some(cols[2])).as_str() {
            "男" | "male" | "M" | "m" => "male".to_string(),
            "女" | "female" | "F" | "f" => "female".to_string(),
            other => other.to_string(),
        };
        let birth_year = cell(row, Some(cols[3]));
        let birth_year = birth_year.parse::<i64>().unwrap_or_else(|_| {
            row_errors.push(FieldError::new(
                format!("{prefix}birth_year"),
                format!("not a year: {birth_year:?}"),
            ));
            0
        });
        let home_code = cell(row, home);
        let home_region_id = region_ref(
            change,
            &home_code,
            &format!("{prefix}home_region_code"),
            &mut row_errors,
        )
        .await?;
        let phone_raw = cell(row, Some(cols[1]));
        if let Ok(phone) = huoyan_core::org::parse_phone(&phone_raw) {
            if let Some(first) = seen_phones.insert(phone.clone(), *line) {
                row_errors.push(FieldError::new(
                    format!("{prefix}phone"),
                    format!("same phone as row {first}"),
                ));
            } else if sqlx::query("SELECT 1 FROM people WHERE phone = $1")
                .bind(&phone)
                .fetch_optional(&mut *change.tx)
                .await?
                .is_some()
            {
                row_errors.push(FieldError::new(
                    format!("{prefix}phone"),
                    "another person has this phone number",
                ));
            }
        }
        let new = super::people::NewPerson {
            name: cell(row, Some(cols[0])),
            phone: phone_raw,
            gender,
            birth_year,
            party_member: matches!(
                cell(row, party).as_str(),
                "是" | "yes" | "1" | "true" | "Y" | "y"
            ),
            employer: cell(row, employer),
            home_region_id,
            skills: cell(row, skills)
                .split(['、', ';', '；', '|', ',', '，'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        };
        if row_errors.is_empty() {
            if collect(super::people::insert(change, &new, &prefix).await, errors)?.is_some() {
                n += 1;
            }
        } else {
            // Report the row's other mistakes too, without writing it.
            if let Err(AppError::Invalid(f)) =
                super::people::validate(&mut change.tx, &new, &prefix).await
            {
                row_errors.extend(
                    f.into_iter()
                        .filter(|e| !e.field.ends_with("birth_year") || birth_year != 0),
                );
            }
            errors.extend(row_errors);
        }
        progress(i as u64 + 1, total, "people");
    }
    Ok(n)
}

async fn teams(
    change: &mut Change,
    t: &Table,
    errors: &mut Vec<FieldError>,
    progress: Progress<'_>,
) -> AppResult<usize> {
    let cols = t.require(&[&["kind", "类型"], &["name", "名称"]])?;
    let parent = t.column(&["parent", "上级"]);
    let region = t.column(&["region_code", "区域编码"]);
    let total = t.rows.len() as u64;
    let mut n = 0;
    for (i, (line, row)) in t.rows.iter().enumerate() {
        let prefix = format!("row {line}: ");
        let mut row_errors = Vec::new();
        let name = cell(row, Some(cols[1]));
        if sqlx::query("SELECT 1 FROM teams WHERE name = $1")
            .bind(name.trim())
            .fetch_optional(&mut *change.tx)
            .await?
            .is_some()
        {
            row_errors.push(FieldError::new(
                format!("{prefix}name"),
                "a team of this name exists",
            ));
        }
        let parent_name = cell(row, parent);
        let parent_id = if parent_name.is_empty() {
            None
        } else {
            let id: Option<i64> = sqlx::query_scalar("SELECT id FROM teams WHERE name = $1")
                .bind(&parent_name)
                .fetch_optional(&mut *change.tx)
                .await?;
            if id.is_none() {
                row_errors.push(FieldError::new(
                    format!("{prefix}parent"),
                    format!("no team named {parent_name}"),
                ));
            }
            id
        };
        let code = cell(row, region);
        let region_id = region_ref(
            change,
            &code,
            &format!("{prefix}region_code"),
            &mut row_errors,
        )
        .await?;
        if row_errors.is_empty() {
            let new = super::teams::NewTeam {
                kind: cell(row, Some(cols[0])),
                name,
                parent_id,
                region_id,
            };
            if collect(super::teams::insert(change, &new, &prefix).await, errors)?.is_some() {
                n += 1;
            }
        } else {
            errors.extend(row_errors);
        }
        progress(i as u64 + 1, total, "teams");
    }
    Ok(n)
}

async fn regions(
    change: &mut Change,
    t: &Table,
    errors: &mut Vec<FieldError>,
    progress: Progress<'_>,
) -> AppResult<usize> {
    let cols = t.require(&[
        &["code", "编码"],
        &["name", "名称"],
        &["level", "级别"],
        &["parent_code", "上级编码"],
    ])?;
    let total = t.rows.len() as u64;
    let mut n = 0;
    for (i, (line, row)) in t.rows.iter().enumerate() {
        let prefix = format!("row {line}: ");
        let mut row_errors = Vec::new();
        let code = cell(row, Some(cols[0]));
        if !code.is_empty() && region_by_code(change, &code).await?.is_some() {
            row_errors.push(FieldError::new(
                format!("{prefix}code"),
                "a region with this code exists",
            ));
        }
        let parent_code = cell(row, Some(cols[3]));
        let parent_id = region_ref(
            change,
            &parent_code,
            &format!("{prefix}parent_code"),
            &mut row_errors,
        )
        .await?;
        let name = cell(row, Some(cols[1]));
        let sibling = sqlx::query("SELECT 1 FROM regions WHERE name = $1 AND parent_id = $2")
            .bind(name.trim())
            .bind(parent_id)
            .fetch_optional(&mut *change.tx)
            .await?;
        if sibling.is_some() {
            row_errors.push(FieldError::new(
                format!("{prefix}name"),
                "the parent already has a region of this name",
            ));
        }
        if row_errors.is_empty() {
            let new = super::regions::NewRegion {
                parent_id,
                level: cell(row, Some(cols[2])),
                code: Some(code).filter(|c| !c.is_empty()),
                name,
                geometry: None,
            };
            let result = super::regions::insert(change, &new)
                .await
                .map_err(|e| prefix_fields(e, &prefix));
            if collect(result, errors)?.is_some() {
                n += 1;
            }
        } else {
            errors.extend(row_errors);
        }
        progress(i as u64 + 1, total, "regions");
    }
    Ok(n)
}

fn prefix_fields(e: AppError, prefix: &str) -> AppError {
    match e {
        AppError::Invalid(f) => AppError::Invalid(
            f.into_iter()
                .map(|mut x| {
                    x.field = format!("{prefix}{}", x.field);
                    x
                })
                .collect(),
        ),
        e => e,
    }
}

/// Sets region geometries from a GeoJSON FeatureCollection whose features name their region by
/// `properties.code`, `properties.region_id` or the feature `id` (a GB/T 2260 code).
async fn zones(
    change: &mut Change,
    bytes: &[u8],
    errors: &mut Vec<FieldError>,
    progress: Progress<'_>,
) -> AppResult<usize> {
    let fc: geojson::FeatureCollection = std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse::<geojson::GeoJson>().ok())
        .and_then(|g| geojson::FeatureCollection::try_from(g).ok())
        .ok_or_else(|| AppError::invalid("file", "not a GeoJSON FeatureCollection (RFC 7946)"))?;
    let total = fc.features.len() as u64;
    let mut n = 0;
    for (i, feature) in fc.features.iter().enumerate() {
        let field = |f: &str| format!("features[{i}].{f}");
        let prop = |k: &str| feature.properties.as_ref().and_then(|p| p.get(k)).cloned();
        let region_id = if let Some(id) = prop("region_id").and_then(|v| v.as_i64()) {
            Some(id)
        } else {
            let code = prop("code")
                .and_then(|v| v.as_str().map(str::to_string))
                .or_else(|| {
                    feature.id.as_ref().map(|id| match id {
                        geojson::feature::Id::String(s) => s.clone(),
                        geojson::feature::Id::Number(n) => n.to_string(),
                    })
                });
            match code {
                Some(c) => region_by_code(change, &c).await?,
                None => None,
            }
        };
        let Some(region_id) = region_id else {
            errors.push(FieldError::new(field("properties.code"), "names no known region (give properties.code, properties.region_id or a feature id)"));
            continue;
        };
        let Some(geometry) = &feature.geometry else {
            errors.push(FieldError::new(field("geometry"), "missing"));
            continue;
        };
        let value = serde_json::to_value(geometry).map_err(anyhow::Error::from)?;
        let update = super::regions::RegionUpdate {
            geometry: Some(value),
            ..Default::default()
        };
        let mut check = crate::check::Check::default();
        if let Some(g) = crate::geo::check_geometry(
            &mut check,
            &field("geometry"),
            update.geometry.as_ref().expect("set above"),
        ) {
            sqlx::query("UPDATE regions SET geometry = $1 WHERE id = $2")
                .bind(g)
                .bind(region_id)
                .execute(&mut *change.tx)
                .await?;
            change
                .record(
                    "region",
                    region_id,
                    "set_geometry",
                    &serde_json::json!({"source": "zones import"}),
                )
                .await?;
            n += 1;
        }
        collect(check.done(), errors)?;
        progress(i as u64 + 1, total, "zones");
    }
    Ok(n)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// xlsx, csv or geojson.
    #[param(inline, value_type = ImportFormat)]
    pub format: String,
}

/// What the import route reads, as the document shows `format`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum ImportFormat {
    Xlsx,
    Csv,
    Geojson,
}

/// What the import route writes, as the document shows `kind`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum ImportKind {
    People,
    Teams,
    Regions,
    Zones,
}

#[derive(Serialize, ToSchema)]
pub struct ImportResult {
    pub imported: usize,
}

/// Import a file sent as the raw request body. Nothing is written unless every row is good; a
/// 422 lists every bad row.
#[utoipa::path(post, path = "/api/v1/import/{kind}", tag = "org", operation_id = "import_rows", params(("kind" = inline(ImportKind), Path), ImportQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = ImportResult), (status = 422, body = crate::error::ErrorBody)))]
async fn import_route(
    State(state): State<OrgState>,
    Can(p, _): Can<perm::Import>,
    ApiPath(kind): ApiPath<String>,
    ApiQuery(q): ApiQuery<ImportQuery>,
    body: Bytes,
) -> AppResult<ApiJson<ImportResult>> {
    let format = Format::parse(&q.format)
        .ok_or_else(|| AppError::invalid("format", "xlsx, csv or geojson"))?;
    let imported = run(&state.db, &p.actor(), &kind, format, &body, &|_, _, _| {}).await?;
    Ok(ApiJson(ImportResult { imported }))
}

pub fn api() -> OpenApiRouter<OrgState> {
    OpenApiRouter::new().routes(routes!(import_route))
}
