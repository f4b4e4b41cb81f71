//! Sub-tasks (主办/协办): a dispatched case is one task per responsible unit — a lead department
//! and any co-responsible units — each with its own deadline and clock. A department acts on its
//! own task; the case's state follows from its tasks: rectified only when every remaining task is
//! done, and back with the group for re-routing when the lead sends it back.

use super::workflow::{Action, CaseState};

crate::coded_enum!(
    Share {
        Lead = "lead", "主办", "Lead";
        Co = "co", "协办", "Co-responsible";
    }
);

crate::coded_enum!(
    TaskState {
        Dispatched = "dispatched", "待接收", "Awaiting acceptance";
        Rectifying = "rectifying", "整改中", "Rectifying";
        Done = "done", "已完成", "Done";
        SentBack = "sent_back", "已退回", "Sent back";
        Withdrawn = "withdrawn", "已撤回", "Withdrawn";
    }
);

impl TaskState {
    /// Still the unit's to do: its clock runs.
    pub fn is_open(self) -> bool {
        matches!(self, TaskState::Dispatched | TaskState::Rectifying)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Task {
    pub department_id: i64,
    pub share: Share,
    pub state: TaskState,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskError {
    #[error("department_id: your unit has no open task on this case")]
    NotYours,
    #[error("action: your task is {state}; it cannot be {action}")]
    OutOfOrder {
        state: &'static str,
        action: &'static str,
    },
    #[error("department_id: {0}")]
    BadDispatch(&'static str),
}

/// Checks a dispatch: one lead, co-responsible units distinct from it and from each other.
pub fn dispatch(lead: i64, co: &[i64]) -> Result<Vec<Task>, TaskError> {
    let mut tasks = vec![Task {
        department_id: lead,
        share: Share::Lead,
        state: TaskState::Dispatched,
    }];
    for &d in co {
        if tasks.iter().any(|t| t.department_id == d) {
            return Err(TaskError::BadDispatch(
                "a unit appears twice; name each unit once, the lead not among the co-responsible",
            ));
        }
        tasks.push(Task {
            department_id: d,
            share: Share::Co,
            state: TaskState::Dispatched,
        });
    }
    Ok(tasks)
}

/// A department's step on its own open task (accept, report the fix, send back). Returns the
/// index of the task it moved; the case's new state is then `case_state(tasks)`.
pub fn department_step(
    tasks: &mut [Task],
    department_id: i64,
    action: Action,
) -> Result<usize, TaskError> {
    let i = tasks
        .iter()
        .position(|t| t.department_id == department_id && t.state.is_open())
        .ok_or(TaskError::NotYours)?;
    let task = &mut tasks[i];
    let next = match (action, task.state) {
        (Action::Accept, TaskState::Dispatched) => TaskState::Rectifying,
        (Action::ReportFix, TaskState::Rectifying) => TaskState::Done,
        (Action::SendBack, TaskState::Dispatched | TaskState::Rectifying) => TaskState::SentBack,
        (Action::RequestExtension, s) => s,
        _ => {
            return Err(TaskError::OutOfOrder {
                state: task.state.code(),
                action: action.code(),
            });
        }
    };
    task.state = next;
    // A lead that is not responsible sends the whole case back: the other units' open tasks are
    // withdrawn and the group dispatches afresh.
    if next == TaskState::SentBack && task.share == Share::Lead {
        for t in tasks.iter_mut().filter(|t| t.state.is_open()) {
            t.state = TaskState::Withdrawn;
        }
    }
    Ok(i)
}

/// Where the latest dispatch begins: tasks are kept in dispatch order and each dispatch starts
/// with its lead, so after a send-back and a new dispatch the earlier round is history (its
/// sent-back lead, withdrawn units and any unit that had already finished).
fn current_round(tasks: &[Task]) -> usize {
    tasks
        .iter()
        .rposition(|t| t.share == Share::Lead)
        .unwrap_or(0)
}

/// Verification failed: the named units' done tasks (all done tasks when none are named) of the
/// latest dispatch are reopened. Returns the indices reopened.
pub fn rework(tasks: &mut [Task], departments: &[i64]) -> Result<Vec<usize>, TaskError> {
    let mut reopened = Vec::new();
    let start = current_round(tasks);
    for (i, t) in tasks.iter_mut().enumerate().skip(start) {
        if t.state == TaskState::Done
            && (departments.is_empty() || departments.contains(&t.department_id))
        {
            t.state = TaskState::Rectifying;
            reopened.push(i);
        }
    }
    if reopened.is_empty() {
        return Err(TaskError::BadDispatch(
            "name units whose task on this case is done",
        ));
    }
    Ok(reopened)
}

/// The case's state while it is with the departments, from the tasks of its latest dispatch.
pub fn case_state(tasks: &[Task]) -> CaseState {
    let tasks = &tasks[current_round(tasks)..];
    let lead_sent_back = tasks
        .iter()
        .any(|t| t.share == Share::Lead && t.state == TaskState::SentBack);
    let live: Vec<&Task> = tasks
        .iter()
        .filter(|t| !matches!(t.state, TaskState::SentBack | TaskState::Withdrawn))
        .collect();
    if lead_sent_back || live.is_empty() {
        CaseState::Triaged
    } else if live.iter().all(|t| t.state == TaskState::Done) {
        CaseState::Rectified
    } else if live.iter().any(|t| t.state != TaskState::Dispatched) {
        CaseState::Rectifying
    } else {
        CaseState::Dispatched
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rectified_only_when_every_unit_is_done() {
        let mut tasks = dispatch(1, &[2, 3]).unwrap();
        assert_eq!(case_state(&tasks), CaseState::Dispatched);
        department_step(&mut tasks, 1, Action::Accept).unwrap();
        assert_eq!(case_state(&tasks), CaseState::Rectifying);
        department_step(&mut tasks, 2, Action::Accept).unwrap();
        department_step(&mut tasks, 1, Action::ReportFix).unwrap();
        department_step(&mut tasks, 2, Action::ReportFix).unwrap();
        assert_eq!(
            case_state(&tasks),
            CaseState::Rectifying,
            "unit 3 has not acted"
        );
        // A co-responsible unit that is not responsible drops out; the rest stands.
        department_step(&mut tasks, 3, Action::SendBack).unwrap();
        assert_eq!(case_state(&tasks), CaseState::Rectified);
        assert_eq!(rework(&mut tasks, &[2]).unwrap(), vec![1]);
        assert_eq!(case_state(&tasks), CaseState::Rectifying);
    }

    #[test]
    fn a_lead_sending_back_returns_the_case_to_the_group() {
        let mut tasks = dispatch(1, &[2]).unwrap();
        department_step(&mut tasks, 2, Action::Accept).unwrap();
        department_step(&mut tasks, 1, Action::SendBack).unwrap();
        assert_eq!(tasks[1].state, TaskState::Withdrawn);
        assert_eq!(case_state(&tasks), CaseState::Triaged);
        assert_eq!(
            department_step(&mut tasks, 2, Action::ReportFix),
            Err(TaskError::NotYours)
        );
    }

    #[test]
    fn a_case_dispatched_again_after_a_send_back_follows_its_new_units() {
        let mut tasks = dispatch(1, &[2]).unwrap();
        department_step(&mut tasks, 2, Action::Accept).unwrap();
        department_step(&mut tasks, 2, Action::ReportFix).unwrap();
        department_step(&mut tasks, 1, Action::SendBack).unwrap();
        assert_eq!(case_state(&tasks), CaseState::Triaged);
        // The group dispatches afresh (the workflow appends the new round's tasks).
        tasks.extend(dispatch(3, &[]).unwrap());
        assert_eq!(case_state(&tasks), CaseState::Dispatched);
        department_step(&mut tasks, 3, Action::Accept).unwrap();
        assert_eq!(case_state(&tasks), CaseState::Rectifying);
        department_step(&mut tasks, 3, Action::ReportFix).unwrap();
        assert_eq!(case_state(&tasks), CaseState::Rectified);
        // A failed verification reopens the new unit's task, not the earlier round's done one.
        assert_eq!(rework(&mut tasks, &[]).unwrap(), vec![2]);
        assert_eq!(tasks[1].state, TaskState::Done);
        assert_eq!(case_state(&tasks), CaseState::Rectifying);
    }

    #[test]
    fn refusals() {
        assert!(dispatch(1, &[2, 1]).is_err());
        assert!(dispatch(1, &[2, 2]).is_err());
        let mut tasks = dispatch(1, &[]).unwrap();
        assert_eq!(
            department_step(&mut tasks, 1, Action::ReportFix),
            Err(TaskError::OutOfOrder {
                state: "dispatched",
                action: "report_fix"
            })
        );
        assert_eq!(
            department_step(&mut tasks, 9, Action::Accept),
            Err(TaskError::NotYours)
        );
        assert!(rework(&mut tasks, &[]).is_err());
    }

    proptest! {
        /// Whatever the units do, the case is rectified exactly when no live task is open and at
        /// least one is done, and a unit's step never moves another unit's task (bar withdrawal).
        #[test]
        fn case_state_follows_the_tasks(co in 0usize..4, steps in proptest::collection::vec((0i64..5, 0usize..3), 0..30)) {
            let co: Vec<i64> = (2..2 + co as i64).collect();
            let mut tasks = dispatch(1, &co).unwrap();
            for (d, a) in steps {
                let action = [Action::Accept, Action::ReportFix, Action::SendBack][a];
                let before = tasks.clone();
                if let Ok(i) = department_step(&mut tasks, d, action) {
                    for (j, (b, t)) in before.iter().zip(&tasks).enumerate() {
                        prop_assert!(j == i || b == t || t.state == TaskState::Withdrawn);
                    }
                }
                let state = case_state(&tasks);
                let live: Vec<_> = tasks.iter().filter(|t| !matches!(t.state, TaskState::SentBack | TaskState::Withdrawn)).collect();
                if state == CaseState::Rectified {
                    prop_assert!(!live.is_empty() && live.iter().all(|t| t.state == TaskState::Done));
                }
                if tasks[0].state == TaskState::SentBack {
                    prop_assert_eq!(state, CaseState::Triaged);
                    prop_assert!(tasks.iter().all(|t| !t.state.is_open()));
                }
            }
        }
    }
}
