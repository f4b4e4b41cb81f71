//! Kinds of teams and the roles members hold in them.
//!
//! A temporary party branch (临时党支部) has three levels: its working group (members of the
//! branch team with role `working_group`) → volunteer groups (child teams of the branch, each led
//! by a `group_leader`) → their members.

crate::coded_enum!(
    /// The kinds of team in DESIGN.md.
    TeamKind {
        SupervisionTeam = "supervision_team", "督战队", "Supervision team";
        SupervisionGroup = "supervision_group", "督导组", "Supervision group";
        PartyBranch = "party_branch", "临时党支部", "Temporary party branch";
        VolunteerGroup = "volunteer_group", "志愿者小组", "Volunteer group";
        DroneSquad = "drone_squad", "无人机分队", "Drone squad";
        CadreGroup = "cadre_group", "下沉干部组", "Sinking cadres' group";
    }
);

crate::coded_enum!(
    MemberRole {
        Leader = "leader", "负责人", "Leader";
        Member = "member", "组员", "Member";
        WorkingGroup = "working_group", "工作组", "Working group";
        GroupLeader = "group_leader", "志愿者小组长", "Group leader";
    }
);

impl TeamKind {
    /// The kind a parent team must have: volunteer groups hang under a branch; others stand alone.
    pub fn parent_kind(self) -> Option<TeamKind> {
        match self {
            TeamKind::VolunteerGroup => Some(TeamKind::PartyBranch),
            _ => None,
        }
    }

    pub fn allows_role(self, role: MemberRole) -> bool {
        match self {
            TeamKind::PartyBranch => matches!(role, MemberRole::Leader | MemberRole::WorkingGroup),
            TeamKind::VolunteerGroup => {
                matches!(role, MemberRole::GroupLeader | MemberRole::Member)
            }
            _ => matches!(role, MemberRole::Leader | MemberRole::Member),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_levels() {
        assert_eq!(
            TeamKind::VolunteerGroup.parent_kind(),
            Some(TeamKind::PartyBranch)
        );
        assert!(TeamKind::PartyBranch.allows_role(MemberRole::WorkingGroup));
        assert!(!TeamKind::PartyBranch.allows_role(MemberRole::Member));
        assert!(TeamKind::VolunteerGroup.allows_role(MemberRole::GroupLeader));
        assert!(!TeamKind::SupervisionTeam.allows_role(MemberRole::GroupLeader));
        for k in TeamKind::ALL {
            assert_eq!(TeamKind::parse(k.code()), Some(*k));
        }
    }
}
