//! Transfer boxes: the chain of custody of sealed tubes from the point to the lab. A sampler packs
//! sealed tubes of their point into a box and hands it to a courier; the lab account receives
//! it. Each step moves every tube in the box one step (`may_move`), with its time and person.

use axum::extract::State;
use axum::http::StatusCode;
use huoyan_core::testing::codes::Barcode;
use huoyan_core::testing::tubes::{BoxState, TubeState, may_move};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::tubes::{TubeView, by_barcode, in_box};
use super::{TestingState, barcode, within};
use crate::audit::Change;
use crate::auth::{Can, Principal, perm};
use crate::check::{Check, Required, Text};
use crate::db::Db;
use crate::error::{AppError, AppResult, FieldError};
use crate::http::{ApiJson, ApiPath};
use crate::time::rfc3339;

/// Most tubes one box carries.
const MAX_TUBES: usize = 500;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBox {
    /// The box's label as scanned.
    #[schema(value_type = String, example = "BOX-0812-001")]
    pub code: Required<40>,
    /// Barcodes of sealed tubes of one point, 1 to 500.
    #[schema(value_type = Vec<String>)]
    pub tubes: Vec<Required<40>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Handover {
    /// Who carries it (name and phone as the courier gives them).
    #[schema(value_type = String, example = "王师傅 139****0000")]
    pub courier: Required<60>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BoxView {
    pub id: i64,
    pub code: String,
    pub point_id: i64,
    pub state: BoxState,
    pub packed_by: i64,
    #[schema(format = DateTime)]
    pub packed_at: String,
    pub courier: String,
    pub sent_by: Option<i64>,
    #[schema(format = DateTime)]
    pub sent_at: Option<String>,
    pub received_by: Option<i64>,
    #[schema(format = DateTime)]
    pub received_at: Option<String>,
    pub tubes: Vec<TubeView>,
}

/// Packs `new.tubes` into a new box inside `change`: every tube sealed, of one point, in `p`'s
/// region.
pub async fn pack(change: &mut Change, p: &Principal, new: &NewBox) -> AppResult<i64> {
    let code = barcode("code", &new.code)?;
    let mut check = Check::default();
    if new.tubes.is_empty() || new.tubes.len() > MAX_TUBES {
        check.fail("tubes", format!("1 to {MAX_TUBES} tubes"));
    }
    let mut tubes = Vec::new();
    for (i, raw) in new.tubes.iter().enumerate().take(MAX_TUBES) {
        let field = format!("tubes[{i}]");
        let Ok(barcode) = Barcode::parse(raw) else {
            check.fail(&field, "not a tube barcode");
            continue;
        };
        match by_barcode(&mut change.tx, &barcode).await? {
            None => check.fail(&field, "no such tube"),
            Some((tube, path)) => {
                within(p, &mut check, &field, &path);
                if !may_move(tube.state, TubeState::Boxed, tube.count as u32) {
                    check.fail(
                        &field,
                        format!("the tube is {}, not sealed", tube.state.code()),
                    );
                }
                if tubes.iter().any(|t: &TubeView| t.id == tube.id) {
                    check.fail(&field, "named twice");
                } else if tubes
                    .first()
                    .is_some_and(|t: &TubeView| t.point_id != tube.point_id)
                {
                    check.fail(&field, "a box carries the tubes of one point");
                }
                tubes.push(tube);
            }
        }
    }
    check.done()?;
    let taken = sqlx::query("SELECT 1 FROM transfer_boxes WHERE code = $1")
        .bind(code.as_str())
        .fetch_optional(&mut *change.tx)
        .await?;
    if taken.is_some() {
        return Err(AppError::Conflict(vec![FieldError::new(
            "code",
            "this box label is used already",
        )]));
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO transfer_boxes (code, point_id, state, packed_by, packed_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(code.as_str())
    .bind(tubes[0].point_id)
    .bind(BoxState::Packed.code())
    .bind(p.account_id)
    .bind(change.at_ms())
    .fetch_one(&mut *change.tx)
    .await?;
    for t in &tubes {
        sqlx::query("UPDATE tubes SET state = $3, box_id = $1 WHERE id = $2")
            .bind(id)
            .bind(t.id)
            .bind(TubeState::Boxed.code())
            .execute(&mut *change.tx)
            .await?;
    }
    let barcodes: Vec<&str> = tubes.iter().map(|t| t.barcode.as_str()).collect();
    change
        .record(
            "transfer_box",
            id,
            "pack",
            &serde_json::json!({"code": code.as_str(), "tubes": barcodes}),
        )
        .await?;
    Ok(id)
}

/// Moves box `code` and its tubes one step, to `to` (`Sent` with `courier`, or `Received`),
/// inside `change`. A box already there answers as it is.
pub async fn hand_over(
    change: &mut Change,
    p: &Principal,
    code: &Barcode,
    to: TubeState,
    courier: Option<&str>,
) -> AppResult<()> {
    let row = sqlx::query(
        "SELECT b.id, b.state, g.path FROM transfer_boxes b JOIN testing_points tp ON tp.id = b.point_id \
         JOIN sites s ON s.id = tp.site_id JOIN regions g ON g.id = s.region_id WHERE b.code = $1",
    )
    .bind(code.as_str())
    .fetch_optional(&mut *change.tx)
    .await?
    .ok_or(AppError::NotFound("box"))?;
    let id: i64 = row.try_get("id")?;
    let state: String = row.try_get("state")?;
    let state = BoxState::parse(&state).ok_or_else(|| anyhow::anyhow!("box state {state:?}"))?;
    let mut check = Check::default();
    within(p, &mut check, "code", &row.try_get::<String, _>("path")?);
    check.done()?;
    let (from, after, action, sql) = match to {
        TubeState::Sent => (
            BoxState::Packed,
            BoxState::Sent,
            "send",
            "UPDATE transfer_boxes SET state = $5, sent_by = $1, sent_at = $2, courier = $3 WHERE id = $4",
        ),
        TubeState::Received => (
            BoxState::Sent,
            BoxState::Received,
            "receive",
            "UPDATE transfer_boxes SET state = $5, received_by = $1, received_at = $2, \
             courier = COALESCE($3, courier) WHERE id = $4",
        ),
        _ => unreachable!("a box is sent or received"),
    };
    if state == after {
        return Ok(());
    }
    if state != from {
        return Err(AppError::Conflict(vec![FieldError::new(
            "state",
            format!(
                "the box is {}: it must be {} first",
                state.code(),
                from.code()
            ),
        )]));
    }
    sqlx::query(sql)
        .bind(p.account_id)
        .bind(change.at_ms())
        .bind(courier)
        .bind(id)
        .bind(after.code())
        .execute(&mut *change.tx)
        .await?;
    sqlx::query("UPDATE tubes SET state = $1 WHERE box_id = $2")
        .bind(to.code())
        .bind(id)
        .execute(&mut *change.tx)
        .await?;
    change
        .record(
            "transfer_box",
            id,
            action,
            &serde_json::json!({"courier": courier}),
        )
        .await
}

/// Box `code` with its tubes, as `p` may see it.
pub(super) async fn get(db: &Db, p: &Principal, raw: &str) -> AppResult<BoxView> {
    // No box has a label that is not one.
    let code = Barcode::parse(raw).map_err(|_| AppError::NotFound("box"))?;
    let row = sqlx::query(
        "SELECT b.*, g.path FROM transfer_boxes b JOIN testing_points tp ON tp.id = b.point_id \
         JOIN sites s ON s.id = tp.site_id JOIN regions g ON g.id = s.region_id WHERE b.code = $1",
    )
    .bind(code.as_str())
    .fetch_optional(&db.pool)
    .await?
    .ok_or(AppError::NotFound("box"))?;
    let path: String = row.try_get("path")?;
    if p.scope_path
        .as_deref()
        .is_some_and(|s| !path.starts_with(s))
    {
        return Err(AppError::NotFound("box"));
    }
    let id: i64 = row.try_get("id")?;
    let tubes = in_box(&mut *db.pool.acquire().await?, id).await?;
    let at = |col: &str| -> AppResult<Option<String>> {
        Ok(row.try_get::<Option<i64>, _>(col)?.map(rfc3339))
    };
    Ok(BoxView {
        id,
        code: row.try_get("code")?,
        point_id: row.try_get("point_id")?,
        state: {
            let s: String = row.try_get("state")?;
            BoxState::parse(&s).ok_or_else(|| anyhow::anyhow!("box state {s:?}"))?
        },
        packed_by: row.try_get("packed_by")?,
        packed_at: rfc3339(row.try_get("packed_at")?),
        courier: row.try_get("courier")?,
        sent_by: row.try_get("sent_by")?,
        sent_at: at("sent_at")?,
        received_by: row.try_get("received_by")?,
        received_at: at("received_at")?,
        tubes,
    })
}

/// Pack sealed tubes of one point into a transfer box.
#[utoipa::path(post, path = "/api/v1/testing/boxes", tag = "testing", operation_id = "pack_box",
    request_body = NewBox,
    responses((status = 201, body = BoxView), (status = 403, body = crate::error::ErrorBody),
        (status = 409, description = "the label is used already", body = crate::error::ErrorBody)))]
async fn pack_route(
    State(state): State<TestingState>,
    Can(p, _): Can<perm::TestingSample>,
    ApiJson(new): ApiJson<NewBox>,
) -> AppResult<(StatusCode, ApiJson<BoxView>)> {
    Change::run(&state.db, &p.actor(), async |c| pack(c, &p, &new).await).await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(get(&state.db, &p, &new.code).await?),
    ))
}

