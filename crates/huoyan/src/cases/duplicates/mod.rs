//! Likely duplicates of a report, proposed to the office while it triages: the open cases of any
//! category in the same compound, its community, or a compound of another community that shares a
//! named place with it (`org::shared_places`), within the rule's window of days, ranked by the
//! core's proposer (`huoyan_core::cases::duplicates`, measured in BENCHMARKS.md) with the reasons
//! the clerk can check. What the office does with them is recorded (`verdicts`).

mod snapshot;
mod verdicts;

pub use snapshot::Proposer;
pub(super) use verdicts::{record_merge, shown};

use axum::extract::State;
use huoyan_core::cases::{CaseText, DuplicateRule, Profile, Proximity, Reason, propose};
use serde::Serialize;
use sqlx::{AnyConnection, Row};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::views::{COLUMNS, Shape, from_row, scope};
use super::{Case, CasesState, get_scoped};
use crate::auth::{Can, Principal, perm};
use crate::db::Sql;
use crate::error::AppResult;
use crate::http::{ApiJson, ApiPath};
use snapshot::Snapshot;

/// Candidates read at most for one report: the newest of its neighbourhood's window.
const CANDIDATES_MAX: i64 = 2_000;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Proposal {
    /// The model's probability that the two are one problem, 0–1; proposals are at or above the
    /// rule's threshold, best first.
    pub score: f64,
    /// Why: the place, what the texts share, the category and the days between them.
    pub reasons: Vec<Reason>,
    pub case: Case,
}

/// The proposals for case `id`, best first, among open cases the caller may see.
pub async fn proposals(state: &CasesState, p: &Principal, id: i64) -> AppResult<Vec<Proposal>> {
    let snapshot = state.proposer.snapshot(&state.db).await?;
    proposals_with(state, &snapshot, p, id).await
}

/// The same with a snapshot taken once for many cases (the triage list).
pub async fn proposals_with(
    state: &CasesState,
    snapshot: &Snapshot,
    p: &Principal,
    id: i64,
) -> AppResult<Vec<Proposal>> {
    let case = get_scoped(&state.db, p, id).await?;
    let mut conn = state.db.pool.acquire().await?;
    ranked(&mut conn, snapshot, p, &case).await
}

/// The proposals for `case` read on `conn` (a change's transaction when they decide a write).
pub(super) async fn ranked(
    conn: &mut AnyConnection,
    snapshot: &Snapshot,
    p: &Principal,
    case: &Case,
) -> AppResult<Vec<Proposal>> {
    let rule = DuplicateRule::default();
    let window = rule.window_days * 86_400_000;
    let row = sqlx::query(
        "SELECT cases.reported_at, r.parent_id FROM cases JOIN regions r ON r.id = cases.compound_id \
         WHERE cases.id = $1",
    )
    .bind(case.id)
    .fetch_one(&mut *conn)
    .await?;
    let (at, community): (i64, Option<i64>) = (row.try_get(0)?, row.try_get(1)?);
    let shared = snapshot
        .neighbours
        .get(&case.compound_id)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut sql = Sql::new(&format!(
        "SELECT {COLUMNS}, cases.reported_at AS at_ms, r.parent_id FROM cases \
         JOIN regions r ON r.id = cases.compound_id WHERE cases.id <> "
    ));
    sql.bind(case.id)
        .push(" AND cases.state NOT IN ('closed', 'rejected', 'merged', 'fixed_on_site')")
        .push(" AND cases.reported_at BETWEEN ")
        .bind(at - window)
        .push(" AND ")
        .bind(at + window)
        .push(" AND (cases.compound_id = ")
        .bind(case.compound_id);
    if let Some(c) = community {
        sql.push(" OR r.parent_id = ").bind(c);
    }
    for (compound, _) in shared {
        sql.push(" OR cases.compound_id = ").bind(*compound);
    }
    sql.push(")")
        .push(" AND NOT EXISTS (SELECT 1 FROM duplicate_verdicts v WHERE v.case_id = ")
        .bind(case.id)
        .push(" AND v.other_id = cases.id AND v.verdict = 'refused')");
    scope(p, &mut sql, Shape::Page);
    sql.push(" ORDER BY cases.reported_at DESC LIMIT ")
        .bind(CANDIDATES_MAX);
    let rows = sql.query().fetch_all(&mut *conn).await?;
    let mut others = Vec::with_capacity(rows.len());
    for r in &rows {
        let other = from_row(r)?;
        let near = if other.compound_id == case.compound_id {
            Proximity::SameCompound
        } else if community.is_some() && r.try_get::<Option<i64>, _>("parent_id")? == community {
            Proximity::SameCommunity
        } else {
            match shared.iter().find(|(c, _)| *c == other.compound_id) {
                Some((_, site)) => Proximity::SharedSite(site.clone()),
                None => continue,
            }
        };
        let at_ms: i64 = r.try_get("at_ms")?;
        others.push((other, near, at_ms));
    }
    let profile = |c: &Case, at_ms: i64| {
        Profile::new(
            &CaseText {
                id: c.id,
                category: c.category.code(),
                text: &c.description,
                reported_at_ms: at_ms,
            },
            &snapshot.idf,
        )
    };
    let me = profile(case, at);
    let queue: Vec<(Profile, &Proximity)> = others
        .iter()
        .map(|(c, near, at_ms)| (profile(c, *at_ms), near))
        .collect();
    let found = propose(&me, queue.iter().map(|(p, n)| (p, *n)), &rule);
    Ok(found
        .into_iter()
        .filter_map(|f| {
            let (case, _, _) = others.iter().find(|(c, _, _)| c.id == f.id)?;
            Some(Proposal {
                score: f.score,
                reasons: f.reasons,
                case: case.clone(),
            })
        })
        .collect())
}

/// Likely duplicates of a case, best first, with the reasons (for the office's triage).
#[utoipa::path(get, path = "/api/v1/cases/{id}/duplicates", tag = "cases", operation_id = "list_case_duplicates", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Proposal>), (status = 404, body = crate::error::ErrorBody)))]
async fn duplicates_route(
    State(state): State<CasesState>,
    Can(p, _): Can<perm::CasesRead>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<ApiJson<Vec<Proposal>>> {
    Ok(ApiJson(proposals(&state, &p, id).await?))
}

pub fn api() -> OpenApiRouter<CasesState> {
    OpenApiRouter::new()
        .routes(routes!(duplicates_route))
        .merge(verdicts::api())
}

pub fn pages() -> axum::Router<CasesState> {
    verdicts::pages()
}
