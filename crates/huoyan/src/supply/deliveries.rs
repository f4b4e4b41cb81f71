//! Delivery tasks: one building's share of a batch, carried by one team. The volunteer marks it
//! delivered with the count; a shortfall, or no mark by the batch's deadline, becomes a case
//! (category supplies) through `cases`, naming the building and what is missing.

use axum::extract::State;
use huoyan_core::auth::Permission;
use huoyan_core::cases::{Category, Priority, Source};
use huoyan_core::supply::Goods;
use huoyan_core::supply::delivery::{
    DeliveryState, Outcome, case_text, mark as outcome_of, state as state_of,
};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::SupplyState;
use crate::audit::{Actor, Change};
use crate::auth::{Can, Principal, perm};
use crate::check::Text;
use crate::db::{Db, Sql};
use crate::error::{AppError, AppResult, FieldError};
use crate::http::{ApiJson, ApiPath, ApiQuery};

/// Most deliveries one list returns: a subdistrict's buildings.
const MAX_LIST: i64 = 2_000;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Delivery {
    pub id: i64,
    pub batch_id: i64,
    pub goods: Goods,
    pub title: String,
    pub building_id: i64,
    /// The compound and building (景程小区3号楼).
    pub building: String,
    pub compound_id: i64,
    pub team_id: i64,
    pub team: String,
    pub planned: i64,
    pub doors: i64,
    pub delivered: Option<i64>,
    pub state: DeliveryState,
    pub note: String,
    #[schema(format = DateTime)]
    pub deadline: String,
    #[schema(format = DateTime)]
    pub marked_at: Option<String>,
    #[schema(format = DateTime)]
    pub missed_at: Option<String>,
    /// The case a shortfall or a miss became.
    pub case_id: Option<i64>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryFilter {
    pub batch_id: Option<i64>,
    /// Only those still to be marked (neither marked nor missed).
    #[serde(default)]
    pub pending: Option<bool>,
    /// Only those not marked yet, or due in the last two days: a carrier's list.
    #[serde(default)]
    pub current: Option<bool>,
}

/// A volunteer's mark on a building: how many arrived.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Mark {
    /// Delivered, 0 to the planned count.
    pub delivered: i64,
    /// What happened (two doors did not answer; the van was short).
    #[serde(default)]
    #[schema(value_type = String, max_length = 300)]
    pub note: Text<300>,
}

const COLUMNS: &str = "d.id, d.batch_id, b.goods, b.title, d.building_id, c.name AS compound, g.name AS building, \
    d.compound_id, d.team_id, t.name AS team, d.planned, d.doors, d.delivered, d.note, b.deadline, d.marked_at, \
    d.missed_at, d.case_id";
const FROM: &str = "supply_deliveries d JOIN supply_batches b ON b.id = d.batch_id \
    JOIN regions g ON g.id = d.building_id JOIN regions c ON c.id = d.compound_id JOIN teams t ON t.id = d.team_id";

fn by_id(id: i64) -> Sql {
    let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM {FROM} WHERE d.id = "));
    sql.bind(id);
    sql
}

fn delivery_of(r: &sqlx::any::AnyRow) -> AppResult<Delivery> {
    let goods: String = r.try_get("goods")?;
    let planned: i64 = r.try_get("planned")?;
    let delivered: Option<i64> = r.try_get("delivered")?;
    let missed_at: Option<i64> = r.try_get("missed_at")?;
    let state = state_of(planned, delivered, missed_at.is_some());
    Ok(Delivery {
        id: r.try_get("id")?,
        batch_id: r.try_get("batch_id")?,
        goods: Goods::parse(&goods).ok_or_else(|| anyhow::anyhow!("goods {goods:?}"))?,
        title: r.try_get("title")?,
        building_id: r.try_get("building_id")?,
        building: format!(
            "{}{}",
            r.try_get::<String, _>("compound")?,
            r.try_get::<String, _>("building")?
        ),
        compound_id: r.try_get("compound_id")?,
        team_id: r.try_get("team_id")?,
        team: r.try_get("team")?,
        planned,
        doors: r.try_get("doors")?,
        delivered,
        state,
        note: r.try_get("note")?,
        deadline: crate::time::rfc3339(r.try_get("deadline")?),
        marked_at: r
            .try_get::<Option<i64>, _>("marked_at")?
            .map(crate::time::rfc3339),
        missed_at: missed_at.map(crate::time::rfc3339),
        case_id: r.try_get("case_id")?,
    })
}

