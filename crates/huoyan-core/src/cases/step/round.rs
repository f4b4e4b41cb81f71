//! A dispatch's round of tasks, shared by the first dispatch and a re-routing.

use super::super::{DeadlinePolicy, dispatch};
use super::{Audience, CaseNow, CoUnit, Notice, StepError, TaskNow};

/// A dispatch's units and deadlines: the first round of a case, or a new one when it is re-routed.
pub(super) struct Round<'a> {
    pub note: &'a str,
    pub lead: i64,
    pub due_at: Option<i64>,
    pub co: &'a [CoUnit],
}

impl Round<'_> {
    /// Appends the round's tasks (the lead first) and returns the notice each unit gets.
    pub fn dispatch(
        &self,
        case: &CaseNow,
        tasks: &mut Vec<TaskNow>,
        at: i64,
        deadlines: &DeadlinePolicy,
    ) -> Result<Vec<(Notice, Vec<Audience>)>, StepError> {
        let units: Vec<i64> = self.co.iter().map(|c| c.department_id).collect();
        let fresh = dispatch(self.lead, &units)?;
        let lead_due = self
            .due_at
            .unwrap_or_else(|| deadlines.due(at, case.priority, case.category.code()));
        if lead_due <= at {
            return Err(StepError::invalid(
                "due_at",
                "a deadline must lie in the future",
            ));
        }
        for (i, c) in self.co.iter().enumerate() {
            if c.due_at.is_some_and(|d| d <= at) {
                return Err(StepError::invalid(
                    format!("co[{i}].due_at"),
                    "a deadline must lie in the future",
                ));
            }
        }
        let mut notices = Vec::new();
        for (k, task) in fresh.into_iter().enumerate() {
            let (instruction, due) = match k {
                0 => (self.note.trim().to_string(), lead_due),
                _ => (
                    self.co[k - 1].instruction.trim().to_string(),
                    self.co[k - 1].due_at.unwrap_or(lead_due),
                ),
            };
            notices.push((
                Notice::Dispatched {
                    case: case.id,
                    lead: k == 0,
                    due_at: due,
                },
                vec![Audience::Unit(task.department_id)],
            ));
            tasks.push(TaskNow {
                id: None,
                task,
                instruction,
                dispatched_at: at,
                due_at: due,
                accepted_at: None,
                done_at: None,
                extension_until: None,
                extensions: 0,
                reworks: 0,
                urges: 0,
                escalated_at: None,
            });
        }
        Ok(notices)
    }
}
