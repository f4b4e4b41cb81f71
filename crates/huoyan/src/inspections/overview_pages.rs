//! The commission's overview pages: the blind spots as a list and on a map of the areas'
//! outlines with the key sites pinned, and the inspection figures (with the discipline records
//! by outcome for the roles that may see them).

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use huoyan_core::inspections::discipline::may_see;
use serde::Deserialize;

use super::InspectionsState;
use super::coverage::{CoverageQuery, SiteCoverage, coverage};
use super::discipline::FlagFigures;
use super::figures::{FiguresQuery, InspectionFigures, figures};
use crate::auth::{Page, perm};
use crate::web::map::MapView;
use crate::web::{PageCtx, PageError, PageResultExt, render};

#[derive(askama::Template)]
#[template(path = "inspections/coverage.html")]
struct CoveragePage {
    ctx: PageCtx,
    teams: Vec<(i64, String)>,
    team_id: Option<i64>,
    window: i64,
    at_local: String,
    rows: Vec<SiteCoverage>,
    blind: usize,
    map: MapView,
}

impl CoveragePage {
    fn picked(&self, id: &i64) -> bool {
        self.team_id == Some(*id)
    }

    fn standing(&self, s: &str) -> &'static str {
        self.ctx.locale.t(match s {
            "never" => "inspections.never",
            "stale" => "inspections.stale",
            _ => "inspections.covered",
        })
    }
}

#[derive(Deserialize)]
struct CoverageForm {
    team_id: Option<String>,
    window_hours: Option<String>,
    /// Beijing wall time, as a datetime-local input gives it.
    at_local: Option<String>,
}

async fn coverage_page(
    State(state): State<InspectionsState>,
    Page {
        user, ctx, locale, ..
    }: Page<perm::InspectionsRead>,
    Query(form): Query<CoverageForm>,
) -> Result<Response, PageError> {
    let team_id = form.team_id.as_deref().and_then(|t| t.trim().parse().ok());
    let window = form
        .window_hours
        .as_deref()
        .and_then(|w| w.trim().parse().ok())
        .unwrap_or(24);
    let at_local = form.at_local.unwrap_or_default();
    let at = crate::time::beijing_local(&at_local);
    let q = CoverageQuery {
        team_id,
        window_hours: Some(window),
        at: at
            .as_deref()
            .and_then(|s| crate::time::parse_time("at", s).ok())
            .map(crate::time::Instant),
        blind: None,
    };
    let rows = coverage(&state.db, &user, &q).await.page(locale)?;
    let mut teams: Vec<(i64, String)> = rows
        .iter()
        .map(|r| (r.team_id, r.team_name.clone()))
        .collect();
    teams.sort();
    teams.dedup();
    // The areas of the teams the caller sees (the one asked for, if any).
    let mut areas: Vec<i64> = super::coverage::areas(&state.db, &user)
        .await
        .page(locale)?
        .into_iter()
        .filter(|a| team_id.is_none_or(|t| t == a.team_id))
        .flat_map(|a| a.region_ids)
        .collect();
    areas.sort();
    areas.dedup();
    // The areas' outlines, and those of the compounds inside them (a community's area is drawn
    // by its compounds where it has no outline of its own).
    let ids: Vec<String> = areas.iter().map(i64::to_string).collect();
    let mut outlines = vec![format!("ids={}", ids.join(","))];
    outlines.extend(areas.iter().map(|a| format!("within={a}&limit=500")));
    let mut sites_query = format!("window_hours={window}");
    if let Some(t) = team_id {
        sites_query.push_str(&format!("&team_id={t}"));
    }
    if let Some(at) = &at {
        sites_query.push_str(&format!("&at={}", at.replace('+', "%2B")));
    }
    let mut map = MapView::outlines(locale).with_sites(sites_query);
    map.regions = outlines;
    let blind = rows.iter().filter(|r| r.blind).count();
    Ok(render(&CoveragePage {
        ctx,
        teams,
        team_id,
        window,
        at_local,
        blind,
        rows,
        map,
    }))
}

#[derive(askama::Template)]
#[template(path = "inspections/figures.html")]
struct FiguresPage {
    ctx: PageCtx,
    f: InspectionFigures,
    discipline: Option<FlagFigures>,
    from: String,
    to: String,
}

impl FiguresPage {
    fn percent(&self, v: &Option<f64>) -> String {
        v.map(|v| format!("{:.1}%", v * 100.0))
            .unwrap_or_else(|| "—".into())
    }

    fn hours(&self, v: &Option<f64>) -> String {
        v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "—".into())
    }
}

#[derive(Deserialize)]
struct DaysForm {
    from: Option<String>,
    to: Option<String>,
}

async fn figures_page(
    State(state): State<InspectionsState>,
    Page {
        user, ctx, locale, ..
    }: Page<perm::InspectionsRead>,
    Query(form): Query<DaysForm>,
) -> Result<Response, PageError> {
    let (from, to) = (form.from.unwrap_or_default(), form.to.unwrap_or_default());
    let q = FiguresQuery {
        from: Some(from.clone()),
        to: Some(to.clone()),
    };
    let f = figures(&state.db, &user, &q).await.page(locale)?;
    // Only the commission's roles learn that discipline records exist at all.
    let discipline = if may_see(user.role) {
        Some(super::discipline::figures(&state.db).await.page(locale)?)
    } else {
        None
    };
    Ok(render(&FiguresPage {
        ctx,
        f,
        discipline,
        from,
        to,
    }))
}

pub fn router() -> Router<InspectionsState> {
    Router::new()
        .route("/inspections/coverage", axum::routing::get(coverage_page))
        .route("/inspections/figures", axum::routing::get(figures_page))
}
