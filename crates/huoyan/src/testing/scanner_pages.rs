//! The sampler's pages on a phone: the scanner (tube, people, seal; static/testing_scan.js sends
//! through the field app's outbox), packing sealed tubes into a box for the courier, and a box's
//! page where the lab receives it.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use huoyan_core::auth::Permission;
use huoyan_core::testing::tubes::{BoxState, TubeMode, TubeState};
use serde::Deserialize;
use sqlx::Row;

use super::boxes::{BoxView, NewBox, get as get_box, hand_over, pack};
use super::{TestingState, barcode};
use crate::audit::Change;
use crate::auth::{Page, perm};
use crate::check::{Required, Text};
use crate::db::Sql;
use crate::error::AppError;
use crate::web::{PageCtx, PageError, PageResultExt, render};

/// What the scanner may sample for: a point of an open round in the sampler's region.
pub struct Choice {
    pub round_id: i64,
    pub round_name: String,
    pub day: String,
    pub point_id: i64,
    pub site_name: String,
    pub mode: TubeMode,
}

/// A sealed tube waiting for a box.
pub struct Sealed {
    pub barcode: String,
    pub count: i64,
    pub site_name: String,
}

#[derive(askama::Template)]
#[template(path = "testing/scan.html")]
struct ScanPage {
    ctx: PageCtx,
    account: String,
    choices: Vec<Choice>,
    sealed: Vec<Sealed>,
}