/// A box with its tubes and the chain of custody.
#[utoipa::path(get, path = "/api/v1/testing/boxes/{code}", tag = "testing", operation_id = "get_box",
    params(("code" = String, Path)),
    responses((status = 200, body = BoxView), (status = 404, body = crate::error::ErrorBody)))]
async fn get_route(
    State(state): State<TestingState>,
    Can(p, _): Can<perm::TestingRead>,
    ApiPath(code): ApiPath<String>,
) -> AppResult<ApiJson<BoxView>> {
    Ok(ApiJson(get(&state.db, &p, &code).await?))
}

/// Hand a packed box to its courier.
#[utoipa::path(post, path = "/api/v1/testing/boxes/{code}/send", tag = "testing", operation_id = "send_box",
    params(("code" = String, Path)), request_body = Handover,
    responses((status = 200, body = BoxView), (status = 404, body = crate::error::ErrorBody),
        (status = 409, description = "the box is not packed", body = crate::error::ErrorBody)))]
async fn send_route(
    State(state): State<TestingState>,
    Can(p, _): Can<perm::TestingSample>,
    ApiPath(raw): ApiPath<String>,
    ApiJson(h): ApiJson<Handover>,
) -> AppResult<ApiJson<BoxView>> {
    let code = barcode("code", &raw)?;
    Change::run(&state.db, &p.actor(), async |c| {
        hand_over(c, &p, &code, TubeState::Sent, Some(h.courier.trimmed())).await
    })
    .await?;
    Ok(ApiJson(get(&state.db, &p, &raw).await?))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// The courier as the lab saw them, when it differs from what was written at sending.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub courier: Option<Text<60>>,
}

