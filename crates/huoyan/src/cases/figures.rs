//! Case figures (统计考核): the records of `huoyan_core::cases::figures` loaded for a case filter
//! within the caller's scope, as JSON and as a workbook.
//!
//! The filter is the list's (`CaseFilter::to_sql`), so the figures cover exactly the cases the
//! list shows; `limit` and `offset` are ignored. The tasks counted are every unit's tasks on those
//! cases, except that a department caller's own scope, and a `department_id` filter, keep only that
//! unit's tasks: the department rows and the task counts per category are then that unit's, while
//! each case's own clock (the per-category durations) stays whole. Definitions: the core module's
//! header, repeated in the workbook's notes sheet and on the page.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::IntoResponse;
use huoyan_core::cases::figures::{
    self as rules, CaseRecord, CategoryFigures, DepartmentFigures, Durations, RankRule, Stat,
    TaskMeasures, TaskRecord,
};
use huoyan_core::cases::{CaseState, Category, Source, TaskState};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::CaseFilter;
use crate::auth::{Can, Principal, perm};
use crate::cases::CasesState;
use crate::db::{Db, Sql};
use crate::error::AppResult;
use crate::http::{ApiJson, ApiQuery};
use crate::i18n::Locale;
use crate::tabular::{Cell, Sheet, write_workbook};
use crate::time::rfc3339;

/// The cases matching `f` in the caller's scope and their units' tasks, as the core needs them.
/// The tasks counted are every unit's, or under a department's scope or filter only that
/// unit's.
pub async fn load(
    db: &Db,
    p: &Principal,
    f: &CaseFilter,
) -> AppResult<(Vec<CaseRecord>, Vec<TaskRecord>)> {
    // The whole selection is read: from the index ranges that hold it, not in any order.
    let filter = f.to_sql_as(db, p, super::views::Shape::Count).await?;
    let units: Vec<i64> = [p.scope.department_id, f.department_id]
        .into_iter()
        .flatten()
        .collect();
    let cases = cases_sql(&filter).query().fetch_all(&db.pool).await?;
    let tasks = tasks_sql(&filter, &units)
        .query()
        .fetch_all(&db.pool)
        .await?;
    Ok((records(&cases, case_record)?, records(&tasks, task_record)?))
}

/// The case records `filter` selects, by id.
///
/// Case times come from the timeline: the first `dispatch`; the last entry into `rectified` from
/// another state (an `absorb` or `escalate` entry keeps the state and is not one); the entry into
/// `verified`.
pub(super) fn cases_sql(filter: &Sql) -> Sql {
    filter.with_text(&format!(
        "SELECT cases.id, cases.category, cases.state, cases.reported_at, \
         (SELECT MIN(e.at) FROM case_events e WHERE e.case_id = cases.id AND e.action = 'dispatch') AS first_dispatched_at, \
         (SELECT MAX(e.at) FROM case_events e WHERE e.case_id = cases.id AND e.to_state = 'rectified' AND e.from_state <> 'rectified') AS last_rectified_at, \
         (SELECT MIN(e.at) FROM case_events e WHERE e.case_id = cases.id AND e.to_state = 'verified' AND e.from_state = 'rectified') AS verified_at \
         FROM cases{} ORDER BY cases.id",
        filter.text()
    ))
}

/// The tasks of the cases `filter` selects, of `units` only when any are given, by id.
pub(super) fn tasks_sql(filter: &Sql, units: &[i64]) -> Sql {
    let mut q = filter.with_text(&format!(
        "SELECT t.case_id, t.department_id, d.name AS department, t.state, t.dispatched_at, t.due_at, t.done_at, t.extensions, t.reworks, t.urges \
         FROM case_tasks t JOIN departments d ON d.id = t.department_id \
         WHERE t.case_id IN (SELECT cases.id FROM cases{})",
        filter.text()
    ));
    for d in units {
        q.push(" AND t.department_id = ").bind(*d);
    }
    q.push(" ORDER BY t.id");
    q
}

pub(super) fn records<T>(
    rows: &[sqlx::any::AnyRow],
    one: fn(&sqlx::any::AnyRow) -> AppResult<T>,
) -> AppResult<Vec<T>> {
    rows.iter().map(one).collect()
}

