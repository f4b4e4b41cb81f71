//! The testing figures of one round: tests per point per hour, per compound per day, coverage
//! (residents tested against registered) per compound, positives, the turnaround from a tube's
//! first scan to its result, and the tubes opened at each point. Page, API and workbook, in the
//! caller's region.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::TestingState;
use crate::auth::{Can, Page, Principal, perm};
use crate::db::{Db, Sql};
use crate::error::{AppError, AppResult};
use crate::http::{ApiJson, ApiPath};
use crate::tabular::{Cell, Sheet};
use crate::web::{PageCtx, PageError, PageResultExt, render};

/// Beijing is eight hours ahead of UTC all year.
const BEIJING_MS: i64 = 8 * 3600 * 1000;

#[derive(Debug, Serialize, ToSchema)]
pub struct PointHour {
    pub point_id: i64,
    pub site_name: String,
    /// `YYYY-MM-DD HH:00`, Beijing time.
    pub hour: String,
    pub tests: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompoundDay {
    pub compound_id: i64,
    pub compound: String,
    /// `YYYY-MM-DD`, Beijing time.
    pub day: String,
    pub tests: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Coverage {
    pub compound_id: i64,
    pub compound: String,
    pub registered: i64,
    pub tested: i64,
    /// Tested over registered, 0 to 1 (0 when nobody is registered).
    pub ratio: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PointTubes {
    pub point_id: i64,
    pub site_name: String,
    pub tubes: i64,
    pub tests: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Figures {
    pub round_id: i64,
    pub tests: i64,
    pub tubes: i64,
    pub positive_tubes: i64,
    /// People in positive tubes (recalled).
    pub recalled: i64,
    /// Median minutes from a resulted tube's first scan to its result.
    pub turnaround_median_minutes: Option<f64>,
    pub resulted_tubes: i64,
    pub per_point_hour: Vec<PointHour>,
    pub per_compound_day: Vec<CompoundDay>,
    pub coverage: Vec<Coverage>,
    pub per_point: Vec<PointTubes>,
}

fn hhmm(ms: i64) -> String {
    crate::time::beijing(ms)
}

/// The figures of round `round` in `p`'s region.
pub async fn figures(db: &Db, p: &Principal, round: i64) -> AppResult<Figures> {
    let exists = sqlx::query("SELECT 1 FROM testing_rounds WHERE id = $1")
        .bind(round)
        .fetch_optional(&db.pool)
        .await?;
    if exists.is_none() {
        return Err(AppError::NotFound("round"));
    }
    // Added scans of the round at points in the caller's region.
    let scans = |select: &str, tail: &str| {
        let mut sql = Sql::new(&format!(
            "SELECT {select} FROM scans sc JOIN tubes t ON t.id = sc.tube_id \
             JOIN testing_points tp ON tp.id = t.point_id JOIN sites s ON s.id = tp.site_id \
             JOIN regions g ON g.id = s.region_id WHERE sc.outcome = 'added' AND sc.round_id = "
        ));
        sql.bind(round);
        p.scope_region(&mut sql, "g.path");
        sql.push(tail);
        sql
    };
    let hour = format!("(sc.at + {BEIJING_MS}) / 3600000");
    let mut per_point_hour = Vec::new();
    for r in scans(
        &format!("t.point_id, s.name, {hour} AS h, COUNT(*) AS n"),
        &format!(" GROUP BY t.point_id, s.name, {hour} ORDER BY s.name, h"),
    )
    .query()
    .fetch_all(&db.pool)
    .await?
    {
        let h: i64 = r.try_get("h")?;
        per_point_hour.push(PointHour {
            point_id: r.try_get("point_id")?,
            site_name: r.try_get("name")?,
            hour: format!("{}:00", &hhmm(h * 3_600_000 - BEIJING_MS)[..13]),
            tests: r.try_get("n")?,
        });
    }
    let day = format!("(sc.at + {BEIJING_MS}) / 86400000");
    let mut sql = Sql::new(&format!(
        "SELECT re.compound_id, rg.name, {day} AS d, COUNT(*) AS n FROM scans sc \
         JOIN residents re ON re.id = sc.resident_id JOIN regions rg ON rg.id = re.compound_id \
         WHERE sc.outcome = 'added' AND sc.round_id = "
    ));
    sql.bind(round);
    p.scope_region(&mut sql, "rg.path");
    sql.push(&format!(
        " GROUP BY re.compound_id, rg.name, {day} ORDER BY rg.name, d"
    ));
    let mut per_compound_day = Vec::new();
    for r in sql.query().fetch_all(&db.pool).await? {
        let d: i64 = r.try_get("d")?;
        per_compound_day.push(CompoundDay {
            compound_id: r.try_get("compound_id")?,
            compound: r.try_get("name")?,
            day: hhmm(d * 86_400_000 - BEIJING_MS)[..10].to_string(),
            tests: r.try_get("n")?,
        });
    }
    let mut sql = Sql::new(
        "SELECT rg.id, rg.name, (SELECT COUNT(*) FROM residents re WHERE re.compound_id = rg.id) AS registered, \
         (SELECT COUNT(*) FROM scans sc JOIN residents re ON re.id = sc.resident_id \
          WHERE sc.round_id = ",
    );
    sql.bind(round).push(
        " AND sc.outcome = 'added' AND re.compound_id = rg.id) AS tested FROM regions rg \
         WHERE rg.level = 'compound' AND EXISTS (SELECT 1 FROM testing_round_regions rr \
         JOIN regions top ON top.id = rr.region_id WHERE rr.round_id = ",
    );
    sql.bind(round).push(" AND rg.path LIKE top.path || '%')");
    p.scope_region(&mut sql, "rg.path");
    sql.push(" ORDER BY rg.name LIMIT 2000");
    let mut coverage = Vec::new();
    for r in sql.query().fetch_all(&db.pool).await? {
        let (registered, tested): (i64, i64) = (r.try_get("registered")?, r.try_get("tested")?);
        coverage.push(Coverage {
            compound_id: r.try_get("id")?,
            compound: r.try_get("name")?,
            registered,
            tested,
            ratio: if registered > 0 {
                tested as f64 / registered as f64
            } else {
                0.0
            },
        });
    }
    let mut sql = Sql::new(
        "SELECT t.point_id, s.name, COUNT(*) AS tubes, CAST(COALESCE(SUM(t.count), 0) AS BIGINT) AS tests, \
         CAST(COALESCE(SUM(CASE WHEN t.result = 'positive' THEN 1 ELSE 0 END), 0) AS BIGINT) AS positive, \
         CAST(COALESCE(SUM(CASE WHEN t.result = 'positive' THEN t.count ELSE 0 END), 0) AS BIGINT) AS recalled \
         FROM tubes t JOIN testing_points tp ON tp.id = t.point_id JOIN sites s ON s.id = tp.site_id \
         JOIN regions g ON g.id = s.region_id WHERE t.round_id = ",
    );
    sql.bind(round);
    p.scope_region(&mut sql, "g.path");
    sql.push(" GROUP BY t.point_id, s.name ORDER BY s.name");
    let (mut per_point, mut positive_tubes, mut recalled) = (Vec::new(), 0, 0);
    for r in sql.query().fetch_all(&db.pool).await? {
        positive_tubes += r.try_get::<i64, _>("positive")?;
        recalled += r.try_get::<i64, _>("recalled")?;
        per_point.push(PointTubes {
            point_id: r.try_get("point_id")?,
            site_name: r.try_get("name")?,
            tubes: r.try_get("tubes")?,
            tests: r.try_get("tests")?,
        });
    }
    // Turnaround: each resulted tube's result time less its first added scan.
    let mut minutes: Vec<f64> = scans(
        "t.id, MIN(sc.at) AS first, MAX(t.resulted_at) AS resulted",
        " AND t.resulted_at IS NOT NULL GROUP BY t.id",
    )
    .query()
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| {
        let (first, resulted): (i64, i64) = (r.try_get("first")?, r.try_get("resulted")?);
        Ok((resulted - first) as f64 / 60_000.0)
    })
    .collect::<AppResult<_>>()?;
    minutes.sort_by(f64::total_cmp);
    let turnaround_median_minutes = (!minutes.is_empty()).then(|| minutes[minutes.len() / 2]);
    Ok(Figures {
        round_id: round,
        tests: per_point.iter().map(|x| x.tests).sum(),
        tubes: per_point.iter().map(|x| x.tubes).sum(),
        positive_tubes,
        recalled,
        turnaround_median_minutes,
        resulted_tubes: minutes.len() as i64,
        per_point_hour,
        per_compound_day,
        coverage,
        per_point,
    })
}

/// A round's testing figures in the caller's region.
#[utoipa::path(get, path = "/api/v1/testing/rounds/{id}/figures", tag = "testing", operation_id = "testing_figures",
    params(("id" = i64, Path)),
    responses((status = 200, body = Figures), (status = 404, body = crate::error::ErrorBody)))]
async fn figures_route(
    State(state): State<TestingState>,
    Can(p, _): Can<perm::TestingRead>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<ApiJson<Figures>> {
    Ok(ApiJson(figures(&state.db, &p, id).await?))
}

/// The same figures as a workbook: a sheet each.
#[utoipa::path(get, path = "/api/v1/testing/rounds/{id}/figures.xlsx", tag = "testing", operation_id = "testing_figures_workbook",
    params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 404, body = crate::error::ErrorBody)))]
