//! Tubes: a barcode opened at a point for a round, in the mode the round samples there; filled
//! by scans (`ingest`), sealed by the sampler, then carried in a box (`boxes`). Opening and
//! sealing again what is already so answers as the first time, so a scanner's queue sent twice
//! changes nothing.

use axum::extract::State;
use axum::http::StatusCode;
use huoyan_core::testing::codes::Barcode;
use huoyan_core::testing::tubes::{TubeMode, TubeState, may_move};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{TestingState, barcode, within};
use crate::audit::Change;
use crate::auth::{Can, Principal, perm};
use crate::check::{Check, Required};
use crate::db::Db;
use crate::error::{AppError, AppResult, FieldError};
use crate::http::{ApiJson, ApiPath};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenTube {
    /// The tube's barcode as scanned.
    #[schema(value_type = String, example = "T-2022081200001")]
    pub barcode: Required<40>,
    pub round_id: i64,
    pub point_id: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TubeView {
    pub id: i64,
    pub barcode: String,
    pub round_id: i64,
    pub point_id: i64,
    pub mode: TubeMode,
    pub capacity: i64,
    /// People in it.
    pub count: i64,
    pub state: TubeState,
    /// The transfer box it travels in.
    pub box_id: Option<i64>,
    /// `negative` or `positive` once resulted.
    pub result: Option<String>,
}

const SELECT: &str = "SELECT t.id, t.barcode, t.round_id, t.point_id, t.mode, t.capacity, t.count, \
     t.state, t.box_id, t.result, g.path FROM tubes t JOIN testing_points tp ON tp.id = t.point_id \
     JOIN sites s ON s.id = tp.site_id JOIN regions g ON g.id = s.region_id";

/// A tube as read, with the path of its point's region.
pub(super) fn view(r: &sqlx::any::AnyRow) -> AppResult<(TubeView, String)> {
    let (mode, state): (String, String) = (r.try_get("mode")?, r.try_get("state")?);
    let tube = TubeView {
        id: r.try_get("id")?,
        barcode: r.try_get("barcode")?,
        round_id: r.try_get("round_id")?,
        point_id: r.try_get("point_id")?,
        mode: TubeMode::parse(&mode).ok_or_else(|| anyhow::anyhow!("tube mode {mode:?}"))?,
        capacity: r.try_get("capacity")?,
        count: r.try_get("count")?,
        state: TubeState::parse(&state).ok_or_else(|| anyhow::anyhow!("tube state {state:?}"))?,
        box_id: r.try_get("box_id")?,
        result: r.try_get("result")?,
    };
    Ok((tube, r.try_get("path")?))
}

/// The tube of `barcode` as `tx` sees it, with its point's region path.
pub(super) async fn by_barcode(
    tx: &mut sqlx::AnyConnection,
    barcode: &Barcode,
) -> AppResult<Option<(TubeView, String)>> {
    let sql = format!("{SELECT} WHERE t.barcode = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(barcode.as_str())
        .fetch_optional(tx)
        .await?
        .as_ref()
        .map(view)
        .transpose()
}

/// The tubes in box `id`, by barcode.
pub(super) async fn in_box(conn: &mut sqlx::AnyConnection, id: i64) -> AppResult<Vec<TubeView>> {
    let sql = format!("{SELECT} WHERE t.box_id = $1 ORDER BY t.barcode");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| Ok(view(r)?.0))
        .collect()
}

/// Opens tube `new.barcode` at the point for the round inside `change`; a tube already open
/// there for it is answered as it is.
pub async fn open(change: &mut Change, p: &Principal, new: &OpenTube) -> AppResult<i64> {
    let code = barcode("barcode", &new.barcode)?;
    let mut check = Check::default();
    let point = sqlx::query(
        "SELECT rp.mode, g.path, r.state FROM testing_round_points rp JOIN testing_rounds r ON r.id = rp.round_id \
         JOIN testing_points tp ON tp.id = rp.point_id JOIN sites s ON s.id = tp.site_id \
         JOIN regions g ON g.id = s.region_id WHERE rp.round_id = $1 AND rp.point_id = $2",
    )
    .bind(new.round_id)
    .bind(new.point_id)
    .fetch_optional(&mut *change.tx)
    .await?;
    let Some(point) = point else {
        return Err(AppError::invalid(
            "point_id",
            "the point does not sample this round",
        ));
    };
    within(
        p,
        &mut check,
        "point_id",
        &point.try_get::<String, _>("path")?,
    );
    if point.try_get::<String, _>("state")? != "open" {
        check.fail("round_id", "the round is closed");
    }
    check.done()?;
    if let Some((tube, _)) = by_barcode(&mut change.tx, &code).await? {
        if (tube.round_id, tube.point_id) == (new.round_id, new.point_id) {
            return Ok(tube.id);
        }
        return Err(AppError::Conflict(vec![FieldError::new(
            "barcode",
            "this tube was opened for another round or point",
        )]));
    }
    let mode: String = point.try_get("mode")?;
    let mode = TubeMode::parse(&mode).ok_or_else(|| anyhow::anyhow!("round mode {mode:?}"))?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO tubes (barcode, round_id, point_id, mode, capacity, state, opened_by, opened_at) \
         VALUES ($1, $2, $3, $4, $5, 'open', $6, $7) RETURNING id",
    )
    .bind(code.as_str())
    .bind(new.round_id)
    .bind(new.point_id)
    .bind(mode.code())
    .bind(i64::from(mode.capacity()))
    .bind(p.account_id)
    .bind(change.at_ms())
    .fetch_one(&mut *change.tx)
    .await?;
    change
        .record(
            "tube",
            id,
            "open",
            &serde_json::json!({"barcode": code.as_str(), "round_id": new.round_id,
                "point_id": new.point_id, "mode": mode.code()}),
        )
        .await?;
    Ok(id)
}

