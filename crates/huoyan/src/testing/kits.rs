//! Tubes and antigen kits handed out to a sampling point, counted apart from the tubes used there:
//! what a point was given, what it opened, and what it should still hold.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use huoyan_core::auth::Permission;
use huoyan_core::testing::tubes::TubeMode;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::TestingState;
use crate::audit::Change;
use crate::auth::{Can, Page, Principal, perm};
use crate::check::Check;
use crate::db::{Db, Sql};
use crate::error::{AppError, AppResult};
use crate::http::{ApiJson, ApiPath};
use crate::org::scope::Reach;
use crate::web::{PageCtx, PageError, PageResultExt, render};

/// Most tubes or kits one hand-out records: a truck's load.
const MAX_QUANTITY: i64 = 100_000;
/// Longest note on a hand-out.
const NOTE: usize = 200;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHandout {
    /// What was handed out: tubes of a mode, or antigen kits (`antigen`).
    pub mode: TubeMode,
    /// How many, 1 to 100,000.
    pub quantity: i64,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub note: String,
}

/// A point's stock of one mode.
#[derive(Debug, Serialize, ToSchema)]
pub struct KitStock {
    pub mode: TubeMode,
    pub handed_out: i64,
    /// Tubes (or kits) of the mode opened at the point.
    pub used: i64,
    /// Handed out less used; below zero when the point used more than it was recorded given.
    pub left: i64,
}

/// Records a hand-out of `new` to point `point` inside `change`, in `p`'s region.
pub async fn hand_out(
    change: &mut Change,
    p: &Principal,
    point: i64,
    new: &NewHandout,
) -> AppResult<()> {
    let region: i64 = sqlx::query_scalar(
        "SELECT s.region_id FROM testing_points tp JOIN sites s ON s.id = tp.site_id WHERE tp.id = $1",
    )
    .bind(point)
    .fetch_optional(&mut *change.tx)
    .await?
    .ok_or(AppError::NotFound("testing point"))?;
    let mut check = Check::default();
    Reach::of(change, p)
        .await?
        .region(change, &mut check, "point_id", region)
        .await?;
    if !(1..=MAX_QUANTITY).contains(&new.quantity) {
        check.fail("quantity", format!("1 to {MAX_QUANTITY}"));
    }
    check.optional("note", &new.note, NOTE);
    check.done()?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO kit_handouts (point_id, mode, quantity, handed_by, handed_at, note) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(point)
    .bind(new.mode.code())
    .bind(new.quantity)
    .bind(p.account_id)
    .bind(change.at_ms())
    .bind(new.note.trim())
    .fetch_one(&mut *change.tx)
    .await?;
    change
        .record(
            "kit_handout",
            id,
            "hand_out",
            &serde_json::json!({"point_id": point, "mode": new.mode.code(),
                "quantity": new.quantity, "note": new.note.trim()}),
        )
        .await
}

/// Point `point`'s site name, where `p` may see it.
async fn point_name(db: &Db, p: &Principal, point: i64) -> AppResult<String> {
    let mut sql = Sql::new(
        "SELECT s.name FROM testing_points tp JOIN sites s ON s.id = tp.site_id \
         JOIN regions g ON g.id = s.region_id WHERE tp.id = ",
    );
    sql.bind(point);
    p.scope_region(&mut sql, "g.path");
    let row = sql
        .query()
        .fetch_optional(&db.pool)
        .await?
        .ok_or(AppError::NotFound("testing point"))?;
    Ok(row.try_get(0)?)
}

/// Point `point`'s stock, each mode it was given or used (the caller has checked that it may
/// see the point).
async fn stock(db: &Db, point: i64) -> AppResult<Vec<KitStock>> {
    let rows = sqlx::query(
        "SELECT mode, CAST(SUM(handed) AS BIGINT) AS handed, CAST(SUM(used) AS BIGINT) AS used FROM ( \
         SELECT mode, quantity AS handed, 0 AS used FROM kit_handouts WHERE point_id = $1 \
         UNION ALL SELECT mode, 0 AS handed, 1 AS used FROM tubes WHERE point_id = $1) k \
         GROUP BY mode ORDER BY mode",
    )
    .bind(point)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            let mode: String = r.try_get("mode")?;
            let (handed_out, used): (i64, i64) = (r.try_get("handed")?, r.try_get("used")?);
            Ok(KitStock {
                mode: TubeMode::try_from(mode).map_err(anyhow::Error::from)?,
                handed_out,
                used,
                left: handed_out - used,
            })
        })
        .collect()
}

