//! `cases`: problems and suggestions from every source, chased through the workflow of
//! `huoyan_core::cases` from report to verified fix. Reports are filed by the intake's group
//! commit (`report`, `intake`), read in the caller's scope (`views`), moved by workflow steps that
//! the core decides (`workflow`) and only `store` writes; around them the units' tasks, files,
//! the overdue job, duplicates, zero reports, figures, pages and Open311.

pub mod board;
pub mod bulk;
mod case_page;
pub mod check_ins;
mod duplicates;
mod evidence;
mod exports;
pub mod figures;
mod figures_page;
pub mod files;
mod forms;
pub mod intake;
mod labels;
mod navigate;
pub mod open311;
pub mod overdue;
pub mod pages;
mod pins;
mod report;
pub mod search;
mod steps;
mod store;
mod tasks;
mod views;
mod workflow;

pub use navigate::{Waiting, waiting};
pub use report::{Finding, NewCase, file_finding, report};
pub use steps::{CoTask, TransitionRequest};
pub use views::{Case, CaseDetail, CaseFilter, ListSql, TimelineEntry, detail, get_scoped, list};
pub use workflow::{act, take};

use axum::extract::State;
use axum::http::StatusCode;
use huoyan_core::auth::Role;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Can, perm};
use crate::db::Db;
use crate::error::AppResult;
use crate::http::{ApiJson, ApiPath, ApiQuery, IdempotencyKey, ListPage};
use crate::web::{Menu, MenuItem};
use forms::WithFiles;
use views::scoped_in;

/// What `cases`' routes, pages and jobs need.
#[derive(Clone, axum::extract::FromRef)]
pub struct CasesState {
    pub db: Db,
    pub menu: Menu,
    /// `org`'s cache of region lineages, to check compounds without a read.
    pub regions: crate::org::regions::Lineages,
    /// The group-commit writer that files cases.
    pub intake: std::sync::Arc<intake::Intake>,
    /// How long a unit has to fix a case (the city's configuration, or the defaults).
    pub deadlines: std::sync::Arc<huoyan_core::cases::DeadlinePolicy>,
    /// Which categories' fixes need a photo (the city's configuration, or the defaults).
    pub evidence: std::sync::Arc<huoyan_core::cases::EvidencePolicy>,
    /// The duplicate proposer's weights and neighbours, kept between requests.
    pub proposer: std::sync::Arc<duplicates::Proposer>,
}

/// Cases in the caller's scope, overdue first, then newest.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", operation_id = "list_cases", params(CaseFilter), responses((status = 200, body = ListPage<Case>)))]
async fn list_route(
    State(state): State<CasesState>,
    Can(p, _): Can<perm::CasesRead>,
    ApiQuery(f): ApiQuery<CaseFilter>,
) -> AppResult<ApiJson<ListPage<Case>>> {
    Ok(ApiJson(list(&state.db, &p, &f).await?))
}

