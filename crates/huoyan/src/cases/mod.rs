//! `cases`: problems and suggestions from every source, chased through the workflow of
//! `huoyan_core::cases` from report to verified fix. This first slice files cases (with
//! idempotency keys), lists and reads them within the caller's scope, and moves them through the
//! workflow with a timeline; duplicates, sub-tasks, escalation, figures, pages and Open311 follow.

pub mod check_ins;
mod duplicates;
pub mod figures;
mod figures_page;
pub mod files;
pub mod intake;
pub mod overdue;
pub mod pages;
mod tasks;
mod workflow;

pub use workflow::{CoTask, TransitionRequest, act};
pub mod open311;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use huoyan_core::auth::Role;
use huoyan_core::cases::{Category, Kind, Priority, Source};
use huoyan_core::org::RegionLevel;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Can, Principal, perm};
use crate::db::{Db, Sql};
use crate::error::{AppError, AppResult};
use crate::http::{ApiJson, ApiPath, ApiQuery, AppState, ListPage, Paging, rfc3339};
use crate::org::Check;
use crate::org::regions::Located;
use intake::{Filed, Filing};

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
    /// The earliest deadline among the units' open tasks.
    pub due_at: Option<String>,
    /// An open task is past its deadline.
    pub overdue: bool,
    /// With `merged`: the case this report was merged into.
    pub merged_into: Option<i64>,
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
    /// The unit a department step or an escalation concerns.
    pub department_id: Option<i64>,
    /// Where the step was taken, when the actor gave it.
    pub lon: Option<f64>,
    pub lat: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseDetail {
    #[serde(flatten)]
    pub case: Case,
    /// One per responsible unit: the lead (主办) first, then co-responsible units (协办).
    pub tasks: Vec<tasks::CaseTask>,
    pub files: Vec<files::CaseFile>,
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
    /// The compound; matched from `lon`/`lat` when absent.
    pub compound_id: Option<i64>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    #[serde(default)]
    pub address: String,
    pub description: String,
}

const COLUMNS: &str = "cases.id, cases.kind, cases.source, cases.category, cases.priority, cases.state, cases.compound_id, cases.lon, cases.lat, \
     cases.address, cases.description, cases.reporter_account_id, cases.department_id, cases.due_at, cases.reported_at, cases.updated_at, cases.merged_into";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Case, sqlx::Error> {
    let due: Option<i64> = r.try_get(13)?;
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
        due_at: due.map(rfc3339),
        overdue: due.is_some_and(|d| d < crate::db::now_ms()),
        merged_into: r.try_get(16)?,
        reported_at: rfc3339(r.try_get(14)?),
        updated_at: rfc3339(r.try_get(15)?),
    })
}

/// Confines a case query to the caller: a department sees what was ever dispatched to it (as lead
/// or co-responsible unit), team-scoped
/// roles (inspectors, pilots) what they filed, region-scoped roles their subtree.
fn scope(p: &Principal, sql: &mut Sql) {
    if let Some(d) = p.scope.department_id {
        sql.push(" AND EXISTS (SELECT 1 FROM case_tasks WHERE case_tasks.case_id = cases.id AND case_tasks.department_id = ")
            .bind(d)
            .push(")");
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
    let rows = sqlx::query("SELECT at, actor_account_id, action, from_state, to_state, note, department_id, lon, lat FROM case_events WHERE case_id = $1 ORDER BY id")
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
                department_id: r.try_get(6)?,
                lon: r.try_get(7)?,
                lat: r.try_get(8)?,
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
    app: &crate::http::App,
    p: &Principal,
    new: &NewCase,
    key: Option<&str>,
) -> AppResult<(i64, Option<CaseDetail>)> {
    // A resent key is answered by the writer, which looks keys up inside its transaction: no
    // read here, so a new report (nearly every one) costs one round trip less. Only a resend
    // that no longer passes (its point now outside any compound, its reporter's scope changed)
    // is looked up before it is refused, below.
    let mut check = Check::default();
    check.non_empty("description", &new.description, 4000);
    check.optional("address", &new.address, 500);
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
    // A point is matched to its compound; a point outside the city is refused.
    let located = match (new.lon, new.lat) {
        (Some(lon), Some(lat)) if !check.failed("lon") && !check.failed("lat") => {
            Some(crate::org::regions::locate(&app.db, lon, lat).await?)
        }
        _ => None,
    };
    if located == Some(Located::OutsideCity) {
        check.fail("lon", "the point lies outside the city");
    }
    let compound_id = match (new.compound_id, located) {
        (Some(c), _) => Some(c),
        (None, Some(Located::Compound(c))) => Some(c),
        (None, Some(Located::OutsideCity)) => None,
        (None, _) => {
            check.fail(
                "compound_id",
                "name the compound (the report's point, if any, lies in no known compound)",
            );
            None
        }
    };
    if let Some(compound_id) = compound_id {
        match app.regions.get(&app.db, compound_id).await? {
            None => check.fail("compound_id", "no such region"),
            Some((level, _)) if level != RegionLevel::Compound => {
                check.fail("compound_id", "a case is filed against a compound")
            }
            Some((_, path)) => {
                if p.scope_path
                    .as_ref()
                    .is_some_and(|s| !path.starts_with(s.as_str()))
                {
                    check.fail("compound_id", "outside your scope");
                }
            }
        }
    }
    if let Err(refused) = check.done() {
        return match intake::by_key(&app.db, p.account_id, key).await? {
            Some(id) => Ok((id, None)),
            None => Err(refused),
        };
    }
    let compound_id = compound_id.expect("checked");
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
        compound_id,
        lon: new.lon,
        lat: new.lat,
        address: new.address.clone(),
        description: new.description.trim().to_string(),
    };
    match app.intake.file(filing.clone()).await? {
        Filed::New { id, at_ms } => Ok((id, Some(filing.as_written(id, at_ms)))),
        Filed::Existing(id) => Ok((id, None)),
    }
}

