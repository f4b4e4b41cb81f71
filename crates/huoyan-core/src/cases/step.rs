//! One workflow step decided as a pure function: the case and its units' tasks as they are, who
//! acts, the typed step and the time go in; the case and tasks as they become, the timeline
//! entries, the notices and the reports that follow a merge come out. The application reads the
//! inputs inside the change that writes the outcome, and writes nothing this function did not
//! decide; the demo walks its history through the same function.

use std::collections::HashMap;

use super::{
    Action, CaseState, Category, DeadlinePolicy, Priority, Share, Task, TaskError, TaskState,
    WorkflowError, case_state, department_step, rework, transition,
};
use crate::auth::Role;

/// A case as a step finds it and leaves it.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseNow {
    pub id: i64,
    pub state: CaseState,
    pub category: Category,
    pub priority: Priority,
    pub reporter: i64,
    /// The lead unit of the latest dispatch still on it (follows from the tasks).
    pub department_id: Option<i64>,
    /// The earliest deadline among the open tasks (follows from the tasks).
    pub due_at: Option<i64>,
    /// With `merged`: the case this report was merged into.
    pub merged_into: Option<i64>,
    pub updated_at: i64,
}

/// A unit's task as a step finds it and leaves it; `id` is None for a task the step makes.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskNow {
    pub id: Option<i64>,
    pub task: Task,
    pub instruction: String,
    pub dispatched_at: i64,
    pub due_at: i64,
    pub accepted_at: Option<i64>,
    pub done_at: Option<i64>,
    /// A later deadline asked for and not yet answered.
    pub extension_until: Option<i64>,
    pub extensions: i64,
    pub reworks: i64,
    /// How often the group chased the unit on this task.
    pub urges: i64,
    pub escalated_at: Option<i64>,
}

/// Who takes a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub account_id: i64,
    pub role: Role,
    /// The unit a department account acts for.
    pub department_id: Option<i64>,
}

/// A co-responsible unit (协办) named by a dispatch.
#[derive(Debug, Clone, PartialEq)]
pub struct CoUnit {
    pub department_id: i64,
    pub instruction: String,
    /// The lead's deadline when absent.
    pub due_at: Option<i64>,
}

/// The open case a report is merged into, and the reports already merged into the one merging
/// (they follow it), each with its reporter.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeInto {
    pub id: i64,
    pub state: CaseState,
    pub reporter: i64,
    pub absorbed: Vec<(i64, i64)>,
}

/// A step with exactly the inputs its action takes, parsed and resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Triage {
        note: String,
        category: Option<Category>,
        priority: Option<Priority>,
    },
    Reject {
        note: String,
    },
    Merge {
        note: String,
        into: MergeInto,
    },
    Dispatch {
        note: String,
        lead: i64,
        /// From the deadline policy when absent.
        due_at: Option<i64>,
        co: Vec<CoUnit>,
    },
    Accept {
        note: String,
    },
    SendBack {
        note: String,
    },
    ReportFix {
        note: String,
    },
    Verify {
        note: String,
    },
    Rework {
        note: String,
        /// Every unit that reported a fix when empty.
        departments: Vec<i64>,
    },
    Close {
        note: String,
    },
    FixOnSite {
        note: String,
    },
    RequestExtension {
        note: String,
        until: i64,
    },
    GrantExtension {
        note: String,
        /// Whose request is answered; needed only when several units asked.
        department_id: Option<i64>,
    },
    RefuseExtension {
        note: String,
        department_id: Option<i64>,
    },
    /// The group chases a unit (every unit with an open task when none is named).
    Urge {
        note: String,
        department_id: Option<i64>,
    },
    /// The group withdraws the open tasks and dispatches afresh to a lead and co-responsible
    /// units (a wrong unit, or units to add or drop).
    Reroute {
        note: String,
        lead: i64,
        due_at: Option<i64>,
        co: Vec<CoUnit>,
    },
    /// The group moves a unit's deadline (the lead's when none is named).
    ChangeDeadline {
        note: String,
        department_id: Option<i64>,
        due_at: i64,
    },
}

