//! Sampling points (a site with its daily hours and desks) and rounds (a day's testing over some
//! regions, each point sampling in one mode).

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{NaiveDate, NaiveTime, Timelike};
use huoyan_core::testing::tubes::{RoundState, TubeMode};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{TestingState, within};
use crate::audit::Change;
use crate::auth::{Can, Principal, perm};
use crate::check::{Check, Required};
use crate::db::{Db, Sql};
use crate::error::{AppError, AppResult};
use crate::http::{ApiJson, ApiPath};
use crate::org::scope::Reach;

/// Most desks a point has, regions and points a round names.
const MAX_DESKS: i64 = 100;
const MAX_REGIONS: usize = 200;
const MAX_POINTS: usize = 2_000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPoint {
    /// A site of the caller's region where residents are sampled.
    pub site_id: i64,
    /// When sampling starts each day, `HH:MM`.
    #[schema(value_type = String, example = "06:00")]
    pub opens: NaiveTime,
    /// When it ends, `HH:MM`, after `opens`.
    #[schema(value_type = String, example = "20:00")]
    pub closes: NaiveTime,
    /// Desks sampling at once, 1 to 100.
    pub desks: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PointView {
    pub id: i64,
    pub site_id: i64,
    pub site_name: String,
    pub region_id: i64,
    pub region_name: String,
    /// `HH:MM`.
    pub opens: String,
    pub closes: String,
    pub desks: i64,
}

fn minute(t: NaiveTime) -> i64 {
    i64::from(t.hour() * 60 + t.minute())
}

fn hhmm(m: i64) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

/// Creates a sampling point at `new.site_id`, checked against what `change` sees.
pub async fn create_point(change: &mut Change, p: &Principal, new: &NewPoint) -> AppResult<i64> {
    let mut check = Check::default();
    let region: Option<i64> = sqlx::query_scalar("SELECT region_id FROM sites WHERE id = $1")
        .bind(new.site_id)
        .fetch_optional(&mut *change.tx)
        .await?;
    match region {
        None => check.fail("site_id", "no such site"),
        Some(r) => {
            Reach::of(change, p)
                .await?
                .region(change, &mut check, "site_id", r)
                .await?
        }
    }
    if new.closes <= new.opens {
        check.fail("closes", "after the opening time");
    }
    if !(1..=MAX_DESKS).contains(&new.desks) {
        check.fail("desks", format!("1 to {MAX_DESKS}"));
    }
    check.done()?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO testing_points (site_id, opens_minute, closes_minute, desks, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(new.site_id)
    .bind(minute(new.opens))
    .bind(minute(new.closes))
    .bind(new.desks)
    .bind(change.at_ms())
    .fetch_one(&mut *change.tx)
    .await?;
    change
        .record(
            "testing_point",
            id,
            "create",
            &serde_json::json!({"site_id": new.site_id, "opens": hhmm(minute(new.opens)),
                "closes": hhmm(minute(new.closes)), "desks": new.desks}),
        )
        .await?;
    Ok(id)
}

const POINT_SELECT: &str = "SELECT tp.id, tp.site_id, s.name AS site_name, s.region_id, \
     g.name AS region_name, tp.opens_minute, tp.closes_minute, tp.desks FROM testing_points tp \
     JOIN sites s ON s.id = tp.site_id JOIN regions g ON g.id = s.region_id WHERE 1 = 1";

fn point_of(r: &sqlx::any::AnyRow) -> AppResult<PointView> {
    Ok(PointView {
        id: r.try_get("id")?,
        site_id: r.try_get("site_id")?,
        site_name: r.try_get("site_name")?,
        region_id: r.try_get("region_id")?,
        region_name: r.try_get("region_name")?,
        opens: hhmm(r.try_get("opens_minute")?),
        closes: hhmm(r.try_get("closes_minute")?),
        desks: r.try_get("desks")?,
    })
}

/// The sampling points in `p`'s region.
async fn points(db: &Db, p: &Principal) -> AppResult<Vec<PointView>> {
    let mut sql = Sql::new(POINT_SELECT);
    p.scope_region(&mut sql, "g.path");
    sql.push(" ORDER BY g.path, s.name");
    let rows = sql.query().fetch_all(&db.pool).await?;
    rows.iter().map(point_of).collect()
}

/// The sampling points in the caller's region.
#[utoipa::path(get, path = "/api/v1/testing/points", tag = "testing", operation_id = "list_testing_points",
    responses((status = 200, body = Vec<PointView>)))]
async fn list_points(
    State(state): State<TestingState>,
    Can(p, _): Can<perm::TestingRead>,
) -> AppResult<ApiJson<Vec<PointView>>> {
    Ok(ApiJson(points(&state.db, &p).await?))
}

