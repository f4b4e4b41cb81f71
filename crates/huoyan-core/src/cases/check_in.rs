//! The daily check-in (零报告): whom a reporter's "nothing to report today" (or "I reported
//! problems") speaks for. DESIGN.md gives each field role its beat: a compound supervisor
//! watches one compound, an inspector roves with a supervision team (督战队, four who inspect
//! together, so one check-in a day answers for the team's round), and a drone operator flies
//! patrol missions alone (so they answer for themselves). The office reports too, but watches
//! no beat of its own: it checks in only for a compound it names.

use crate::auth::{Role, Scope};

/// What a check-in is recorded against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckInFor {
    /// A compound: its supervisor's own, or one the caller names.
    Compound(i64),
    /// The inspector's supervision team.
    Team(i64),
    /// The caller alone (a drone operator).
    Myself,
}

/// What a check-in of `role`, confined to `scope`, speaks for when it names no compound; `None`
/// when the role has nothing of its own to check in for. A supervisor's region is their
/// compound (the application confirms the region is one).
pub fn own_check_in(role: Role, scope: &Scope) -> Option<CheckInFor> {
    match role {
        Role::Supervisor => scope.region_id.map(CheckInFor::Compound),
        Role::Inspector => scope.team_id.map(CheckInFor::Team),
        Role::Pilot => Some(CheckInFor::Myself),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Permission;

    #[test]
    fn each_field_role_checks_in_for_its_own_beat() {
        let scope = Scope {
            region_id: Some(7),
            department_id: None,
            team_id: Some(3),
        };
        assert_eq!(
            own_check_in(Role::Supervisor, &scope),
            Some(CheckInFor::Compound(7))
        );
        assert_eq!(
            own_check_in(Role::Inspector, &scope),
            Some(CheckInFor::Team(3))
        );
        assert_eq!(own_check_in(Role::Pilot, &scope), Some(CheckInFor::Myself));
        assert_eq!(own_check_in(Role::Office, &scope), None);
        assert_eq!(own_check_in(Role::Inspector, &Scope::default()), None);
    }

    #[test]
    fn only_reporters_have_a_check_in_of_their_own() {
        let scope = Scope {
            region_id: Some(7),
            department_id: Some(2),
            team_id: Some(3),
        };
        for role in Role::ALL {
            if own_check_in(*role, &scope).is_some() {
                assert!(role.allows(Permission::CasesReport), "{role:?}");
            }
        }
    }
}
