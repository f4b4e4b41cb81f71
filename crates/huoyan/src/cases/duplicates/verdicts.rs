//! The office's verdicts on proposals: a merge (of a proposed case or not) and a refusal ("not a
//! duplicate", which also keeps the proposal from being shown again), each with the score and rank
//! it was shown at. From them the proposer's precision in use: of the proposals the office judged,
//! the share it merged.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use huoyan_core::cases::{Action, transition};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Proposal, Snapshot, ranked};
use crate::audit::Change;
use crate::auth::{Can, Page, Principal, perm};
use crate::cases::CasesState;
use crate::cases::views::{Shape, scope, scoped_in};
use crate::db::Sql;
use crate::error::{AppError, AppResult};
use crate::http::{ApiJson, ApiPath};
use crate::web::{PageError, PagePath, PageResultExt};

/// What the office was shown for case `id`, read inside the change that is to merge or refuse
/// (with a snapshot taken before it, so no rebuild holds the change open).
pub(in crate::cases) async fn shown(
    change: &mut Change,
    snapshot: &Snapshot,
    p: &Principal,
    id: i64,
) -> AppResult<Vec<Proposal>> {
    let case = scoped_in(change, p, id).await?;
    ranked(&mut change.tx, snapshot, p, &case).await
}

async fn write(
    change: &mut Change,
    p: &Principal,
    id: i64,
    other: i64,
    verdict: &str,
    shown: &[Proposal],
) -> AppResult<()> {
    let at = shown.iter().position(|s| s.case.id == other);
    sqlx::query(
        "INSERT INTO duplicate_verdicts (case_id, other_id, verdict, score, rank, account_id, decided_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (case_id, other_id) DO UPDATE SET \
         verdict = excluded.verdict, score = excluded.score, rank = excluded.rank, \
         account_id = excluded.account_id, decided_at = excluded.decided_at",
    )
    .bind(id)
    .bind(other)
    .bind(verdict)
    .bind(at.map(|i| shown[i].score))
    .bind(at.map(|i| i as i64 + 1))
    .bind(p.account_id)
    .bind(change.at_ms())
    .execute(&mut *change.tx)
    .await?;
    Ok(())
}

/// Records that case `id` was merged into `into`, after the step, with what had been proposed.
pub async fn record_merge(
    change: &mut Change,
    p: &Principal,
    id: i64,
    into: i64,
    shown: &[Proposal],
) -> AppResult<()> {
    write(change, p, id, into, "merged", shown).await
}

/// The office's "not a duplicate" on a proposal: only by a role that may merge (else 403), of a
/// case it may merge now (else 422), and only of a case proposed for it.
pub async fn refuse(state: &CasesState, p: &Principal, id: i64, other: i64) -> AppResult<()> {
    // A role that never merges is refused before anything is read, as the transitions are.
    if !Action::Merge.allowed_roles().contains(&p.role) {
        return Err(AppError::Forbidden);
    }
    let snapshot = state.proposer.snapshot(&state.db).await?;
    Change::run(&state.db, &p.actor(), async |change| {
        let case = scoped_in(change, p, id).await?;
        transition(case.state, Action::Merge, p.role)
            .map_err(|e| AppError::invalid("id", e.to_string()))?;
        let shown = shown(change, &snapshot, p, id).await?;
        if !shown.iter().any(|s| s.case.id == other) {
            return Err(AppError::invalid("other_id", "not proposed for this case"));
        }
        write(change, p, id, other, "refused", &shown).await?;
        change
            .record(
                "case",
                id,
                "duplicate_refused",
                &serde_json::json!({ "other_id": other }),
            )
            .await
    })
    .await
}

/// Tell the proposer a proposed case is not a duplicate of this one; it is not proposed again.
#[utoipa::path(post, path = "/api/v1/cases/{id}/duplicates/{other_id}/refusal", tag = "cases", operation_id = "refuse_case_duplicate",
    params(("id" = i64, Path), ("other_id" = i64, Path)),
    responses((status = 204, description = "refused"), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn refuse_route(
    State(state): State<CasesState>,
    Can(p, _): Can<perm::CasesRead>,
    ApiPath((id, other)): ApiPath<(i64, i64)>,
) -> AppResult<axum::http::StatusCode> {
    refuse(&state, &p, id, other).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// The proposer in use: the office's verdicts on the cases the caller may see.
#[derive(Debug, Serialize, ToSchema)]
pub struct InUse {
    /// Proposals the office merged.
    pub merged: i64,
    /// Proposals the office refused as not duplicates.
    pub refused: i64,
    /// Merges into a case that had not been proposed: duplicates the proposer missed.
    pub missed: i64,
    /// merged / (merged + refused); absent before any verdict.
    pub precision: Option<f64>,
}

pub async fn in_use(state: &CasesState, p: &Principal) -> AppResult<InUse> {
    let mut sql = Sql::new(
        "SELECT \
         COALESCE(SUM(CASE WHEN v.verdict = 'merged' AND v.rank IS NOT NULL THEN 1 ELSE 0 END), 0), \
         COALESCE(SUM(CASE WHEN v.verdict = 'refused' THEN 1 ELSE 0 END), 0), \
         COALESCE(SUM(CASE WHEN v.verdict = 'merged' AND v.rank IS NULL THEN 1 ELSE 0 END), 0) \
         FROM duplicate_verdicts v JOIN cases ON cases.id = v.case_id WHERE 1 = 1",
    );
    scope(p, &mut sql, Shape::Count);
    let row = sql.query().fetch_one(&state.db.pool).await?;
    let (merged, refused, missed): (i64, i64, i64) =
        (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
    Ok(InUse {
        merged,
        refused,
        missed,
        precision: (merged + refused > 0).then(|| merged as f64 / (merged + refused) as f64),
    })
}

/// How the duplicate proposer fares in the office's hands.
#[utoipa::path(get, path = "/api/v1/cases/duplicates/in-use", tag = "cases", operation_id = "get_duplicate_proposer_in_use",
    responses((status = 200, body = InUse)))]
async fn in_use_route(
    State(state): State<CasesState>,
    Can(p, _): Can<perm::CasesRead>,
) -> AppResult<ApiJson<InUse>> {
    Ok(ApiJson(in_use(&state, &p).await?))
}

pub fn api() -> OpenApiRouter<CasesState> {
    OpenApiRouter::new()
        .routes(routes!(refuse_route))
        .routes(routes!(in_use_route))
}

#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(rename = "_csrf", default)]
    csrf: String,
}

async fn refuse_submit(
    State(state): State<CasesState>,
    Page { user, locale, .. }: Page<perm::CasesRead>,
    PagePath((id, other)): PagePath<(i64, i64)>,
    axum::Form(form): axum::Form<CsrfOnly>,
) -> Result<Response, PageError> {
    user.check_csrf(Some(&form.csrf)).page(locale)?;
    refuse(&state, &user, id, other).await.page(locale)?;
    Ok(Redirect::to(&format!("/cases/{id}")).into_response())
}

pub fn pages() -> axum::Router<CasesState> {
    axum::Router::new().route(
        "/cases/{id}/duplicates/{other}/refuse",
        axum::routing::post(refuse_submit),
    )
}
