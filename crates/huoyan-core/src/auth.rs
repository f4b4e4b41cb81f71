//! Roles, what each may do, and the scope it is confined to. Deny by default: a permission not
//! granted in `Role::allows` is refused.

crate::coded_enum!(
    /// The roles of DESIGN.md.
    Role {
        Admin = "admin", "管理员", "Administrator";
        Commander = "commander", "指挥长", "Commander";
        Office = "office", "办公室", "Office";
        Group = "group", "督导组", "Supervision group";
        Department = "department", "责任单位", "Department";
        Supervisor = "supervisor", "监督员", "Compound supervisor";
        Inspector = "inspector", "督战队员", "Inspector";
        Dispatcher = "dispatcher", "调度员", "Dispatcher";
        Branch = "branch", "支部/组长", "Branch leader";
        Volunteer = "volunteer", "志愿者", "Volunteer";
        Sampler = "sampler", "采样员", "Sampler";
        Lab = "lab", "检测机构", "Lab";
        Pilot = "pilot", "飞手", "Drone operator";
        Discipline = "discipline", "纪检", "Discipline officer";
    }
);

/// What a caller wants to do. Reading the regions tree and control orders is open to every
/// signed-in role: control levels are public announcements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    RegionsRead,
    RegionsWrite,
    OrdersRead,
    OrdersWrite,
    SitesRead,
    SitesWrite,
    DepartmentsRead,
    DepartmentsWrite,
    PeopleRead,
    PeopleWrite,
    TeamsRead,
    TeamsWrite,
    AccountsManage,
    AuditRead,
    /// Run the audit trail's whole verification (as `huoyan audit verify` does) from a page: it
    /// reads every event and vouched row, so only the administrator starts it.
    AuditVerify,
    Import,
    Export,
    /// Read cases in scope (a department: those dispatched to it).
    CasesRead,
    /// File a new case, or the daily zero report.
    CasesReport,
    /// See which compounds have not reported today.
    CheckInsRead,
    /// Attach photos and files to a case in scope (report, fix or verification evidence).
    CasesEvidence,
    /// Read the case figures (durations, on-time, overdue, rework, extension rates, the ranking
    /// of departments) and export case lists and figures as xlsx, in scope. A department sees its
    /// own tasks only.
    CaseFigures,
    /// Read inspection rounds, checklists, coverage and the inspection figures.
    InspectionsRead,
    /// Plan a round for one's own team and record its visits.
    InspectionsRun,
    /// Write the checklists and the teams' areas of responsibility.
    InspectionsManage,
    /// Mark what was seen on a round as a suspected breach of discipline. Hidden: refused as if
    /// the route did not exist.
    DisciplineFlag,
    /// Read and move discipline records. Hidden: for every other role they do not exist.
    DisciplineRead,
    /// Read the posts, the people on duty, blockers, plans and the roster, in scope (a branch
    /// leader: the branch's members).
    WorkforceRead,
    /// Write posts and who is on duty with their wishes.
    WorkforceManage,
    /// Plan rosters, pin and move people, publish.
    WorkforcePlan,
    /// Read the blockers in scope: the workforce's readers, and a community office for the
    /// requests it decides.
    BlockersRead,
    /// Read sampling points, rounds, tubes and boxes, and the testing figures, in scope.
    TestingRead,
    /// Set up sampling points and rounds, register residents by import, hand out tubes and kits.
    TestingManage,
    /// At a sampling point: open tubes, scan people into them, seal, pack and send boxes, and
    /// register a resident without a smartphone on their behalf.
    TestingSample,
    /// Register a resident: one at a time (a sampler, for someone without a smartphone) or by
    /// import, and print their code cards.
    TestingRegister,
    /// Receive transfer boxes and import results.
    TestingLab,
    /// Read a positive tube's recall list: its people with their buildings and (masked) phones.
    TestingRecall,
    /// Read the drone fleet, its missions and the live map with the drones' video.
    DronesRead,
    /// Register a squad's drones and change them (home, streams, the charging mark).
    DronesManage,
    /// Plan patrol missions over the sealed zones and export them to ground control.
    DronesPlan,
    /// Fly: upload a mission to a connected vehicle, and mark what the camera sees as a case.
    DronesFly,
    /// Read supply batches and their deliveries per building, in scope (a volunteer or branch:
    /// their team's; a community office: its community's).
    SupplyRead,
    /// Plan a supply batch per building and split it among volunteer teams.
    SupplyPlan,
    /// Mark a building's delivery of one's own team done, with the count.
    SupplyDeliver,
    /// Read assistance requests in scope; the resident's phone in clear only to the volunteer
    /// assigned and the community office.
    AssistanceRead,
    /// Pass on a resident's request for help (medicine, a medical visit, sampling at the door).
    AssistanceFile,
    /// Assign a request to a volunteer with a deadline, and close it for them.
    AssistanceAssign,
    /// Read the register of households that need help, in scope: names and needs, the phone in
    /// clear only to the community office, ID numbers only masked.
    HouseholdsRead,
    /// Register households that need help, one at a time or by a sheet.
    HouseholdsWrite,
}

