//! The discipline track: a finding an inspector marks as a suspected breach of discipline (涉嫌违纪)
//! leaves the ordinary case flow and moves through states of its own, each step by a discipline
//! officer or the commander.

use crate::auth::Role;

crate::coded_enum!(
    /// Where a discipline record stands.
    FlagState {
        Flagged = "flagged", "已标记", "Flagged";
        Verified = "verified", "已现场核实", "Verified on site";
        Transferred = "transferred", "已移交审查", "Transferred for case handling";
        Dismissed = "dismissed", "已排除", "Dismissed";
    }
);

crate::coded_enum!(
    /// A step on a discipline record.
    FlagAction {
        Verify = "verify", "现场核实", "Verify on site";
        Transfer = "transfer", "移交审查", "Transfer for case handling";
        Dismiss = "dismiss", "排除", "Dismiss";
    }
);

/// Why a step is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlagError {
    #[error("only a discipline officer or the commander acts on discipline records")]
    NotAllowed,
    #[error("a record that is {0} cannot be {1}")]
    Wrong(&'static str, &'static str),
    #[error("say what was found (a note)")]
    NoNote,
}

/// Who may see discipline records at all: for every other role they do not exist.
pub fn may_see(role: Role) -> bool {
    matches!(role, Role::Discipline | Role::Commander)
}

/// The state `action` by `role` with `note` leads to from `from`.
pub fn step(
    from: FlagState,
    action: FlagAction,
    role: Role,
    note: &str,
) -> Result<FlagState, FlagError> {
    use FlagAction as A;
    use FlagState as S;
    if !may_see(role) {
        return Err(FlagError::NotAllowed);
    }
    if note.trim().is_empty() {
        return Err(FlagError::NoNote);
    }
    match (from, action) {
        (S::Flagged, A::Verify) => Ok(S::Verified),
        (S::Verified, A::Transfer) => Ok(S::Transferred),
        (S::Flagged | S::Verified, A::Dismiss) => Ok(S::Dismissed),
        _ => Err(FlagError::Wrong(from.en(), action.en())),
    }
}

/// The steps a record in state `from` may take.
pub fn open_actions(from: FlagState) -> &'static [FlagAction] {
    match from {
        FlagState::Flagged => &[FlagAction::Verify, FlagAction::Dismiss],
        FlagState::Verified => &[FlagAction::Transfer, FlagAction::Dismiss],
        FlagState::Transferred | FlagState::Dismissed => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_open_actions_are_those_the_rules_take() {
        for from in FlagState::ALL {
            for action in FlagAction::ALL {
                let taken = step(*from, *action, Role::Discipline, "核实").is_ok();
                assert_eq!(
                    open_actions(*from).contains(action),
                    taken,
                    "{from:?} {action:?}"
                );
            }
        }
    }

    #[test]
    fn a_flag_is_verified_then_transferred_or_dismissed_and_then_rests() {
        let d = Role::Discipline;
        let v = step(FlagState::Flagged, FlagAction::Verify, d, "现场核实属实").unwrap();
        assert_eq!(v, FlagState::Verified);
        assert_eq!(
            step(v, FlagAction::Transfer, Role::Commander, "移交纪委"),
            Ok(FlagState::Transferred)
        );
        assert_eq!(
            step(FlagState::Flagged, FlagAction::Dismiss, d, "误报"),
            Ok(FlagState::Dismissed)
        );
        assert_eq!(
            step(v, FlagAction::Dismiss, d, "情节轻微"),
            Ok(FlagState::Dismissed)
        );
        assert!(matches!(
            step(FlagState::Flagged, FlagAction::Transfer, d, "x"),
            Err(FlagError::Wrong(..))
        ));
        for done in [FlagState::Transferred, FlagState::Dismissed] {
            for a in FlagAction::ALL {
                assert!(step(done, *a, d, "x").is_err(), "{done} {a}");
            }
        }
        assert_eq!(
            step(FlagState::Flagged, FlagAction::Verify, d, " "),
            Err(FlagError::NoNote)
        );
    }

    #[test]
    fn no_role_but_discipline_and_the_commander_sees_or_acts() {
        for role in Role::ALL {
            let allowed = matches!(role, Role::Discipline | Role::Commander);
            assert_eq!(may_see(*role), allowed, "{role}");
            assert_eq!(
                step(FlagState::Flagged, FlagAction::Verify, *role, "x").is_ok(),
                allowed,
                "{role}"
            );
        }
    }
}
