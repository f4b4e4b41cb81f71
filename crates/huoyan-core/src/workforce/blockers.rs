//! Blockers: why a person cannot go on duty on a day, and who may lift the reason. The engine
//! only needs the blocked days; the dispatcher needs to know whom to chase.

use crate::auth::Role;

pub use super::roster::BlockerReason;

crate::coded_enum!(
    /// Who can remove a blocker's cause.
    Lifter {
        Community = "community", "社区（责任单位）", "The community's office";
        Dispatcher = "dispatcher", "调度员", "The dispatcher";
        Person = "person", "本人", "The person";
    }
);

crate::coded_enum!(
    /// Where a blocker stands.
    BlockerState {
        Open = "open", "未解除", "Open";
        Lifted = "lifted", "已解除", "Lifted";
        Refused = "refused", "申请被拒", "Request refused";
    }
);

impl BlockerReason {
    /// Who can remove the cause: a sealed unit, an exit pass and a closed road are the
    /// community's to decide (the pass request goes to its office, which grants or refuses it);
    /// an unanswered phone is the dispatcher's to chase; illness and the rest are the person's
    /// own to clear.
    pub fn lifter(self) -> Lifter {
        match self {
            BlockerReason::BuildingSealed | BlockerReason::NoPass | BlockerReason::RoadClosed => {
                Lifter::Community
            }
            BlockerReason::Unreachable => Lifter::Dispatcher,
            BlockerReason::Sick | BlockerReason::Other => Lifter::Person,
        }
    }
}

/// How the caller stands to a blocker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub role: Role,
    /// The blocked person is the caller.
    pub own: bool,
    /// The caller's department is the community office of the blocked person's duty community.
    pub community_office: bool,
}

/// Whether `who` may lift (or, for the community, grant) an open blocker of `reason`. The
/// dispatcher may lift any (a pass granted by phone, a road reopened), and the person may say
/// they can come after all, except where the community must decide.
pub fn may_lift(reason: BlockerReason, who: Standing) -> bool {
    match who.role {
        Role::Dispatcher => true,
        Role::Department => who.community_office && reason.lifter() == Lifter::Community,
        _ => who.own && reason.lifter() != Lifter::Community,
    }
}

/// Whether `who` may refuse a request of `reason`: only a community office, only what it decides.
pub fn may_refuse(reason: BlockerReason, who: Standing) -> bool {
    who.role == Role::Department && who.community_office && reason.lifter() == Lifter::Community
}

/// Longest span one blocker covers, in days: a longer absence is recorded again when it lasts.
pub const MAX_DAYS: i64 = 14;

#[cfg(test)]
mod tests {
    use super::*;

    fn standing(role: Role, own: bool, community_office: bool) -> Standing {
        Standing {
            role,
            own,
            community_office,
        }
    }

    #[test]
    fn a_pass_is_the_communitys_to_grant_or_refuse() {
        let office = standing(Role::Department, false, true);
        let other_office = standing(Role::Department, false, false);
        let me = standing(Role::Volunteer, true, false);
        assert!(may_lift(BlockerReason::NoPass, office));
        assert!(may_refuse(BlockerReason::NoPass, office));
        assert!(!may_lift(BlockerReason::NoPass, other_office));
        assert!(!may_refuse(BlockerReason::NoPass, other_office));
        assert!(!may_lift(BlockerReason::NoPass, me));
        assert!(may_lift(
            BlockerReason::NoPass,
            standing(Role::Dispatcher, false, false)
        ));
    }

    #[test]
    fn the_person_clears_their_own_illness_not_anothers() {
        let me = standing(Role::Volunteer, true, false);
        let leader = standing(Role::Branch, false, false);
        assert!(may_lift(BlockerReason::Sick, me));
        assert!(may_lift(BlockerReason::Unreachable, me));
        assert!(!may_lift(BlockerReason::Sick, leader));
        assert!(!may_refuse(
            BlockerReason::Sick,
            standing(Role::Department, false, true)
        ));
        assert!(!may_lift(
            BlockerReason::Sick,
            standing(Role::Department, false, true)
        ));
    }
}
