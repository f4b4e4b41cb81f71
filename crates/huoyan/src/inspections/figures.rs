//! The inspection figures: rounds, sites visited and findings per team and day; findings per site
//! kind and checklist item; how findings ended (fixed on the spot apart from the case flow); and
//! the time from a finding to its verified fix. Page, API and xlsx read the same function.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::InspectionsState;
use crate::auth::{Can, Principal, perm};
use crate::db::{Db, Sql};
use crate::error::{AppError, AppResult};
use crate::http::{ApiJson, ApiQuery};
use crate::i18n::Locale;
use crate::tabular::{Cell, Sheet};

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FiguresQuery {
    /// Rounds of this day or later (YYYY-MM-DD).
    #[param(schema_with = crate::time::day_or_blank)]
    pub from: Option<String>,
    /// Rounds of this day or earlier.
    #[param(schema_with = crate::time::day_or_blank)]
    pub to: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamDay {
    pub team_id: i64,
    pub team_name: String,
    pub day: String,
    pub rounds: i64,
    pub sites_visited: i64,
    pub far_visits: i64,
    pub findings: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ItemFindings {
    pub kind: huoyan_core::org::SiteKind,
    pub item: String,
    pub zh: String,
    pub en: String,
    pub findings: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InspectionFigures {
    pub by_team_day: Vec<TeamDay>,
    pub by_item: Vec<ItemFindings>,
    pub findings: i64,
    /// Closed on the spot by the inspector (现场整改).
    pub fixed_on_site: i64,
    /// Sent into the ordinary case flow.
    pub in_case_flow: i64,
    /// Of those, verified or closed.
    pub verified_in_flow: i64,
    pub share_fixed_on_site: Option<f64>,
    /// Hours from a finding to its verified fix (fixed on the spot: to that step), nearest rank.
    pub fix_hours_median: Option<f64>,
    pub fix_hours_p90: Option<f64>,
}

fn day(field: &str, v: &Option<String>) -> AppResult<Option<String>> {
    match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(d) if chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok() => Ok(Some(d.into())),
        Some(_) => Err(AppError::invalid(field, "a day as YYYY-MM-DD")),
    }
}

/// The rounds (alias `r`) the figures count: the caller's reach, the days asked.
fn rounds_filter(p: &Principal, q: &FiguresQuery) -> AppResult<Sql> {
    let mut sql = Sql::new(" WHERE 1 = 1");
    super::rounds::scope(p, &mut sql, "r.team_id");
    if let Some(d) = day("from", &q.from)? {
        sql.push(" AND r.day >= ").bind(d);
    }
    if let Some(d) = day("to", &q.to)? {
        sql.push(" AND r.day <= ").bind(d);
    }
    Ok(sql)
}

/// Nearest rank of sorted `v` at `q`.
fn rank(v: &[f64], q: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let i = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
    Some(v[i])
}

pub async fn figures(db: &Db, p: &Principal, q: &FiguresQuery) -> AppResult<InspectionFigures> {
    let filter = rounds_filter(p, q)?;
    let by_team_day = filter
        .with_text(&format!(
            "SELECT r.team_id, t.name AS team_name, r.day, COUNT(DISTINCT r.id) AS rounds, \
             COUNT(s.visited_at) AS visited, CAST(COALESCE(SUM(s.far), 0) AS BIGINT) AS far, \
             CAST(COALESCE(SUM((SELECT COUNT(*) FROM inspection_answers a WHERE a.stop_id = s.id AND a.answer = 'fail')), 0) AS BIGINT) AS findings \
             FROM inspection_rounds r JOIN teams t ON t.id = r.team_id \
             LEFT JOIN inspection_stops s ON s.round_id = r.id{} \
             GROUP BY r.team_id, t.name, r.day ORDER BY r.day, r.team_id",
            filter.text()
        ))
        .query()
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(TeamDay {
                team_id: r.try_get("team_id")?,
                team_name: r.try_get("team_name")?,
                day: r.try_get("day")?,
                rounds: r.try_get("rounds")?,
                sites_visited: r.try_get("visited")?,
                far_visits: r.try_get("far")?,
                findings: r.try_get("findings")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    // Each failed item, with the checklist version it was answered against (for its wording) and
    // its case's standing.
    let rows = filter
        .with_text(&format!(
            "SELECT c.kind, c.items, a.item, k.state, k.reported_at, \
             (SELECT MIN(e.at) FROM case_events e WHERE e.case_id = k.id \
              AND e.to_state IN ('verified', 'fixed_on_site')) AS fixed_at \
             FROM inspection_answers a JOIN inspection_stops s ON s.id = a.stop_id \
             JOIN inspection_rounds r ON r.id = s.round_id JOIN checklists c ON c.id = s.checklist_id \
             LEFT JOIN cases k ON k.id = a.case_id{} AND a.answer = 'fail'",
            filter.text()
        ))
        .query()
        .fetch_all(&db.pool)
        .await?;
    let mut items: BTreeMap<(String, String), (String, String, i64)> = BTreeMap::new();
    let (mut fixed_on_site, mut in_flow, mut verified_in_flow) = (0, 0, 0);
    let mut hours = Vec::new();
    for r in &rows {
        let kind: String = r.try_get("kind")?;
        let code: String = r.try_get("item")?;
        let entry = items.entry((kind, code.clone())).or_insert_with(|| {
            let wording: Vec<huoyan_core::inspections::checklist::Item> =
                serde_json::from_str(&r.try_get::<String, _>("items").unwrap_or_default())
                    .unwrap_or_default();
            let item = wording.into_iter().find(|i| i.code == code);
            (
                item.as_ref()
                    .map(|i| i.zh.clone())
                    .unwrap_or_else(|| code.clone()),
                item.map(|i| i.en).unwrap_or_else(|| code.clone()),
                0,
            )
        });
        entry.2 += 1;
        let state: Option<String> = r.try_get("state")?;
        match state.as_deref() {
            Some("fixed_on_site") => fixed_on_site += 1,
            Some("verified" | "closed") => {
                in_flow += 1;
                verified_in_flow += 1;
            }
            Some(_) => in_flow += 1,
            None => {}
        }
        if let (Some(at), Some(fixed)) = (
            r.try_get::<Option<i64>, _>("reported_at")?,
            r.try_get::<Option<i64>, _>("fixed_at")?,
        ) {
            hours.push((fixed - at) as f64 / 3_600_000.0);
        }
    }
    hours.sort_by(f64::total_cmp);
    let findings = rows.len() as i64;
    let mut by_item: Vec<ItemFindings> = items
        .into_iter()
        .filter_map(|((kind, item), (zh, en, n))| {
            Some(ItemFindings {
                kind: huoyan_core::org::SiteKind::parse(&kind)?,
                item,
                zh,
                en,
                findings: n,
            })
        })
        .collect();
    by_item.sort_by(|a, b| b.findings.cmp(&a.findings).then(a.item.cmp(&b.item)));
    Ok(InspectionFigures {
        by_team_day,
        by_item,
        findings,
        fixed_on_site,
        in_case_flow: in_flow,
        verified_in_flow,
        share_fixed_on_site: (findings > 0).then(|| fixed_on_site as f64 / findings as f64),
        fix_hours_median: rank(&hours, 0.5),
        fix_hours_p90: rank(&hours, 0.9),
    })
}

/// The figures as an xlsx workbook: per team and day, per item, and the outcomes; with
/// `discipline` (the commission's roles only), the discipline records by outcome.
pub fn figures_xlsx(
    f: &InspectionFigures,
    discipline: Option<&super::discipline::FlagFigures>,
    l: Locale,
) -> anyhow::Result<Vec<u8>> {
    let en = l.is_en();
    let team_rows: Vec<Vec<Cell>> = f
        .by_team_day
        .iter()
        .map(|t| {
            vec![
                t.team_name.clone().into(),
                t.day.clone().into(),
                t.rounds.into(),
                t.sites_visited.into(),
                t.far_visits.into(),
                t.findings.into(),
            ]
        })
        .collect();
    let item_rows: Vec<Vec<Cell>> = f
        .by_item
        .iter()
        .map(|i| {
            vec![
                i.kind.label(en).into(),
                (if en { &i.en } else { &i.zh }).clone().into(),
                i.findings.into(),
            ]
        })
        .collect();
    let opt = |v: Option<f64>, format| v.map(|x| Cell::Formatted(x, format)).unwrap_or(Cell::Empty);
    let outcome_rows = vec![
        vec![l.t("inspections.findings").into(), f.findings.into()],
        vec![
            l.t("inspections.fixed_on_site").into(),
            f.fixed_on_site.into(),
        ],
        vec![
            l.t("inspections.in_case_flow").into(),
            f.in_case_flow.into(),
        ],
        vec![
            l.t("inspections.verified_in_flow").into(),
            f.verified_in_flow.into(),
        ],
        vec![
            l.t("inspections.share_fixed_on_site").into(),
            opt(f.share_fixed_on_site, "0.0%"),
        ],
        vec![
            l.t("inspections.fix_hours_median").into(),
            opt(f.fix_hours_median, "0.0"),
        ],
        vec![
            l.t("inspections.fix_hours_p90").into(),
            opt(f.fix_hours_p90, "0.0"),
        ],
    ];
    let discipline_rows: Vec<Vec<Cell>> = discipline
        .map(|d| {
            vec![
                vec![l.t("discipline.state.flagged").into(), d.flagged.into()],
                vec![l.t("discipline.state.verified").into(), d.verified.into()],
                vec![
                    l.t("discipline.state.transferred").into(),
                    d.transferred.into(),
                ],
                vec![l.t("discipline.state.dismissed").into(), d.dismissed.into()],
            ]
        })
        .unwrap_or_default();
    let team_headers = [
        l.t("inspections.team"),
        l.t("inspections.day"),
        l.t("inspections.rounds"),
        l.t("inspections.sites_visited"),
        l.t("inspections.far_visits"),
        l.t("inspections.findings"),
    ];
    let item_headers = [
        l.t("inspections.site_kind"),
        l.t("inspections.item"),
        l.t("inspections.findings"),
    ];
    let measure_headers = [l.t("inspections.measure"), l.t("inspections.value")];
    let mut sheets = vec![
        Sheet {
            name: l.t("inspections.sheet.teams"),
            headers: &team_headers,
            rows: &team_rows,
        },
        Sheet {
            name: l.t("inspections.sheet.items"),
            headers: &item_headers,
            rows: &item_rows,
        },
        Sheet {
            name: l.t("inspections.sheet.outcomes"),
            headers: &measure_headers,
            rows: &outcome_rows,
        },
    ];
    if discipline.is_some() {
        sheets.push(Sheet {
            name: l.t("inspections.sheet.discipline"),
            headers: &measure_headers,
            rows: &discipline_rows,
        });
    }
    crate::tabular::write_workbook(&sheets)
}

/// Rounds, sites visited and findings per team and day; findings per site kind and item; how
/// findings ended; hours to a verified fix. An inspector sees their team's.
#[utoipa::path(get, path = "/api/v1/inspections/figures", tag = "inspections", operation_id = "inspection_figures",
    params(FiguresQuery), responses((status = 200, body = InspectionFigures), (status = 422, body = crate::error::ErrorBody)))]
async fn figures_route(
    State(state): State<InspectionsState>,
    Can(p, _): Can<perm::InspectionsRead>,
    ApiQuery(q): ApiQuery<FiguresQuery>,
) -> AppResult<ApiJson<InspectionFigures>> {
    Ok(ApiJson(figures(&state.db, &p, &q).await?))
}

/// The same as an xlsx workbook, in the caller's language (`lang=en` for English); for the
/// discipline officer and the commander with the discipline records by outcome.
#[utoipa::path(get, path = "/api/v1/inspections/figures.xlsx", tag = "inspections", operation_id = "inspection_figures_xlsx",
    params(FiguresQuery, ("lang" = Option<String>, Query, description = "zh (default) or en")),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>), (status = 422, body = crate::error::ErrorBody)))]
async fn figures_xlsx_route(
    State(state): State<InspectionsState>,
    Can(p, _): Can<perm::InspectionsRead>,
    locale: Locale,
    ApiQuery(q): ApiQuery<FiguresQuery>,
) -> AppResult<impl IntoResponse> {
    let f = figures(&state.db, &p, &q).await?;
    // Only the commission's roles learn that discipline records exist at all.
    let discipline = if huoyan_core::inspections::discipline::may_see(p.role) {
        Some(super::discipline::figures(&state.db).await?)
    } else {
        None
    };
    Ok((
        crate::tabular::xlsx_headers("huoyan-inspection-figures.xlsx"),
        figures_xlsx(&f, discipline.as_ref(), locale)?,
    ))
}

pub fn api() -> OpenApiRouter<InspectionsState> {
    OpenApiRouter::new()
        .routes(routes!(figures_route))
        .routes(routes!(figures_xlsx_route))
}