#[derive(Debug, Default, Clone, Deserialize, Serialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseFilter {
    /// One state, or several separated by commas.
    pub state: Option<String>,
    pub category: Option<String>,
    pub source: Option<String>,
    /// A district (or any region): cases of compounds in its subtree.
    #[serde(default, deserialize_with = "crate::http::empty_as_none")]
    pub region_id: Option<i64>,
    #[serde(default, deserialize_with = "crate::http::empty_as_none")]
    pub compound_id: Option<i64>,
    /// Cases this department has (had) a task on.
    #[serde(default, deserialize_with = "crate::http::empty_as_none")]
    pub department_id: Option<i64>,
    /// Only cases with an open task past its deadline.
    #[serde(default, deserialize_with = "crate::http::empty_as_none")]
    pub overdue: Option<bool>,
    /// Reported on or after this day (YYYY-MM-DD, Beijing time).
    pub from: Option<String>,
    /// Reported on or before this day (YYYY-MM-DD, Beijing time).
    pub to: Option<String>,
    /// Words separated by spaces; each must appear in the description, the address or a note
    /// of the timeline (Latin letters in either case).
    pub q: Option<String>,
    /// Only the cases I reported.
    #[serde(default, deserialize_with = "crate::http::empty_as_none")]
    pub mine: Option<bool>,
    #[serde(default, deserialize_with = "crate::http::empty_as_none")]
    pub limit: Option<i64>,
    #[serde(default, deserialize_with = "crate::http::empty_as_none")]
    pub offset: Option<i64>,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl CaseFilter {
    /// The WHERE clause for these filters within the caller's scope. Search is a substring match:
    /// Chinese has no spaces for a word index to split on, and at a city's case volume a scan is
    /// fast enough.
    pub fn to_sql(&self, p: &Principal) -> AppResult<Sql> {
        let mut sql = Sql::new(" WHERE 1 = 1");
        scope(p, &mut sql);
        if let Some(s) = given(&self.state) {
            sql.push(" AND cases.state IN (");
            for (i, one) in s.split(',').map(str::trim).enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(one);
            }
            sql.push(")");
        }
        if self.mine == Some(true) {
            sql.push(" AND cases.reporter_account_id = ")
                .bind(p.account_id);
        }
        if let Some(c) = given(&self.category) {
            sql.push(" AND cases.category = ").bind(c);
        }
        if let Some(c) = given(&self.source) {
            sql.push(" AND cases.source = ").bind(c);
        }
        if let Some(r) = self.region_id {
            sql.push(" AND cases.compound_id IN (SELECT id FROM regions WHERE path LIKE (SELECT path FROM regions WHERE id = ")
                .bind(r)
                .push(") || '%')");
        }
        if let Some(c) = self.compound_id {
            sql.push(" AND cases.compound_id = ").bind(c);
        }
        if let Some(d) = self.department_id {
            sql.push(" AND EXISTS (SELECT 1 FROM case_tasks ft WHERE ft.case_id = cases.id AND ft.department_id = ")
                .bind(d)
                .push(")");
        }
        if self.overdue == Some(true) {
            sql.push(" AND cases.due_at < ").bind(crate::db::now_ms());
        }
        for (field, day, end) in [("from", &self.from, false), ("to", &self.to, true)] {
            if let Some(d) = given(day) {
                let start = crate::http::beijing_day_start(field, d)?;
                if end {
                    sql.push(" AND cases.reported_at < ")
                        .bind(start + 86_400_000);
                } else {
                    sql.push(" AND cases.reported_at >= ").bind(start);
                }
            }
        }
        // Each word (split on spaces, full-width ones too) must appear in the description, the
        // address or a note of the timeline; Latin letters match in either case on both
        // backends. Substrings suit Chinese, which has no spaces between words to index.
        for word in search_words(self.q.as_deref().unwrap_or_default()) {
            let like = format!("%{word}%");
            // LOWER on both sides, so that both backends fold the same letters (SQLite only
            // ASCII ones): full-width Ｂ栋 still finds Ｂ栋.
            sql.push(" AND (LOWER(cases.description) LIKE LOWER(")
                .bind(like.clone())
                .push(") OR LOWER(cases.address) LIKE LOWER(")
                .bind(like.clone())
                .push(") OR EXISTS (SELECT 1 FROM case_events se WHERE se.case_id = cases.id AND LOWER(se.note) LIKE LOWER(")
                .bind(like)
                .push(")))");
        }
        Ok(sql)
    }
}