async fn workbook_route(
    State(state): State<TestingState>,
    Can(p, _): Can<perm::TestingRead>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Response> {
    let f = figures(&state.db, &p, id).await?;
    let n = |v: i64| Cell::Number(v as f64);
    let t = |s: &str| Cell::Text(s.to_string());
    let hours: Vec<Vec<Cell>> = f
        .per_point_hour
        .iter()
        .map(|x| vec![t(&x.site_name), t(&x.hour), n(x.tests)])
        .collect();
    let days: Vec<Vec<Cell>> = f
        .per_compound_day
        .iter()
        .map(|x| vec![t(&x.compound), t(&x.day), n(x.tests)])
        .collect();
    let coverage: Vec<Vec<Cell>> = f
        .coverage
        .iter()
        .map(|x| {
            vec![
                t(&x.compound),
                n(x.registered),
                n(x.tested),
                Cell::Formatted(x.ratio, "0.0%"),
            ]
        })
        .collect();
    let points: Vec<Vec<Cell>> = f
        .per_point
        .iter()
        .map(|x| vec![t(&x.site_name), n(x.tubes), n(x.tests)])
        .collect();
    let bytes = crate::tabular::write_workbook(&[
        Sheet {
            name: "按采样点每小时",
            headers: &["采样点", "小时", "检测人次"],
            rows: &hours,
        },
        Sheet {
            name: "按小区每天",
            headers: &["小区", "日期", "检测人次"],
            rows: &days,
        },
        Sheet {
            name: "覆盖率",
            headers: &["小区", "登记人数", "已检人数", "覆盖率"],
            rows: &coverage,
        },
        Sheet {
            name: "按采样点",
            headers: &["采样点", "试管数", "检测人次"],
            rows: &points,
        },
    ])?;
    Ok((
        crate::tabular::xlsx_headers(&format!("testing-round-{id}.xlsx")),
        bytes,
    )
        .into_response())
}

pub fn api() -> OpenApiRouter<TestingState> {
    OpenApiRouter::new()
        .routes(routes!(figures_route))
        .routes(routes!(workbook_route))
}

#[derive(askama::Template)]
#[template(path = "testing/figures.html")]
struct FiguresPage {
    ctx: PageCtx,
    f: Figures,
}

impl FiguresPage {
    fn percent(&self, r: &f64) -> String {
        format!("{:.1}%", r * 100.0)
    }
}

async fn figures_page(
    State(state): State<TestingState>,
    Page {
        user, ctx, locale, ..
    }: Page<perm::TestingRead>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let f = figures(&state.db, &user, id).await.page(locale)?;
    Ok(render(&FiguresPage { ctx, f }))
}

#[derive(askama::Template)]
#[template(path = "testing/rounds.html")]
struct RoundsPage {
    ctx: PageCtx,
    rounds: Vec<super::rounds::RoundView>,
}

/// The rounds with a point in the caller's region, each linking to its figures.
async fn rounds_page(
    State(state): State<TestingState>,
    Page {
        user, ctx, locale, ..
    }: Page<perm::TestingRead>,
) -> Result<Response, PageError> {
    let rounds = super::rounds::rounds(&state.db, &user).await.page(locale)?;
    Ok(render(&RoundsPage { ctx, rounds }))
}

pub fn router() -> axum::Router<TestingState> {
    axum::Router::new()
        .route("/testing/rounds", axum::routing::get(rounds_page))
        .route(
            "/testing/rounds/{id}/figures",
            axum::routing::get(figures_page),
        )
}
