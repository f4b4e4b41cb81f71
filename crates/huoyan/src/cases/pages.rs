//! The cases pages: the supervisor's phone form (with an offline draft sent once), the queues of
//! each party (my reports, the office's triage, the group's dispatch board and verification, the
//! department's inbox) and the filtered list with search; the case page is `case_page`. Every
//! write goes through the same functions as the JSON API.

use std::collections::HashMap;

use axum::Router;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use huoyan_core::auth::Role;
use huoyan_core::cases::{CaseState, Category, Priority, Source};
use serde::Deserialize;
use sqlx::Row;

use super::files::read_form;
use super::forms::FromForm;
use super::labels::Names;
use super::{Case, CaseFilter, NewCase, TransitionRequest};
use crate::auth::{Page, Principal, perm};
use crate::cases::CasesState;
use crate::db::Db;
use crate::error::{AppError, AppResult, FieldError};
use crate::http::{IdempotencyKey, ListPage, from_fields};
use crate::web::{JAVASCRIPT, PageCtx, PageError, PageResultExt, asset, render};

/// A time for the screen: RFC 3339 in, Beijing out.
pub(super) fn bj(t: &str) -> String {
    crate::time::beijing_rfc3339(t)
}

/// The queues: a name, who sees it in the menu, and the list filter it stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    All,
    Mine,
    Triage,
    Board,
    Inbox,
    Verify,
}

impl View {
    fn parse(s: Option<&str>) -> View {
        match s {
            Some("mine") => View::Mine,
            Some("triage") => View::Triage,
            Some("board") => View::Board,
            Some("inbox") => View::Inbox,
            Some("verify") => View::Verify,
            _ => View::All,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            View::All => "all",
            View::Mine => "mine",
            View::Triage => "triage",
            View::Board => "board",
            View::Inbox => "inbox",
            View::Verify => "verify",
        }
    }

    pub fn href(self) -> &'static str {
        match self {
            View::All => "/cases",
            View::Mine => "/cases?view=mine",
            View::Triage => "/cases?view=triage",
            View::Board => "/cases?view=board",
            View::Inbox => "/cases?view=inbox",
            View::Verify => "/cases?view=verify",
        }
    }

    pub fn title_key(self) -> &'static str {
        match self {
            View::All => "cases.list",
            View::Mine => "cases.mine",
            View::Triage => "cases.triage",
            View::Board => "cases.board",
            View::Inbox => "cases.inbox",
            View::Verify => "cases.verify",
        }
    }

    /// The queue's own filter, laid over what the user chose.
    pub(super) fn apply(self, f: &mut CaseFilter, p: &Principal) {
        match self {
            View::All => {}
            View::Mine => f.mine = Some(true),
            View::Triage => f.state = Some("reported".into()),
            View::Board => {
                f.state = Some("triaged,dispatched,rectifying,rectified,verified".into())
            }
            View::Inbox => {
                f.state = Some("dispatched,rectifying".into());
                f.department_id = p.scope.department_id;
            }
            View::Verify => {
                f.state = Some("rectified".into());
                if p.role == Role::Supervisor {
                    f.mine = Some(true);
                }
            }
        }
    }
}

/// The queues in the menu for a role.
pub fn views_for(role: Role) -> &'static [View] {
    match role {
        Role::Office => &[View::Triage, View::All],
        Role::Group => &[View::Board, View::Verify, View::All],
        Role::Department => &[View::Inbox, View::All],
        Role::Supervisor => &[View::Mine, View::Verify],
        Role::Inspector | Role::Pilot => &[View::Mine],
        Role::Admin | Role::Commander | Role::Discipline => &[View::All],
        _ => &[],
    }
}

/// The queue and the outcome of a bulk step; the filters are read apart (`CaseFilter`).
#[derive(Debug, Default, Deserialize)]
struct ViewQuery {
    view: Option<String>,
    /// Ids just acted on in bulk, with the outcome (shown once after a bulk action).
    done: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "cases/list.html")]
