//! The rounds on a phone: the team's rounds and the form that plans one over its area's sites,
//! and a round's stops in the proposed order, each answered item by item where it stands. A
//! failure links to its case, where the inspector fixes it on the spot with a photo.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use huoyan_core::auth::Permission;
use huoyan_core::cases::CaseState;
use huoyan_core::inspections::checklist::Answer;
use serde::Deserialize;

use super::InspectionsState;
use super::rounds::{self, RoundDetail, RoundFilter, RoundSummary, StopView};
use super::visits::Visit;
use crate::audit::Change;
use crate::auth::{Page, Principal, perm};
use crate::error::{AppError, FieldError};
use crate::http::ListPage;
use crate::web::{JAVASCRIPT, PageCtx, PageError, PageResultExt, asset, render};

#[derive(askama::Template)]
#[template(path = "inspections/rounds.html")]
struct RoundsPage {
    ctx: PageCtx,
    page: ListPage<RoundSummary>,
    /// The sites of an inspector's team area (id, label), for planning; empty for other roles.
    sites: Vec<(i64, String)>,
    /// The team's members (id, name), each going on the round unless unticked.
    members: Vec<(i64, String)>,
    today: String,
}

#[derive(Deserialize)]
struct Offset {
    offset: Option<i64>,
}

/// The sites of the caller's team area (the coverage view's rows), by region then name.
async fn area_sites(
    state: &InspectionsState,
    p: &Principal,
    team: i64,
) -> Result<Vec<(i64, String)>, AppError> {
    let q = super::coverage::CoverageQuery {
        team_id: Some(team),
        window_hours: None,
        at: None,
        blind: None,
    };
    let mut rows = super::coverage::coverage(&state.db, p, &q).await?;
    rows.sort_by(|a, b| {
        (&a.region_name, &a.site_name, a.site_id).cmp(&(&b.region_name, &b.site_name, b.site_id))
    });
    Ok(rows
        .into_iter()
        .map(|r| (r.site_id, format!("{} · {}", r.region_name, r.site_name)))
        .collect())
}

/// The members of team `team`, by name.
async fn team_members(state: &InspectionsState, team: i64) -> Result<Vec<(i64, String)>, AppError> {
    Ok(sqlx::query_as(
        "SELECT p.id, p.name FROM team_members m JOIN people p ON p.id = m.person_id \
         WHERE m.team_id = $1 ORDER BY p.name, p.id",
    )
    .bind(team)
    .fetch_all(&state.db.pool)
    .await?)
}

async fn rounds_page(
    State(state): State<InspectionsState>,
    Page {
        user, ctx, locale, ..
    }: Page<perm::InspectionsRead>,
    Query(q): Query<Offset>,
) -> Result<Response, PageError> {
    let filter = RoundFilter {
        team_id: None,
        day: None,
        limit: Some(50),
        offset: q.offset,
    };
    let page = rounds::list(&state.db, &user, &filter).await.page(locale)?;
    let (sites, members) = match user.scope.team_id {
        Some(team) if user.role.allows(Permission::InspectionsRun) => (
            area_sites(&state, &user, team).await.page(locale)?,
            team_members(&state, team).await.page(locale)?,
        ),
        _ => (Vec::new(), Vec::new()),
    };
    Ok(render(&RoundsPage {
        ctx,
        page,
        sites,
        members,
        today: crate::time::beijing_day(crate::time::now_ms()),
    }))
}

#[derive(Deserialize)]
struct PlanForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    day: String,
    #[serde(default)]
    site_ids: Vec<String>,
    #[serde(default)]
    member_ids: Vec<String>,
}

/// Ids ticked in the form's boxes named `field`; a value that is no id fails its field.
fn ticked(field: &str, values: &[String]) -> Result<Vec<i64>, AppError> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.trim().parse::<i64>().map_err(|_| {
                AppError::Invalid(vec![FieldError::new(format!("{field}[{i}]"), "not an id")])
            })
        })
        .collect()
}

async fn plan_submit(
    State(state): State<InspectionsState>,
    Page { user, locale, .. }: Page<perm::InspectionsRun>,
    axum_extra::extract::Form(form): axum_extra::extract::Form<PlanForm>,
) -> Result<Response, PageError> {
    user.check_csrf(Some(&form.csrf)).page(locale)?;
    let new = rounds::NewRound {
        team_id: None,
        day: crate::check::Text::field("day", form.day).page(locale)?,
        site_ids: ticked("site_ids", &form.site_ids).page(locale)?,
        member_ids: ticked("member_ids", &form.member_ids).page(locale)?,
        start_lon: None,
        start_lat: None,
    };
    let id = Change::run(&state.db, &user.actor(), async |c| {
        rounds::plan(c, &user, &new).await
    })
    .await
    .page(locale)?;
    Ok(Redirect::to(&format!("/inspections/rounds/{id}")).into_response())
}

