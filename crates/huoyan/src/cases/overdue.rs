//! The overdue job: once a minute, every unit's open task past its deadline is escalated once —
//! a timeline entry against that unit, a notice to the group and the commanders who hold the case
//! in their scope, and one to the unit. Whether a case is overdue needs no job (it is read off the
//! deadline); the job makes someone chase it.

use std::time::Duration;

use std::collections::HashMap;

use huoyan_core::cases::step::{self, CaseNow, Outcome, TaskNow};

use super::store;
use crate::audit::{Actor, Change};
use crate::db::Db;
use crate::error::AppResult;

/// Escalates the open tasks due before `now_ms` that were not escalated yet; returns how many
/// cases had one.
pub async fn sweep(db: &Db, now_ms: i64) -> AppResult<usize> {
    Change::run(db, &Actor::system("overdue"), async |change| {
        sweep_in(change, now_ms).await
    })
    .await
}

/// The same inside `change` (whose time should be `now_ms`): what the demo does at each minute
/// the job would have ticked in its history.
pub async fn sweep_in(change: &mut Change, now_ms: i64) -> AppResult<usize> {
    let due: Vec<(i64, i64, String)> = sqlx::query_as(
        "SELECT DISTINCT t.case_id, t.department_id, d.name FROM case_tasks t JOIN departments d ON d.id = t.department_id \
         WHERE t.state IN ('dispatched', 'rectifying') AND t.due_at < $1 AND t.escalated_at IS NULL ORDER BY t.case_id",
    )
    .bind(now_ms)
    .fetch_all(&mut *change.tx)
    .await?;
    if due.is_empty() {
        return Ok(0);
    }
    let names: HashMap<i64, String> = due.iter().map(|(_, d, n)| (*d, n.clone())).collect();
    let mut cases: Vec<i64> = due.iter().map(|(c, _, _)| *c).collect();
    cases.dedup();
    for &id in &cases {
        let (case, tasks) = store::load(change, id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("case {id} of an overdue task is gone"))?;
        let Some((outcome, summary)) = escalation(&case, &tasks, now_ms, &names) else {
            continue;
        };
        store::apply(change, &case, &tasks, &outcome, None, &summary).await?;
    }
    Ok(cases.len())
}

/// What the job decides for a case at `now_ms` (the core's `escalate`), with the audit event's
/// account of it; shared with the demo's batched replay (`cases::bulk`).
pub(crate) fn escalation(
    case: &CaseNow,
    tasks: &[TaskNow],
    now_ms: i64,
    names: &HashMap<i64, String>,
) -> Option<(Outcome, serde_json::Value)> {
    let outcome = step::escalate(case, tasks, now_ms, names)?;
    let escalated: Vec<_> = outcome
        .tasks
        .iter()
        .zip(tasks)
        .filter(|(after, before)| after.escalated_at != before.escalated_at)
        .map(|(t, _)| serde_json::json!({"task": t.id, "department_id": t.task.department_id, "due_at": t.due_at}))
        .collect();
    Some((outcome, serde_json::json!({"escalated": escalated})))
}

/// Runs `sweep` every minute for as long as the server runs; a failed sweep is logged and tried
/// again at the next tick.
pub async fn run(state: super::CasesState) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        match sweep(&state.db, crate::time::now_ms()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(escalated = n, "overdue tasks escalated"),
            Err(e) => tracing::warn!(error = %e, "overdue sweep failed"),
        }
    }
}
