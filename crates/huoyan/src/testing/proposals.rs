//! A positive tube's proposals to the commander: raise the control of each building its people
//! live in (`huoyan_core::testing::recall::PROPOSED`). Opened with the recall and told to the
//! commanders whose region holds it; a commander accepts (and issues the order on the orders
//! page) or declines, once, with a note, and the side that acts on the recall is told.

use axum::extract::State;
use huoyan_core::org::ControlLevel;
use huoyan_core::testing::recall::{Building, PROPOSED, ProposalState};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::TestingState;
use crate::audit::Change;
use crate::auth::{Can, Principal, perm};
use crate::check::Check;
use crate::db::Sql;
use crate::error::{AppError, AppResult, FieldError};
use crate::http::{ApiJson, ApiPath};
use crate::time::rfc3339;

/// Longest note on a decision.
const NOTE: usize = 500;

#[derive(Debug, Serialize, ToSchema)]
pub struct ControlProposal {
    pub id: i64,
    pub recall_id: i64,
    pub compound_id: i64,
    pub compound: String,
    pub building: String,
    #[schema(value_type = huoyan_core::org::ControlLevel)]
    pub level: ControlLevel,
    #[schema(value_type = huoyan_core::testing::recall::ProposalState)]
    pub state: ProposalState,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub decided_at: Option<String>,
    pub note: String,
}

const SELECT: &str = "SELECT cp.id, cp.recall_id, cp.compound_id, g.name AS compound, g.path, \
     cp.building, cp.level, cp.state, cp.created_at, cp.decided_at, cp.note \
     FROM control_proposals cp JOIN regions g ON g.id = cp.compound_id";

fn read(r: &AnyRow) -> AppResult<ControlProposal> {
    let level: String = r.try_get("level")?;
    Ok(ControlProposal {
        id: r.try_get("id")?,
        recall_id: r.try_get("recall_id")?,
        compound_id: r.try_get("compound_id")?,
        compound: r.try_get("compound")?,
        building: r.try_get("building")?,
        level: ControlLevel::parse(&level)
            .ok_or_else(|| anyhow::anyhow!("unknown control level {level:?}"))?,
        state: ProposalState::try_from(r.try_get::<String, _>("state")?)
            .map_err(anyhow::Error::from)?,
        created_at: rfc3339(r.try_get("created_at")?),
        decided_at: r.try_get::<Option<i64>, _>("decided_at")?.map(rfc3339),
        note: r.try_get("note")?,
    })
}

/// Proposes inside `change` to raise the control of buildings `buildings` (recall `recall`'s,
/// at the point of region path `path`), and tells the commanders whose region holds it.
pub(super) async fn propose(
    change: &mut Change,
    recall: i64,
    buildings: &[Building],
    path: &str,
) -> AppResult<()> {
    for b in buildings {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO control_proposals (recall_id, compound_id, building, level, state, created_at) \
             VALUES ($1, $2, $3, $4, 'proposed', $5) RETURNING id",
        )
        .bind(recall)
        .bind(b.compound_id)
        .bind(&b.building)
        .bind(PROPOSED.code())
        .bind(change.at_ms())
        .fetch_one(&mut *change.tx)
        .await?;
        change
            .record(
                "control_proposal",
                id,
                "propose",
                &serde_json::json!({"recall_id": recall, "compound_id": b.compound_id,
                    "building": b.building, "level": PROPOSED.code()}),
            )
            .await?;
    }
    let places: Vec<String> = buildings
        .iter()
        .map(|b| format!("{}{}", b.compound, b.building))
        .collect();
    let commanders = crate::notifications::acting_on(change, path, &["commander"]).await?;
    crate::notifications::tell_accounts(
        change,
        &commanders,
        "control_proposed",
        &serde_json::json!({"recall_id": recall, "places": places.join("、"),
            "level": PROPOSED.zh(), "page": format!("/testing/recalls/{recall}")}),
    )
    .await
}