/// The words of a search, without LIKE's wildcards; at most eight.
fn search_words(q: &str) -> Vec<String> {
    // Unicode whitespace takes in the full-width space of Chinese input methods.
    q.split(char::is_whitespace)
        .map(|w| w.replace(['\\', '%', '_'], ""))
        .filter(|w| !w.is_empty())
        .take(8)
        .collect()
}

/// The cases matching `f` in the caller's scope: overdue ones first (the earliest deadline
/// first), then the newest.
pub async fn list(db: &Db, p: &Principal, f: &CaseFilter) -> AppResult<ListPage<Case>> {
    let filter = f.to_sql(p)?;
    let paging = Paging {
        limit: f.limit,
        offset: f.offset,
    };
    let order = list_order(crate::db::now_ms());
    crate::http::fetch_page(db, COLUMNS, "cases", &filter, &order, &paging, from_row).await
}

/// The list's order as of `now_ms` (shared with the xlsx export, which must list the same rows in
/// the same order).
fn list_order(now_ms: i64) -> String {
    format!(
        "CASE WHEN cases.due_at < {now_ms} THEN 0 ELSE 1 END, CASE WHEN cases.due_at < {now_ms} THEN cases.due_at ELSE 0 END, cases.id DESC"
    )
}

/// One case with its units' tasks and its timeline, as the caller may see it.
pub async fn detail(db: &Db, p: &Principal, id: i64) -> AppResult<CaseDetail> {
    let case = get_scoped(db, p, id).await?;
    Ok(CaseDetail {
        case,
        tasks: tasks::for_case(db, id, crate::db::now_ms()).await?,
        files: files::for_case(db, id).await?,
        timeline: timeline(db, id).await?,
    })
}

/// Cases in the caller's scope, overdue first, then newest.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", params(CaseFilter), responses((status = 200, body = ListPage<Case>)))]
async fn list_route(
    State(state): State<AppState>,
    Can(p, _): Can<perm::CasesRead>,
    ApiQuery(f): ApiQuery<CaseFilter>,
) -> AppResult<ApiJson<ListPage<Case>>> {
    Ok(ApiJson(list(&state.db, &p, &f).await?))
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
    let (id, made) = report(&state, &p, &new, key).await?;
    Ok(match made {
        // Just written: answered as written, without reading it back.
        Some(case) => (StatusCode::CREATED, ApiJson(case)),
        None => (StatusCode::OK, ApiJson(detail(&state.db, &p, id).await?)),
    })
}

/// One case with its timeline.
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases", params(("id" = i64, Path)), responses((status = 200, body = CaseDetail), (status = 404, body = crate::error::ErrorBody)))]
async fn get_route(
    State(state): State<AppState>,
    Can(p, _): Can<perm::CasesRead>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<ApiJson<CaseDetail>> {
    Ok(ApiJson(detail(&state.db, &p, id).await?))
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
    act(&state, &p, id, &req, &[]).await?;
    Ok(ApiJson(detail(&state.db, &p, id).await?))
}

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_route, create_route))
        .routes(routes!(get_route))
        .routes(routes!(transition_route))
        .merge(check_ins::api())
        .merge(files::api())
        .merge(duplicates::api())
        .merge(figures::api())
}

#[cfg(test)]
mod tests {
    use super::search_words;

    #[test]
    fn a_search_is_split_into_words_without_wildcards() {
        assert_eq!(
            search_words(" 3号楼\u{3000}蔬菜  KN95 50%_ \\ "),
            ["3号楼", "蔬菜", "KN95", "50"]
        );
        assert!(search_words(" %_ ").is_empty());
        assert_eq!(search_words("a b c d e f g h i j").len(), 8);
    }
}
