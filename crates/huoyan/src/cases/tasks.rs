//! Storage of sub-tasks: one row per responsible unit of a dispatched case, with its own
//! deadline, acceptance, completion, extension and rework counts. The rules are in
//! `huoyan_core::cases::tasks`; this module reads and writes them.

use huoyan_core::cases::{Share, Task, TaskState};
use serde::Serialize;
use sqlx::{Any, Row};
use utoipa::ToSchema;

use crate::error::AppResult;
use crate::time::rfc3339;

/// A unit's sub-task as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseTask {
    pub id: i64,
    pub department_id: i64,
    pub department: String,
    /// lead (主办) or co (协办).
    pub share: String,
    /// dispatched, rectifying, done, sent_back, withdrawn.
    pub state: String,
    pub instruction: String,
    pub dispatched_at: String,
    pub due_at: String,
    pub accepted_at: Option<String>,
    pub done_at: Option<String>,
    /// A later deadline asked for and not yet answered.
    pub extension_until: Option<String>,
    pub extensions: i64,
    pub reworks: i64,
    pub escalated_at: Option<String>,
    /// Open past its deadline, or done after it.
    pub overdue: bool,
}

/// A task row as the workflow needs it: the core's view plus its clock.
#[derive(Debug, Clone)]
pub struct StoredTask {
    pub id: i64,
    pub task: Task,
    pub due_at: i64,
    pub extension_until: Option<i64>,
}

/// The tasks of a case in dispatch order, read on `conn` (inside a change, so the workflow sees
/// what it is about to update).
pub async fn load<'c>(
    conn: impl sqlx::Executor<'c, Database = Any>,
    case_id: i64,
) -> AppResult<Vec<StoredTask>> {
    let rows = sqlx::query("SELECT id, department_id, share, state, due_at, extension_until FROM case_tasks WHERE case_id = $1 ORDER BY id")
        .bind(case_id)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| {
            let share: String = r.try_get(2)?;
            let state: String = r.try_get(3)?;
            Ok(StoredTask {
                id: r.try_get(0)?,
                task: Task {
                    department_id: r.try_get(1)?,
                    share: Share::parse(&share)
                        .ok_or_else(|| anyhow::anyhow!("task has unknown share {share}"))?,
                    state: TaskState::parse(&state)
                        .ok_or_else(|| anyhow::anyhow!("task has unknown state {state}"))?,
                },
                due_at: r.try_get(4)?,
                extension_until: r.try_get(5)?,
            })
        })
        .collect()
}

/// A case's tasks for display, with department names and the overdue flag as of `now_ms`.
pub async fn for_case(db: &crate::db::Db, case_id: i64, now_ms: i64) -> AppResult<Vec<CaseTask>> {
    let rows = sqlx::query(
        "SELECT t.id, t.department_id, d.name, t.share, t.state, t.instruction, t.dispatched_at, t.due_at, t.accepted_at, t.done_at, \
         t.extension_until, t.extensions, t.reworks, t.escalated_at FROM case_tasks t JOIN departments d ON d.id = t.department_id \
         WHERE t.case_id = $1 ORDER BY t.id",
    )
    .bind(case_id)
    .fetch_all(&db.pool)
    .await?;
    let opt = |v: Option<i64>| v.map(rfc3339);
    rows.iter()
        .map(|r| {
            let state: String = r.try_get(4)?;
            let due: i64 = r.try_get(7)?;
            let done: Option<i64> = r.try_get(9)?;
            let open = TaskState::parse(&state).is_some_and(TaskState::is_open);
            let overdue = match done {
                Some(d) => d > due,
                None => open && now_ms > due,
            };
            Ok(CaseTask {
                id: r.try_get(0)?,
                department_id: r.try_get(1)?,
                department: r.try_get(2)?,
                share: r.try_get(3)?,
                state,
                instruction: r.try_get(5)?,
                dispatched_at: rfc3339(r.try_get(6)?),
                due_at: rfc3339(due),
                accepted_at: opt(r.try_get(8)?),
                done_at: opt(done),
                extension_until: opt(r.try_get(10)?),
                extensions: r.try_get(11)?,
                reworks: r.try_get(12)?,
                escalated_at: opt(r.try_get(13)?),
                overdue,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}