struct ListPageT {
    ctx: PageCtx,
    view: View,
    page: ListPage<Case>,
    names: Names,
    f: CaseFilter,
    query: String,
    districts: Vec<(i64, String)>,
    departments: Vec<(i64, String)>,
    proposals: HashMap<i64, Vec<(i64, f64)>>,
    done: String,
    /// The lanes by next step, on the group's board and a unit's inbox.
    board: Option<super::board::Board>,
    /// The list's cases on a map, with the view's own filter.
    map: crate::web::map::MapView,
}

impl ListPageT {
    fn state_label(&self, s: &CaseState) -> &'static str {
        s.label(self.ctx.en())
    }
    fn category_label(&self, c: &Category) -> &'static str {
        c.label(self.ctx.en())
    }
    fn priority_label(&self, p: &Priority) -> &'static str {
        p.label(self.ctx.en())
    }
    fn lane_label(&self, l: &huoyan_core::cases::board::Lane) -> &'static str {
        l.label(self.ctx.en())
    }
    fn bj(&self, t: &str) -> String {
        bj(t)
    }
    fn opt_bj(&self, t: &Option<String>) -> String {
        t.as_deref().map(bj).unwrap_or_default()
    }
    fn selected(&self, field: &Option<String>, value: &str) -> bool {
        field.as_deref() == Some(value)
    }
    fn is_id(&self, field: &Option<i64>, value: &i64) -> bool {
        *field == Some(*value)
    }
    fn categories(&self) -> Vec<(&'static str, &'static str)> {
        Category::choices(self.ctx.en())
    }
    fn states(&self) -> Vec<(&'static str, &'static str)> {
        CaseState::choices(self.ctx.en())
    }
    fn sources(&self) -> Vec<(&'static str, &'static str)> {
        Source::choices(self.ctx.en())
    }
    fn short(&self, text: &str) -> String {
        let t: String = text.chars().take(40).collect();
        if t.chars().count() < text.chars().count() {
            format!("{t}…")
        } else {
            t
        }
    }
    fn proposals_of(&self, id: &i64) -> Vec<(i64, f64)> {
        self.proposals.get(id).cloned().unwrap_or_default()
    }
    fn pct(&self, score: &f64) -> String {
        format!("{:.0}%", score * 100.0)
    }
}