impl Step {
    pub fn action(&self) -> Action {
        match self {
            Step::Triage { .. } => Action::Triage,
            Step::Reject { .. } => Action::Reject,
            Step::Merge { .. } => Action::Merge,
            Step::Dispatch { .. } => Action::Dispatch,
            Step::Accept { .. } => Action::Accept,
            Step::SendBack { .. } => Action::SendBack,
            Step::ReportFix { .. } => Action::ReportFix,
            Step::Verify { .. } => Action::Verify,
            Step::Rework { .. } => Action::Rework,
            Step::Close { .. } => Action::Close,
            Step::FixOnSite { .. } => Action::FixOnSite,
            Step::RequestExtension { .. } => Action::RequestExtension,
            Step::GrantExtension { .. } => Action::GrantExtension,
            Step::RefuseExtension { .. } => Action::RefuseExtension,
            Step::Urge { .. } => Action::Urge,
            Step::Reroute { .. } => Action::Reroute,
            Step::ChangeDeadline { .. } => Action::ChangeDeadline,
        }
    }

    pub fn note(&self) -> &str {
        match self {
            Step::Triage { note, .. }
            | Step::Reject { note }
            | Step::Merge { note, .. }
            | Step::Dispatch { note, .. }
            | Step::Accept { note }
            | Step::SendBack { note }
            | Step::ReportFix { note }
            | Step::Verify { note }
            | Step::Rework { note, .. }
            | Step::Close { note }
            | Step::FixOnSite { note }
            | Step::RequestExtension { note, .. }
            | Step::GrantExtension { note, .. }
            | Step::RefuseExtension { note, .. }
            | Step::Urge { note, .. }
            | Step::Reroute { note, .. }
            | Step::ChangeDeadline { note, .. } => note,
        }
    }
}

/// Actions whose note is the substance of the step and may not be empty.
pub fn needs_note(action: Action) -> bool {
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
            | Action::Urge
            | Action::Reroute
            | Action::ChangeDeadline
    )
}

/// A line of a case's timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub case_id: i64,
    /// An action's code, or `escalate`, `absorb`, `attach`.
    pub action: &'static str,
    pub from: Option<CaseState>,
    pub to: CaseState,
    pub note: String,
    /// The unit the entry concerns.
    pub department_id: Option<i64>,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub case: CaseNow,
    /// The tasks in dispatch order, the ones this step made last (with no id).
    pub tasks: Vec<TaskNow>,
    pub entries: Vec<Entry>,
    /// Each notice with whom it goes to.
    pub notices: Vec<(Notice, Vec<Audience>)>,
    /// Reports whose `merged_into` moves to the case this one merged into.
    pub redirected: Vec<i64>,
}

/// Why a step is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    /// The role (or this account) may not take this step on this case.
    #[error("your role may not do this")]
    Forbidden,
    /// Named by the input field at fault.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
}

