//! The case workflow, modelled on GB/T 30428's loop: the supervision side files and verifies, the
//! command side dispatches, the unit fixes.
//!
//! reported → triaged → dispatched → rectifying → rectified → verified → closed, with rejected and
//! merged (office), sent back (a department that is not responsible returns the case for
//! re-routing), rework (verification failed: back to rectifying) and fixed on site (an inspector's
//! finding closed with evidence on the spot). Extensions are asked and answered without a change
//! of state. Overdue is not a state: it is derived from the deadline.

use crate::auth::Role;

crate::coded_enum!(
    CaseState {
        Reported = "reported", "已上报", "Reported";
        Triaged = "triaged", "已梳理", "Triaged";
        Dispatched = "dispatched", "已转办", "Dispatched";
        Rectifying = "rectifying", "整改中", "Rectifying";
        Rectified = "rectified", "已整改", "Rectified";
        Verified = "verified", "已核实", "Verified";
        Closed = "closed", "已办结", "Closed";
        Rejected = "rejected", "已驳回", "Rejected";
        Merged = "merged", "已合并", "Merged";
        FixedOnSite = "fixed_on_site", "现场整改", "Fixed on site";
    }
);

crate::coded_enum!(
    Action {
        Triage = "triage", "梳理", "Triage";
        Reject = "reject", "驳回", "Reject";
        Merge = "merge", "合并", "Merge";
        Dispatch = "dispatch", "转办", "Dispatch";
        Accept = "accept", "接收整改", "Accept";
        SendBack = "send_back", "退回", "Send back";
        ReportFix = "report_fix", "报告整改", "Report the fix";
        Verify = "verify", "核实", "Verify";
        Rework = "rework", "返工", "Rework";
        Close = "close", "办结", "Close";
        FixOnSite = "fix_on_site", "现场整改", "Fix on site";
        RequestExtension = "request_extension", "申请延期", "Request extension";
        GrantExtension = "grant_extension", "同意延期", "Grant extension";
        RefuseExtension = "refuse_extension", "不同意延期", "Refuse extension";
        Urge = "urge", "催办", "Urge";
        Reroute = "reroute", "改派", "Re-route";
        ChangeDeadline = "change_deadline", "调整时限", "Change deadline";
    }
);

impl CaseState {
    /// No action leaves these states.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            CaseState::Closed | CaseState::Rejected | CaseState::Merged | CaseState::FixedOnSite
        )
    }
}