pub(super) fn case_record(r: &sqlx::any::AnyRow) -> AppResult<CaseRecord> {
    let state: String = r.try_get("state")?;
    Ok(CaseRecord {
        id: r.try_get("id")?,
        category: r.try_get("category")?,
        state: CaseState::parse(&state)
            .ok_or_else(|| anyhow::anyhow!("case has unknown state {state}"))?,
        reported_at: r.try_get("reported_at")?,
        first_dispatched_at: r.try_get("first_dispatched_at")?,
        last_rectified_at: r.try_get("last_rectified_at")?,
        verified_at: r.try_get("verified_at")?,
    })
}

pub(super) fn task_record(r: &sqlx::any::AnyRow) -> AppResult<TaskRecord> {
    let state: String = r.try_get("state")?;
    Ok(TaskRecord {
        case_id: r.try_get("case_id")?,
        department_id: r.try_get("department_id")?,
        department: r.try_get("department")?,
        state: TaskState::parse(&state)
            .ok_or_else(|| anyhow::anyhow!("task has unknown state {state}"))?,
        dispatched_at: r.try_get("dispatched_at")?,
        due_at: r.try_get("due_at")?,
        done_at: r.try_get("done_at")?,
        extensions: r.try_get("extensions")?,
        reworks: r.try_get("reworks")?,
        urges: r.try_get("urges")?,
    })
}

/// Median and 90th percentile of one duration, in milliseconds, over `n` values (nearest rank:
/// each is a duration some case or task really took); null when `n` is 0.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatJson {
    pub n: usize,
    pub median_ms: Option<i64>,
    pub p90_ms: Option<i64>,
}

impl From<Stat> for StatJson {
    fn from(s: Stat) -> Self {
        StatJson {
            n: s.n,
            median_ms: s.median_ms,
            p90_ms: s.p90_ms,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DurationsJson {
    pub report_to_dispatch: StatJson,
    pub dispatch_to_rectified: StatJson,
    pub rectified_to_verified: StatJson,
    /// The headline: from report to verified fix.
    pub report_to_verified: StatJson,
}

impl From<Durations> for DurationsJson {
    fn from(d: Durations) -> Self {
        DurationsJson {
            report_to_dispatch: d.report_to_dispatch.into(),
            dispatch_to_rectified: d.dispatch_to_rectified.into(),
            rectified_to_verified: d.rectified_to_verified.into(),
            report_to_verified: d.report_to_verified.into(),
        }
    }
}

/// The counts over a row's tasks and the rates made of them; a rate is null when its
/// denominator is 0.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MeasuresJson {
    /// Every task dispatched (any state).
    pub tasks: i64,
    /// Tasks done (their fix stands).
    pub done: i64,
    /// Done tasks finished by their deadline (after any granted extension).
    pub on_time: i64,
    /// Done tasks plus open tasks already past their deadline.
    pub decided: i64,
    /// on_time / decided.
    pub on_time_rate: Option<f64>,
    /// Done late plus open past the deadline now.
    pub overdue: i64,
    /// Tasks that reported a fix at least once (done, or reworked).
    pub fixed: i64,
    /// Tasks reworked at least once.
    pub reworked: i64,
    /// reworked / fixed.
    pub rework_rate: Option<f64>,
    /// Tasks granted at least one extension.
    pub extended: i64,
    /// extended / tasks.
    pub extension_rate: Option<f64>,
    /// Times the group urged (催办) these tasks.
    pub urges: i64,
}

impl From<TaskMeasures> for MeasuresJson {
    fn from(m: TaskMeasures) -> Self {
        MeasuresJson {
            tasks: m.tasks,
            done: m.done,
            on_time: m.on_time,
            decided: m.decided,
            on_time_rate: m.on_time_rate(),
            overdue: m.overdue,
            fixed: m.fixed,
            reworked: m.reworked,
            rework_rate: m.rework_rate(),
            extended: m.extended,
            extension_rate: m.extension_rate(),
            urges: m.urges,
        }
    }
}

/// One responsible unit: its tasks on the filtered cases, on its own clock.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DepartmentRow {
    pub department_id: i64,
    pub department: String,
    /// Its place in the ranking (equal figures share a place); null when it has fewer decided
    /// tasks than `rank_min_decided`.
    pub rank: Option<usize>,
    /// Its tasks by task state (dispatched, rectifying, done, sent_back, withdrawn).
    pub tasks_by_state: BTreeMap<String, i64>,
    pub durations: DurationsJson,
    pub measures: MeasuresJson,
}

impl From<&DepartmentFigures> for DepartmentRow {
    fn from(u: &DepartmentFigures) -> Self {
        DepartmentRow {
            department_id: u.department_id,
            department: u.department.clone(),
            rank: u.rank,
            tasks_by_state: u
                .states
                .iter()
                .map(|(s, n)| (s.code().to_string(), *n))
                .collect(),
            durations: u.durations.into(),
            measures: u.measures.into(),
        }
    }
}

/// One category (or, with no category, every filtered case): durations on the case's clock,
/// counts over its cases' tasks.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CategoryRow {
    /// The category code; null in `overall`.
    #[schema(value_type = Option<huoyan_core::cases::Category>)]
    pub category: Option<String>,
    pub cases: i64,
    /// Its cases by case state.
    pub cases_by_state: BTreeMap<String, i64>,
    pub durations: DurationsJson,
    pub measures: MeasuresJson,
}

