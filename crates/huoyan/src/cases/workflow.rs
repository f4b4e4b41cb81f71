//! Taking workflow steps on a case: the role and order are the core's state machine, sub-tasks
//! the core's task rules; this module validates the request, then re-reads the case and its
//! tasks inside the writing change (writers are serialised by the audit head) and writes the new
//! state, the tasks, the timeline entry, notifications and the audit event together.

use huoyan_core::auth::Role;
use huoyan_core::cases::{
    Action, CaseState, Priority, Share, TaskError, TaskState, WorkflowError, case_state,
    department_step, dispatch, rework, transition,
};
use serde::Deserialize;
use sqlx::Row;
use utoipa::ToSchema;

use super::CasesState;
use super::files::Upload;
use super::tasks::{self, StoredTask};
use crate::audit::Change;
use crate::auth::Principal;
use crate::check::Check;
use crate::db::Db;
use crate::error::{AppError, AppResult, FieldError};
use crate::notifications::notify;
use crate::time::parse_time;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    /// triage, reject, merge, dispatch, accept, send_back, report_fix, verify, rework, close,
    /// fix_on_site, request_extension, grant_extension, refuse_extension.
    pub action: String,
    /// What the role writes: the office's summary, the department's account of the fix, the
    /// verifier's finding.
    #[serde(default)]
    pub note: String,
    /// With `dispatch`: the lead department (主办). With `grant_extension`/`refuse_extension`:
    /// whose request is answered (needed only when several units asked).
    pub department_id: Option<i64>,
    /// With `dispatch`: the lead's deadline (RFC 3339); from the deadline policy when absent.
    pub due_at: Option<String>,
    /// With `dispatch`: co-responsible units (协办), each with its own sub-task and deadline.
    #[serde(default)]
    pub co: Vec<CoTask>,
    /// With `request_extension`: the deadline asked for (RFC 3339).
    pub until: Option<String>,
    /// With `merge`: the case this report is merged into.
    pub into_case_id: Option<i64>,
    /// With `rework`: the units whose fix failed; every unit that reported a fix when empty.
    #[serde(default)]
    pub department_ids: Vec<i64>,
    /// With `triage`: the office's classification, when the reporter's was wrong.
    pub category: Option<String>,
    /// With `triage`: urgent, high, normal or low.
    pub priority: Option<String>,
    /// Where the step was taken (WGS84), e.g. the verifier on the spot.
    pub lon: Option<f64>,
    pub lat: Option<f64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CoTask {
    pub department_id: i64,
    /// What this unit is to do.
    #[serde(default)]
    pub instruction: String,
    /// RFC 3339; the lead's deadline when absent.
    pub due_at: Option<String>,
}

/// Actions whose note is the substance of the step and may not be empty.
fn needs_note(action: Action) -> bool {
    matches!(
        action,
        Action::Triage
            | Action::ReportFix
            | Action::Verify
            | Action::Rework
            | Action::SendBack
            | Action::Reject
            | Action::RefuseExtension
            | Action::FixOnSite
    )
}

fn workflow_error(e: WorkflowError) -> AppError {
    match e {
        WorkflowError::RoleMayNot { .. } => AppError::Forbidden,
        e @ WorkflowError::OutOfOrder { .. } => {
            AppError::invalid("action", e.to_string().trim_start_matches("action: "))
        }
    }
}

fn task_error(e: TaskError) -> AppError {
    let text = e.to_string();
    let (field, message) = text.split_once(": ").unwrap_or(("action", text.as_str()));
    AppError::invalid(field, message)
}

/// A dispatch checked before the change: the units and their deadlines.
struct Dispatch {
    lead: i64,
    lead_due: Option<i64>,
    co: Vec<(i64, String, Option<i64>)>,
}

