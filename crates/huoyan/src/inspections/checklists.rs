//! Checklists per site kind. Saving a kind's items makes a new version unless nothing changed;
//! rounds name the version they were planned with, so a round keeps its items whatever is saved
//! later.

use axum::extract::State;
use axum::http::StatusCode;
use huoyan_core::cases::Category;
use huoyan_core::inspections::checklist::{self, Checklist, ChecklistError, Item};
use huoyan_core::org::SiteKind;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::InspectionsState;
use crate::audit::Change;
use crate::auth::{Can, perm};
use crate::check::Text;
use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::http::{ApiJson, ApiPath};

/// One item as the API writes and reads it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemBody {
    /// Stable across versions: 1 to 40 lowercase letters, digits and `_`.
    pub code: Text<40, true>,
    pub zh: Text<200, true>,
    pub en: Text<200, true>,
    /// The category of the case a failure becomes.
    pub category: Category,
}

impl From<&ItemBody> for Item {
    fn from(b: &ItemBody) -> Item {
        Item {
            code: b.code.trimmed().into(),
            zh: b.zh.trimmed().into(),
            en: b.en.trimmed().into(),
            category: b.category,
        }
    }
}

/// A checklist at one version.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChecklistView {
    pub id: i64,
    pub kind: SiteKind,
    pub version: u32,
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Item>,
}

impl ChecklistView {
    pub fn checklist(&self) -> Checklist {
        Checklist {
            kind: self.kind,
            version: self.version,
            items: self.items.clone(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveChecklist {
    pub items: Vec<ItemBody>,
}

fn from_row(r: &sqlx::any::AnyRow) -> AppResult<ChecklistView> {
    let kind: String = r.try_get("kind")?;
    let items: String = r.try_get("items")?;
    Ok(ChecklistView {
        id: r.try_get("id")?,
        kind: SiteKind::parse(&kind)
            .ok_or_else(|| anyhow::anyhow!("checklist of unknown kind {kind:?}"))?,
        version: u32::try_from(r.try_get::<i64, _>("version")?).unwrap_or(0),
        items: serde_json::from_str(&items)
            .map_err(|e| anyhow::anyhow!("checklist items unreadable: {e}"))?,
    })
}

const COLUMNS: &str = "id, kind, version, items";

/// The newest version of each kind's checklist.
pub async fn latest(db: &Db) -> AppResult<Vec<ChecklistView>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM checklists c WHERE version = \
         (SELECT MAX(version) FROM checklists n WHERE n.kind = c.kind) ORDER BY kind"
    )))
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// The newest version of `kind`'s checklist as `change` sees it.
pub async fn latest_in(change: &mut Change, kind: SiteKind) -> AppResult<Option<ChecklistView>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM checklists WHERE kind = $1 ORDER BY version DESC LIMIT 1"
    )))
    .bind(kind.code())
    .fetch_optional(&mut *change.tx)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Checklists by id (the versions rounds were planned with).
pub async fn by_ids(db: &Db, ids: &[i64]) -> AppResult<Vec<ChecklistView>> {
    let mut sql = crate::db::Sql::new(&format!("SELECT {COLUMNS} FROM checklists WHERE id IN ("));
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(*id);
    }
    if ids.is_empty() {
        sql.push("NULL");
    }
    sql.push(")");
    let rows = sql.query().fetch_all(&db.pool).await?;
    rows.iter().map(from_row).collect()
}

fn refused(e: ChecklistError) -> AppError {
    let field = match &e {
        ChecklistError::Empty | ChecklistError::TooMany => "items".to_string(),
        ChecklistError::BadCode(i) | ChecklistError::Repeated(i, _) => format!("items[{i}].code"),
        ChecklistError::BadText(i) => format!("items[{i}]"),
    };
    AppError::invalid(field, e.to_string())
}

/// Saves `items` as `kind`'s checklist inside `change`: a new version when they differ from the
/// newest, else the newest unchanged. Returns it and whether it is new.
pub async fn save(
    change: &mut Change,
    kind: SiteKind,
    items: &[Item],
) -> AppResult<(ChecklistView, bool)> {
    checklist::check_items(items).map_err(refused)?;
    let latest = latest_in(change, kind).await?;
    let version = checklist::next_version(latest.as_ref().map(|c| c.checklist()).as_ref(), items);
    if let Some(same) = latest.filter(|c| c.version == version) {
        return Ok((same, false));
    }
    let text = serde_json::to_string(items).map_err(anyhow::Error::from)?;
    let created_by = change.actor().id;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO checklists (kind, version, items, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(kind.code())
    .bind(i64::from(version))
    .bind(&text)
    .bind(change.at_ms())
    .bind(created_by)
    .fetch_one(&mut *change.tx)
    .await?;
    let codes: Vec<&str> = items.iter().map(|i| i.code.as_str()).collect();
    change
        .record(
            "checklist",
            id,
            "save",
            &serde_json::json!({"kind": kind.code(), "version": version, "items": codes}),
        )
        .await?;
    Ok((
        ChecklistView {
            id,
            kind,
            version,
            items: items.to_vec(),
        },
        true,
    ))
}

/// The newest checklist of every site kind that has one.
#[utoipa::path(get, path = "/api/v1/inspections/checklists", tag = "inspections", operation_id = "list_checklists",
    responses((status = 200, body = Vec<ChecklistView>)))]
async fn list_route(
    State(state): State<InspectionsState>,
    _can: Can<perm::InspectionsRead>,
) -> AppResult<ApiJson<Vec<ChecklistView>>> {
    Ok(ApiJson(latest(&state.db).await?))
}

/// Save a site kind's checklist: a new version when the items differ from the newest (201), the
/// newest unchanged otherwise (200). Rounds already planned keep the version they were planned
/// with.
#[utoipa::path(put, path = "/api/v1/inspections/checklists/{kind}", tag = "inspections", operation_id = "save_checklist",
    params(("kind" = SiteKind, Path)), request_body = SaveChecklist,
    responses((status = 201, body = ChecklistView), (status = 200, body = ChecklistView), (status = 422, body = crate::error::ErrorBody)))]
async fn save_route(
    State(state): State<InspectionsState>,
    Can(p, _): Can<perm::InspectionsManage>,
    ApiPath(kind): ApiPath<String>,
    ApiJson(body): ApiJson<SaveChecklist>,
) -> AppResult<(StatusCode, ApiJson<ChecklistView>)> {
    let kind = SiteKind::parse(&kind).ok_or_else(|| AppError::NotFound("site kind"))?;
    let items: Vec<Item> = body.items.iter().map(Item::from).collect();
    let (saved, new) =
        Change::run(&state.db, &p.actor(), async |c| save(c, kind, &items).await).await?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, ApiJson(saved)))
}

pub fn api() -> OpenApiRouter<InspectionsState> {
    OpenApiRouter::new()
        .routes(routes!(list_route))
        .routes(routes!(save_route))
}