impl From<&CategoryFigures> for CategoryRow {
    fn from(c: &CategoryFigures) -> Self {
        CategoryRow {
            category: c.category.clone(),
            cases: c.cases,
            cases_by_state: c
                .states
                .iter()
                .map(|(s, n)| (s.code().to_string(), *n))
                .collect(),
            durations: c.durations.into(),
            measures: c.measures.into(),
        }
    }
}

/// A unit's place and the three figures it was ranked on.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RankEntry {
    pub rank: Option<usize>,
    pub department_id: i64,
    pub department: String,
    pub on_time_rate: Option<f64>,
    pub rework_rate: Option<f64>,
    pub median_dispatch_to_rectified_ms: Option<i64>,
    pub decided: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseFigures {
    /// When the figures were made (open tasks are judged overdue as of this time).
    #[schema(format = DateTime)]
    pub generated_at: String,
    /// The medians and 90th percentiles are exact (read from every case), or, when false, read
    /// from the running tallies to within 1 % (counts and rates are exact either way).
    pub exact_quantiles: bool,
    /// The filters applied, as received (`limit` and `offset` play no part).
    #[schema(value_type = Object)]
    pub filter: CaseFilter,
    /// Fewest decided tasks for a unit to be ranked.
    pub rank_min_decided: i64,
    /// In ranking order: ranked units first, then the others by name.
    pub by_department: Vec<DepartmentRow>,
    /// In the order of the category list; only categories with cases.
    pub by_category: Vec<CategoryRow>,
    pub overall: CategoryRow,
    /// Ranked units by place, then the unranked.
    pub ranking: Vec<RankEntry>,
}

/// The figures of the cases matching `f` in the caller's scope, as of `now_ms`.
pub async fn figures(
    db: &Db,
    p: &Principal,
    f: &CaseFilter,
    now_ms: i64,
) -> AppResult<CaseFigures> {
    figures_by(db, p, f, now_ms, Reading::Tallies).await
}

/// Where figures are read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// The running tallies where the filter allows (a period, a category, a unit, in a scope
    /// that holds every compound or one unit's), else the history.
    Tallies,
    /// Every case and task the filter selects (the definition the tallies are tested against).
    History,
}