/// Record tubes or antigen kits handed out to a sampling point of the caller's region; answers
/// the point's stock.
#[utoipa::path(post, path = "/api/v1/testing/points/{id}/kits", tag = "testing", operation_id = "hand_out_kits",
    params(("id" = i64, Path)), request_body = NewHandout,
    responses((status = 201, body = Vec<KitStock>), (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn hand_out_route(
    State(state): State<TestingState>,
    Can(p, _): Can<perm::TestingManage>,
    ApiPath(point): ApiPath<i64>,
    ApiJson(new): ApiJson<NewHandout>,
) -> AppResult<(StatusCode, ApiJson<Vec<KitStock>>)> {
    Change::run(&state.db, &p.actor(), async |c| {
        hand_out(c, &p, point, &new).await
    })
    .await?;
    Ok((StatusCode::CREATED, ApiJson(stock(&state.db, point).await?)))
}

/// A sampling point's tubes and kits: handed out, used (opened there) and left, by mode.
#[utoipa::path(get, path = "/api/v1/testing/points/{id}/kits", tag = "testing", operation_id = "point_kits",
    params(("id" = i64, Path)),
    responses((status = 200, body = Vec<KitStock>), (status = 404, body = crate::error::ErrorBody)))]
async fn stock_route(
    State(state): State<TestingState>,
    Can(p, _): Can<perm::TestingRead>,
    ApiPath(point): ApiPath<i64>,
) -> AppResult<ApiJson<Vec<KitStock>>> {
    point_name(&state.db, &p, point).await?;
    Ok(ApiJson(stock(&state.db, point).await?))
}

pub fn api() -> OpenApiRouter<TestingState> {
    OpenApiRouter::new().routes(routes!(stock_route, hand_out_route))
}

#[derive(askama::Template)]
#[template(path = "testing/kits.html")]
struct KitsPage {
    ctx: PageCtx,
    point: i64,
    name: String,
    stock: Vec<KitStock>,
    can_hand_out: bool,
    modes: Vec<(&'static str, &'static str)>,
}

/// A point's stock, with the dispatcher's form to record a hand-out.
async fn kits_page(
    State(state): State<TestingState>,
    Page {
        user, ctx, locale, ..
    }: Page<perm::TestingRead>,
    Path(point): Path<i64>,
) -> Result<Response, PageError> {
    let name = point_name(&state.db, &user, point).await.page(locale)?;
    let stock = stock(&state.db, point).await.page(locale)?;
    Ok(render(&KitsPage {
        name,
        can_hand_out: user.role.allows(Permission::TestingManage),
        modes: TubeMode::choices(ctx.en()),
        ctx,
        point,
        stock,
    }))
}

#[derive(Deserialize)]
struct HandoutForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    quantity: String,
    #[serde(default)]
    note: String,
}

async fn kits_submit(
    State(state): State<TestingState>,
    Page { user, locale, .. }: Page<perm::TestingManage>,
    Path(point): Path<i64>,
    axum::Form(form): axum::Form<HandoutForm>,
) -> Result<Response, PageError> {
    user.check_csrf(Some(&form.csrf)).page(locale)?;
    let mut check = Check::default();
    let mode = TubeMode::parse(&form.mode);
    if mode.is_none() {
        check.fail("mode", "a tube mode or antigen");
    }
    let quantity = form.quantity.trim().parse::<i64>().ok();
    if quantity.is_none() {
        check.fail("quantity", format!("1 to {MAX_QUANTITY}"));
    }
    check.done().page(locale)?;
    let new = NewHandout {
        mode: mode.expect("checked"),
        quantity: quantity.expect("checked"),
        note: form.note,
    };
    Change::run(&state.db, &user.actor(), async |c| {
        hand_out(c, &user, point, &new).await
    })
    .await
    .page(locale)?;
    Ok(Redirect::to(&format!("/testing/points/{point}/kits")).into_response())
}

pub fn router() -> Router<TestingState> {
    Router::new().route(
        "/testing/points/{id}/kits",
        axum::routing::get(kits_page).post(kits_submit),
    )
}