/// File a problem or suggestion, as JSON, or as multipart/form-data with its photos (`file`
/// parts): the case and its photos are filed together, or nothing is (a refused photo is a 422
/// naming its part). Send `Idempotency-Key` so a resend never makes a second case.
#[utoipa::path(post, path = "/api/v1/cases", tag = "cases", operation_id = "create_case",
    request_body(content((NewCase = "application/json"), (forms::NewCaseForm = "multipart/form-data"))),
    params(("Idempotency-Key" = Option<String>, Header, max_length = 200, description = "one key, one case: a resend with the same key answers with the first case")),
    responses((status = 201, body = CaseDetail), (status = 200, body = CaseDetail, description = "the key was used before"), (status = 413, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn create_route(
    State(state): State<CasesState>,
    Can(p, _): Can<perm::CasesReport>,
    key: IdempotencyKey,
    new: WithFiles<NewCase>,
) -> AppResult<(StatusCode, ApiJson<CaseDetail>)> {
    let (id, made) = report(&state, &p, &new.body, &key, &new.files).await?;
    Ok(match made {
        // Just written: answered as written, without reading it back.
        Some(case) => (StatusCode::CREATED, ApiJson(case)),
        None => (StatusCode::OK, ApiJson(detail(&state.db, &p, id).await?)),
    })
}

/// One case with its timeline.
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases", operation_id = "get_case", params(("id" = i64, Path)), responses((status = 200, body = CaseDetail), (status = 404, body = crate::error::ErrorBody)))]
async fn get_route(
    State(state): State<CasesState>,
    Can(p, _): Can<perm::CasesRead>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<ApiJson<CaseDetail>> {
    Ok(ApiJson(detail(&state.db, &p, id).await?))
}

/// Take a workflow step (triage, dispatch, report the fix, verify…), as JSON, or as
/// multipart/form-data with its evidence (`file` parts), which belongs to the step. Refused
/// with 403 for a role that may not take it, 422 when the case is not in a state that allows
/// it, and 422 naming `file` for a fix without a photo in a category whose policy asks for one.
#[utoipa::path(post, path = "/api/v1/cases/{id}/transitions", tag = "cases", operation_id = "transition_case", params(("id" = i64, Path)),
    request_body(content((TransitionRequest = "application/json"), (forms::StepForm = "multipart/form-data"))),
    responses((status = 200, body = CaseDetail), (status = 403, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn transition_route(
    State(state): State<CasesState>,
    Can(p, _): Can<perm::CasesRead>,
    ApiPath(id): ApiPath<i64>,
    req: WithFiles<TransitionRequest>,
) -> AppResult<ApiJson<CaseDetail>> {
    act(&state, &p, id, &req.body, &req.files).await?;
    Ok(ApiJson(detail(&state.db, &p, id).await?))
}

pub fn api() -> OpenApiRouter<CasesState> {
    OpenApiRouter::new()
        .routes(routes!(list_route, create_route))
        .routes(routes!(transition_route))
        // A report's or a step's photos come with it, as an upload's do.
        .layer(axum::extract::DefaultBodyLimit::max(
            files::MAX_REQUEST_BYTES,
        ))
        .routes(routes!(get_route))
        .merge(check_ins::api())
        .merge(files::api())
        .merge(duplicates::api())
        .merge(figures::api())
        .merge(exports::api())
        .merge(pins::api())
}

/// The field pages the service worker keeps for use without a network, and their scripts.
pub const OFFLINE: &[&str] = &[
    "/cases/new",
    "/check-ins",
    "/static/report.js",
    "/static/check_ins.js",
];

pub fn pages() -> axum::Router<CasesState> {
    pages::router()
        .merge(check_ins::pages())
        .merge(figures_page::router())
}

/// `cases`' entries in the menu: the report form, each role's queues, the check-ins and figures.
pub fn menu() -> Vec<MenuItem> {
    use huoyan_core::auth::Permission;
    use pages::{View, views_for};
    vec![
        MenuItem::new("/cases/new", "cases.new", |r: Role| {
            r.allows(Permission::CasesReport)
        }),
        MenuItem::new(View::Mine.href(), View::Mine.title_key(), |r: Role| {
            views_for(r).contains(&View::Mine)
        }),
        MenuItem::new(View::Triage.href(), View::Triage.title_key(), |r: Role| {
            views_for(r).contains(&View::Triage)
        }),
        MenuItem::new(View::Board.href(), View::Board.title_key(), |r: Role| {
            views_for(r).contains(&View::Board)
        }),
        MenuItem::new(View::Inbox.href(), View::Inbox.title_key(), |r: Role| {
            views_for(r).contains(&View::Inbox)
        }),
        MenuItem::new(View::Verify.href(), View::Verify.title_key(), |r: Role| {
            views_for(r).contains(&View::Verify)
        }),
        MenuItem::new(View::All.href(), View::All.title_key(), |r: Role| {
            views_for(r).contains(&View::All)
        }),
        MenuItem::new("/check-ins", "checkins.title", |r: Role| {
            r.allows(Permission::CasesReport) || r.allows(Permission::CheckInsRead)
        }),
        MenuItem::new("/cases/figures", "figures.title", |r: Role| {
            r.allows(Permission::CaseFigures)
        }),
    ]
}
