//! The figures page, `/cases/figures`: the list's filters as a GET form, the departments in
//! ranking order, the categories with the overall row, the definitions, and links to both
//! workbooks with the filters applied. Phone-first: each table scrolls inside its own box.

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use huoyan_core::cases::{CaseState, Category, Source, TaskState};
use serde::Deserialize;

use super::CaseFilter;
use super::figures::{
    CaseFigures, CategoryRow, DEFINITIONS, DurationsJson, MeasuresJson, Reading, StatJson,
    category_label, figures_by,
};
use crate::auth::{Page, perm};
use crate::cases::CasesState;
use crate::error::{AppError, AppResult};
use crate::i18n::Locale;
use crate::web::PageCtx;
use crate::web::PageError;
use crate::web::PageResultExt;
use crate::web::render;

/// The form as sent: empty fields are "any", numbers arrive as text.
#[derive(Debug, Default, Deserialize)]
struct FormQuery {
    from: Option<String>,
    to: Option<String>,
    category: Option<String>,
    source: Option<String>,
    state: Option<String>,
    region_id: Option<String>,
    department_id: Option<String>,
    /// Exact quantiles (a checkbox: "on", or "true" from a link).
    exact: Option<String>,
}

fn given(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn id(field: &str, v: Option<String>) -> AppResult<Option<i64>> {
    given(v)
        .map(|s| {
            s.parse::<i64>()
                .map_err(|_| AppError::invalid(field, "choose from the list"))
        })
        .transpose()
}

impl FormQuery {
    fn filter(self) -> AppResult<CaseFilter> {
        Ok(CaseFilter {
            region_id: id("region_id", self.region_id)?,
            department_id: id("department_id", self.department_id)?,
            from: given(self.from),
            to: given(self.to),
            category: given(self.category),
            source: given(self.source),
            state: given(self.state),
            ..Default::default()
        })
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The applied filter (and the language) as a query string for the download links.
fn query_string(f: &CaseFilter, l: Locale, exact: bool) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if exact {
        pairs.push(("exact", "true".into()));
    }
    for (k, v) in [
        ("from", &f.from),
        ("to", &f.to),
        ("category", &f.category),
        ("source", &f.source),
        ("state", &f.state),
    ] {
        if let Some(v) = v {
            pairs.push((k, v.clone()));
        }
    }
    for (k, v) in [
        ("region_id", f.region_id),
        ("department_id", f.department_id),
    ] {
        if let Some(v) = v {
            pairs.push((k, v.to_string()));
        }
    }
    pairs.push(("lang", if l.is_en() { "en" } else { "zh" }.into()));
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A duration as hours and minutes (rounded to the minute), or a dash.
fn hm(ms: Option<i64>, l: Locale) -> String {
    let Some(ms) = ms else {
        return "—".into();
    };
    let sign = if ms < 0 { "-" } else { "" };
    let minutes = (ms.abs() + 30_000) / 60_000;
    let (h, m) = (minutes / 60, minutes % 60);
    let (uh, um) = (l.t("figures.unit_h"), l.t("figures.unit_min"));
    if h > 0 {
        format!("{sign}{h}{uh}{m:02}{um}")
    } else {
        format!("{sign}{m}{um}")
    }
}

/// A rate with the counts it is made of: "83.3% (5/6)", or a dash.
fn rate(num: i64, den: i64) -> String {
    if den == 0 {
        "—".into()
    } else {
        format!("{:.1}% ({num}/{den})", num as f64 * 100.0 / den as f64)
    }
}

/// One duration's cells: median, 90th percentile, and how many values they are drawn from.
struct SpanCells {
    median: String,
    p90: String,
    n: usize,
}

fn spans(d: &DurationsJson, l: Locale) -> Vec<SpanCells> {
    // The headline first, then the stages in their order.
    [
        &d.report_to_verified,
        &d.report_to_dispatch,
        &d.dispatch_to_rectified,
        &d.rectified_to_verified,
    ]
    .into_iter()
    .map(|s: &StatJson| SpanCells {
        median: hm(s.median_ms, l),
        p90: hm(s.p90_ms, l),
        n: s.n,
    })
    .collect()
}

/// The rates shown in both tables.
struct Rates {
    on_time: String,
    overdue: i64,
    rework: String,
    extension: String,
    urges: i64,
    tasks: i64,
}

fn rates(m: &MeasuresJson) -> Rates {
    Rates {
        on_time: rate(m.on_time, m.decided),
        overdue: m.overdue,
        rework: rate(m.reworked, m.fixed),
        extension: rate(m.extended, m.tasks),
        urges: m.urges,
        tasks: m.tasks,
    }
}

struct DepartmentView {
    rank: String,
    name: String,
    open: i64,
    done: i64,
    rates: Rates,
    spans: Vec<SpanCells>,
}

struct CategoryView {
    label: String,
    cases: i64,
    states: Vec<i64>,
    rates: Rates,
    spans: Vec<SpanCells>,
}

fn category_view(c: &CategoryRow, l: Locale) -> CategoryView {
    CategoryView {
        label: category_label(c.category.as_deref(), l),
        cases: c.cases,
        states: CaseState::ALL
            .iter()
            .map(|s| c.cases_by_state.get(s.code()).copied().unwrap_or(0))
            .collect(),
        rates: rates(&c.measures),
        spans: spans(&c.durations, l),
    }
}

#[derive(askama::Template)]
#[template(path = "cases/figures.html")]
struct FiguresPage {
    ctx: PageCtx,
    filter: CaseFilter,
    query: String,
    generated_at: String,
    departments: Vec<DepartmentView>,
    categories: Vec<CategoryView>,
    overall: CategoryView,
    state_labels: Vec<&'static str>,
    span_labels: Vec<&'static str>,
    categories_choice: Vec<(&'static str, &'static str)>,
    sources_choice: Vec<(&'static str, &'static str)>,
    states_choice: Vec<(&'static str, &'static str)>,
    districts: Vec<(i64, String)>,
    units: Vec<(i64, String)>,
    own_unit_only: bool,
    definitions: Vec<(String, String)>,
    /// Exact quantiles were asked for.
    exact: bool,
    /// The quantiles shown are exact (else read from the tallies, within 1 %).
    exact_quantiles: bool,
}

impl FiguresPage {
    fn is(&self, v: &Option<String>, code: &str) -> bool {
        v.as_deref() == Some(code)
    }
    fn is_id(&self, v: &Option<i64>, id: &i64) -> bool {
        *v == Some(*id)
    }
    fn text<'a>(&self, v: &'a Option<String>) -> &'a str {
        v.as_deref().unwrap_or("")
    }
}

async fn figures_page(
    State(state): State<CasesState>,
    Page {
        user, locale, ctx, ..
    }: Page<perm::CaseFigures>,
    Query(form): Query<FormQuery>,
) -> Result<Response, PageError> {
    let l = locale;
    let en = l.is_en();
    let page = async {
        let exact = matches!(form.exact.as_deref(), Some("on" | "true" | "1"));
        let filter = form.filter()?;
        let reading = if exact {
            Reading::History
        } else {
            Reading::Tallies
        };
        let fig: CaseFigures =
            figures_by(&state.db, &user, &filter, crate::time::now_ms(), reading).await?;
        let districts = super::pages::options(
            &state.db,
            "SELECT id, name FROM regions WHERE level = 'district' ORDER BY code, id",
        )
        .await?;
        let own_unit_only = user.scope.department_id.is_some();
        let units = if own_unit_only {
            vec![]
        } else {
            super::pages::options(
                &state.db,
                "SELECT id, name FROM departments ORDER BY name, id",
            )
            .await?
        };
        let departments = fig
            .by_department
            .iter()
            .map(|u| {
                let count = |s: TaskState| u.tasks_by_state.get(s.code()).copied().unwrap_or(0);
                DepartmentView {
                    rank: u
                        .rank
                        .map(|r| r.to_string())
                        .unwrap_or_else(|| l.t("figures.unranked").to_string()),
                    name: u.department.clone(),
                    open: count(TaskState::Dispatched) + count(TaskState::Rectifying),
                    done: count(TaskState::Done),
                    rates: rates(&u.measures),
                    spans: spans(&u.durations, l),
                }
            })
            .collect();
        let mut definitions: Vec<(String, String)> = DEFINITIONS
            .iter()
            .map(|(term, def)| (l.t(term).to_string(), l.t(def).to_string()))
            .collect();
        definitions.push((
            l.t("figures.rank_rule").to_string(),
            l.t("figures.def.rank")
                .replace("{n}", &fig.rank_min_decided.to_string()),
        ));
        Ok::<_, AppError>(FiguresPage {
            exact,
            exact_quantiles: fig.exact_quantiles,
            query: query_string(&filter, l, exact),
            generated_at: chrono::DateTime::parse_from_rfc3339(&fig.generated_at)
                .map(|t| crate::time::beijing(t.timestamp_millis()))
                .unwrap_or_default(),
            departments,
            categories: fig
                .by_category
                .iter()
                .map(|c| category_view(c, l))
                .collect(),
            overall: category_view(&fig.overall, l),
            state_labels: CaseState::ALL.iter().map(|s| s.label(en)).collect(),
            span_labels: [
                "figures.span.report_to_verified",
                "figures.span.report_to_dispatch",
                "figures.span.dispatch_to_rectified",
                "figures.span.rectified_to_verified",
            ]
            .iter()
            .map(|k| l.t(k))
            .collect(),
            categories_choice: Category::choices(en),
            sources_choice: Source::choices(en),
            states_choice: CaseState::choices(en),
            districts,
            units,
            own_unit_only,
            definitions,
            filter,
            ctx,
        })
    }
    .await
    .page(locale)?;
    Ok(render(&page))
}

pub fn router() -> Router<CasesState> {
    Router::new().route("/cases/figures", get(figures_page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_hours_and_minutes() {
        assert_eq!(hm(None, Locale::Zh), "—");
        assert_eq!(hm(Some(90 * 60_000), Locale::Zh), "1小时30分");
        assert_eq!(
            hm(Some(26 * 3_600_000 + 5 * 60_000), Locale::En),
            "26 h 05 min"
        );
        assert_eq!(hm(Some(29_999), Locale::En), "0 min");
        assert_eq!(hm(Some(-120_000), Locale::En), "-2 min");
        assert_eq!(rate(5, 6), "83.3% (5/6)");
        assert_eq!(rate(0, 0), "—");
    }

    #[test]
    fn download_links_carry_the_filters() {
        let f = CaseFilter {
            from: Some("2022-08-20".into()),
            category: Some("supplies".into()),
            region_id: Some(7),
            ..Default::default()
        };
        assert_eq!(
            query_string(&f, Locale::En, false),
            "from=2022-08-20&category=supplies&region_id=7&lang=en"
        );
        assert_eq!(
            query_string(&f, Locale::En, true),
            "exact=true&from=2022-08-20&category=supplies&region_id=7&lang=en"
        );
        assert_eq!(encode("a b&c=中"), "a%20b%26c%3D%E4%B8%AD");
    }
}