/// (id, name) pairs for a select, from a query of those two columns.
pub(super) async fn options(db: &Db, sql: &'static str) -> AppResult<Vec<(i64, String)>> {
    sqlx::query(sql)
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

async fn list_page(
    State(state): State<CasesState>,
    Page {
        user, locale, ctx, ..
    }: Page<perm::CasesRead>,
    Query(q): Query<ViewQuery>,
    filter: Result<Query<CaseFilter>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let Query(filter) = filter.map_err(AppError::from).page(locale)?;
    let view = View::parse(q.view.as_deref());
    let mut f = filter.clone();
    view.apply(&mut f, &user);
    f.limit = Some(f.limit.unwrap_or(50).clamp(1, 200));
    // A board shows its lanes, not the list: the list's page and count are not read for it
    // (they were half of the inbox's time at 990,188 cases).
    let (page, board) = match view {
        View::Board | View::Inbox => (
            ListPage::empty(),
            Some(
                super::board::board(&state.db, &user, &filter, crate::time::now_ms())
                    .await
                    .page(locale)?,
            ),
        ),
        _ => (super::list(&state.db, &user, &f).await.page(locale)?, None),
    };
    let mut proposals = HashMap::new();
    if view == View::Triage {
        let snapshot = state.proposer.snapshot(&state.db).await.page(locale)?;
        for c in &page.items {
            let found = super::duplicates::proposals_with(&state, &snapshot, &user, c.id)
                .await
                .page(locale)?;
            proposals.insert(c.id, found.iter().map(|p| (p.case.id, p.score)).collect());
        }
    }
    let shown: Vec<&Case> = match &board {
        Some(b) => b.lanes.iter().flat_map(|l| &l.items).collect(),
        None => page.items.iter().collect(),
    };
    let names = Names::of(
        &state.db,
        shown.iter().map(|c| c.compound_id),
        shown.iter().map(|c| c.department_id),
        [],
    )
    .await
    .page(locale)?;
    // The query string of the current filters, for the pager and the export link.
    let query = serde_urlencoded::to_string(CaseFilter {
        limit: None,
        offset: None,
        ..filter.clone()
    })
    .unwrap_or_default();
    let pinned = serde_urlencoded::to_string(CaseFilter {
        limit: None,
        offset: None,
        ..f
    })
    .unwrap_or_default();
    let map = crate::web::map::MapView::outlines(locale).with_cases(pinned);
    Ok(render(&ListPageT {
        ctx,
        view,
        page,
        names,
        f: filter,
        query,
        districts: options(
            &state.db,
            "SELECT id, name FROM regions WHERE level = 'district' ORDER BY code",
        )
        .await
        .page(locale)?,
        departments: options(&state.db, "SELECT id, name FROM departments ORDER BY name")
            .await
            .page(locale)?,
        proposals,
        done: q.done.unwrap_or_default(),
        board,
        map,
    }))
}

// ---- The report form -------------------------------------------------------------------------

#[derive(askama::Template)]
#[template(path = "cases/new.html")]
struct NewPage {
    ctx: PageCtx,
    compounds: Vec<(i64, String)>,
    key: String,
    form: ReportForm,
    errors: Vec<FieldError>,
    /// The files chosen for a report that was refused, by name: nothing was filed, so each is
    /// named with why it was refused, or as still to be chosen again.
    chosen: Vec<String>,
}

impl NewPage {
    fn error_for(&self, field: &str) -> String {
        crate::web::messages_for(&self.errors, field, self.ctx.locale)
    }
    /// The error of the `i`th chosen file, if it was refused.
    fn file_error(&self, i: &usize) -> String {
        let field = format!("file[{i}]");
        crate::web::messages_for(&self.errors, &field, self.ctx.locale)
    }
    fn categories(&self) -> Vec<(&'static str, &'static str)> {
        Category::choices(self.ctx.en())
    }
    fn priorities(&self) -> Vec<(&'static str, &'static str)> {
        Priority::choices(self.ctx.en())
    }
}

#[derive(Debug, Default, Clone)]
struct ReportForm {
    category: String,
    priority: String,
    compound_id: String,
    description: String,
    address: String,
    lon: String,
    lat: String,
}

/// The compounds a reporter may file against (and check in for): their own subtree.
pub(super) async fn compounds_for(db: &Db, p: &Principal) -> AppResult<Vec<(i64, String)>> {
    let path = p.scope_path.clone().unwrap_or_else(|| "/".into());
    sqlx::query("SELECT id, name FROM regions WHERE level = 'compound' AND path LIKE $1 ORDER BY code, name")
        .bind(format!("{path}%"))
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// A fresh idempotency key for one report: the form carries it, so resending the same form
/// (the phone's retry, a double tap) files one case.
fn fresh_key() -> String {
    use rand::RngExt;
    let bytes: [u8; 16] = rand::rng().random();
    hex::encode(bytes)
}

async fn new_page(
    State(state): State<CasesState>,
    Page {
        user, locale, ctx, ..
    }: Page<perm::CasesReport>,
) -> Result<Response, PageError> {
    let compounds = compounds_for(&state.db, &user).await.page(locale)?;
    let form = ReportForm {
        compound_id: if compounds.len() == 1 {
            compounds[0].0.to_string()
        } else {
            String::new()
        },
        priority: "normal".into(),
        ..Default::default()
    };
    Ok(render(&NewPage {
        ctx,
        compounds,
        key: fresh_key(),
        form,
        errors: Vec::new(),
        chosen: Vec::new(),
    }))
}

/// The form without script (or its fallback): files the case with its photos, then shows it. A
/// refused photo refuses the report: nothing is filed, and the form comes back as typed, naming
/// each chosen file with why it was refused or that it is to be chosen again (a page cannot
/// fill a file input in).
async fn new_submit(
    State(state): State<CasesState>,
    Page {
        user, locale, ctx, ..
    }: Page<perm::CasesReport>,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    let mut parts = read_form(form).await.page(locale)?;
    user.check_csrf(Some(&parts.take("_csrf"))).page(locale)?;
    let key = parts.take("idempotency_key");
    let chosen = parts.chosen.clone();
    let form = ReportForm {
        category: parts.one("category"),
        priority: parts.one("priority"),
        compound_id: parts.one("compound_id"),
        description: parts.one("description"),
        address: parts.one("address"),
        lon: parts.one("lon"),
        lat: parts.one("lat"),
    };
    let outcome = async {
        let new = NewCase::from_form(parts);
        let key = IdempotencyKey::parse(Some(key.as_bytes()).filter(|k| !k.is_empty()));
        match (new, key) {
            (Ok((new, photos)), Ok(key)) => super::report(&state, &user, &new, &key, &photos)
                .await
                .map(|(id, _)| id),
            (new, key) => {
                let mut errors = Vec::new();
                for e in [new.err(), key.err()].into_iter().flatten() {
                    errors.extend(e.fields().iter().cloned());
                }
                Err(AppError::Invalid(errors))
            }
        }
    }
    .await;
    match outcome {
        Ok(id) => Ok(Redirect::to(&format!("/cases/{id}")).into_response()),
        Err(AppError::Invalid(errors)) => {
            let compounds = compounds_for(&state.db, &user).await.page(locale)?;
            let page = NewPage {
                ctx,
                compounds,
                key,
                form,
                errors,
                chosen,
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(e).page(locale),
    }
}

// ---- Bulk steps from the triage queue ---------------------------------------------------------

#[derive(Debug, Deserialize)]
struct BulkForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    id: Vec<i64>,
    action: String,
    #[serde(default)]
    note: String,
    into_case_id: Option<String>,
    #[serde(default)]
    view: String,
}

/// The office takes one step on several reports at once (triage with one summary, reject, merge
/// into one case); each report succeeds or fails on its own and the queue shows which.
async fn bulk_submit(
    State(state): State<CasesState>,
    Page { user, locale, .. }: Page<perm::CasesRead>,
    axum_extra::extract::Form(form): axum_extra::extract::Form<BulkForm>,
) -> Result<Response, PageError> {
    user.check_csrf(Some(&form.csrf)).page(locale)?;
    if form.id.is_empty() {
        return Err(AppError::invalid("id", "choose one or more cases")).page(locale);
    }
    let into = match form.into_case_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(v) => Some(
            v.trim_start_matches('#')
                .parse::<i64>()
                .map_err(|_| AppError::invalid("into_case_id", "expected a case number"))
                .page(locale)?,
        ),
    };
    let mut fields = serde_json::Map::new();
    fields.insert("action".into(), form.action.clone().into());
    fields.insert("note".into(), form.note.clone().into());
    if let Some(into) = into {
        fields.insert("into_case_id".into(), into.into());
    }
    let req: TransitionRequest = from_fields(fields).page(locale)?;
    let mut outcome = Vec::new();
    for id in &form.id {
        let r = super::act(&state, &user, *id, &req, &[]).await;
        outcome.push(match r {
            Ok(()) => format!("#{id} ✓"),
            Err(e) => {
                let why = e
                    .fields()
                    .iter()
                    .map(|f| format!("{}: {}", f.field, f.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                format!(
                    "#{id} ✗ {}",
                    if why.is_empty() { e.to_string() } else { why }
                )
            }
        });
    }
    let view = if form.view.is_empty() {
        "triage"
    } else {
        form.view.as_str()
    };
    let done = serde_urlencoded::to_string([("view", view), ("done", &outcome.join(" · "))])
        .unwrap_or_default();
    Ok(Redirect::to(&format!("/cases?{done}")).into_response())
}

async fn report_script() -> Response {
    asset(JAVASCRIPT, include_str!("../../static/report.js"))
}

pub fn router() -> Router<CasesState> {
    Router::new()
        .route("/cases", get(list_page))
        .route("/cases/new", get(new_page).post(new_submit))
        .route("/cases/bulk", post(bulk_submit))
        .route("/cases/{id}", get(super::case_page::case_page))
        .route("/cases/go", get(super::navigate::jump))
        .route("/cases/{id}/act", post(super::case_page::act_submit))
        .route("/cases/{id}/files", post(super::evidence::attach_submit))
        .merge(super::duplicates::pages())
        .route("/static/report.js", get(report_script))
        .route("/static/case.js", get(super::case_page::case_script))
        .layer(axum::extract::DefaultBodyLimit::max(32 * 1024 * 1024))
}