impl Permission {
    /// Whether a role without it is answered as if what it guards did not exist (404), not with
    /// 403: the discipline track's records must not betray themselves, even by a refusal.
    pub fn hidden(self) -> bool {
        matches!(
            self,
            Permission::DisciplineFlag | Permission::DisciplineRead
        )
    }
}

/// What an account's scope is anchored to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeKind {
    /// Everything.
    Global,
    /// A region and its subtree.
    Region,
    Department,
    Team,
}

impl Role {
    pub fn allows(self, p: Permission) -> bool {
        use Permission::*;
        use Role::*;
        match p {
            RegionsRead | OrdersRead | SitesRead | DepartmentsRead => true,
            RegionsWrite | DepartmentsWrite | AccountsManage | Import | AuditVerify => {
                self == Admin
            }
            OrdersWrite => matches!(self, Admin | Commander),
            SitesWrite => matches!(self, Admin | Dispatcher),
            PeopleRead => matches!(
                self,
                Admin
                    | Commander
                    | Office
                    | Group
                    | Dispatcher
                    | Discipline
                    | Supervisor
                    | Branch
                    | Inspector
            ),
            PeopleWrite | TeamsWrite => matches!(self, Admin | Dispatcher | Branch),
            TeamsRead => matches!(
                self,
                Admin
                    | Commander
                    | Office
                    | Group
                    | Dispatcher
                    | Discipline
                    | Branch
                    | Inspector
                    | Pilot
                    | Volunteer
            ),
            AuditRead => matches!(self, Admin | Commander | Discipline),
            Export => matches!(self, Admin | Commander | Dispatcher),
            CasesRead => matches!(
                self,
                Admin
                    | Commander
                    | Office
                    | Group
                    | Department
                    | Supervisor
                    | Inspector
                    | Discipline
                    | Pilot
            ),
            CasesReport => matches!(self, Supervisor | Inspector | Pilot | Office),
            CheckInsRead => matches!(self, Admin | Commander | Office | Group),
            CasesEvidence => matches!(
                self,
                Office | Group | Department | Supervisor | Inspector | Pilot
            ),
            // The command, triage and dispatch side, the commission that looks for dereliction,
            // and each unit for its own record (GB/T 30428 publishes a unit's assessment to it).
            CaseFigures => matches!(
                self,
                Admin | Commander | Office | Group | Discipline | Department
            ),
            InspectionsRead => matches!(
                self,
                Admin | Commander | Office | Group | Inspector | Discipline
            ),
            InspectionsRun => self == Inspector,
            InspectionsManage => matches!(self, Admin | Group),
            DisciplineFlag => matches!(self, Inspector | Discipline | Commander),
            DisciplineRead => crate::inspections::discipline::may_see(self),
            WorkforceRead => matches!(self, Admin | Commander | Dispatcher | Branch),
            WorkforceManage => matches!(self, Admin | Dispatcher),
            WorkforcePlan => self == Dispatcher,
            BlockersRead => matches!(self, Admin | Commander | Dispatcher | Branch | Department),
            TestingRead => matches!(
                self,
                Admin | Commander | Office | Group | Dispatcher | Sampler | Lab
            ),
            TestingManage => matches!(self, Admin | Dispatcher),
            TestingSample => self == Sampler,
            TestingRegister => matches!(self, Admin | Dispatcher | Sampler),
            TestingLab => self == Lab,
            TestingRecall => matches!(self, Admin | Commander | Office | Dispatcher | Supervisor),
            DronesRead => matches!(
                self,
                Admin | Commander | Office | Group | Dispatcher | Pilot
            ),
            DronesManage => matches!(self, Admin | Pilot),
            DronesPlan => matches!(self, Commander | Pilot),
            DronesFly => self == Pilot,
            SupplyRead => matches!(
                self,
                Admin | Commander | Office | Group | Dispatcher | Branch | Volunteer | Department
            ),
            SupplyPlan => matches!(self, Admin | Dispatcher),
            SupplyDeliver => matches!(self, Branch | Volunteer),
            AssistanceRead => matches!(
                self,
                Admin
                    | Commander
                    | Office
                    | Group
                    | Dispatcher
                    | Branch
                    | Volunteer
                    | Department
                    | Supervisor
            ),
            AssistanceFile => matches!(
                self,
                Office | Dispatcher | Branch | Volunteer | Department | Supervisor
            ),
            AssistanceAssign => matches!(self, Dispatcher | Branch | Department),
            HouseholdsRead => matches!(self, Admin | Dispatcher | Branch | Volunteer | Department),
            HouseholdsWrite => matches!(self, Admin | Dispatcher | Department),
        }
    }

