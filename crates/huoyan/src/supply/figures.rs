//! The supply figures per community and day, in the caller's scope: packages planned and
//! delivered, buildings short and missed, requests for help filed, open and closed, the mean time
//! to close and the medicines bought. As JSON, a workbook and a page.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use futures_util::TryStreamExt;
use huoyan_core::supply::figures::DayFigures;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::SupplyState;
use crate::auth::{Can, Page, Principal, perm};
use crate::db::{Db, Sql};
use crate::error::{AppError, AppResult};
use crate::http::{ApiJson, ApiQuery};
use crate::tabular::{Cell, Sheet};
use crate::time::{beijing_day, beijing_day_start};
use crate::web::{PageCtx, PageError, PageResultExt, render};

const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FigureQuery {
    /// The first day (Beijing), YYYY-MM-DD; absent or blank: 30 days before `to`.
    #[param(schema_with = crate::time::day_or_blank)]
    pub from: Option<String>,
    /// The last day, YYYY-MM-DD; absent or blank: today.
    #[param(schema_with = crate::time::day_or_blank)]
    pub to: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FigureRow {
    pub community_id: i64,
    pub community: String,
    /// The Beijing day: a batch's by its deadline, a request's by its filing.
    #[schema(format = Date)]
    pub day: String,
    pub planned: i64,
    pub delivered: i64,
    pub buildings: i64,
    pub short: i64,
    pub missed: i64,
    pub requests: i64,
    pub urgent: i64,
    pub closed: i64,
    pub open: i64,
    /// Mean hours from filing to closing, over those closed.
    pub mean_close_hours: Option<f64>,
    pub medicines: i64,
}

/// The span `q` names, as [start, end) in epoch milliseconds, with its days.
fn span(q: &FigureQuery) -> AppResult<(i64, i64, String, String)> {
    fn given(d: &Option<String>) -> Option<&str> {
        d.as_deref().map(str::trim).filter(|d| !d.is_empty())
    }
    let to = given(&q.to).map_or_else(|| beijing_day(crate::time::now_ms()), str::to_string);
    let end = beijing_day_start("to", &to).map_err(|e| AppError::Invalid(vec![e]))? + DAY_MS;
    let start = match given(&q.from) {
        Some(f) => beijing_day_start("from", f).map_err(|e| AppError::Invalid(vec![e]))?,
        None => end - 30 * DAY_MS,
    };
    // A `from` after `to` spans no day: nothing, as for any read of what its schema allows.
    Ok((start, end.max(start), beijing_day(start), to))
}

/// The figures of every community with anything in `p`'s sight in the span, by community and day.
/// The rows are streamed and tallied, so memory holds one tally per community and day that has
/// any, however long the span.
pub async fn figures(db: &Db, p: &Principal, q: &FigureQuery) -> AppResult<Vec<FigureRow>> {
    let (start, end, _, _) = span(q)?;
    let mut days: BTreeMap<(String, String, i64), DayFigures> = BTreeMap::new();
    let mut sql = Sql::new(
        "SELECT m.id AS community_id, m.name AS community, b.deadline AS at, d.planned, d.delivered, d.missed_at \
         FROM supply_deliveries d JOIN supply_batches b ON b.id = d.batch_id JOIN regions g ON g.id = d.building_id \
         JOIN regions c ON c.id = d.compound_id JOIN regions m ON m.id = c.parent_id WHERE b.deadline >= ",
    );
    sql.bind(start).push(" AND b.deadline < ").bind(end);
    super::visible(p, &mut sql, "g.path", Some("d.team_id"));
    let query = sql.query();
    let mut rows = query.fetch(&db.pool);
    while let Some(r) = rows.try_next().await? {
        let key = key(&r)?;
        days.entry(key).or_default().add_delivery(
            r.try_get("planned")?,
            r.try_get("delivered")?,
            r.try_get::<Option<i64>, _>("missed_at")?.is_some(),
        );
    }
    drop(rows);
    let mut sql = Sql::new(
        "SELECT m.id AS community_id, m.name AS community, r.created_at AS at, r.urgent, r.closed_at, r.medicines \
         FROM assistance_requests r JOIN regions g ON g.id = r.compound_id JOIN regions m ON m.id = g.parent_id \
         WHERE r.created_at >= ",
    );
    sql.bind(start).push(" AND r.created_at < ").bind(end);
    super::requests::in_sight(p, &mut sql);
    let query = sql.query();
    let mut rows = query.fetch(&db.pool);
    while let Some(r) = rows.try_next().await? {
        let key = key(&r)?;
        let at: i64 = r.try_get("at")?;
        let closed: Option<i64> = r.try_get("closed_at")?;
        days.entry(key).or_default().add_request(
            r.try_get::<Option<String>, _>("urgent")?.is_some(),
            closed.map(|c| c - at),
            r.try_get("medicines")?,
        );
    }
    Ok(days
        .into_iter()
        .map(|((community, day, community_id), f)| FigureRow {
            community_id,
            community,
            day,
            planned: f.planned,
            delivered: f.delivered,
            buildings: f.buildings,
            short: f.short,
            missed: f.missed,
            requests: f.requests,
            urgent: f.urgent,
            closed: f.closed,
            open: f.open(),
            mean_close_hours: f.mean_close_hours(),
            medicines: f.medicines,
        })
        .collect())
}

/// A row's (community, day, community id): ordered by name, then day.
fn key(r: &sqlx::any::AnyRow) -> AppResult<(String, String, i64)> {
    Ok((
        r.try_get("community")?,
        beijing_day(r.try_get("at")?),
        r.try_get("community_id")?,
    ))
}

/// The supply figures per community and day, in scope.
#[utoipa::path(get, path = "/api/v1/supply/figures", tag = "supply", operation_id = "supply_figures",
    params(FigureQuery),
    responses((status = 200, body = Vec<FigureRow>), (status = 422, body = crate::error::ErrorBody)))]