impl StepError {
    fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        StepError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl From<WorkflowError> for StepError {
    fn from(e: WorkflowError) -> Self {
        match e {
            WorkflowError::RoleMayNot { .. } => StepError::Forbidden,
            e @ WorkflowError::OutOfOrder { .. } => {
                StepError::invalid("action", e.to_string().trim_start_matches("action: "))
            }
        }
    }
}

impl From<TaskError> for StepError {
    fn from(e: TaskError) -> Self {
        let text = e.to_string();
        match text.split_once(": ") {
            Some((field, message)) => StepError::invalid(field, message),
            None => StepError::invalid("action", text),
        }
    }
}

/// Takes `step` on `case` (with its `tasks`) by `actor` at `at`.
pub fn decide(
    case: &CaseNow,
    tasks: &[TaskNow],
    actor: &Actor,
    step: &Step,
    at: i64,
    deadlines: &DeadlinePolicy,
) -> Result<Outcome, StepError> {
    let action = step.action();
    if needs_note(action) && step.note().trim().is_empty() {
        return Err(StepError::invalid("note", "must not be empty"));
    }
    let unit_step = matches!(
        action,
        Action::Accept | Action::SendBack | Action::ReportFix | Action::RequestExtension
    );
    let acting_unit = if unit_step {
        Some(actor.department_id.ok_or(StepError::Forbidden)?)
    } else {
        None
    };
    let mut next = transition(case.state, action, actor.role)?;
    if matches!(action, Action::Verify | Action::Rework)
        && actor.role == Role::Supervisor
        && case.reporter != actor.account_id
    {
        // A supervisor re-inspects only what they reported.
        return Err(StepError::Forbidden);
    }
    let mut after = case.clone();
    let mut tasks = tasks.to_vec();
    let mut entries = Vec::new();
    let mut notices = Vec::new();
    let mut redirected = Vec::new();
    let mut department = acting_unit;
    match step {
        Step::Triage {
            category, priority, ..
        } => {
            after.category = category.unwrap_or(case.category);
            after.priority = priority.unwrap_or(case.priority);
            notices.push((
                Notice::Triaged { case: case.id },
                vec![Audience::Role(Role::Group)],
            ));
        }
        Step::Dispatch {
            note,
            lead,
            due_at,
            co,
        } => {
            let round = Round {
                note,
                lead: *lead,
                due_at: *due_at,
                co,
            };
            notices.extend(round.dispatch(case, &mut tasks, at, deadlines)?);
            department = Some(*lead);
        }
        Step::Reroute {
            note,
            lead,
            due_at,
            co,
        } => {
            let mut withdrawn = Vec::new();
            for t in tasks.iter_mut().filter(|t| t.task.state.is_open()) {
                t.task.state = TaskState::Withdrawn;
                t.extension_until = None;
                withdrawn.push(t.task.department_id);
            }
            let round = Round {
                note,
                lead: *lead,
                due_at: *due_at,
                co,
            };
            let told = round.dispatch(case, &mut tasks, at, deadlines)?;
            let again: Vec<i64> = co.iter().map(|c| c.department_id).chain([*lead]).collect();
            for d in withdrawn.into_iter().filter(|d| !again.contains(d)) {
                notices.push((Notice::Withdrawn { case: case.id }, vec![Audience::Unit(d)]));
            }
            notices.extend(told);
            department = Some(*lead);
        }
        Step::Urge { department_id, .. } => {
            let mut urged = Vec::new();
            for t in tasks.iter_mut().filter(|t| {
                t.task.state.is_open() && department_id.is_none_or(|d| d == t.task.department_id)
            }) {
                t.urges += 1;
                urged.push(t.task.department_id);
            }
            if urged.is_empty() {
                return Err(StepError::invalid(
                    "department_id",
                    "that unit has no open task on this case",
                ));
            }
            department = match urged.as_slice() {
                [one] => Some(*one),
                _ => *department_id,
            };
            for d in urged {
                notices.push((
                    Notice::Urged {
                        case: case.id,
                        note: step.note().trim().to_string(),
                    },
                    vec![Audience::Unit(d)],
                ));
            }
        }
        Step::ChangeDeadline {
            department_id,
            due_at,
            ..
        } => {
            if *due_at <= at {
                return Err(StepError::invalid(
                    "due_at",
                    "a deadline must lie in the future",
                ));
            }
            let t = tasks
                .iter_mut()
                .filter(|t| t.task.state.is_open())
                .find(|t| match department_id {
                    Some(d) => t.task.department_id == *d,
                    None => t.task.share == Share::Lead,
                })
                .ok_or_else(|| {
                    StepError::invalid("department_id", "that unit has no open task on this case")
                })?;
            t.due_at = *due_at;
            t.escalated_at = None;
            department = Some(t.task.department_id);
            notices.push((
                Notice::DeadlineMoved {
                    case: case.id,
                    due_at: *due_at,
                },
                vec![Audience::Unit(t.task.department_id)],
            ));
        }
        Step::Accept { .. } | Step::SendBack { .. } | Step::ReportFix { .. } => {
            let unit = acting_unit.expect("a unit step has its unit");
            let mut view: Vec<Task> = tasks.iter().map(|t| t.task).collect();
            department_step(&mut view, unit, action)?;
            for (t, v) in tasks.iter_mut().zip(&view) {
                if t.task.state == v.state {
                    continue;
                }
                if v.state == TaskState::Rectifying {
                    t.accepted_at = t.accepted_at.or(Some(at));
                }
                if v.state == TaskState::Done {
                    t.done_at = Some(at);
                    t.extension_until = None;
                }
                t.task.state = v.state;
            }
            next = case_state(&view);
        }
        Step::RequestExtension { until, .. } => {
            let unit = acting_unit.expect("a unit step has its unit");
            let mut view: Vec<Task> = tasks.iter().map(|t| t.task).collect();
            let i = department_step(&mut view, unit, action)?;
            if *until <= tasks[i].due_at.max(at) {
                return Err(StepError::invalid(
                    "until",
                    "ask for a deadline later than the current one",
                ));
            }
            tasks[i].extension_until = Some(*until);
            notices.push((
                Notice::ExtensionAsked {
                    case: case.id,
                    department_id: unit,
                    until: *until,
                },
                vec![Audience::Role(Role::Group)],
            ));
        }
        Step::GrantExtension { department_id, .. }
        | Step::RefuseExtension { department_id, .. } => {
            let pending: Vec<usize> = (0..tasks.len())
                .filter(|&i| {
                    let t = &tasks[i];
                    t.extension_until.is_some()
                        && t.task.state.is_open()
                        && department_id.is_none_or(|d| d == t.task.department_id)
                })
                .collect();
            let i = match pending.as_slice() {
                [one] => *one,
                [] => return Err(StepError::invalid("action", "no extension was requested")),
                _ => {
                    return Err(StepError::invalid(
                        "department_id",
                        "several units asked; name whose request you answer",
                    ));
                }
            };
            let t = &mut tasks[i];
            let asked = t.extension_until.take().expect("pending");
            if action == Action::GrantExtension {
                if asked <= at {
                    return Err(StepError::invalid(
                        "action",
                        "the deadline asked for has passed; refuse it and let the unit ask again",
                    ));
                }
                t.due_at = asked;
                t.extensions += 1;
                t.escalated_at = None;
            }
            department = Some(t.task.department_id);
            notices.push((
                Notice::ExtensionDecided {
                    case: case.id,
                    granted: action == Action::GrantExtension,
                    due_at: t.due_at,
                },
                vec![Audience::Unit(t.task.department_id)],
            ));
        }
        Step::Rework { departments, .. } => {
            let mut view: Vec<Task> = tasks.iter().map(|t| t.task).collect();
            let reopened = rework(&mut view, departments).map_err(|_| {
                StepError::invalid(
                    "department_ids",
                    "name units whose task on this case is done",
                )
            })?;
            for i in reopened {
                let t = &mut tasks[i];
                t.task.state = TaskState::Rectifying;
                t.done_at = None;
                t.reworks += 1;
                notices.push((
                    Notice::Reworked { case: case.id },
                    vec![Audience::Unit(t.task.department_id)],
                ));
            }
            next = case_state(&view);
        }
        Step::Merge { into, .. } => {
            if into.id == case.id {
                return Err(StepError::invalid(
                    "into_case_id",
                    "a case cannot merge into itself",
                ));
            }
            if into.state.is_terminal() {
                return Err(StepError::invalid(
                    "into_case_id",
                    "that case is finished; merge into an open one",
                ));
            }
            after.merged_into = Some(into.id);
            redirected = into.absorbed.iter().map(|(id, _)| *id).collect();
            let mut told = vec![case.reporter, into.reporter];
            told.extend(into.absorbed.iter().map(|(_, reporter)| *reporter));
            notices.push((
                Notice::Merged {
                    case: case.id,
                    into: into.id,
                },
                once_each(told).into_iter().map(Audience::Account).collect(),
            ));
            entries.push(Entry {
                case_id: into.id,
                action: "absorb",
                from: Some(into.state),
                to: into.state,
                note: format!("并入案件 #{} (merged in case #{})", case.id, case.id),
                department_id: None,
            });
        }
        Step::Verify { .. } => notices.push((
            Notice::Verified { case: case.id },
            vec![Audience::Role(Role::Group)],
        )),
        Step::Reject { .. } | Step::Close { .. } => notices.push((
            Notice::Finished {
                case: case.id,
                state: next,
            },
            vec![Audience::Account(case.reporter)],
        )),
        Step::FixOnSite { .. } => {}
    }
    match step {
        Step::SendBack { .. } => notices.push((
            Notice::SentBack {
                case: case.id,
                department_id: acting_unit.expect("a unit step has its unit"),
            },
            vec![Audience::Role(Role::Group)],
        )),
        Step::ReportFix { .. } if next == CaseState::Rectified => notices.push((
            Notice::Fixed { case: case.id },
            vec![Audience::Verifier {
                reporter: case.reporter,
            }],
        )),
        _ => {}
    }
    after.state = next;
    after.updated_at = at;
    settle(&mut after, &tasks);
    entries.insert(
        0,
        Entry {
            case_id: case.id,
            action: action.code(),
            from: Some(case.state),
            to: next,
            note: step.note().trim().to_string(),
            department_id: department,
        },
    );
    Ok(Outcome {
        case: after,
        tasks,
        entries,
        notices,
        redirected,
    })
}

/// The case's lead unit and earliest open deadline, which follow from its tasks.
fn settle(case: &mut CaseNow, tasks: &[TaskNow]) {
    case.department_id = tasks
        .iter()
        .rev()
        .find(|t| t.task.share == Share::Lead && t.task.state != TaskState::Withdrawn)
        .map(|t| t.task.department_id);
    case.due_at = tasks
        .iter()
        .filter(|t| t.task.state.is_open())
        .map(|t| t.due_at)
        .min();
}

fn once_each(mut accounts: Vec<i64>) -> Vec<i64> {
    let mut seen = std::collections::HashSet::new();
    accounts.retain(|a| seen.insert(*a));
    accounts
}

/// The overdue job's step on one case at `at`: every open task past its deadline and not yet
/// escalated is escalated once — a timeline entry against its unit, a notice to the group and the
/// commanders to chase it and one to the unit. None when nothing is due. `names` gives the units'
/// names for the entry.
pub fn escalate(
    case: &CaseNow,
    tasks: &[TaskNow],
    at: i64,
    names: &HashMap<i64, String>,
) -> Option<Outcome> {
    let mut tasks = tasks.to_vec();
    let mut entries = Vec::new();
    let mut notices = Vec::new();
    for t in tasks
        .iter_mut()
        .filter(|t| t.task.state.is_open() && t.escalated_at.is_none() && t.due_at < at)
    {
        t.escalated_at = Some(at);
        let unit = t.task.department_id;
        let name = names.get(&unit).cloned().unwrap_or_default();
        entries.push(Entry {
            case_id: case.id,
            action: "escalate",
            from: Some(case.state),
            to: case.state,
            note: format!("{name} 超期未办结；已提请督导组和指挥长督办 ({name} is overdue)"),
            department_id: Some(unit),
        });
        notices.push((
            Notice::Escalated {
                case: case.id,
                department_id: unit,
                department: name,
                due_at: t.due_at,
            },
            vec![Audience::Role(Role::Group), Audience::Role(Role::Commander)],
        ));
        notices.push((
            Notice::Overdue {
                case: case.id,
                due_at: t.due_at,
            },
            vec![Audience::Unit(unit)],
        ));
    }
    (!entries.is_empty()).then(|| Outcome {
        case: case.clone(),
        tasks,
        entries,
        notices,
        redirected: Vec::new(),
    })
}

/// Whether `actor` may add files to a case in `state` filed by `reporter` now: only while it is
/// open, and only its actors — its reporter, the office and the group who handle it, and a unit
/// with an open task on it (one of `open_units`).
pub fn may_attach(
    state: CaseState,
    reporter: i64,
    open_units: &[i64],
    actor: &Actor,
) -> Result<(), StepError> {
    if state.is_terminal() {
        return Err(StepError::invalid(
            "file",
            "the case is finished; files can no longer be added",
        ));
    }
    let unit_on_it = actor.department_id.is_some_and(|d| open_units.contains(&d));
    if reporter == actor.account_id
        || matches!(actor.role, Role::Office | Role::Group)
        || unit_on_it
    {
        Ok(())
    } else {
        Err(StepError::Forbidden)
    }
}

/// The units with an open task among `tasks`, for `may_attach`.
pub fn open_units(tasks: &[TaskNow]) -> Vec<i64> {
    tasks
        .iter()
        .filter(|t| t.task.state.is_open())
        .map(|t| t.task.department_id)
        .collect()
}

mod notice;
mod round;

pub use notice::{Audience, Notice};
use round::Round;

#[cfg(test)]
mod tests;