/// A sampling point at a site of the caller's region.
#[utoipa::path(post, path = "/api/v1/testing/points", tag = "testing", operation_id = "create_testing_point",
    request_body = NewPoint,
    responses((status = 201, body = PointView), (status = 403, body = crate::error::ErrorBody),
        (status = 409, description = "the site has a point already", body = crate::error::ErrorBody)))]
async fn create_point_route(
    State(state): State<TestingState>,
    Can(p, _): Can<perm::TestingManage>,
    ApiJson(new): ApiJson<NewPoint>,
) -> AppResult<(StatusCode, ApiJson<PointView>)> {
    let id = Change::run(&state.db, &p.actor(), async |c| {
        create_point(c, &p, &new).await
    })
    .await?;
    let mut sql = Sql::new(POINT_SELECT);
    sql.push(" AND tp.id = ").bind(id);
    let row = sql.query().fetch_one(&state.db.pool).await?;
    Ok((StatusCode::CREATED, ApiJson(point_of(&row)?)))
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoundPoint {
    pub point_id: i64,
    pub mode: TubeMode,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRound {
    #[schema(value_type = String, example = "第3轮全员核酸")]
    pub name: Required<60>,
    #[schema(value_type = String, example = "2022-08-12")]
    pub day: NaiveDate,
    /// The regions whose residents it tests, in the caller's region.
    pub region_ids: Vec<i64>,
    /// The points sampling it, each in its mode; each lies in one of the regions.
    pub points: Vec<RoundPoint>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RoundView {
    pub id: i64,
    pub name: String,
    pub day: String,
    pub state: RoundState,
    pub region_ids: Vec<i64>,
    pub points: Vec<RoundPointView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RoundPointView {
    pub point_id: i64,
    pub site_name: String,
    pub mode: TubeMode,
}

/// Creates a round, every region and point checked against the caller's reach inside `change`.
pub async fn create_round(change: &mut Change, p: &Principal, new: &NewRound) -> AppResult<i64> {
    let mut check = Check::default();
    if new.region_ids.is_empty() || new.region_ids.len() > MAX_REGIONS {
        check.fail("region_ids", format!("1 to {MAX_REGIONS} regions"));
    }
    if new.points.is_empty() || new.points.len() > MAX_POINTS {
        check.fail("points", format!("1 to {MAX_POINTS} points"));
    }
    check.done()?;
    let mut check = Check::default();
    let reach = Reach::of(change, p).await?;
    let mut paths = Vec::new();
    for (i, r) in new.region_ids.iter().enumerate() {
        let field = format!("region_ids[{i}]");
        let path: Option<String> = sqlx::query_scalar("SELECT path FROM regions WHERE id = $1")
            .bind(*r)
            .fetch_optional(&mut *change.tx)
            .await?;
        match path {
            None => check.fail(&field, "no such region"),
            Some(path) => {
                reach.region(change, &mut check, &field, *r).await?;
                paths.push(path);
            }
        }
        if new.region_ids[..i].contains(r) {
            check.fail(&field, "named twice");
        }
    }
    for (i, rp) in new.points.iter().enumerate() {
        let field = format!("points[{i}].point_id");
        let path: Option<String> = sqlx::query_scalar(
            "SELECT g.path FROM testing_points tp JOIN sites s ON s.id = tp.site_id \
             JOIN regions g ON g.id = s.region_id WHERE tp.id = $1",
        )
        .bind(rp.point_id)
        .fetch_optional(&mut *change.tx)
        .await?;
        match path {
            None => check.fail(&field, "no such sampling point"),
            Some(path) => {
                within(p, &mut check, &field, &path);
                if !paths.iter().any(|r| path.starts_with(r.as_str())) {
                    check.fail(&field, "the point lies in none of the round's regions");
                }
            }
        }
        if new.points[..i].iter().any(|o| o.point_id == rp.point_id) {
            check.fail(&field, "named twice");
        }
    }
    check.done()?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO testing_rounds (name, day, state, created_by, created_at) \
         VALUES ($1, $2, 'open', $3, $4) RETURNING id",
    )
    .bind(new.name.trimmed())
    .bind(new.day.to_string())
    .bind(p.account_id)
    .bind(change.at_ms())
    .fetch_one(&mut *change.tx)
    .await?;
    for r in &new.region_ids {
        sqlx::query("INSERT INTO testing_round_regions (round_id, region_id) VALUES ($1, $2)")
            .bind(id)
            .bind(*r)
            .execute(&mut *change.tx)
            .await?;
    }
    for rp in &new.points {
        sqlx::query(
            "INSERT INTO testing_round_points (round_id, point_id, mode) VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(rp.point_id)
        .bind(rp.mode.code())
        .execute(&mut *change.tx)
        .await?;
    }
    let points: Vec<_> = new
        .points
        .iter()
        .map(|rp| serde_json::json!({"point_id": rp.point_id, "mode": rp.mode.code()}))
        .collect();
    change
        .record(
            "testing_round",
            id,
            "create",
            &serde_json::json!({"name": new.name.trimmed(), "day": new.day.to_string(),
                "region_ids": new.region_ids, "points": points}),
        )
        .await?;
    Ok(id)
}

/// Round `id`, when `p` may see it: one of its points lies in `p`'s region.
async fn round(db: &Db, p: &Principal, id: i64) -> AppResult<RoundView> {
    let row = sqlx::query("SELECT id, name, day, state FROM testing_rounds WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(AppError::NotFound("round"))?;
    let mut sql = Sql::new(
        "SELECT rp.point_id, s.name, rp.mode FROM testing_round_points rp \
         JOIN testing_points tp ON tp.id = rp.point_id JOIN sites s ON s.id = tp.site_id \
         JOIN regions g ON g.id = s.region_id WHERE rp.round_id = ",
    );
    sql.bind(id);
    p.scope_region(&mut sql, "g.path");
    sql.push(" ORDER BY s.name");
    let mut points = Vec::new();
    for r in sql.query().fetch_all(&db.pool).await? {
        let mode: String = r.try_get("mode")?;
        points.push(RoundPointView {
            point_id: r.try_get("point_id")?,
            site_name: r.try_get("name")?,
            mode: TubeMode::parse(&mode)
                .ok_or_else(|| anyhow::anyhow!("round {id}: mode {mode:?}"))?,
        });
    }
    if points.is_empty() {
        return Err(AppError::NotFound("round"));
    }
    let region_ids = sqlx::query_scalar(
        "SELECT region_id FROM testing_round_regions WHERE round_id = $1 ORDER BY region_id",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await?;
    Ok(RoundView {
        id,
        name: row.try_get("name")?,
        day: row.try_get("day")?,
        state: {
            let s: String = row.try_get("state")?;
            RoundState::parse(&s).ok_or_else(|| anyhow::anyhow!("round {id}: state {s:?}"))?
        },
        region_ids,
        points,
    })
}

/// The rounds with a point in the caller's region, newest first (the latest 100).
#[utoipa::path(get, path = "/api/v1/testing/rounds", tag = "testing", operation_id = "list_testing_rounds",
    responses((status = 200, body = Vec<RoundView>)))]
async fn list_rounds(
    State(state): State<TestingState>,
    Can(p, _): Can<perm::TestingRead>,
) -> AppResult<ApiJson<Vec<RoundView>>> {
    Ok(ApiJson(rounds(&state.db, &p).await?))
}

/// The latest 100 rounds with a point in `p`'s region, newest first.
pub async fn rounds(db: &Db, p: &Principal) -> AppResult<Vec<RoundView>> {
    let mut sql = Sql::new(
        "SELECT DISTINCT r.id FROM testing_rounds r JOIN testing_round_points rp ON rp.round_id = r.id \
         JOIN testing_points tp ON tp.id = rp.point_id JOIN sites s ON s.id = tp.site_id \
         JOIN regions g ON g.id = s.region_id WHERE 1 = 1",
    );
    p.scope_region(&mut sql, "g.path");
    sql.push(" ORDER BY r.id DESC LIMIT 100");
    let rows = sql.query().fetch_all(&db.pool).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(round(db, p, r.try_get("id")?).await?);
    }
    Ok(out)
}

/// A round with its regions and the points in the caller's region.
#[utoipa::path(get, path = "/api/v1/testing/rounds/{id}", tag = "testing", operation_id = "get_testing_round",
    params(("id" = i64, Path)),
    responses((status = 200, body = RoundView), (status = 404, body = crate::error::ErrorBody)))]
async fn get_round(
    State(state): State<TestingState>,
    Can(p, _): Can<perm::TestingRead>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<ApiJson<RoundView>> {
    Ok(ApiJson(round(&state.db, &p, id).await?))
}

/// A round over regions of the caller's region, each point in its mode (10-in-1, 20-in-1,
/// single tube, antigen self-test).
#[utoipa::path(post, path = "/api/v1/testing/rounds", tag = "testing", operation_id = "create_testing_round",
    request_body = NewRound,
    responses((status = 201, body = RoundView), (status = 403, body = crate::error::ErrorBody)))]
async fn create_round_route(
    State(state): State<TestingState>,
    Can(p, _): Can<perm::TestingManage>,
    ApiJson(new): ApiJson<NewRound>,
) -> AppResult<(StatusCode, ApiJson<RoundView>)> {
    let id = Change::run(&state.db, &p.actor(), async |c| {
        create_round(c, &p, &new).await
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(round(&state.db, &p, id).await?),
    ))
}

pub fn api() -> OpenApiRouter<TestingState> {
    OpenApiRouter::new()
        .routes(routes!(list_points, create_point_route))
        .routes(routes!(list_rounds, create_round_route))
        .routes(routes!(get_round))
}