async fn check_dispatch(db: &Db, req: &TransitionRequest, check: &mut Check) -> Option<Dispatch> {
    let Some(lead) = req.department_id else {
        check.fail("department_id", "dispatch names the lead department (主办)");
        return None;
    };
    let mut ok = true;
    for (field, id) in std::iter::once(("department_id".to_string(), lead)).chain(
        req.co
            .iter()
            .enumerate()
            .map(|(i, c)| (format!("co[{i}].department_id"), c.department_id)),
    ) {
        if crate::org::departments::get(db, id).await.is_err() {
            check.fail(&field, "no such department");
            ok = false;
        }
    }
    let mut due =
        |field: String, v: &Option<String>| match v.as_deref().map(|u| parse_time(&field, u)) {
            Some(Ok(t)) => Some(t),
            Some(Err(e)) => {
                check.fail(&e.field, e.message);
                ok = false;
                None
            }
            None => None,
        };
    let lead_due = due("due_at".into(), &req.due_at);
    let co = req
        .co
        .iter()
        .enumerate()
        .map(|(i, c)| {
            (
                c.department_id,
                c.instruction.trim().to_string(),
                due(format!("co[{i}].due_at"), &c.due_at),
            )
        })
        .collect();
    ok.then_some(Dispatch { lead, lead_due, co })
}

