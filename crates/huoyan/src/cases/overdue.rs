//! The overdue job: once a minute, every unit's open task past its deadline is escalated once —
//! a timeline entry against that unit and a notice to every group member and commander. Whether a
//! case is overdue needs no job (it is read off the deadline); the job makes someone chase it.

use std::time::Duration;

use sqlx::Row;

use crate::audit::{Actor, Change};
use crate::db::Db;
use crate::error::AppResult;
use crate::notifications::{accounts_with_roles, notify};

/// Escalates the open tasks due before `now_ms` that were not escalated yet; returns how many.
pub async fn sweep(db: &Db, now_ms: i64) -> AppResult<usize> {
    Change::run(db, &Actor::system("overdue"), async |change| {
        let due = sqlx::query(
            "SELECT t.id, t.case_id, t.department_id, d.name, t.due_at, c.state FROM case_tasks t \
             JOIN departments d ON d.id = t.department_id JOIN cases c ON c.id = t.case_id \
             WHERE t.state IN ('dispatched', 'rectifying') AND t.due_at < $1 AND t.escalated_at IS NULL ORDER BY t.id",
        )
        .bind(now_ms)
        .fetch_all(&mut *change.tx)
        .await?;
        if due.is_empty() {
            return Ok(0);
        }
        let chasers = accounts_with_roles(change, &["group", "commander"]).await?;
        for r in &due {
            let (task, case, dept, name, due_at, state): (i64, i64, i64, String, i64, String) = (
                r.try_get(0)?,
                r.try_get(1)?,
                r.try_get(2)?,
                r.try_get(3)?,
                r.try_get(4)?,
                r.try_get(5)?,
            );
            let deadline = crate::time::beijing(due_at);
            sqlx::query("UPDATE case_tasks SET escalated_at = $1 WHERE id = $2")
                .bind(change.at_ms())
                .bind(task)
                .execute(&mut *change.tx)
                .await?;
            let note = format!("{name} 超期未办结（期限 {deadline}）；已提请督导组和指挥长督办 ({name} is overdue)");
            sqlx::query("INSERT INTO case_events (case_id, at, actor_account_id, action, from_state, to_state, note, department_id) VALUES ($1, $2, NULL, 'escalate', $3, $3, $4, $5)")
                .bind(case)
                .bind(change.at_ms())
                .bind(&state)
                .bind(&note)
                .bind(dept)
                .execute(&mut *change.tx)
                .await?;
            notify(change, &chasers, Some(case), "escalated", &format!("案件 #{case}：{note}")).await?;
            change
                .record("case", case, "escalate", &serde_json::json!({"task": task, "department_id": dept, "due_at": due_at}))
                .await?;
        }
        Ok(due.len())
    })
    .await
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
