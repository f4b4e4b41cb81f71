//! Likely duplicates of a report, proposed to the office while it triages: the open cases of the
//! same category in the same community, within the rule's window of days, scored by the core's
//! proposer (`huoyan_core::cases::duplicates`, measured on a labelled set in BENCHMARKS.md).

use axum::extract::State;
use huoyan_core::cases::{CaseText, DuplicateRule, propose};
use serde::Serialize;
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::views::{COLUMNS, from_row};
use super::{Case, get_scoped};
use crate::auth::{Can, Principal, perm};
use crate::cases::CasesState;
use crate::db::{Db, Sql};
use crate::error::AppResult;
use crate::http::{ApiJson, ApiPath};
use crate::time::parse_time;

#[derive(Debug, Serialize, ToSchema)]
pub struct Proposal {
    /// Text, place and time agreement, 0–1; proposals are at or above the rule's threshold.
    pub score: f64,
    pub case: Case,
}

/// The proposals for case `id`, best first, among cases the caller may see.
pub async fn proposals(db: &Db, p: &Principal, id: i64) -> AppResult<Vec<Proposal>> {
    let case = get_scoped(db, p, id).await?;
    let rule = DuplicateRule::default();
    let at = parse_time("reported_at", &case.reported_at)?;
    let window = rule.window_days * 86_400_000;
    let mut sql = Sql::new(&format!(
        "SELECT {COLUMNS}, r.parent_id FROM cases JOIN regions r ON r.id = cases.compound_id WHERE cases.category = "
    ));
    sql.bind(case.category.code())
        .push(" AND cases.id <> ")
        .bind(id)
        .push(" AND cases.state NOT IN ('closed', 'rejected', 'merged', 'fixed_on_site')")
        .push(" AND cases.reported_at BETWEEN ")
        .bind(at - window)
        .push(" AND ")
        .bind(at + window)
        .push(" AND r.parent_id = (SELECT parent_id FROM regions WHERE id = ")
        .bind(case.compound_id)
        .push(")");
    super::views::scope(p, &mut sql);
    let rows = sql.query().fetch_all(&db.pool).await?;
    let community: i64 = sqlx::query("SELECT parent_id FROM regions WHERE id = $1")
        .bind(case.compound_id)
        .fetch_one(&db.pool)
        .await?
        .try_get(0)?;
    let mut others = Vec::with_capacity(rows.len());
    for r in &rows {
        others.push((from_row(r)?, r.try_get::<i64, _>("parent_id")?));
    }
    fn text(c: &Case, community: i64) -> AppResult<CaseText<'_>> {
        Ok(CaseText {
            id: c.id,
            compound_id: c.compound_id,
            community_id: community,
            category: c.category.code(),
            text: &c.description,
            reported_at_ms: parse_time("reported_at", &c.reported_at)?,
        })
    }
    let me = text(&case, community)?;
    let texts = others
        .iter()
        .map(|(c, community)| text(c, *community))
        .collect::<AppResult<Vec<_>>>()?;
    let ranked = propose(&me, &texts, &rule);
    Ok(ranked
        .into_iter()
        .filter_map(|(other, score)| {
            others
                .iter()
                .find(|(c, _)| c.id == other)
                .map(|(c, _)| Proposal {
                    score,
                    case: c.clone(),
                })
        })
        .collect())
}

/// Likely duplicates of a case, best first (for the office's triage).
#[utoipa::path(get, path = "/api/v1/cases/{id}/duplicates", tag = "cases", operation_id = "list_case_duplicates", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Proposal>), (status = 404, body = crate::error::ErrorBody)))]
async fn duplicates_route(
    State(state): State<CasesState>,
    Can(p, _): Can<perm::CasesRead>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<ApiJson<Vec<Proposal>>> {
    Ok(ApiJson(proposals(&state.db, &p, id).await?))
}

pub fn api() -> OpenApiRouter<CasesState> {
    OpenApiRouter::new().routes(routes!(duplicates_route))
}