/// Takes one workflow step, attaching `evidence` (checked photos and files) in the same change.
pub async fn act(
    app: &CasesState,
    p: &Principal,
    id: i64,
    req: &TransitionRequest,
    evidence: &[Upload],
) -> AppResult<()> {
    let db = &app.db;
    // Scope first: a case outside the caller's view is 404 whatever is asked.
    let case = super::get_scoped(db, p, id).await?;
    let action =
        Action::parse(&req.action).ok_or_else(|| AppError::invalid("action", "unknown action"))?;
    let priority = Priority::parse(&case.priority).unwrap_or(Priority::Normal);
    let mut check = Check::default();
    if needs_note(action) {
        check.non_empty("note", &req.note, 4000);
    }
    crate::geo::check_point(&mut check, req.lon, req.lat);
    let category = super::given(&req.category);
    let reprioritised = super::given(&req.priority);
    for (field, value) in [("category", category), ("priority", reprioritised)] {
        if value.is_some() && action != Action::Triage {
            check.fail(field, "only the office's triage classifies a case");
        }
    }
    if category.is_some_and(|c| huoyan_core::cases::Category::parse(c).is_none()) {
        check.fail("category", "not a case category");
    }
    if reprioritised.is_some_and(|c| Priority::parse(c).is_none()) {
        check.fail("priority", "one of urgent, high, normal, low");
    }
    let priority = reprioritised.and_then(Priority::parse).unwrap_or(priority);
    let dispatch_plan = if action == Action::Dispatch {
        check_dispatch(db, req, &mut check).await
    } else {
        None
    };
    let until = match (action, req.until.as_deref()) {
        (Action::RequestExtension, Some(u)) => match parse_time("until", u) {
            Ok(t) => Some(t),
            Err(e) => {
                check.fail(&e.field, e.message);
                None
            }
        },
        (Action::RequestExtension, None) => {
            check.fail("until", "name the deadline you ask for");
            None
        }
        _ => None,
    };
    if action == Action::Merge {
        match req.into_case_id {
            None => check.fail("into_case_id", "name the case this report merges into"),
            Some(t) if t == id => check.fail("into_case_id", "a case cannot merge into itself"),
            Some(t) => match super::get_scoped(db, p, t).await {
                Ok(target) if CaseState::parse(&target.state).is_some_and(|s| !s.is_terminal()) => {
                }
                Ok(_) => check.fail(
                    "into_case_id",
                    "that case is finished; merge into an open one",
                ),
                Err(_) => check.fail("into_case_id", "no such case"),
            },
        }
    }
    if matches!(
        action,
        Action::Accept | Action::SendBack | Action::ReportFix | Action::RequestExtension
    ) && p.scope.department_id.is_none()
    {
        return Err(AppError::Forbidden);
    }
    // The role may act at all, and the state allows it as the client saw it.
    let state = CaseState::parse(&case.state)
        .ok_or_else(|| anyhow::anyhow!("case {id} has unknown state {}", case.state))?;
    transition(state, action, p.role).map_err(workflow_error)?;
    if matches!(action, Action::Verify | Action::Rework)
        && !may_verify(p.role, case.reporter_account_id, p.account_id)
    {
        return Err(AppError::Forbidden);
    }
    check.done()?;

    let note = req.note.trim();
    Change::run(db, &p.actor(), async |change| {
        let at = change.at_ms();
        // Re-read inside the change: another step may have landed since.
        let row = sqlx::query("SELECT state, category, reporter_account_id FROM cases WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *change.tx)
            .await?;
        let (current, stored_category, reporter): (String, String, i64) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        let category = category.map_or(stored_category, str::to_string);
        if current != state.code() {
            return Err(AppError::Conflict(vec![FieldError::new(
                "action",
                "the case changed meanwhile; reload it",
            )]));
        }
        let mut next = transition(state, action, p.role).map_err(workflow_error)?;
        let mut stored = tasks::load(&mut *change.tx, id).await?;
        let mut acting_department = None;
        match action {
            Action::Dispatch => {
                let plan = dispatch_plan.as_ref().expect("checked before the change");
                let co: Vec<i64> = plan.co.iter().map(|c| c.0).collect();
                let fresh = dispatch(plan.lead, &co).map_err(task_error)?;
                let policy_due = app.deadlines.due(at, priority, &category);
                let lead_due = plan.lead_due.unwrap_or(policy_due);
                for (k, task) in fresh.iter().enumerate() {
                    let (instruction, due) = if k == 0 {
                        (note.to_string(), lead_due)
                    } else {
                        let c = &plan.co[k - 1];
                        (c.1.clone(), c.2.unwrap_or(lead_due))
                    };
                    sqlx::query("INSERT INTO case_tasks (case_id, department_id, share, state, instruction, dispatched_at, due_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                        .bind(id)
                        .bind(task.department_id)
                        .bind(task.share.code())
                        .bind(task.state.code())
                        .bind(instruction)
                        .bind(at)
                        .bind(due)
                        .execute(&mut *change.tx)
                        .await?;
                }
                acting_department = Some(plan.lead);
            }
            Action::Accept | Action::SendBack | Action::ReportFix | Action::RequestExtension => {
                let dept = p.scope.department_id.expect("checked before the change");
                let mut view: Vec<_> = stored.iter().map(|s| s.task).collect();
                let i = department_step(&mut view, dept, action).map_err(task_error)?;
                if action == Action::RequestExtension {
                    let until = until.expect("checked before the change");
                    if until <= stored[i].due_at {
                        return Err(AppError::invalid("until", "ask for a deadline later than the current one"));
                    }
                    sqlx::query("UPDATE case_tasks SET extension_until = $1 WHERE id = $2")
                        .bind(until)
                        .bind(stored[i].id)
                        .execute(&mut *change.tx)
                        .await?;
                } else {
                    write_states(change, &stored, &view, at).await?;
                    next = case_state(&view);
                }
                acting_department = Some(dept);
            }
            Action::GrantExtension | Action::RefuseExtension => {
                let pending: Vec<&StoredTask> = stored
                    .iter()
                    .filter(|s| s.extension_until.is_some() && s.task.state.is_open())
                    .filter(|s| req.department_id.is_none_or(|d| d == s.task.department_id))
                    .collect();
                let task = match pending.as_slice() {
                    [one] => *one,
                    [] => return Err(AppError::invalid("action", "no extension was requested")),
                    _ => return Err(AppError::invalid("department_id", "several units asked; name whose request you answer")),
                };
                let granted = action == Action::GrantExtension;
                sqlx::query("UPDATE case_tasks SET due_at = CASE WHEN $1 = 1 THEN extension_until ELSE due_at END, \
                             extensions = extensions + $1, extension_until = NULL, escalated_at = CASE WHEN $1 = 1 THEN NULL ELSE escalated_at END WHERE id = $2")
                    .bind(granted as i64)
                    .bind(task.id)
                    .execute(&mut *change.tx)
                    .await?;
                acting_department = Some(task.task.department_id);
            }
            Action::Rework => {
                let mut view: Vec<_> = stored.iter().map(|s| s.task).collect();
                let reopened = rework(&mut view, &req.department_ids).map_err(|_| {
                    AppError::invalid("department_ids", "name units whose task on this case is done")
                })?;
                for i in reopened {
                    sqlx::query("UPDATE case_tasks SET state = $1, done_at = NULL, reworks = reworks + 1 WHERE id = $2")
                        .bind(TaskState::Rectifying.code())
                        .bind(stored[i].id)
                        .execute(&mut *change.tx)
                        .await?;
                }
                next = case_state(&view);
            }
            Action::Merge => {
                let target = req.into_case_id.expect("checked before the change");
                let open = sqlx::query("SELECT state, reporter_account_id FROM cases WHERE id = $1")
                    .bind(target)
                    .fetch_one(&mut *change.tx)
                    .await?;
                let (target_state, target_reporter): (String, i64) = (open.try_get(0)?, open.try_get(1)?);
                if CaseState::parse(&target_state).is_none_or(CaseState::is_terminal) {
                    return Err(AppError::invalid("into_case_id", "that case is finished; merge into an open one"));
                }
                sqlx::query("UPDATE cases SET merged_into = $1 WHERE id = $2")
                    .bind(target)
                    .bind(id)
                    .execute(&mut *change.tx)
                    .await?;
                // Reports already merged into this one follow it.
                sqlx::query("UPDATE cases SET merged_into = $1 WHERE merged_into = $2")
                    .bind(target)
                    .bind(id)
                    .execute(&mut *change.tx)
                    .await?;
                let reporters: Vec<i64> = sqlx::query("SELECT reporter_account_id FROM cases WHERE merged_into = $1")
                    .bind(target)
                    .fetch_all(&mut *change.tx)
                    .await?
                    .iter()
                    .map(|r| r.try_get(0))
                    .collect::<Result<_, _>>()?;
                let mut informed = vec![reporter, target_reporter];
                informed.extend(reporters);
                let message = format!("案件 #{id} 已并入案件 #{target} 一并办理 (report #{id} merged into case #{target})");
                notify(change, &informed, Some(target), "merged", &message).await?;
                sqlx::query("INSERT INTO case_events (case_id, at, actor_account_id, action, from_state, to_state, note) VALUES ($1, $2, $3, 'absorb', $4, $4, $5)")
                    .bind(target)
                    .bind(at)
                    .bind(p.account_id)
                    .bind(&target_state)
                    .bind(format!("并入案件 #{id} (merged in case #{id})"))
                    .execute(&mut *change.tx)
                    .await?;
            }
            _ => {}
        }
        stored = tasks::load(&mut *change.tx, id).await?;
        let lead = stored
            .iter()
            .rev()
            .find(|s| s.task.share == Share::Lead && s.task.state != TaskState::Withdrawn)
            .map(|s| s.task.department_id);
        sqlx::query(
            "UPDATE cases SET state = $1, updated_at = $2, department_id = $3, category = $5, priority = $6, \
             due_at = (SELECT MIN(due_at) FROM case_tasks WHERE case_id = $4 AND state IN ('dispatched', 'rectifying')) WHERE id = $4",
        )
        .bind(next.code())
        .bind(at)
        .bind(lead)
        .bind(id)
        .bind(&category)
        .bind(priority.code())
        .execute(&mut *change.tx)
        .await?;
        sqlx::query("INSERT INTO case_events (case_id, at, actor_account_id, action, from_state, to_state, note, department_id, lon, lat) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
            .bind(id)
            .bind(at)
            .bind(p.account_id)
            .bind(action.code())
            .bind(state.code())
            .bind(next.code())
            .bind(note)
            .bind(acting_department)
            .bind(req.lon)
            .bind(req.lat)
            .execute(&mut *change.tx)
            .await?;
        super::files::store(change, id, evidence).await?;
        change
            .record("case", id, action.code(), &serde_json::json!({"from": state.code(), "to": next.code(), "department_id": acting_department, "note": note, "category": category, "priority": priority.code()}))
            .await
    })
    .await
}

/// Writes the task states a department's step changed, stamping acceptance and completion.
async fn write_states(
    change: &mut Change,
    before: &[StoredTask],
    after: &[huoyan_core::cases::Task],
    at: i64,
) -> AppResult<()> {
    for (s, t) in before
        .iter()
        .zip(after)
        .filter(|(s, t)| s.task.state != t.state)
    {
        sqlx::query(
            "UPDATE case_tasks SET state = $1, accepted_at = CASE WHEN $1 = 'rectifying' THEN COALESCE(accepted_at, $2) ELSE accepted_at END, \
             done_at = CASE WHEN $1 = 'done' THEN $2 ELSE done_at END, extension_until = CASE WHEN $1 = 'done' THEN NULL ELSE extension_until END WHERE id = $3",
        )
        .bind(t.state.code())
        .bind(at)
        .bind(s.id)
        .execute(&mut *change.tx)
        .await?;
    }
    Ok(())
}

/// Whether a supervisor may verify: only the reporter re-inspects their own case.
fn may_verify(role: Role, reporter: i64, account: i64) -> bool {
    role != Role::Supervisor || reporter == account
}