/// Seals tube `code` inside `change`: it takes no more scans. Sealing a sealed tube again does
/// nothing.
pub async fn seal(change: &mut Change, p: &Principal, code: &Barcode) -> AppResult<()> {
    let (tube, path) = by_barcode(&mut change.tx, code)
        .await?
        .ok_or(AppError::NotFound("tube"))?;
    let mut check = Check::default();
    within(p, &mut check, "barcode", &path);
    check.done()?;
    if tube.state == TubeState::Sealed {
        return Ok(());
    }
    if !may_move(tube.state, TubeState::Sealed, tube.count as u32) {
        let why = if tube.count == 0 {
            "an empty tube is not sealed"
        } else {
            "the tube is past sealing"
        };
        return Err(AppError::Conflict(vec![FieldError::new("state", why)]));
    }
    sqlx::query("UPDATE tubes SET state = 'sealed', sealed_by = $1, sealed_at = $2 WHERE id = $3")
        .bind(p.account_id)
        .bind(change.at_ms())
        .bind(tube.id)
        .execute(&mut *change.tx)
        .await?;
    change
        .record(
            "tube",
            tube.id,
            "seal",
            &serde_json::json!({"count": tube.count}),
        )
        .await
}

/// The tube of `raw` as `p` may see it.
async fn get(db: &Db, p: &Principal, raw: &str) -> AppResult<TubeView> {
    // No tube has a barcode that is not one.
    let code = Barcode::parse(raw).map_err(|_| AppError::NotFound("tube"))?;
    let mut conn = db.pool.acquire().await?;
    match by_barcode(&mut conn, &code).await? {
        Some((tube, path)) if p.scope_path.as_deref().is_none_or(|s| path.starts_with(s)) => {
            Ok(tube)
        }
        _ => Err(AppError::NotFound("tube")),
    }
}

/// Open a tube at a point for a round (scanning its barcode). The tube takes the mode the round
/// samples at the point. Opening it again there answers the same tube.
#[utoipa::path(post, path = "/api/v1/testing/tubes", tag = "testing", operation_id = "open_tube",
    request_body = OpenTube,
    responses((status = 201, body = TubeView), (status = 403, body = crate::error::ErrorBody),
        (status = 409, description = "the barcode belongs to another round or point", body = crate::error::ErrorBody)))]
async fn open_route(
    State(state): State<TestingState>,
    Can(p, _): Can<perm::TestingSample>,
    ApiJson(new): ApiJson<OpenTube>,
) -> AppResult<(StatusCode, ApiJson<TubeView>)> {
    Change::run(&state.db, &p.actor(), async |c| open(c, &p, &new).await).await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(get(&state.db, &p, &new.barcode).await?),
    ))
}

/// A tube by its barcode.
#[utoipa::path(get, path = "/api/v1/testing/tubes/{barcode}", tag = "testing", operation_id = "get_tube",
    params(("barcode" = String, Path)),
    responses((status = 200, body = TubeView), (status = 404, body = crate::error::ErrorBody)))]
async fn get_route(
    State(state): State<TestingState>,
    Can(p, _): Can<perm::TestingRead>,
    ApiPath(code): ApiPath<String>,
) -> AppResult<ApiJson<TubeView>> {
    Ok(ApiJson(get(&state.db, &p, &code).await?))
}

/// Seal a tube: it takes no more scans and may go into a box.
#[utoipa::path(post, path = "/api/v1/testing/tubes/{barcode}/seal", tag = "testing", operation_id = "seal_tube",
    params(("barcode" = String, Path)),
    responses((status = 200, body = TubeView), (status = 404, body = crate::error::ErrorBody),
        (status = 409, description = "the tube is empty or past sealing", body = crate::error::ErrorBody)))]
async fn seal_route(
    State(state): State<TestingState>,
    Can(p, _): Can<perm::TestingSample>,
    ApiPath(raw): ApiPath<String>,
) -> AppResult<ApiJson<TubeView>> {
    let code = barcode("barcode", &raw)?;
    Change::run(&state.db, &p.actor(), async |c| seal(c, &p, &code).await).await?;
    Ok(ApiJson(get(&state.db, &p, &raw).await?))
}

pub fn api() -> OpenApiRouter<TestingState> {
    OpenApiRouter::new()
        .routes(routes!(open_route))
        .routes(routes!(get_route))
        .routes(routes!(seal_route))
}