/// The statement reading proposal `id` (with its compound's path) where `p` may see it: its
/// compound in their region.
fn one(p: &Principal, id: i64) -> Sql {
    let mut sql = Sql::new(&format!("{SELECT} WHERE cp.id = "));
    sql.bind(id);
    p.scope_region(&mut sql, "g.path");
    sql
}

pub(super) async fn get(db: &crate::db::Db, p: &Principal, id: i64) -> AppResult<ControlProposal> {
    let row = one(p, id)
        .query()
        .fetch_optional(&db.pool)
        .await?
        .ok_or(AppError::NotFound("proposal"))?;
    read(&row)
}

/// Recall `recall`'s proposals.
pub(super) async fn of_recall(db: &crate::db::Db, recall: i64) -> AppResult<Vec<ControlProposal>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE cp.recall_id = $1 ORDER BY cp.id"
    )))
    .bind(recall)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(read)
    .collect()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// Accept the proposal (the commander issues the order), or decline it.
    pub accept: bool,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub note: String,
}

/// Decides proposal `id` by `p` inside `change`: once, in `p`'s region; the accounts acting on
/// the recall are told. Returns the recall's id.
pub async fn decide(change: &mut Change, p: &Principal, id: i64, d: &Decision) -> AppResult<i64> {
    let mut check = Check::default();
    check.optional("note", &d.note, NOTE);
    check.done()?;
    let row = one(p, id)
        .query()
        .fetch_optional(&mut *change.tx)
        .await?
        .ok_or(AppError::NotFound("proposal"))?;
    let proposal = read(&row)?;
    let path: String = row.try_get("path")?;
    let state = if d.accept {
        ProposalState::Accepted
    } else {
        ProposalState::Declined
    };
    let decided = sqlx::query(
        "UPDATE control_proposals SET state = $1, decided_by = $2, decided_at = $3, note = $4 \
         WHERE id = $5 AND state = 'proposed'",
    )
    .bind(state.code())
    .bind(p.account_id)
    .bind(change.at_ms())
    .bind(d.note.trim())
    .bind(id)
    .execute(&mut *change.tx)
    .await?;
    if decided.rows_affected() != 1 {
        return Err(AppError::Conflict(vec![FieldError::new(
            "accept",
            format!("decided already: {}", proposal.state.en()),
        )]));
    }
    change
        .record(
            "control_proposal",
            id,
            state.code(),
            &serde_json::json!({"note": d.note.trim()}),
        )
        .await?;
    let acting =
        crate::notifications::acting_on(change, &path, &["office", "dispatcher", "supervisor"])
            .await?;
    crate::notifications::tell_accounts(
        change,
        &acting,
        "control_decided",
        &serde_json::json!({"recall_id": proposal.recall_id,
            "place": format!("{}{}", proposal.compound, proposal.building),
            "level": proposal.level.zh(), "decision": state.zh(),
            "page": format!("/testing/recalls/{}", proposal.recall_id)}),
    )
    .await?;
    Ok(proposal.recall_id)
}

/// Accept or decline a positive tube's proposal to raise a building's control (the commander,
/// once; an accepted one is then ordered on the control orders' page). 409 when decided before.
#[utoipa::path(post, path = "/api/v1/testing/proposals/{id}/decision", tag = "testing", operation_id = "decide_control_proposal",
    params(("id" = i64, Path)), request_body = Decision,
    responses((status = 200, body = ControlProposal), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn decide_route(
    State(state): State<TestingState>,
    Can(p, _): Can<perm::OrdersWrite>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(d): ApiJson<Decision>,
) -> AppResult<ApiJson<ControlProposal>> {
    Change::run(&state.db, &p.actor(), async |c| decide(c, &p, id, &d).await).await?;
    Ok(ApiJson(get(&state.db, &p, id).await?))
}

pub fn api() -> OpenApiRouter<TestingState> {
    OpenApiRouter::new().routes(routes!(decide_route))
}