async fn scan_page(
    State(state): State<TestingState>,
    Page {
        user, ctx, locale, ..
    }: Page<perm::TestingSample>,
) -> Result<Response, PageError> {
    let mut sql = Sql::new(
        "SELECT r.id AS round_id, r.name AS round_name, r.day, rp.point_id, s.name AS site_name, rp.mode \
         FROM testing_rounds r JOIN testing_round_points rp ON rp.round_id = r.id \
         JOIN testing_points tp ON tp.id = rp.point_id JOIN sites s ON s.id = tp.site_id \
         JOIN regions g ON g.id = s.region_id WHERE r.state = 'open'",
    );
    user.scope_region(&mut sql, "g.path");
    sql.push(" ORDER BY r.day DESC, r.id DESC, s.name LIMIT 200");
    let rows = sql
        .query()
        .fetch_all(&state.db.pool)
        .await
        .map_err(AppError::from)
        .page(locale)?;
    let mut choices = Vec::with_capacity(rows.len());
    for r in &rows {
        let mode: String = r.try_get("mode").map_err(AppError::from).page(locale)?;
        choices.push(Choice {
            round_id: r.try_get("round_id").map_err(AppError::from).page(locale)?,
            round_name: r
                .try_get("round_name")
                .map_err(AppError::from)
                .page(locale)?,
            day: r.try_get("day").map_err(AppError::from).page(locale)?,
            point_id: r.try_get("point_id").map_err(AppError::from).page(locale)?,
            site_name: r
                .try_get("site_name")
                .map_err(AppError::from)
                .page(locale)?,
            mode: TubeMode::parse(&mode)
                .ok_or_else(|| AppError::from(anyhow::anyhow!("mode {mode:?}")))
                .page(locale)?,
        });
    }
    let mut sql = Sql::new(
        "SELECT t.barcode, t.count, s.name AS site_name FROM tubes t JOIN testing_points tp ON tp.id = t.point_id \
         JOIN sites s ON s.id = tp.site_id JOIN regions g ON g.id = s.region_id WHERE t.state = ",
    );
    sql.bind(TubeState::Sealed.code());
    user.scope_region(&mut sql, "g.path");
    sql.push(" ORDER BY t.sealed_at DESC LIMIT 300");
    let rows = sql
        .query()
        .fetch_all(&state.db.pool)
        .await
        .map_err(AppError::from)
        .page(locale)?;
    let sealed = rows
        .iter()
        .map(|r| {
            Ok(Sealed {
                barcode: r.try_get("barcode")?,
                count: r.try_get("count")?,
                site_name: r.try_get("site_name")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map_err(AppError::from)
        .page(locale)?;
    Ok(render(&ScanPage {
        ctx,
        account: user.username.clone(),
        choices,
        sealed,
    }))
}

#[derive(Deserialize)]
struct BoxForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    tube: Vec<String>,
    #[serde(default)]
    courier: String,
}

/// Packs the ticked sealed tubes into a box, and hands it to its courier when one is named.
async fn box_submit(
    State(state): State<TestingState>,
    Page { user, locale, .. }: Page<perm::TestingSample>,
    axum_extra::extract::Form(form): axum_extra::extract::Form<BoxForm>,
) -> Result<Response, PageError> {
    user.check_csrf(Some(&form.csrf)).page(locale)?;
    let new = NewBox {
        code: Required::field("code", form.code).page(locale)?,
        tubes: form
            .tube
            .into_iter()
            .map(|t| Required::field("tubes", t))
            .collect::<Result<_, _>>()
            .page(locale)?,
    };
    let courier: Text<60> = Text::field("courier", form.courier).page(locale)?;
    let code = barcode("code", &new.code).page(locale)?;
    Change::run(&state.db, &user.actor(), async |c| {
        pack(c, &user, &new).await?;
        if !courier.trimmed().is_empty() {
            hand_over(c, &user, &code, TubeState::Sent, Some(courier.trimmed())).await?;
        }
        Ok(())
    })
    .await
    .page(locale)?;
    Ok(Redirect::to(&format!("/testing/boxes/{}", code.as_str())).into_response())
}

#[derive(askama::Template)]
#[template(path = "testing/box.html")]
struct BoxPage {
    ctx: PageCtx,
    the_box: BoxView,
    can_receive: bool,
    can_send: bool,
}

impl BoxPage {
    fn at(&self, t: &Option<String>) -> String {
        t.as_deref()
            .map(crate::time::beijing_rfc3339)
            .unwrap_or_default()
    }
}

async fn box_page(
    State(state): State<TestingState>,
    Page {
        user, ctx, locale, ..
    }: Page<perm::TestingRead>,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    let the_box = get_box(&state.db, &user, &code).await.page(locale)?;
    Ok(render(&BoxPage {
        can_receive: user.role.allows(Permission::TestingLab) && the_box.state == BoxState::Sent,
        can_send: user.role.allows(Permission::TestingSample) && the_box.state == BoxState::Packed,
        ctx,
        the_box,
    }))
}

#[derive(Deserialize)]
struct LookUp {
    code: Option<String>,
}

/// A box by its label (the lab scans or types it).
async fn find_box(
    Page { locale, .. }: Page<perm::TestingRead>,
    Query(q): Query<LookUp>,
) -> Result<Response, PageError> {
    let code = barcode("code", q.code.as_deref().unwrap_or_default()).page(locale)?;
    Ok(Redirect::to(&format!("/testing/boxes/{}", code.as_str())).into_response())
}

#[derive(Deserialize)]
struct HandForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    courier: String,
}

async fn receive_submit(
    State(state): State<TestingState>,
    Page { user, locale, .. }: Page<perm::TestingLab>,
    Path(raw): Path<String>,
    axum::Form(form): axum::Form<HandForm>,
) -> Result<Response, PageError> {
    user.check_csrf(Some(&form.csrf)).page(locale)?;
    let code = barcode("code", &raw).page(locale)?;
    Change::run(&state.db, &user.actor(), async |c| {
        hand_over(c, &user, &code, TubeState::Received, None).await
    })
    .await
    .page(locale)?;
    Ok(Redirect::to(&format!("/testing/boxes/{}", code.as_str())).into_response())
}

async fn send_submit(
    State(state): State<TestingState>,
    Page { user, locale, .. }: Page<perm::TestingSample>,
    Path(raw): Path<String>,
    axum::Form(form): axum::Form<HandForm>,
) -> Result<Response, PageError> {
    user.check_csrf(Some(&form.csrf)).page(locale)?;
    let code = barcode("code", &raw).page(locale)?;
    let courier: Required<60> = Required::field("courier", form.courier).page(locale)?;
    Change::run(&state.db, &user.actor(), async |c| {
        hand_over(c, &user, &code, TubeState::Sent, Some(courier.trimmed())).await
    })
    .await
    .page(locale)?;
    Ok(Redirect::to(&format!("/testing/boxes/{}", code.as_str())).into_response())
}

async fn script() -> Response {
    crate::web::asset(
        crate::web::JAVASCRIPT,
        include_str!("../../static/testing_scan.js"),
    )
}

pub fn router() -> Router<TestingState> {
    Router::new()
        .route("/testing/scan", axum::routing::get(scan_page))
        .route(
            "/testing/boxes",
            axum::routing::get(find_box).post(box_submit),
        )
        .route("/testing/boxes/{code}", axum::routing::get(box_page))
        .route(
            "/testing/boxes/{code}/receive",
            axum::routing::post(receive_submit),
        )
        .route(
            "/testing/boxes/{code}/send",
            axum::routing::post(send_submit),
        )
        .route("/static/testing_scan.js", axum::routing::get(script))
}