/// The deliveries in `p`'s sight (a volunteer: their team's), by deadline and building.
pub async fn list(db: &Db, p: &Principal, f: &DeliveryFilter) -> AppResult<Vec<Delivery>> {
    let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM {FROM} WHERE 1 = 1"));
    if let Some(b) = f.batch_id {
        sql.push(" AND d.batch_id = ").bind(b);
    }
    if f.pending == Some(true) {
        sql.push(" AND d.marked_at IS NULL AND d.missed_at IS NULL");
    }
    if f.current == Some(true) {
        sql.push(" AND (d.marked_at IS NULL OR b.deadline > ")
            .bind(crate::time::now_ms() - 2 * 24 * 3_600_000)
            .push(")");
    }
    super::visible(p, &mut sql, "g.path", Some("d.team_id"));
    sql.push(" ORDER BY b.deadline DESC, d.batch_id DESC, c.name, g.name, d.id LIMIT ")
        .bind(MAX_LIST);
    let rows = sql.query().fetch_all(&db.pool).await?;
    rows.iter().map(delivery_of).collect()
}

/// Files the case a shortfall or a miss of delivery `id` becomes, as `reporter`, and links it.
async fn file_case(
    change: &mut Change,
    reporter: &Principal,
    id: i64,
    outcome: Outcome,
    note: &str,
) -> AppResult<i64> {
    let r = by_id(id).query().fetch_one(&mut *change.tx).await?;
    let d = delivery_of(&r)?;
    let (_, text) = case_text(outcome, &d.building, d.goods, d.planned as u32)
        .ok_or_else(|| anyhow::anyhow!("a complete delivery files no case"))?;
    let description = if note.is_empty() {
        format!("{text}（{}，{}）", d.title, d.team)
    } else {
        format!("{text}（{}，{}：{note}）", d.title, d.team)
    };
    let case_id = crate::cases::file_finding(
        change,
        reporter,
        crate::cases::Finding {
            source: Source::Supply,
            priority: Priority::Normal,
            category: Category::Supplies,
            compound_id: d.compound_id,
            lon: None,
            lat: None,
            address: d.building.clone(),
            description,
        },
    )
    .await?;
    sqlx::query("UPDATE supply_deliveries SET case_id = $1 WHERE id = $2")
        .bind(case_id)
        .bind(id)
        .execute(&mut *change.tx)
        .await?;
    Ok(case_id)
}

/// Marks delivery `id` as `p` inside `change`: read, checked against the caller's team and
/// written in the same transaction. A shortfall files its case (unless the building already has
/// one, from a miss). Returns the case filed, if any.
pub async fn mark(change: &mut Change, p: &Principal, id: i64, m: &Mark) -> AppResult<Option<i64>> {
    // Only the carriers mark: their team's buildings and its groups', whatever else their
    // account may reach.
    let team = match p.scope.team_id {
        Some(t) if p.role.allows(Permission::SupplyDeliver) => t,
        _ => return Err(AppError::Forbidden),
    };
    let row = sqlx::query(
        "SELECT d.planned, d.marked_at, d.case_id FROM supply_deliveries d JOIN teams t ON t.id = d.team_id \
         WHERE d.id = $1 AND (t.id = $2 OR t.parent_id = $2)",
    )
    .bind(id)
    .bind(team)
    .fetch_optional(&mut *change.tx)
    .await?
    .ok_or(AppError::NotFound("delivery"))?;
    let planned: i64 = row.try_get("planned")?;
    if row.try_get::<Option<i64>, _>("marked_at")?.is_some() {
        return Err(AppError::Conflict(vec![FieldError::new(
            "id",
            "the building is marked already",
        )]));
    }
    let case: Option<i64> = row.try_get("case_id")?;
    if m.delivered < 0 {
        return Err(AppError::invalid("delivered", "0 or more"));
    }
    let outcome = outcome_of(planned as u32, m.delivered.min(u32::MAX as i64) as u32)
        .map_err(|e| AppError::invalid("delivered", e.to_string()))?;
    sqlx::query(
        "UPDATE supply_deliveries SET delivered = $1, note = $2, marked_by = $3, marked_at = $4 WHERE id = $5",
    )
    .bind(m.delivered)
    .bind(m.note.trimmed())
    .bind(p.account_id)
    .bind(change.at_ms())
    .bind(id)
    .execute(&mut *change.tx)
    .await?;
    change
        .record(
            "supply_delivery",
            id,
            "mark",
            &serde_json::json!({"delivered": m.delivered, "note": m.note.trimmed()}),
        )
        .await?;
    match outcome {
        Outcome::Short(_) if case.is_none() => Ok(Some(
            file_case(change, p, id, outcome, m.note.trimmed()).await?,
        )),
        _ => Ok(None),
    }
}