/// The figures as `figures`, read as `reading` says.
pub async fn figures_by(
    db: &Db,
    p: &Principal,
    f: &CaseFilter,
    now_ms: i64,
    reading: Reading,
) -> AppResult<CaseFigures> {
    let rule = RankRule::default();
    let tallied = match reading {
        Reading::Tallies => tallies::read(db, p, f, now_ms, rule).await?,
        Reading::History => None,
    };
    let exact_quantiles = tallied.is_none();
    let fig = match tallied {
        Some(fig) => fig,
        None => {
            let (cases, tasks) = load(db, p, f).await?;
            rules::figures(&cases, &tasks, now_ms, rule)
        }
    };
    Ok(CaseFigures {
        generated_at: rfc3339(now_ms),
        exact_quantiles,
        filter: CaseFilter {
            limit: None,
            offset: None,
            ..f.clone()
        },
        rank_min_decided: rule.min_decided,
        by_department: fig.by_department.iter().map(DepartmentRow::from).collect(),
        by_category: fig.by_category.iter().map(CategoryRow::from).collect(),
        overall: (&fig.overall).into(),
        ranking: fig
            .by_department
            .iter()
            .map(|u| RankEntry {
                rank: u.rank,
                department_id: u.department_id,
                department: u.department.clone(),
                on_time_rate: u.measures.on_time_rate(),
                rework_rate: u.measures.rework_rate(),
                median_dispatch_to_rectified_ms: u.durations.dispatch_to_rectified.median_ms,
                decided: u.measures.decided,
            })
            .collect(),
    })
}

const SPANS: [&str; 4] = [
    "figures.span.report_to_dispatch",
    "figures.span.dispatch_to_rectified",
    "figures.span.rectified_to_verified",
    "figures.span.report_to_verified",
];

fn stats(d: &DurationsJson) -> [&StatJson; 4] {
    [
        &d.report_to_dispatch,
        &d.dispatch_to_rectified,
        &d.rectified_to_verified,
        &d.report_to_verified,
    ]
}

/// Hours as a number (exact; shown with two decimals).
fn hours(ms: Option<i64>) -> Cell {
    ms.map(|v| Cell::Formatted(v as f64 / 3_600_000.0, "0.00"))
        .unwrap_or(Cell::Empty)
}

fn percent(r: Option<f64>) -> Cell {
    r.map(|v| Cell::Formatted(v, "0.0%")).unwrap_or(Cell::Empty)
}

fn span_headers(l: Locale) -> Vec<String> {
    SPANS
        .iter()
        .flat_map(|k| {
            ["figures.n", "figures.median_h", "figures.p90_h"]
                .map(|m| format!("{} {}", l.t(k), l.t(m)))
        })
        .collect()
}

fn span_cells(d: &DurationsJson) -> Vec<Cell> {
    stats(d)
        .into_iter()
        .flat_map(|s| [(s.n as i64).into(), hours(s.median_ms), hours(s.p90_ms)])
        .collect()
}

const MEASURE_KEYS: [&str; 12] = [
    "figures.tasks",
    "figures.done",
    "figures.on_time",
    "figures.decided",
    "figures.on_time_rate",
    "figures.overdue",
    "figures.fixed",
    "figures.reworked",
    "figures.rework_rate",
    "figures.extended",
    "figures.extension_rate",
    "figures.urges",
];

fn measure_cells(m: &MeasuresJson) -> Vec<Cell> {
    vec![
        m.tasks.into(),
        m.done.into(),
        m.on_time.into(),
        m.decided.into(),
        percent(m.on_time_rate),
        m.overdue.into(),
        m.fixed.into(),
        m.reworked.into(),
        percent(m.rework_rate),
        m.extended.into(),
        percent(m.extension_rate),
        m.urges.into(),
    ]
}

pub fn category_label(code: Option<&str>, l: Locale) -> String {
    match code {
        None => l.t("figures.all").to_string(),
        Some(c) => Category::parse(c)
            .map(|c| c.label(l.is_en()).to_string())
            .unwrap_or_else(|| c.to_string()),
    }
}