/// The lab receives a box from its courier: its tubes are received.
#[utoipa::path(post, path = "/api/v1/testing/boxes/{code}/receive", tag = "testing", operation_id = "receive_box",
    params(("code" = String, Path)), request_body = Receipt,
    responses((status = 200, body = BoxView), (status = 404, body = crate::error::ErrorBody),
        (status = 409, description = "the box was not sent", body = crate::error::ErrorBody)))]
async fn receive_route(
    State(state): State<TestingState>,
    Can(p, _): Can<perm::TestingLab>,
    ApiPath(raw): ApiPath<String>,
    ApiJson(r): ApiJson<Receipt>,
) -> AppResult<ApiJson<BoxView>> {
    let code = barcode("code", &raw)?;
    let courier = r
        .courier
        .as_ref()
        .map(|c| c.trimmed())
        .filter(|c| !c.is_empty());
    Change::run(&state.db, &p.actor(), async |c| {
        hand_over(c, &p, &code, TubeState::Received, courier).await
    })
    .await?;
    Ok(ApiJson(get(&state.db, &p, &raw).await?))
}

pub fn api() -> OpenApiRouter<TestingState> {
    OpenApiRouter::new()
        .routes(routes!(pack_route))
        .routes(routes!(get_route))
        .routes(routes!(send_route))
        .routes(routes!(receive_route))
}