/// Most deliveries one sweep marks missed, each in its own change: a backlog is worked through
/// over the following minutes without holding the write lock for long.
const SWEEP_BATCH: i64 = 200;

/// Marks missed every building unmarked at its batch's deadline, each filing its case as the
/// batch's planner (who learns of it like any reporter). Returns how many.
pub async fn sweep(db: &Db, now: i64) -> AppResult<usize> {
    let due: Vec<i64> = sqlx::query_scalar(
        "SELECT d.id FROM supply_deliveries d JOIN supply_batches b ON b.id = d.batch_id \
         WHERE d.marked_at IS NULL AND d.missed_at IS NULL AND b.deadline < $1 ORDER BY d.id LIMIT $2",
    )
    .bind(now)
    .bind(SWEEP_BATCH)
    .fetch_all(&db.pool)
    .await?;
    let mut done = 0;
    for id in due {
        let acted = Change::run(db, &Actor::system("supply-deadline"), async |c| {
            // Read again inside the write: a mark may have come since.
            let n = sqlx::query(
                "UPDATE supply_deliveries SET missed_at = $1 WHERE id = $2 AND marked_at IS NULL AND missed_at IS NULL",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *c.tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Ok(false);
            }
            c.record(
                "supply_delivery",
                id,
                "missed",
                &serde_json::json!({"at": now}),
            )
            .await?;
            let planner: i64 = sqlx::query_scalar(
                "SELECT b.planned_by FROM supply_deliveries d JOIN supply_batches b ON b.id = d.batch_id WHERE d.id = $1",
            )
            .bind(id)
            .fetch_one(&mut *c.tx)
            .await?;
            let reporter = crate::auth::principal_of(db, planner).await?;
            file_case(c, &reporter, id, Outcome::Missed, "").await?;
            Ok(true)
        })
        .await;
        done += super::tally("a missed delivery", id, acted);
    }
    Ok(done)
}

/// The deliveries in scope: a volunteer's are their team's.
#[utoipa::path(get, path = "/api/v1/supply/deliveries", tag = "supply", operation_id = "list_deliveries",
    params(DeliveryFilter), responses((status = 200, body = Vec<Delivery>)))]
async fn list_route(
    State(state): State<SupplyState>,
    Can(p, _): Can<perm::SupplyRead>,
    ApiQuery(f): ApiQuery<DeliveryFilter>,
) -> AppResult<ApiJson<Vec<Delivery>>> {
    Ok(ApiJson(list(&state.db, &p, &f).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Marked {
    pub delivery: Delivery,
    /// The case the shortfall became.
    pub case_id: Option<i64>,
}

/// Mark a building of one's team delivered, with the count; a shortfall becomes a case.
#[utoipa::path(post, path = "/api/v1/supply/deliveries/{id}/mark", tag = "supply", operation_id = "mark_delivery",
    params(("id" = i64, Path)), request_body = Mark,
    responses((status = 200, body = Marked), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn mark_route(
    State(state): State<SupplyState>,
    Can(p, _): Can<perm::SupplyDeliver>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(m): ApiJson<Mark>,
) -> AppResult<ApiJson<Marked>> {
    let case_id = Change::run(&state.db, &p.actor(), async |c| mark(c, &p, id, &m).await).await?;
    Ok(ApiJson(Marked {
        delivery: one(&state.db, id).await?,
        case_id,
    }))
}

/// Delivery `id`, read after a write that checked it.
pub(super) async fn one(db: &Db, id: i64) -> AppResult<Delivery> {
    let r = by_id(id)
        .query()
        .fetch_optional(&db.pool)
        .await?
        .ok_or(AppError::NotFound("delivery"))?;
    delivery_of(&r)
}

pub fn api() -> OpenApiRouter<SupplyState> {
    OpenApiRouter::new()
        .routes(routes!(list_route))
        .routes(routes!(mark_route))
}