/// The filter as lines of the notes sheet and the page: (label, value).
pub fn filter_lines(f: &CaseFilter, l: Locale) -> Vec<(String, String)> {
    let en = l.is_en();
    let text = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let mut out = Vec::new();
    let mut add = |key: &str, v: Option<String>| {
        if let Some(v) = v {
            out.push((l.t(key).to_string(), v));
        }
    };
    add("figures.from", text(&f.from));
    add("figures.to", text(&f.to));
    add(
        "figures.category",
        text(&f.category).map(|c| category_label(Some(&c), l)),
    );
    add(
        "figures.source",
        text(&f.source).map(|s| {
            Source::parse(&s)
                .map(|x| x.label(en).to_string())
                .unwrap_or(s)
        }),
    );
    add(
        "figures.state",
        text(&f.state).map(|s| {
            s.split(',')
                .map(|one| {
                    CaseState::parse(one.trim())
                        .map(|x| x.label(en).to_string())
                        .unwrap_or_else(|| one.trim().to_string())
                })
                .collect::<Vec<_>>()
                .join(", ")
        }),
    );
    add("figures.region", f.region_id.map(|v| format!("#{v}")));
    add("figures.compound", f.compound_id.map(|v| format!("#{v}")));
    add(
        "figures.department",
        f.department_id.map(|v| format!("#{v}")),
    );
    add(
        "figures.overdue_only",
        f.overdue.map(|v| {
            l.t(if v { "figures.yes" } else { "figures.no" })
                .to_string()
        }),
    );
    add("figures.search", text(&f.q.as_deref().map(str::to_string)));
    add(
        "figures.mine",
        f.mine.map(|v| {
            l.t(if v { "figures.yes" } else { "figures.no" })
                .to_string()
        }),
    );
    out
}

/// The figures as a workbook: by department (in ranking order), by category (with the overall
/// row last), and notes (filter, time, definitions).
pub fn figures_xlsx(fig: &CaseFigures, l: Locale) -> anyhow::Result<Vec<u8>> {
    let en = l.is_en();
    let mut dept_headers: Vec<String> = vec![
        l.t("figures.rank").into(),
        l.t("figures.department_id").into(),
        l.t("figures.department").into(),
    ];
    dept_headers.extend(TaskState::ALL.iter().map(|s| s.label(en).to_string()));
    dept_headers.extend(span_headers(l));
    dept_headers.extend(MEASURE_KEYS.iter().map(|k| l.t(k).to_string()));
    let dept_rows: Vec<Vec<Cell>> = fig
        .by_department
        .iter()
        .map(|u| {
            let mut row: Vec<Cell> = vec![
                u.rank.map(|r| r as i64).into(),
                u.department_id.into(),
                u.department.as_str().into(),
            ];
            row.extend(
                TaskState::ALL
                    .iter()
                    .map(|s| u.tasks_by_state.get(s.code()).copied().unwrap_or(0).into()),
            );
            row.extend(span_cells(&u.durations));
            row.extend(measure_cells(&u.measures));
            row
        })
        .collect();
    let mut cat_headers: Vec<String> = vec![
        l.t("figures.category").into(),
        l.t("figures.code").into(),
        l.t("figures.cases").into(),
    ];
    cat_headers.extend(CaseState::ALL.iter().map(|s| s.label(en).to_string()));
    cat_headers.extend(span_headers(l));
    cat_headers.extend(MEASURE_KEYS.iter().map(|k| l.t(k).to_string()));
    let cat_rows: Vec<Vec<Cell>> = fig
        .by_category
        .iter()
        .chain(std::iter::once(&fig.overall))
        .map(|c| {
            let mut row: Vec<Cell> = vec![
                category_label(c.category.as_deref(), l).into(),
                c.category.clone().into(),
                c.cases.into(),
            ];
            row.extend(
                CaseState::ALL
                    .iter()
                    .map(|s| c.cases_by_state.get(s.code()).copied().unwrap_or(0).into()),
            );
            row.extend(span_cells(&c.durations));
            row.extend(measure_cells(&c.measures));
            row
        })
        .collect();
    let mut notes: Vec<Vec<Cell>> = vec![vec![
        format!(
            "{} ({})",
            l.t("figures.generated_at"),
            l.t("figures.beijing")
        )
        .into(),
        Cell::time(&fig.generated_at),
    ]];
    let lines = filter_lines(&fig.filter, l);
    if lines.is_empty() {
        notes.push(vec![
            l.t("figures.filters").into(),
            l.t("figures.no_filter").into(),
        ]);
    }
    notes.extend(
        lines
            .into_iter()
            .map(|(k, v)| vec![Cell::Text(k), Cell::Text(v)]),
    );
    notes.push(vec![
        l.t("figures.rank_rule").into(),
        l.t("figures.def.rank")
            .replace("{n}", &fig.rank_min_decided.to_string())
            .into(),
    ]);
    for key in DEFINITIONS {
        notes.push(vec![l.t(key.0).into(), l.t(key.1).into()]);
    }
    let dh: Vec<&str> = dept_headers.iter().map(String::as_str).collect();
    let ch: Vec<&str> = cat_headers.iter().map(String::as_str).collect();
    let note_headers = [l.t("figures.item"), l.t("figures.value")];
    write_workbook(&[
        Sheet {
            name: l.t("figures.sheet.departments"),
            headers: &dh,
            rows: &dept_rows,
        },
        Sheet {
            name: l.t("figures.sheet.categories"),
            headers: &ch,
            rows: &cat_rows,
        },
        Sheet {
            name: l.t("figures.sheet.notes"),
            headers: &note_headers,
            rows: &notes,
        },
    ])
}