    /// The anchor a role's scope needs: a supervisor is bound to a compound, a department account
    /// to its department, a branch leader to the branch.
    pub fn scope_kind(self) -> ScopeKind {
        use Role::*;
        match self {
            Admin => ScopeKind::Global,
            Commander | Office | Group | Dispatcher | Discipline | Lab | Supervisor | Sampler => {
                ScopeKind::Region
            }
            Department => ScopeKind::Department,
            Inspector | Branch | Volunteer | Pilot => ScopeKind::Team,
        }
    }
}

/// An account's confinement: which of the anchors is set depends on `Role::scope_kind`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Scope {
    pub region_id: Option<i64>,
    pub department_id: Option<i64>,
    pub team_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("scope: role {role} needs a {needs} to be confined to")]
    Missing {
        role: &'static str,
        needs: &'static str,
    },
}

impl Scope {
    /// Refuses a scope that lacks the anchor the role needs, so an account can never end up
    /// unconfined by omission.
    pub fn check_for(&self, role: Role) -> Result<(), ScopeError> {
        let (present, needs) = match role.scope_kind() {
            ScopeKind::Global => (true, ""),
            ScopeKind::Region => (self.region_id.is_some(), "region"),
            ScopeKind::Department => (self.department_id.is_some(), "department"),
            ScopeKind::Team => (self.team_id.is_some(), "team"),
        };
        if present {
            Ok(())
        } else {
            Err(ScopeError::Missing {
                role: role.code(),
                needs,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admin_manages_accounts_imports_and_verification() {
        for r in Role::ALL {
            assert_eq!(r.allows(Permission::AccountsManage), *r == Role::Admin);
            assert_eq!(r.allows(Permission::Import), *r == Role::Admin);
            assert_eq!(r.allows(Permission::AuditVerify), *r == Role::Admin);
        }
    }

    #[test]
    fn departments_and_labs_cannot_read_people() {
        assert!(!Role::Department.allows(Permission::PeopleRead));
        assert!(!Role::Lab.allows(Permission::PeopleRead));
        assert!(Role::Supervisor.allows(Permission::PeopleRead));
    }

    #[test]
    fn every_non_admin_role_needs_an_anchor() {
        for r in Role::ALL {
            let empty = Scope::default().check_for(*r);
            assert_eq!(empty.is_ok(), *r == Role::Admin, "{r:?}");
        }
        assert!(
            Scope {
                region_id: Some(1),
                ..Default::default()
            }
            .check_for(Role::Supervisor)
            .is_ok()
        );
        assert!(
            Scope {
                region_id: Some(1),
                ..Default::default()
            }
            .check_for(Role::Department)
            .is_err()
        );
    }

    #[test]
    fn discipline_records_are_read_by_the_commission_alone_and_hidden_from_the_rest() {
        for r in Role::ALL {
            let reads = matches!(r, Role::Discipline | Role::Commander);
            assert_eq!(r.allows(Permission::DisciplineRead), reads, "{r:?}");
            // An inspector marks what they saw, and reads it back no more than the admin does.
            assert_eq!(
                r.allows(Permission::DisciplineFlag),
                reads || *r == Role::Inspector,
                "{r:?}"
            );
        }
        assert!(Permission::DisciplineRead.hidden() && Permission::DisciplineFlag.hidden());
        assert!(!Permission::InspectionsRead.hidden() && !Permission::CasesRead.hidden());
    }
}
