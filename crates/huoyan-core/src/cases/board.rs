//! The boards by next step: the group's dispatch board and a unit's inbox show their cases in
//! lanes named by what must happen next, each lane ordered by priority and then deadline, so a
//! new urgent case is never buried under old overdue ones.

use std::cmp::Ordering;

use super::{CaseState, Priority, TaskState};
use crate::auth::Role;

crate::coded_enum!(
    Lane {
        ToDispatch = "to_dispatch", "待转办", "To dispatch";
        ExtensionAsked = "extension_asked", "待审批延期", "Extension asked";
        Overdue = "overdue", "已超期", "Overdue";
        ToChase = "to_chase", "办理中", "In progress";
        ToVerify = "to_verify", "待核实", "To verify";
        ToClose = "to_close", "待办结", "To close";
        ToAccept = "to_accept", "待接收", "To accept";
        ToFix = "to_fix", "整改中", "To fix";
    }
);

/// What the board knows of a case to place it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoardCase {
    pub state: CaseState,
    pub priority: Priority,
    /// The earliest deadline among its open tasks (for a unit: its own task's).
    pub due_at: Option<i64>,
    /// A unit asked for a later deadline and nobody answered yet.
    pub extension_asked: bool,
    /// The viewing unit's own open task, for its inbox.
    pub my_task: Option<TaskState>,
}

/// The lanes of a role's board, in the order shown; empty for roles without one.
pub fn lanes_for(role: Role) -> &'static [Lane] {
    use Lane::*;
    match role {
        Role::Group => &[
            ToDispatch,
            ExtensionAsked,
            Overdue,
            ToVerify,
            ToClose,
            ToChase,
        ],
        Role::Department => &[Overdue, ToAccept, ToFix],
        _ => &[],
    }
}

/// The lane of `case` on `role`'s board at `now_ms`, or None when it is not on the board. The
/// most pressing reason wins: an answer owed on an extension, then an overdue task.
pub fn lane_of(role: Role, case: &BoardCase, now_ms: i64) -> Option<Lane> {
    let overdue = case.due_at.is_some_and(|d| d < now_ms);
    match role {
        Role::Group => Some(match case.state {
            CaseState::Triaged => Lane::ToDispatch,
            CaseState::Dispatched | CaseState::Rectifying if case.extension_asked => {
                Lane::ExtensionAsked
            }
            CaseState::Dispatched | CaseState::Rectifying if overdue => Lane::Overdue,
            CaseState::Dispatched | CaseState::Rectifying => Lane::ToChase,
            CaseState::Rectified => Lane::ToVerify,
            CaseState::Verified => Lane::ToClose,
            _ => return None,
        }),
        Role::Department => match case.my_task? {
            _ if overdue => Some(Lane::Overdue),
            TaskState::Dispatched => Some(Lane::ToAccept),
            TaskState::Rectifying => Some(Lane::ToFix),
            _ => None,
        },
        _ => None,
    }
}

/// Within a lane: the most urgent first, then the earliest deadline (cases without one last),
/// then the oldest report (`id`).
pub fn lane_order(a: (&BoardCase, i64), b: (&BoardCase, i64)) -> Ordering {
    let rank = |p: Priority| Priority::ALL.iter().position(|x| *x == p);
    rank(a.0.priority)
        .cmp(&rank(b.0.priority))
        .then_with(|| match (a.0.due_at, b.0.due_at) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        })
        .then_with(|| a.1.cmp(&b.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(state: CaseState, priority: Priority, due_at: Option<i64>) -> BoardCase {
        BoardCase {
            state,
            priority,
            due_at,
            extension_asked: false,
            my_task: None,
        }
    }

    #[test]
    fn the_group_sees_each_case_under_its_next_step() {
        let now = 1_000;
        let g = |c: &BoardCase| lane_of(Role::Group, c, now);
        assert_eq!(
            g(&case(CaseState::Triaged, Priority::Low, None)),
            Some(Lane::ToDispatch)
        );
        let late = case(CaseState::Rectifying, Priority::Normal, Some(999));
        assert_eq!(g(&late), Some(Lane::Overdue));
        let asked = BoardCase {
            extension_asked: true,
            ..late
        };
        assert_eq!(g(&asked), Some(Lane::ExtensionAsked), "the answer is owed");
        assert_eq!(
            g(&case(CaseState::Dispatched, Priority::Normal, Some(1_001))),
            Some(Lane::ToChase)
        );
        assert_eq!(
            g(&case(CaseState::Rectified, Priority::Normal, None)),
            Some(Lane::ToVerify)
        );
        assert_eq!(
            g(&case(CaseState::Verified, Priority::Normal, None)),
            Some(Lane::ToClose)
        );
        for done in [CaseState::Reported, CaseState::Closed, CaseState::Merged] {
            assert_eq!(g(&case(done, Priority::Urgent, None)), None);
        }
    }

    #[test]
    fn a_unit_sees_only_its_own_open_tasks() {
        let now = 1_000;
        let mine = |t: Option<TaskState>, due: i64| BoardCase {
            my_task: t,
            ..case(CaseState::Rectifying, Priority::Normal, Some(due))
        };
        let d = |c: &BoardCase| lane_of(Role::Department, c, now);
        assert_eq!(
            d(&mine(Some(TaskState::Dispatched), 2_000)),
            Some(Lane::ToAccept)
        );
        assert_eq!(
            d(&mine(Some(TaskState::Rectifying), 2_000)),
            Some(Lane::ToFix)
        );
        assert_eq!(
            d(&mine(Some(TaskState::Dispatched), 10)),
            Some(Lane::Overdue)
        );
        assert_eq!(d(&mine(None, 10)), None, "another unit's task");
        assert_eq!(lane_of(Role::Office, &mine(None, 10), now), None);
    }

    #[test]
    fn a_new_urgent_case_comes_before_old_overdue_ones() {
        let old = case(CaseState::Rectifying, Priority::Normal, Some(10));
        let urgent = case(CaseState::Dispatched, Priority::Urgent, Some(5_000));
        let mut lane = [(old, 1), (old, 2), (urgent, 30)];
        lane.sort_by(|a, b| lane_order((&a.0, a.1), (&b.0, b.1)));
        assert_eq!(lane.iter().map(|c| c.1).collect::<Vec<_>>(), [30, 1, 2]);
        let no_deadline = case(CaseState::Triaged, Priority::Normal, None);
        assert_eq!(
            lane_order((&no_deadline, 1), (&old, 2)),
            Ordering::Greater,
            "a deadline comes first"
        );
    }
}
