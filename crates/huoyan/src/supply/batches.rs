//! Supply batches: goods planned per building of a region, due by a deadline, and split among
//! volunteer teams by the core's door-balancing split, one delivery task per building.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::StatusCode;
use huoyan_core::supply::Goods;
use huoyan_core::supply::delivery::{Share, split};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::SupplyState;
use super::deliveries::{Delivery, DeliveryFilter, list as list_deliveries};
use crate::audit::Change;
use crate::auth::{Can, Principal, perm};
use crate::check::{Check, Required};
use crate::db::{Db, Sql};
use crate::error::{AppError, AppResult};
use crate::http::{ApiJson, ApiPath, ApiQuery, ListPage, Paging};
use crate::org::scope::Reach;

/// Most buildings one batch serves (a subdistrict's) and teams it is split among.
const MAX_SHARES: usize = 2_000;
const MAX_TEAMS: usize = 200;

/// Team kinds that carry goods to the doors.
const CARRIERS: [&str; 2] = ["volunteer_group", "party_branch"];

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewShare {
    /// A building (region of level building) inside the batch's region.
    pub building_id: i64,
    /// Packages (units of the goods) for the building, 1 to 100,000.
    pub planned: i64,
    /// Doors to knock on, 0 to 10,000: what the split balances.
    pub doors: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBatch {
    pub goods: Goods,
    /// What it is, as the teams see it (8月31日蔬菜包).
    #[schema(value_type = String, max_length = 60)]
    pub title: Required<60>,
    /// The region served; every building lies inside it.
    pub region_id: i64,
    /// When every building must have its goods; after it, an unmarked building is missed.
    #[schema(format = DateTime)]
    pub deadline: String,
    /// One share per building, at most 2,000.
    pub shares: Vec<NewShare>,
    /// The volunteer teams to split the buildings among, at most 200.
    pub team_ids: Vec<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Batch {
    pub id: i64,
    pub goods: Goods,
    pub title: String,
    pub region_id: i64,
    pub region: String,
    #[schema(format = DateTime)]
    pub deadline: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Over the buildings the caller sees.
    pub buildings: i64,
    pub planned: i64,
    pub delivered: i64,
    pub marked: i64,
    pub missed: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchDetail {
    #[serde(flatten)]
    pub batch: Batch,
    /// The buildings the caller sees, with their tasks.
    pub deliveries: Vec<Delivery>,
}

/// Checks `new`'s buildings against the batch's region and the teams against the caller's reach,
/// inside `change`; returns each building's compound.
async fn check_places(
    change: &mut Change,
    p: &Principal,
    check: &mut Check,
    new: &NewBatch,
) -> AppResult<Vec<i64>> {
    let reach = Reach::of(change, p).await?;
    reach
        .region(change, check, "region_id", new.region_id)
        .await?;
    let region: Option<String> = sqlx::query_scalar("SELECT path FROM regions WHERE id = $1")
        .bind(new.region_id)
        .fetch_optional(&mut *change.tx)
        .await?;
    if region.is_none() {
        check.fail("region_id", "no such region");
    }
    let mut compounds = Vec::with_capacity(new.shares.len());
    let mut seen = BTreeSet::new();
    for (i, s) in new.shares.iter().enumerate() {
        let field = format!("shares[{i}]");
        if !(1..=100_000).contains(&s.planned) {
            check.fail(&format!("{field}.planned"), "1 to 100,000");
        }
        if !(0..=10_000).contains(&s.doors) {
            check.fail(&format!("{field}.doors"), "0 to 10,000");
        }
        if !seen.insert(s.building_id) {
            check.fail(&format!("{field}.building_id"), "named twice");
        }
        let row = sqlx::query(
            "SELECT b.level, b.path, b.parent_id, c.level AS parent_level FROM regions b \
             LEFT JOIN regions c ON c.id = b.parent_id WHERE b.id = $1",
        )
        .bind(s.building_id)
        .fetch_optional(&mut *change.tx)
        .await?;
        let Some(row) = row else {
            check.fail(&format!("{field}.building_id"), "no such building");
            compounds.push(0);
            continue;
        };
        let level: String = row.try_get("level")?;
        let path: String = row.try_get("path")?;
        let parent_level: Option<String> = row.try_get("parent_level")?;
        if level != "building" || parent_level.as_deref() != Some("compound") {
            check.fail(
                &format!("{field}.building_id"),
                "not a building of a compound",
            );
        } else if region.as_deref().is_some_and(|r| !path.starts_with(r)) {
            check.fail(
                &format!("{field}.building_id"),
                "not inside the batch's region",
            );
        }
        compounds.push(row.try_get::<Option<i64>, _>("parent_id")?.unwrap_or(0));
    }
    let mut teams = BTreeSet::new();
    for (i, &t) in new.team_ids.iter().enumerate() {
        let field = format!("team_ids[{i}]");
        if !teams.insert(t) {
            check.fail(&field, "named twice");
            continue;
        }
        // A group without a region of its own works where its branch does.
        let team: Option<(String, Option<String>)> = sqlx::query_as(
            "SELECT t.kind, COALESCE(r.path, br.path) FROM teams t LEFT JOIN regions r ON r.id = t.region_id \
             LEFT JOIN teams b ON b.id = t.parent_id LEFT JOIN regions br ON br.id = b.region_id WHERE t.id = $1",
        )
        .bind(t)
        .fetch_optional(&mut *change.tx)
        .await?;
        match team {
            None => check.fail(&field, "no such team"),
            Some((k, _)) if !CARRIERS.contains(&k.as_str()) => {
                check.fail(&field, "not a volunteer group or party branch")
            }
            Some((_, works)) => {
                reach.team(change, check, &field, t).await?;
                let inside = match (&region, works) {
                    (Some(r), Some(w)) => w.starts_with(r.as_str()),
                    _ => false,
                };
                if !inside && !check.failed(&field) {
                    check.fail(&field, "does not work inside the batch's region");
                }
            }
        }
    }
    Ok(compounds)
}

/// Plans `new` as `p` inside `change`: the batch and one delivery per building, split among the
/// teams so each knocks on about as many doors. Returns the batch's id.
pub async fn plan(change: &mut Change, p: &Principal, new: &NewBatch) -> AppResult<i64> {
    let mut check = Check::default();
    let now = change.at_ms();
    let deadline = super::deadline(&mut check, &new.deadline, now, now + super::LONGEST);
    if new.shares.is_empty() {
        check.fail("shares", "name at least one building");
    } else if new.shares.len() > MAX_SHARES {
        check.fail("shares", format!("at most {MAX_SHARES}"));
    }
    if new.team_ids.is_empty() {
        check.fail("team_ids", "name at least one team");
    } else if new.team_ids.len() > MAX_TEAMS {
        check.fail("team_ids", format!("at most {MAX_TEAMS}"));
    }
    if check.failed("shares") || check.failed("team_ids") {
        return Err(check.done().expect_err("failed"));
    }
    let compounds = check_places(change, p, &mut check, new).await?;
    check.done()?;
    let deadline = deadline.expect("checked");
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO supply_batches (goods, title, region_id, deadline, planned_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(new.goods.code())
    .bind(new.title.trimmed())
    .bind(new.region_id)
    .bind(deadline)
    .bind(p.account_id)
    .bind(change.at_ms())
    .fetch_one(&mut *change.tx)
    .await?;
    let shares: Vec<Share> = new
        .shares
        .iter()
        .map(|s| Share {
            building_id: s.building_id,
            planned: s.planned as u32,
            doors: s.doors as u32,
        })
        .collect();
    let compound_of = |b: i64| {
        new.shares
            .iter()
            .position(|s| s.building_id == b)
            .map_or(0, |i| compounds[i])
    };
    let mut rows = Vec::with_capacity(shares.len());
    for (team, given) in split(&shares, &new.team_ids) {
        // Each group's carriers learn of their buildings at once.
        let carriers: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM accounts WHERE scope_team_id = $1 AND disabled = 0")
                .bind(team)
                .fetch_all(&mut *change.tx)
                .await?;
        crate::notifications::tell_accounts(
            change,
            &carriers,
            "supply_planned",
            &serde_json::json!({"title": new.title.trimmed(), "goods": new.goods.zh(),
                "buildings": given.len(), "due_at": deadline, "page": "/supply"}),
        )
        .await?;
        for s in given {
            rows.push(vec![
                id.into(),
                s.building_id.into(),
                compound_of(s.building_id).into(),
                team.into(),
                i64::from(s.planned).into(),
                i64::from(s.doors).into(),
            ]);
        }
    }
    change
        .insert_rows(
            "supply_deliveries",
            &[
                "batch_id",
                "building_id",
                "compound_id",
                "team_id",
                "planned",
                "doors",
            ],
            &rows,
        )
        .await?;
    change
        .record(
            "supply_batch",
            id,
            "plan",
            &serde_json::json!({"goods": new.goods, "title": new.title.trimmed(),
                "region_id": new.region_id, "deadline": deadline,
                "shares": new.shares.iter().map(|s| [s.building_id, s.planned, s.doors]).collect::<Vec<_>>(),
                "team_ids": new.team_ids}),
        )
        .await?;
    Ok(id)
}

const BATCH_COLUMNS: &str = "b.id, b.goods, b.title, b.region_id, r.name AS region, b.deadline, b.created_at, \
    COUNT(d.id) AS buildings, CAST(COALESCE(SUM(d.planned), 0) AS BIGINT) AS planned, CAST(COALESCE(SUM(d.delivered), 0) AS BIGINT) AS delivered, \
    COUNT(d.marked_at) AS marked, COUNT(d.missed_at) AS missed";

fn batch_of(r: &sqlx::any::AnyRow) -> AppResult<Batch> {
    let goods: String = r.try_get("goods")?;
    Ok(Batch {
        id: r.try_get("id")?,
        goods: Goods::parse(&goods).ok_or_else(|| anyhow::anyhow!("goods {goods:?}"))?,
        title: r.try_get("title")?,
        region_id: r.try_get("region_id")?,
        region: r.try_get("region")?,
        deadline: crate::time::rfc3339(r.try_get("deadline")?),
        created_at: crate::time::rfc3339(r.try_get("created_at")?),
        buildings: r.try_get("buildings")?,
        planned: r.try_get("planned")?,
        delivered: r.try_get("delivered")?,
        marked: r.try_get("marked")?,
        missed: r.try_get("missed")?,
    })
}

/// The batches with a building in `p`'s sight, newest first, with their counts over those
/// buildings.
pub async fn list(db: &Db, p: &Principal, paging: &Paging) -> AppResult<ListPage<Batch>> {
    let mut sql = Sql::new(&format!(
        "SELECT {BATCH_COLUMNS} FROM supply_batches b JOIN regions r ON r.id = b.region_id \
         JOIN supply_deliveries d ON d.batch_id = b.id JOIN regions g ON g.id = d.building_id WHERE 1 = 1"
    ));
    super::visible(p, &mut sql, "g.path", Some("d.team_id"));
    sql.push(" GROUP BY b.id, b.goods, b.title, b.region_id, r.name, b.deadline, b.created_at ORDER BY b.created_at DESC, b.id DESC");
    paging.push_page(&mut sql);
    let rows = sql.query().fetch_all(&db.pool).await?;
    let items = rows.iter().map(batch_of).collect::<AppResult<Vec<_>>>()?;
    Ok(paging.page(items))
}

/// Batch `id` with the deliveries `p` sees; not found when they see none.
pub async fn get(db: &Db, p: &Principal, id: i64) -> AppResult<BatchDetail> {
    let mut sql = Sql::new(&format!(
        "SELECT {BATCH_COLUMNS} FROM supply_batches b JOIN regions r ON r.id = b.region_id \
         JOIN supply_deliveries d ON d.batch_id = b.id JOIN regions g ON g.id = d.building_id WHERE b.id = "
    ));
    sql.bind(id);
    super::visible(p, &mut sql, "g.path", Some("d.team_id"));
    sql.push(" GROUP BY b.id, b.goods, b.title, b.region_id, r.name, b.deadline, b.created_at");
    let row = sql
        .query()
        .fetch_optional(&db.pool)
        .await?
        .ok_or(AppError::NotFound("batch"))?;
    let batch = batch_of(&row)?;
    let deliveries = list_deliveries(
        db,
        p,
        &DeliveryFilter {
            batch_id: Some(id),
            ..Default::default()
        },
    )
    .await?;
    Ok(BatchDetail { batch, deliveries })
}

/// Plan a supply batch for a region's buildings, split among volunteer teams.
#[utoipa::path(post, path = "/api/v1/supply/batches", tag = "supply", operation_id = "plan_supply_batch",
    request_body = NewBatch,
    responses((status = 201, body = BatchDetail), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn plan_route(
    State(state): State<SupplyState>,
    Can(p, _): Can<perm::SupplyPlan>,
    ApiJson(new): ApiJson<NewBatch>,
) -> AppResult<(StatusCode, ApiJson<BatchDetail>)> {
    let id = Change::run(&state.db, &p.actor(), async |c| plan(c, &p, &new).await).await?;
    Ok((StatusCode::CREATED, ApiJson(get(&state.db, &p, id).await?)))
}

/// The supply batches in scope, newest first.
#[utoipa::path(get, path = "/api/v1/supply/batches", tag = "supply", operation_id = "list_supply_batches",
    params(Paging), responses((status = 200, body = ListPage<Batch>)))]
async fn list_route(
    State(state): State<SupplyState>,
    Can(p, _): Can<perm::SupplyRead>,
    ApiQuery(paging): ApiQuery<Paging>,
) -> AppResult<ApiJson<ListPage<Batch>>> {
    Ok(ApiJson(list(&state.db, &p, &paging).await?))
}

/// One batch with the buildings in scope.
#[utoipa::path(get, path = "/api/v1/supply/batches/{id}", tag = "supply", operation_id = "get_supply_batch",
    params(("id" = i64, Path)),
    responses((status = 200, body = BatchDetail), (status = 404, body = crate::error::ErrorBody)))]
async fn get_route(
    State(state): State<SupplyState>,
    Can(p, _): Can<perm::SupplyRead>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<ApiJson<BatchDetail>> {
    Ok(ApiJson(get(&state.db, &p, id).await?))
}

pub fn api() -> OpenApiRouter<SupplyState> {
    OpenApiRouter::new()
        .routes(routes!(list_route, plan_route))
        .routes(routes!(get_route))
}