async fn figures_route(
    State(state): State<SupplyState>,
    Can(p, _): Can<perm::SupplyRead>,
    ApiQuery(q): ApiQuery<FigureQuery>,
) -> AppResult<ApiJson<Vec<FigureRow>>> {
    Ok(ApiJson(figures(&state.db, &p, &q).await?))
}

const HEADERS: [&str; 14] = [
    "社区",
    "日期",
    "计划份数",
    "已送份数",
    "楼栋",
    "短缺楼栋",
    "超时未送楼栋",
    "帮扶请求",
    "紧急",
    "已办结",
    "未办结",
    "平均办结时长（小时）",
    "购药（盒）",
    "社区编号",
];

/// The same figures as a workbook.
#[utoipa::path(get, path = "/api/v1/supply/figures.xlsx", tag = "supply", operation_id = "supply_figures_workbook",
    params(FigureQuery),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 422, body = crate::error::ErrorBody)))]
async fn workbook_route(
    State(state): State<SupplyState>,
    Can(p, _): Can<perm::SupplyRead>,
    ApiQuery(q): ApiQuery<FigureQuery>,
) -> AppResult<Response> {
    let (_, _, from, to) = span(&q)?;
    let rows = figures(&state.db, &p, &q).await?;
    let n = |v: i64| Cell::Number(v as f64);
    let cells: Vec<Vec<Cell>> = rows
        .iter()
        .map(|r| {
            vec![
                Cell::Text(r.community.clone()),
                Cell::Text(r.day.clone()),
                n(r.planned),
                n(r.delivered),
                n(r.buildings),
                n(r.short),
                n(r.missed),
                n(r.requests),
                n(r.urgent),
                n(r.closed),
                n(r.open),
                r.mean_close_hours
                    .map_or(Cell::Empty, |h| Cell::Formatted(h, "0.0")),
                n(r.medicines),
                n(r.community_id),
            ]
        })
        .collect();
    let bytes = crate::tabular::write_workbook(&[Sheet {
        name: "物资保供与帮扶",
        headers: &HEADERS,
        rows: &cells,
    }])?;
    Ok((
        crate::tabular::xlsx_headers(&format!("supply-{from}-{to}.xlsx")),
        bytes,
    )
        .into_response())
}

pub fn api() -> OpenApiRouter<SupplyState> {
    OpenApiRouter::new()
        .routes(routes!(figures_route))
        .routes(routes!(workbook_route))
}

#[derive(askama::Template)]
#[template(path = "supply/figures.html")]
struct FiguresPage {
    ctx: PageCtx,
    rows: Vec<FigureRow>,
    from: String,
    to: String,
}

impl FiguresPage {
    fn hours(&self, h: &Option<f64>) -> String {
        h.map_or_else(String::new, |h| format!("{h:.1}"))
    }
}

async fn figures_page(
    State(state): State<SupplyState>,
    Page {
        user, ctx, locale, ..
    }: Page<perm::SupplyRead>,
    ApiQuery(q): ApiQuery<FigureQuery>,
) -> Result<Response, PageError> {
    let (_, _, from, to) = span(&q).page(locale)?;
    let rows = figures(&state.db, &user, &q).await.page(locale)?;
    Ok(render(&FiguresPage {
        ctx,
        rows,
        from,
        to,
    }))
}

pub fn router() -> axum::Router<SupplyState> {
    axum::Router::new().route("/supply/figures", axum::routing::get(figures_page))
}