/// (term, definition) catalogue keys, shown on the page and in the notes sheet.
pub const DEFINITIONS: [(&str, &str); 8] = [
    ("figures.def.times.term", "figures.def.times"),
    ("figures.def.unit_clock.term", "figures.def.unit_clock"),
    ("figures.on_time_rate", "figures.def.on_time"),
    ("figures.overdue", "figures.def.overdue"),
    ("figures.rework_rate", "figures.def.rework"),
    ("figures.extension_rate", "figures.def.extension"),
    ("figures.urges", "figures.def.urges"),
    ("figures.def.quantile.term", "figures.def.quantile"),
];

/// Figures per department and per category for the cases matching the list's filters, with the
/// ranking of departments. Durations in milliseconds; the definitions are in the notes sheet of
/// `figures.xlsx` and on the page `/cases/figures`.
#[utoipa::path(get, path = "/api/v1/cases/figures", tag = "cases", operation_id = "case_figures", params(CaseFilter, Exactness),
    responses((status = 200, body = CaseFigures), (status = 422, body = crate::error::ErrorBody)))]
async fn figures_route(
    State(state): State<CasesState>,
    Can(p, _): Can<perm::CaseFigures>,
    ApiQuery(f): ApiQuery<CaseFilter>,
    ApiQuery(how): ApiQuery<Exactness>,
) -> AppResult<ApiJson<CaseFigures>> {
    Ok(ApiJson(
        figures_by(&state.db, &p, &f, crate::time::now_ms(), how.reading()).await?,
    ))
}

/// How the quantiles are read.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Exactness {
    /// Read every case the filters select for exact medians and 90th percentiles (slower on a
    /// long history); without it they come from the running tallies where the filters allow, to
    /// within 1 % (`exact_quantiles` says which).
    #[serde(default, deserialize_with = "crate::http::empty_as_none")]
    #[param(schema_with = crate::http::empty_or::<bool>)]
    pub exact: Option<bool>,
}

impl Exactness {
    pub fn reading(&self) -> Reading {
        if self.exact == Some(true) {
            Reading::History
        } else {
            Reading::Tallies
        }
    }
}

/// The figures as xlsx: by department, by category, and notes (filters, time, definitions), in
/// the caller's language (`lang=en` for English).
#[utoipa::path(get, path = "/api/v1/cases/figures.xlsx", tag = "cases", operation_id = "case_figures_xlsx", params(CaseFilter, Exactness, ("lang" = Option<String>, Query, description = "zh (default) or en")),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>), (status = 422, body = crate::error::ErrorBody)))]
async fn figures_xlsx_route(
    State(state): State<CasesState>,
    Can(p, _): Can<perm::CaseFigures>,
    locale: Locale,
    ApiQuery(f): ApiQuery<CaseFilter>,
    ApiQuery(how): ApiQuery<Exactness>,
) -> AppResult<impl IntoResponse> {
    let fig = figures_by(&state.db, &p, &f, crate::time::now_ms(), how.reading()).await?;
    Ok((
        crate::tabular::xlsx_headers("huoyan-case-figures.xlsx"),
        figures_xlsx(&fig, locale)?,
    ))
}

pub fn api() -> OpenApiRouter<CasesState> {
    OpenApiRouter::new()
        .routes(routes!(figures_route))
        .routes(routes!(figures_xlsx_route))
}

/// The figures page, `/cases/figures`.
pub mod tallies;
#[cfg(test)]
mod tests;
