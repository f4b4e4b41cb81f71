//! `cases`: problems and suggestions from every source, chased through the workflow of
//! `huoyan_core::cases` from report to verified fix. This first slice files cases (with
//! idempotency keys), lists and reads them within the caller's scope, and moves them through the
//! workflow with a timeline; duplicates, sub-tasks, escalation, figures, pages and Open311 follow.

pub mod check_ins;
pub mod intake;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use huoyan_core::auth::Role;
use huoyan_core::cases::{
    Action, CaseState, Category, DeadlinePolicy, Kind, Priority, Source, WorkflowError, transition,
};
use huoyan_core::org::RegionLevel;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit::Change;
use crate::auth::{Can, Principal, perm};
use crate::db::{Db, Sql};
use crate::error::{AppError, AppResult};
use crate::http::{ApiJson, ApiPath, ApiQuery, AppState, ListPage, Paging, rfc3339};
use crate::org::Check;
use intake::{Filed, Filing, Intake};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Case {
    pub id: i64,
    pub kind: String,
    pub source: String,
    pub category: String,
    pub priority: String,
    pub state: String,
    pub compound_id: i64,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub address: String,
    pub description: String,
    pub reporter_account_id: i64,
    pub department_id: Option<i64>,
    pub due_at: Option<String>,
    /// A deadline the department asked for and the group has not answered yet.
    pub extension_until: Option<String>,
    pub reported_at: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineEntry {
    pub at: String,
    pub actor_account_id: Option<i64>,
    pub action: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub note: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseDetail {
    #[serde(flatten)]
    pub case: Case,
    pub timeline: Vec<TimelineEntry>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCase {
    /// problem or suggestion; problem when absent.
    pub kind: Option<String>,
    /// supervisor, inspection, drone, resident, hotline; from the role when absent.
    pub source: Option<String>,
    pub category: String,
    /// urgent, high, normal, low; normal when absent.
    pub priority: Option<String>,
    pub compound_id: i64,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    #[serde(default)]
    pub address: String,
    pub description: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    /// triage, reject, merge, dispatch, accept, send_back, report_fix, verify, rework, close,
    /// fix_on_site, request_extension, grant_extension, refuse_extension.
    pub action: String,
    /// What the role writes: the office's summary, the department's account of the fix, the
    /// verifier's finding.
    #[serde(default)]
    pub note: String,
    /// With `dispatch`: the responsible department.
    pub department_id: Option<i64>,
    /// With `request_extension`: the deadline asked for (RFC 3339).
    pub until: Option<String>,
}

const COLUMNS: &str = "cases.id, cases.kind, cases.source, cases.category, cases.priority, cases.state, cases.compound_id, cases.lon, cases.lat, \
     cases.address, cases.description, cases.reporter_account_id, cases.department_id, cases.due_at, cases.reported_at, cases.updated_at, cases.extension_until";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Case, sqlx::Error> {
    Ok(Case {
        id: r.try_get(0)?,
        kind: r.try_get(1)?,
        source: r.try_get(2)?,
        category: r.try_get(3)?,
        priority: r.try_get(4)?,
        state: r.try_get(5)?,
        compound_id: r.try_get(6)?,
        lon: r.try_get(7)?,
        lat: r.try_get(8)?,
        address: r.try_get(9)?,
        description: r.try_get(10)?,
        reporter_account_id: r.try_get(11)?,
        department_id: r.try_get(12)?,
        due_at: r.try_get::<Option<i64>, _>(13)?.map(rfc3339),
        reported_at: rfc3339(r.try_get(14)?),
        updated_at: rfc3339(r.try_get(15)?),
        extension_until: r.try_get::<Option<i64>, _>(16)?.map(rfc3339),
    })
}

/// Confines a case query to the caller: a department sees what is dispatched to it, team-scoped
/// roles (inspectors, pilots) what they filed, region-scoped roles their subtree.
fn scope(p: &Principal, sql: &mut Sql) {
    if let Some(d) = p.scope.department_id {
        sql.push(" AND cases.department_id = ").bind(d);
    } else if p.scope.team_id.is_some() {
        sql.push(" AND cases.reporter_account_id = ")
            .bind(p.account_id);
    } else if let Some(path) = &p.scope_path {
        sql.push(" AND cases.compound_id IN (SELECT id FROM regions WHERE path LIKE ")
            .bind(format!("{path}%"))
            .push(")");
    }
}

pub async fn get_scoped(db: &Db, p: &Principal, id: i64) -> AppResult<Case> {
    let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM cases WHERE cases.id = "));
    sql.bind(id);
    scope(p, &mut sql);
    let row = sql
        .query()
        .fetch_optional(&db.pool)
        .await?
        .ok_or(AppError::NotFound("case"))?;
    Ok(from_row(&row)?)
}

async fn timeline(db: &Db, id: i64) -> AppResult<Vec<TimelineEntry>> {
    let rows = sqlx::query("SELECT at, actor_account_id, action, from_state, to_state, note FROM case_events WHERE case_id = $1 ORDER BY id")
        .bind(id)
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(TimelineEntry {
                at: rfc3339(r.try_get(0)?),
                actor_account_id: r.try_get(1)?,
                action: r.try_get(2)?,
                from_state: r.try_get(3)?,
                to_state: r.try_get(4)?,
                note: r.try_get(5)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(AppError::from)
}

fn default_source(role: Role) -> Source {
    match role {
        Role::Inspector => Source::Inspection,
        Role::Pilot => Source::Drone,
        Role::Office => Source::Hotline,
        _ => Source::Supervisor,
    }
}

/// Files a case; a repeated `Idempotency-Key` from the same account returns the first case.
/// Answers with the case's id and, when this call made it, the case as written.
pub async fn report(
    db: &Db,
    intake: &Intake,
    p: &Principal,
    new: &NewCase,
    key: Option<&str>,
) -> AppResult<(i64, Option<CaseDetail>)> {
    if let Some(id) = by_key(db, p, key).await? {
        return Ok((id, None));
    }
    let mut check = Check::default();
    check.non_empty("description", &new.description, 4000);
    let kind = new
        .kind
        .as_deref()
        .map(Kind::parse)
        .unwrap_or(Some(Kind::Problem));
    if kind.is_none() {
        check.fail("kind", "problem or suggestion");
    }
    let source = new
        .source
        .as_deref()
        .map(Source::parse)
        .unwrap_or(Some(default_source(p.role)));
    if source.is_none() {
        check.fail(
            "source",
            "one of supervisor, inspection, drone, resident, hotline",
        );
    }
    if Category::parse(&new.category).is_none() {
        let all: Vec<_> = Category::ALL.iter().map(|c| c.code()).collect();
        check.fail("category", format!("one of {}", all.join(", ")));
    }
    let priority = new
        .priority
        .as_deref()
        .map(Priority::parse)
        .unwrap_or(Some(Priority::Normal));
    if priority.is_none() {
        check.fail("priority", "one of urgent, high, normal, low");
    }
    crate::org::sites::check_point(&mut check, new.lon, new.lat);
    let compound = sqlx::query("SELECT level, path FROM regions WHERE id = $1")
        .bind(new.compound_id)
        .fetch_optional(&db.pool)
        .await?;
    match compound {
        None => check.fail("compound_id", "no such region"),
        Some(r) => {
            let (level, path): (String, String) = (r.try_get(0)?, r.try_get(1)?);
            if RegionLevel::parse(&level) != Some(RegionLevel::Compound) {
                check.fail("compound_id", "a case is filed against a compound");
            } else if p
                .scope_path
                .as_ref()
                .is_some_and(|s| !path.starts_with(s.as_str()))
            {
                check.fail("compound_id", "outside your scope");
            }
        }
    }
    check.done()?;
    let (kind, source, priority) = (
        kind.expect("checked"),
        source.expect("checked"),
        priority.expect("checked"),
    );
    let filing = Filing {
        actor: p.actor(),
        account_id: p.account_id,
        key: key.map(str::to_string),
        kind,
        source,
        category: new.category.clone(),
        priority,
        compound_id: new.compound_id,
        lon: new.lon,
        lat: new.lat,
        address: new.address.clone(),
        description: new.description.trim().to_string(),
    };
    match intake.file(filing.clone()).await? {
        Filed::New { id, at_ms } => Ok((id, Some(filing.as_written(id, at_ms)))),
        Filed::Existing(id) => Ok((id, None)),
    }
}

/// The case this account already filed under `key`, if any.
async fn by_key(db: &Db, p: &Principal, key: Option<&str>) -> AppResult<Option<i64>> {
    intake::by_key(db, p.account_id, key).await
}

/// Takes one workflow step; the role and the order are checked by the core's state machine.
pub async fn act(db: &Db, p: &Principal, id: i64, req: &TransitionRequest) -> AppResult<()> {
    let case = get_scoped(db, p, id).await?;
    let action =
        Action::parse(&req.action).ok_or_else(|| AppError::invalid("action", "unknown action"))?;
    let state = CaseState::parse(&case.state)
        .ok_or_else(|| anyhow::anyhow!("case {id} has unknown state {}", case.state))?;
    let next = transition(state, action, p.role).map_err(|e| match e {
        WorkflowError::RoleMayNot { .. } => AppError::Forbidden,
        e @ WorkflowError::OutOfOrder { .. } => {
            AppError::invalid("action", e.to_string().trim_start_matches("action: "))
        }
    })?;
    let mut check = Check::default();
    if matches!(
        action,
        Action::Triage
            | Action::ReportFix
            | Action::Verify
            | Action::Rework
            | Action::SendBack
            | Action::Reject
    ) {
        check.non_empty("note", &req.note, 4000);
    }
    if action == Action::RefuseExtension {
        check.non_empty("note", &req.note, 4000);
    }
    // Extensions: (set the pending request?, its value, the new deadline).
    let pending = case
        .extension_until
        .as_deref()
        .and_then(|u| crate::http::parse_time("until", u).ok());
    let current_due = case
        .due_at
        .as_deref()
        .and_then(|u| crate::http::parse_time("due_at", u).ok());
    let extension: Option<(Option<i64>, Option<i64>)> = match action {
        Action::RequestExtension => match req
            .until
            .as_deref()
            .map(|u| crate::http::parse_time("until", u))
        {
            Some(Ok(until)) if current_due.is_none_or(|d| until > d) => Some((Some(until), None)),
            Some(Ok(_)) => {
                check.fail("until", "ask for a deadline later than the current one");
                None
            }
            Some(Err(e)) => {
                check.fail(&e.field, e.message);
                None
            }
            None => {
                check.fail("until", "name the deadline you ask for");
                None
            }
        },
        Action::GrantExtension | Action::RefuseExtension if pending.is_none() => {
            check.fail("action", "no extension was requested");
            None
        }
        Action::GrantExtension => Some((None, pending)),
        Action::RefuseExtension => Some((None, None)),
        _ => None,
    };
    let department = if action == Action::Dispatch {
        match req.department_id {
            Some(d) if crate::org::departments::get(db, d).await.is_ok() => Some(d),
            Some(_) => {
                check.fail("department_id", "no such department");
                None
            }
            None => {
                check.fail("department_id", "dispatch names the responsible department");
                None
            }
        }
    } else {
        None
    };
    check.done()?;
    let category = case.category.clone();
    let priority = Priority::parse(&case.priority).unwrap_or(Priority::Normal);
    Change::run(db, &p.actor(), async |change| {
        let at = change.at_ms();
        let due = department
            .map(|_| DeadlinePolicy::default().due(at, priority, &category))
            .or(extension.and_then(|(_, granted)| granted));
        // The state is compared in the update so two people acting at once cannot both move it.
        let done = sqlx::query(
            "UPDATE cases SET state = $1, updated_at = $2, department_id = COALESCE($3, department_id), due_at = COALESCE($4, due_at), \
             extension_until = CASE WHEN $7 = 1 THEN $8 ELSE extension_until END WHERE id = $5 AND state = $6",
        )
        .bind(next.code())
        .bind(at)
        .bind(department)
        .bind(due)
        .bind(id)
        .bind(state.code())
        .bind(extension.is_some() as i64)
        .bind(extension.and_then(|(asked, _)| asked))
        .execute(&mut *change.tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(AppError::Conflict(vec![crate::error::FieldError::new("action", "the case changed meanwhile; reload it")]));
        }
        sqlx::query("INSERT INTO case_events (case_id, at, actor_account_id, action, from_state, to_state, note) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(id)
            .bind(at)
            .bind(p.account_id)
            .bind(action.code())
            .bind(state.code())
            .bind(next.code())
            .bind(req.note.trim())
            .execute(&mut *change.tx)
            .await?;
        change
            .record("case", id, action.code(), &serde_json::json!({"from": state.code(), "to": next.code(), "department_id": department, "note": req.note.trim()}))
            .await
    })
    .await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseFilter {
    pub state: Option<String>,
    pub category: Option<String>,
    pub compound_id: Option<i64>,
    pub department_id: Option<i64>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// Cases in the caller's scope, newest first.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", params(CaseFilter), responses((status = 200, body = ListPage<Case>)))]
async fn list_route(
    State(state): State<AppState>,
    Can(p, _): Can<perm::CasesRead>,
    ApiQuery(f): ApiQuery<CaseFilter>,
) -> AppResult<ApiJson<ListPage<Case>>> {
    let mut filter = Sql::new(" WHERE 1 = 1");
    scope(&p, &mut filter);
    if let Some(s) = f.state.as_deref().filter(|s| !s.is_empty()) {
        filter.push(" AND cases.state = ").bind(s);
    }
    if let Some(c) = f.category.as_deref().filter(|c| !c.is_empty()) {
        filter.push(" AND cases.category = ").bind(c);
    }
    if let Some(c) = f.compound_id {
        filter.push(" AND cases.compound_id = ").bind(c);
    }
    if let Some(d) = f.department_id {
        filter.push(" AND cases.department_id = ").bind(d);
    }
    let paging = Paging {
        limit: f.limit,
        offset: f.offset,
    };
    Ok(ApiJson(
        crate::http::fetch_page(
            &state.db,
            COLUMNS,
            "cases",
            &filter,
            "cases.id DESC",
            &paging,
            from_row,
        )
        .await?,
    ))
}

/// File a problem or suggestion. Send `Idempotency-Key` so a resend never makes a second case.
#[utoipa::path(post, path = "/api/v1/cases", tag = "cases", request_body = NewCase,
    params(("Idempotency-Key" = Option<String>, Header, description = "one key, one case")),
    responses((status = 201, body = CaseDetail), (status = 200, body = CaseDetail, description = "the key was used before"), (status = 422, body = crate::error::ErrorBody)))]
async fn create_route(
    State(state): State<AppState>,
    Can(p, _): Can<perm::CasesReport>,
    headers: HeaderMap,
    ApiJson(new): ApiJson<NewCase>,
) -> AppResult<(StatusCode, ApiJson<CaseDetail>)> {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 200);
    let (id, made) = report(&state.db, &state.intake, &p, &new, key).await?;
    if let Some(case) = made {
        // Just written: answered as written, without reading it back.
        return Ok((StatusCode::CREATED, ApiJson(case)));
    }
    let case = get_scoped(&state.db, &p, id).await?;
    let timeline = timeline(&state.db, id).await?;
    Ok((StatusCode::OK, ApiJson(CaseDetail { case, timeline })))
}

/// One case with its timeline.
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases", params(("id" = i64, Path)), responses((status = 200, body = CaseDetail), (status = 404, body = crate::error::ErrorBody)))]
async fn get_route(
    State(state): State<AppState>,
    Can(p, _): Can<perm::CasesRead>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<ApiJson<CaseDetail>> {
    let case = get_scoped(&state.db, &p, id).await?;
    Ok(ApiJson(CaseDetail {
        case,
        timeline: timeline(&state.db, id).await?,
    }))
}

/// Take a workflow step (triage, dispatch, report the fix, verify…); refused with 403 for a role
/// that may not take it and 422 when the case is not in a state that allows it.
#[utoipa::path(post, path = "/api/v1/cases/{id}/transitions", tag = "cases", params(("id" = i64, Path)), request_body = TransitionRequest,
    responses((status = 200, body = CaseDetail), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn transition_route(
    State(state): State<AppState>,
    Can(p, _): Can<perm::CasesRead>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<TransitionRequest>,
) -> AppResult<ApiJson<CaseDetail>> {
    act(&state.db, &p, id, &req).await?;
    let case = get_scoped(&state.db, &p, id).await?;
    Ok(ApiJson(CaseDetail {
        case,
        timeline: timeline(&state.db, id).await?,
    }))
}

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_route, create_route))
        .routes(routes!(get_route))
        .routes(routes!(transition_route))
        .merge(check_ins::api())
}