impl Action {
    /// The roles that may take this action. Verification is the group's or the original
    /// reporter's (a supervisor re-inspects before closing).
    pub fn allowed_roles(self) -> &'static [Role] {
        use Role::*;
        match self {
            Action::Triage | Action::Reject | Action::Merge => &[Office],
            Action::Dispatch
            | Action::Close
            | Action::GrantExtension
            | Action::RefuseExtension
            | Action::Urge
            | Action::Reroute
            | Action::ChangeDeadline => &[Group],
            Action::Accept | Action::SendBack | Action::ReportFix | Action::RequestExtension => {
                &[Department]
            }
            Action::Verify | Action::Rework => &[Group, Supervisor],
            Action::FixOnSite => &[Inspector],
        }
    }

    /// The states this action may be taken from and the state it leads to.
    fn moves(self) -> (&'static [CaseState], Option<CaseState>) {
        use CaseState::*;
        match self {
            Action::Triage => (&[Reported], Some(Triaged)),
            Action::Reject => (&[Reported, Triaged], Some(Rejected)),
            Action::Merge => (&[Reported, Triaged], Some(Merged)),
            Action::Dispatch => (&[Triaged], Some(Dispatched)),
            // A co-responsible unit may accept after the lead has (the case is then rectifying).
            // For the department's steps the case's state is settled by its tasks
            // (`tasks::case_state`); the state given here is the single-unit case.
            Action::Accept => (&[Dispatched, Rectifying], Some(Rectifying)),
            Action::SendBack => (&[Dispatched, Rectifying], Some(Triaged)),
            Action::ReportFix => (&[Rectifying], Some(Rectified)),
            Action::Verify => (&[Rectified], Some(Verified)),
            Action::Rework => (&[Rectified], Some(Rectifying)),
            Action::Close => (&[Verified], Some(Closed)),
            Action::FixOnSite => (&[Reported], Some(FixedOnSite)),
            // Extensions, urging and a moved deadline chase the units without a change of state;
            // re-routing withdraws the open tasks and dispatches afresh (the state follows the
            // new tasks).
            Action::RequestExtension
            | Action::GrantExtension
            | Action::RefuseExtension
            | Action::Urge
            | Action::ChangeDeadline => (&[Dispatched, Rectifying], None),
            Action::Reroute => (&[Dispatched, Rectifying], Some(Dispatched)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    #[error("action: a {role} may not {action}")]
    RoleMayNot {
        role: &'static str,
        action: &'static str,
    },
    #[error("action: a case that is {state} cannot be {action}")]
    OutOfOrder {
        state: &'static str,
        action: &'static str,
    },
}

/// The state a case reaches when `role` takes `action` on it, or why it may not.
pub fn transition(
    state: CaseState,
    action: Action,
    role: Role,
) -> Result<CaseState, WorkflowError> {
    if !action.allowed_roles().contains(&role) {
        return Err(WorkflowError::RoleMayNot {
            role: role.code(),
            action: action.code(),
        });
    }
    let (from, to) = action.moves();
    if !from.contains(&state) {
        return Err(WorkflowError::OutOfOrder {
            state: state.code(),
            action: action.code(),
        });
    }
    Ok(to.unwrap_or(state))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_three_party_loop_with_one_rework() {
        let steps = [
            (Action::Triage, Role::Office, CaseState::Triaged),
            (Action::Dispatch, Role::Group, CaseState::Dispatched),
            (Action::Accept, Role::Department, CaseState::Rectifying),
            (
                Action::RequestExtension,
                Role::Department,
                CaseState::Rectifying,
            ),
            (Action::GrantExtension, Role::Group, CaseState::Rectifying),
            (Action::ReportFix, Role::Department, CaseState::Rectified),
            (Action::Rework, Role::Supervisor, CaseState::Rectifying),
            (Action::ReportFix, Role::Department, CaseState::Rectified),
            (Action::Verify, Role::Supervisor, CaseState::Verified),
            (Action::Close, Role::Group, CaseState::Closed),
        ];
        let mut state = CaseState::Reported;
        for (action, role, expected) in steps {
            state = transition(state, action, role).unwrap();
            assert_eq!(state, expected, "{action:?}");
        }
    }

    #[test]
    fn refusals_name_the_rule() {
        assert_eq!(
            transition(CaseState::Reported, Action::Dispatch, Role::Office),
            Err(WorkflowError::RoleMayNot {
                role: "office",
                action: "dispatch"
            })
        );
        assert_eq!(
            transition(CaseState::Reported, Action::Dispatch, Role::Group),
            Err(WorkflowError::OutOfOrder {
                state: "reported",
                action: "dispatch"
            })
        );
        assert!(
            transition(CaseState::Dispatched, Action::SendBack, Role::Department)
                .is_ok_and(|s| s == CaseState::Triaged)
        );
    }

    proptest! {
        /// Whatever sequence of actions by whatever roles is tried, every accepted step is one the
        /// role may take from that state, nothing leaves a terminal state, and a case reaches
        /// `closed` only through `verified`.
        #[test]
        fn random_walks_obey_the_workflow(steps in proptest::collection::vec((0usize..Action::ALL.len(), 0usize..Role::ALL.len()), 0..60)) {
            let mut state = CaseState::Reported;
            let mut verified = false;
            for (a, r) in steps {
                let (action, role) = (Action::ALL[a], Role::ALL[r]);
                if let Ok(next) = transition(state, action, role) {
                    prop_assert!(!state.is_terminal());
                    prop_assert!(action.allowed_roles().contains(&role));
                    if next == CaseState::Closed {
                        prop_assert!(verified);
                    }
                    verified |= next == CaseState::Verified;
                    state = next;
                }
            }
        }
    }
}
