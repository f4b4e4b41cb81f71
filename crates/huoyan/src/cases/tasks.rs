//! Reading the units' sub-tasks of a case for display: each with its own deadline, acceptance,
//! completion, extension and rework counts. The rules are in `huoyan_core::cases`; `store` writes
//! them.

use huoyan_core::cases::{Share, TaskState};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::AppResult;
use crate::time::rfc3339;

/// A unit's sub-task as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseTask {
    pub id: i64,
    pub department_id: i64,
    pub department: String,
    /// The lead (主办) or a co-responsible unit (协办).
    pub share: Share,
    pub state: TaskState,
    pub instruction: String,
    #[schema(format = DateTime)]
    pub dispatched_at: String,
    #[schema(format = DateTime)]
    pub due_at: String,
    #[schema(format = DateTime)]
    pub accepted_at: Option<String>,
    #[schema(format = DateTime)]
    pub done_at: Option<String>,
    /// A later deadline asked for and not yet answered.
    #[schema(format = DateTime)]
    pub extension_until: Option<String>,
    pub extensions: i64,
    pub reworks: i64,
    /// How often the group urged (催办) the unit on this task.
    pub urges: i64,
    #[schema(format = DateTime)]
    pub escalated_at: Option<String>,
    /// Open past its deadline, or done after it.
    pub overdue: bool,
}

/// A case's tasks for display, with department names and the overdue flag as of `now_ms`.
#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    department_id: i64,
    department: String,
    #[sqlx(try_from = "String")]
    share: Share,
    #[sqlx(try_from = "String")]
    state: TaskState,
    instruction: String,
    dispatched_at: i64,
    due_at: i64,
    accepted_at: Option<i64>,
    done_at: Option<i64>,
    extension_until: Option<i64>,
    extensions: i64,
    reworks: i64,
    urges: i64,
    escalated_at: Option<i64>,
}

pub async fn for_case(db: &crate::db::Db, case_id: i64, now_ms: i64) -> AppResult<Vec<CaseTask>> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT t.id, t.department_id, d.name AS department, t.share, t.state, t.instruction, t.dispatched_at, t.due_at, \
         t.accepted_at, t.done_at, t.extension_until, t.extensions, t.reworks, t.urges, t.escalated_at \
         FROM case_tasks t JOIN departments d ON d.id = t.department_id WHERE t.case_id = $1 ORDER BY t.id",
    )
    .bind(case_id)
    .fetch_all(&db.pool)
    .await?;
    let opt = |v: Option<i64>| v.map(rfc3339);
    Ok(rows
        .into_iter()
        .map(|r| CaseTask {
            overdue: match r.done_at {
                Some(d) => d > r.due_at,
                None => r.state.is_open() && now_ms > r.due_at,
            },
            id: r.id,
            department_id: r.department_id,
            department: r.department,
            share: r.share,
            state: r.state,
            instruction: r.instruction,
            dispatched_at: rfc3339(r.dispatched_at),
            due_at: rfc3339(r.due_at),
            accepted_at: opt(r.accepted_at),
            done_at: opt(r.done_at),
            extension_until: opt(r.extension_until),
            extensions: r.extensions,
            reworks: r.reworks,
            urges: r.urges,
            escalated_at: opt(r.escalated_at),
        })
        .collect())
}
