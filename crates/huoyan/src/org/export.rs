//! Exports of people, teams and regions to xlsx, within the caller's scope. Exporting personal
//! data is an audited event.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use huoyan_core::auth::{Permission, Role, Scope};
use huoyan_core::org::mask_phone;

use crate::audit::Change;
use crate::auth::{Can, Principal, Via, perm};
use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::http::ApiPath;
use crate::i18n::Locale;
use crate::org::OrgState;
use crate::tabular::{Cell, write_xlsx};

/// Walks every page of a list.
async fn all<T, F, Fut>(mut page: F) -> AppResult<Vec<T>>
where
    F: FnMut(i64) -> Fut,
    Fut: std::future::Future<Output = AppResult<crate::http::ListPage<T>>>,
{
    let mut out = Vec::new();
    loop {
        let p = page(out.len() as i64).await?;
        let done = p.items.len() < p.limit as usize;
        out.extend(p.items);
        if done {
            return Ok(out);
        }
    }
}

pub async fn export(db: &Db, p: &Principal, kind: &str) -> AppResult<Vec<u8>> {
    let bytes = match kind {
        "people" => {
            p.require(Permission::PeopleRead)?;
            let people = all(|offset| {
                let f = super::people::PersonFilter {
                    limit: Some(500),
                    offset: Some(offset),
                    ..Default::default()
                };
                async move { super::people::list(db, p, &f).await }
            })
            .await?;
            let rows: Vec<Vec<Cell>> = people
                .iter()
                .map(|x| {
                    vec![
                        x.id.into(),
                        x.name.as_str().into(),
                        mask_phone(&x.phone).into(),
                        x.gender.as_str().into(),
                        x.birth_year.into(),
                        if x.party_member { "是" } else { "否" }.into(),
                        x.employer.as_str().into(),
                        x.home_region_id.into(),
                        x.skills.join("、").into(),
                    ]
                })
                .collect();
            let mut change = Change::begin(db, &p.actor()).await?;
            change
                .record(
                    "export",
                    "people",
                    "export",
                    &serde_json::json!({"kind": "people", "rows": rows.len()}),
                )
                .await?;
            change.commit().await?;
            write_xlsx(
                "people",
                &[
                    "id",
                    "name",
                    "phone",
                    "gender",
                    "birth_year",
                    "party_member",
                    "employer",
                    "home_region_id",
                    "skills",
                ],
                &rows,
            )?
        }
        "teams" => {
            p.require(Permission::TeamsRead)?;
            let teams = all(|offset| {
                let f = super::teams::TeamFilter {
                    limit: Some(500),
                    offset: Some(offset),
                    ..Default::default()
                };
                async move { super::teams::list(db, p, &f).await }
            })
            .await?;
            let rows: Vec<Vec<Cell>> = teams
                .iter()
                .map(|t| {
                    vec![
                        t.id.into(),
                        t.kind.as_str().into(),
                        t.name.as_str().into(),
                        t.parent_id.into(),
                        t.region_id.into(),
                        t.member_count.into(),
                    ]
                })
                .collect();
            write_xlsx(
                "teams",
                &["id", "kind", "name", "parent_id", "region_id", "members"],
                &rows,
            )?
        }
        "regions" => {
            p.require(Permission::RegionsRead)?;
            let regions = all(|offset| {
                let f = super::regions::RegionFilter {
                    limit: Some(500),
                    offset: Some(offset),
                    ..Default::default()
                };
                async move { super::regions::list(db, &f, Locale::Zh).await }
            })
            .await?;
            let rows: Vec<Vec<Cell>> = regions
                .iter()
                .map(|r| {
                    vec![
                        r.id.into(),
                        r.code.clone().into(),
                        r.name.as_str().into(),
                        r.level.as_str().into(),
                        r.parent_id.into(),
                        r.control.as_ref().map(|c| c.level.clone()).into(),
                        r.control
                            .as_ref()
                            .map_or(Cell::Empty, |c| Cell::time(&c.since)),
                    ]
                })
                .collect();
            write_xlsx(
                "regions",
                &[
                    "id",
                    "code",
                    "name",
                    "level",
                    "parent_id",
                    "control_level",
                    "control_since",
                ],
                &rows,
            )?
        }
        _ => return Err(AppError::invalid("kind", "one of people, teams, regions")),
    };
    Ok(bytes)
}

/// The command line's export: the whole city, as the system.
pub async fn system_export(db: &Db, kind: &str) -> AppResult<Vec<u8>> {
    let system = Principal {
        account_id: 0,
        username: "system:export".into(),
        person_id: None,
        role: Role::Admin,
        scope: Scope::default(),
        scope_path: None,
        csrf: String::new(),
        via: Via::Bearer,
    };
    export(db, &system, kind).await
}

/// What the export route writes, as the document shows `kind`.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum ExportKind {
    People,
    Teams,
    Regions,
}

/// Download a list as xlsx (people, teams or regions), within your scope.
#[utoipa::path(get, path = "/api/v1/export/{kind}", tag = "org", operation_id = "export_org_xlsx", params(("kind" = inline(ExportKind), Path)),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>)))]
async fn export_route(
    State(state): State<OrgState>,
    Can(p, _): Can<perm::Export>,
    ApiPath(kind): ApiPath<String>,
) -> AppResult<impl IntoResponse> {
    let bytes = export(&state.db, &p, &kind).await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"huoyan-{kind}.xlsx\""),
            ),
        ],
        bytes,
    ))
}

pub fn api() -> utoipa_axum::router::OpenApiRouter<OrgState> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(export_route))
}
