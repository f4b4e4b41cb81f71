//! Departments: the units that fix problems (community offices, police, market regulator,
//! property managers…).

use axum::extract::State;
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit::{Actor, Change, Columns};
use crate::auth::{Can, perm};
use crate::check::{Check, Required, Text};
use crate::db::{Arg, Db, Sql};
use crate::error::{AppError, AppResult};
use crate::http::{ApiJson, ApiPath, ApiQuery, ListPage, Paging};
use crate::org::OrgState;

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Department {
    pub id: i64,
    pub name: String,
    /// community, police, market_regulator, property_manager, health, supply, other.
    #[schema(value_type = huoyan_core::org::DepartmentKind)]
    pub kind: String,
    pub region_id: Option<i64>,
    pub phone: String,
}

pub const KINDS: [&str; 7] = [
    "community",
    "police",
    "market_regulator",
    "property_manager",
    "health",
    "supply",
    "other",
];

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDepartment {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[schema(value_type = huoyan_core::org::DepartmentKind)]
    pub kind: String,
    pub region_id: Option<i64>,
    #[serde(default)]
    #[schema(max_length = 30)]
    pub phone: String,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct DepartmentUpdate {
    pub name: Option<Required<100>>,
    pub phone: Option<Text<30>>,
}

const COLUMNS: &str = "id, name, kind, region_id, phone";
const BY_ID: &str = "SELECT id, name, kind, region_id, phone FROM departments WHERE id = $1";

/// What an update may change.
impl Columns for Department {
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        vec![
            ("name", self.name.as_str().into()),
            ("phone", self.phone.as_str().into()),
        ]
    }
}

fn from_row(r: &sqlx::any::AnyRow) -> Result<Department, sqlx::Error> {
    Department::from_row(r)
}

pub async fn get(db: &Db, id: i64) -> AppResult<Department> {
    sqlx::query_as(BY_ID)
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(AppError::NotFound("department"))
}

pub async fn insert(change: &mut Change, new: &NewDepartment) -> AppResult<i64> {
    let mut check = Check::default();
    check.non_empty("name", &new.name, 100);
    check.optional("phone", &new.phone, 30);
    if !KINDS.contains(&new.kind.as_str()) {
        check.fail("kind", format!("one of {}", KINDS.join(", ")));
    }
    if let Some(r) = new.region_id
        && !change.exists("regions", r).await?
    {
        check.fail("region_id", "no such region");
    }
    check.done()?;
    let id: i64 = sqlx::query_scalar("INSERT INTO departments (name, kind, region_id, phone, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id")
        .bind(new.name.trim())
        .bind(&new.kind)
        .bind(new.region_id)
        .bind(&new.phone)
        .bind(change.at_ms())
        .fetch_one(&mut *change.tx)
        .await?;
    change.record("department", id, "create", &serde_json::json!({"name": new.name.trim(), "kind": new.kind, "region_id": new.region_id})).await?;
    Ok(id)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DepartmentFilter {
    pub kind: Option<String>,
    #[param(inline)]
    pub q: Option<Text<100>>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// List departments.
#[utoipa::path(get, path = "/api/v1/departments", tag = "org", operation_id = "list_departments", params(DepartmentFilter), responses((status = 200, body = ListPage<Department>)))]
async fn list_route(
    State(state): State<OrgState>,
    Can(_p, _): Can<perm::DepartmentsRead>,
    ApiQuery(f): ApiQuery<DepartmentFilter>,
) -> AppResult<ApiJson<ListPage<Department>>> {
    let mut filter = Sql::new(" WHERE 1 = 1");
    if let Some(k) = f.kind.as_deref().filter(|k| !k.is_empty()) {
        filter.push(" AND kind = ").bind(k);
    }
    if let Some(q) = f.q.as_deref().filter(|q| !q.is_empty()) {
        filter.push(" AND name").like("%", q, "%");
    }
    let paging = Paging {
        limit: f.limit,
        offset: f.offset,
    };
    Ok(ApiJson(
        crate::http::fetch_page(
            &state.db,
            COLUMNS,
            "departments",
            &filter,
            "id",
            &paging,
            from_row,
        )
        .await?,
    ))
}

/// Add a department.
#[utoipa::path(post, path = "/api/v1/departments", tag = "org", operation_id = "create_department", request_body = NewDepartment, responses((status = 201, body = Department)))]
async fn create_route(
    State(state): State<OrgState>,
    Can(p, _): Can<perm::DepartmentsWrite>,
    ApiJson(new): ApiJson<NewDepartment>,
) -> AppResult<(axum::http::StatusCode, ApiJson<Department>)> {
    let id = Change::run(&state.db, &p.actor(), async |change| {
        insert(change, &new).await
    })
    .await?;
    Ok((
        axum::http::StatusCode::CREATED,
        ApiJson(get(&state.db, id).await?),
    ))
}

/// One department.
#[utoipa::path(get, path = "/api/v1/departments/{id}", tag = "org", operation_id = "get_department", params(("id" = i64, Path)), responses((status = 200, body = Department)))]
async fn get_route(
    State(state): State<OrgState>,
    Can(_p, _): Can<perm::DepartmentsRead>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<ApiJson<Department>> {
    Ok(ApiJson(get(&state.db, id).await?))
}

pub async fn update(db: &Db, actor: &Actor, id: i64, u: &DepartmentUpdate) -> AppResult<()> {
    let mut check = Check::default();
    if let Some(n) = &u.name {
        check.non_empty("name", n, 100);
    }
    check.done()?;
    Change::run(db, actor, async |change| {
        let before: Department = change
            .fetch(BY_ID, id)
            .await?
            .ok_or(AppError::NotFound("department"))?;
        let mut after = before.clone();
        if let Some(n) = &u.name {
            after.name = n.trim().to_string();
        }
        if let Some(p) = &u.phone {
            after.phone = p.to_string();
        }
        change
            .update("department", "departments", id, &before, &after)
            .await?;
        Ok(())
    })
    .await
}

/// Rename a department or change its phone.
#[utoipa::path(patch, path = "/api/v1/departments/{id}", tag = "org", operation_id = "update_department", params(("id" = i64, Path)), request_body = DepartmentUpdate, responses((status = 200, body = Department)))]
async fn update_route(
    State(state): State<OrgState>,
    Can(p, _): Can<perm::DepartmentsWrite>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(u): ApiJson<DepartmentUpdate>,
) -> AppResult<ApiJson<Department>> {
    update(&state.db, &p.actor(), id, &u).await?;
    Ok(ApiJson(get(&state.db, id).await?))
}

pub fn api() -> OpenApiRouter<OrgState> {
    OpenApiRouter::new()
        .routes(routes!(list_route, create_route))
        .routes(routes!(get_route, update_route))
}