#[derive(askama::Template)]
#[template(path = "inspections/round.html")]
struct RoundPage {
    ctx: PageCtx,
    round: RoundDetail,
    can_visit: bool,
    can_flag: bool,
    flagged: bool,
}

impl RoundPage {
    fn km(&self, m: &f64) -> String {
        format!("{:.2}", m / 1000.0)
    }

    fn metres(&self, m: &Option<f64>) -> String {
        m.map(|m| format!("{m:.0}")).unwrap_or_default()
    }

    fn coord(&self, c: &Option<f64>) -> String {
        c.map(|c| c.to_string()).unwrap_or_default()
    }

    fn text<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        if self.ctx.en() { en } else { zh }
    }

    fn item(&self, stop: &StopView, code: &str) -> String {
        stop.checklist
            .items
            .iter()
            .find(|i| i.code == code)
            .map(|i| self.text(&i.zh, &i.en).to_string())
            .unwrap_or_else(|| code.to_string())
    }

    fn answer_label(&self, code: &str) -> &'static str {
        Answer::parse(code)
            .map(|a| a.label(self.ctx.en()))
            .unwrap_or("")
    }

    fn state_label(&self, code: &Option<String>) -> &'static str {
        code.as_deref()
            .and_then(CaseState::parse)
            .map(|s| s.label(self.ctx.en()))
            .unwrap_or("")
    }
}

#[derive(Deserialize)]
struct Flagged {
    flagged: Option<String>,
}

async fn round_page(
    State(state): State<InspectionsState>,
    Page {
        user, ctx, locale, ..
    }: Page<perm::InspectionsRead>,
    Path(id): Path<i64>,
    Query(q): Query<Flagged>,
) -> Result<Response, PageError> {
    let round = rounds::detail(&state.db, &user, id).await.page(locale)?;
    let own = user.scope.team_id == Some(round.team_id);
    Ok(render(&RoundPage {
        ctx,
        can_visit: own && user.role.allows(Permission::InspectionsRun),
        can_flag: own && user.role.allows(Permission::DisciplineFlag),
        flagged: q.flagged.is_some(),
        round,
    }))
}

/// The visit form's fields: `answer.<code>` and `note.<code>` for each item, and the place.
async fn visit_submit(
    State(state): State<InspectionsState>,
    Page { user, locale, .. }: Page<perm::InspectionsRun>,
    Path(stop): Path<i64>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    user.check_csrf(form.get("_csrf").map(String::as_str))
        .page(locale)?;
    let mut answers = Vec::new();
    let mut codes: Vec<&str> = form
        .keys()
        .filter_map(|k| k.strip_prefix("answer."))
        .collect();
    codes.sort();
    for code in codes {
        answers.push(serde_json::json!({
            "code": code,
            "answer": form[&format!("answer.{code}")],
            "note": form.get(&format!("note.{code}")).cloned().unwrap_or_default(),
        }));
    }
    let number = |field: &str| -> Result<f64, PageError> {
        form.get(field)
            .and_then(|v| v.trim().parse::<f64>().ok())
            .ok_or_else(|| {
                AppError::invalid(field, "where the visit was made (the phone's position)")
            })
            .page(locale)
    };
    let visit: Visit = crate::http::from_fields(
        serde_json::json!({
            "lon": number("lon")?, "lat": number("lat")?,
            "note": form.get("note").cloned().unwrap_or_default(), "answers": answers,
        })
        .as_object()
        .cloned()
        .unwrap_or_default(),
    )
    .page(locale)?;
    let db = state.db.clone();
    let round = Change::run(&state.db, &user.actor(), async |c| {
        super::visits::visit(c, &db, &user, stop, &visit).await
    })
    .await
    .page(locale)?;
    Ok(Redirect::to(&format!("/inspections/rounds/{round}#stop-{stop}")).into_response())
}

async fn script() -> Response {
    asset(JAVASCRIPT, include_str!("../../static/inspections.js"))
}

pub fn router() -> Router<InspectionsState> {
    Router::new()
        .route(
            "/inspections",
            axum::routing::get(rounds_page).post(plan_submit),
        )
        .route("/inspections/rounds/{id}", axum::routing::get(round_page))
        .route(
            "/inspections/stops/{id}/visit",
            axum::routing::post(visit_submit),
        )
        .route("/static/inspections.js", axum::routing::get(script))
}
