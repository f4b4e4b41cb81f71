//! The overdue job: once a minute, every unit's open task past its deadline is escalated once —
//! a timeline entry against that unit, a notice to the group and the commanders who hold the case
//! in their scope, and one to the unit. Whether a case is overdue needs no job (it is read off the
//! deadline); the job makes someone chase it.

use std::collections::HashMap;
use std::time::Duration;

use huoyan_core::cases::step::{self, CaseNow, Outcome, TaskNow};

use super::store;
use crate::audit::{Actor, Change};
use crate::db::Db;
use crate::error::AppResult;

/// Cases escalated in one change by the job. Each case takes a few statements (at a million
/// cases, a backlog of 25,520 overdue tasks escalated in one change held SQLite's write lock for
/// 40 s, and every sign-in and report meanwhile failed after the 10 s busy timeout).
pub const SWEEP_BATCH: i64 = 200;

/// Escalates the open tasks due before `now_ms` that were not escalated yet, `SWEEP_BATCH` cases
/// a change; after each batch it waits as long as the batch took, so that the writes queued
/// behind it go first. Returns how many cases had one.
pub async fn sweep(db: &Db, now_ms: i64) -> AppResult<usize> {
    let (mut done, mut after) = (0, 0);
    loop {
        let started = std::time::Instant::now();
        let batch = Change::run(db, &Actor::system("overdue"), async |change| {
            sweep_in(change, now_ms, after, SWEEP_BATCH).await
        })
        .await?;
        done += batch.len();
        match batch.last() {
            Some(&last) if batch.len() as i64 == SWEEP_BATCH => after = last,
            _ => return Ok(done),
        }
        tokio::time::sleep(started.elapsed()).await;
    }
}

/// The same inside `change` (whose time should be `now_ms`), for at most `most` cases of ids
/// above `after`, in the order of their ids; returns the cases it looked at. The demo sweeps at
/// each minute the job would have ticked in its history, all cases in one change.
pub async fn sweep_in(
    change: &mut Change,
    now_ms: i64,
    after: i64,
    most: i64,
) -> AppResult<Vec<i64>> {
    let cases: Vec<i64> = sqlx::query_scalar(
        // Sorted (`+ 0`), not read in the order of the case index: PostgreSQL walked every task
        // that way, 1.4 s a minute at 990,188 cases with none left to escalate, where the tasks
        // waiting for it are few (index case_tasks_to_escalate; 1.3 ms so).
        "SELECT t.case_id FROM case_tasks t \
         WHERE t.state IN ('dispatched', 'rectifying') AND t.due_at < $1 AND t.escalated_at IS NULL \
         AND t.case_id > $2 GROUP BY t.case_id ORDER BY t.case_id + 0 LIMIT $3",
    )
    .bind(now_ms)
    .bind(after)
    .bind(most)
    .fetch_all(&mut *change.tx)
    .await?;
    if cases.is_empty() {
        return Ok(cases);
    }
    let names: HashMap<i64, String> = sqlx::query_as("SELECT id, name FROM departments")
        .fetch_all(&mut *change.tx)
        .await?
        .into_iter()
        .collect();
    for &id in &cases {
        let (case, tasks) = store::load(change, id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("case {id} of an overdue task is gone"))?;
        let Some((outcome, summary)) = escalation(&case, &tasks, now_ms, &names) else {
            continue;
        };
        store::apply(change, &case, &tasks, &outcome, None, &summary).await?;
    }
    Ok(cases)
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
