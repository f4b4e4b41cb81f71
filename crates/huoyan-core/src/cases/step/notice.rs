//! What a step tells whom: each notice a kind with its arguments, worded in the reader's language
//! when read, and its audience, which the application resolves to accounts.

use super::super::CaseState;
use crate::auth::Role;

/// What an account is told, as a kind with its arguments (worded in the reader's language when
/// read). Every step tells whoever must act next.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// A new report waits for the office's triage.
    Reported { case: i64 },
    /// A triaged case waits for the group's dispatch.
    Triaged { case: i64 },
    /// A unit got a task on `case`, to finish by `due_at`.
    Dispatched { case: i64, lead: bool, due_at: i64 },
    /// A unit sent the case back: the group must route it again.
    SentBack { case: i64, department_id: i64 },
    /// Every unit reported its fix: the case waits for verification.
    Fixed { case: i64 },
    /// The fix was verified: the case waits to be closed.
    Verified { case: i64 },
    /// The fix did not hold: the unit works on.
    Reworked { case: i64 },
    /// A unit asked for a later deadline.
    ExtensionAsked {
        case: i64,
        department_id: i64,
        until: i64,
    },
    /// The group answered a unit's request; `due_at` is the deadline that holds.
    ExtensionDecided {
        case: i64,
        granted: bool,
        due_at: i64,
    },
    /// The group chased the unit.
    Urged { case: i64, note: String },
    /// The unit's task was withdrawn (the case was re-routed).
    Withdrawn { case: i64 },
    /// The group moved the unit's deadline.
    DeadlineMoved { case: i64, due_at: i64 },
    /// The reporter's case ended (`closed` or `rejected`).
    Finished { case: i64, state: CaseState },
    /// Report `case` was merged into `into`.
    Merged { case: i64, into: i64 },
    /// Unit `department_id`'s task on `case` passed its deadline `due_at` (told to the chasers).
    Escalated {
        case: i64,
        department_id: i64,
        department: String,
        due_at: i64,
    },
    /// The unit's own task on `case` passed its deadline (told to the unit).
    Overdue { case: i64, due_at: i64 },
}

impl Notice {
    /// Every kind's code, as `kind` gives them.
    pub const KINDS: [&'static str; 17] = [
        "reported",
        "triaged",
        "dispatched",
        "sent_back",
        "fixed",
        "verified",
        "reworked",
        "extension_asked",
        "extension_granted",
        "extension_refused",
        "urged",
        "withdrawn",
        "deadline_moved",
        "finished",
        "merged",
        "escalated",
        "overdue",
    ];

    /// The kind's code, the catalogue key `notice.<kind>`.
    pub fn kind(&self) -> &'static str {
        match self {
            Notice::Reported { .. } => "reported",
            Notice::Triaged { .. } => "triaged",
            Notice::Dispatched { .. } => "dispatched",
            Notice::SentBack { .. } => "sent_back",
            Notice::Fixed { .. } => "fixed",
            Notice::Verified { .. } => "verified",
            Notice::Reworked { .. } => "reworked",
            Notice::ExtensionAsked { .. } => "extension_asked",
            Notice::ExtensionDecided { granted: true, .. } => "extension_granted",
            Notice::ExtensionDecided { granted: false, .. } => "extension_refused",
            Notice::Urged { .. } => "urged",
            Notice::Withdrawn { .. } => "withdrawn",
            Notice::DeadlineMoved { .. } => "deadline_moved",
            Notice::Finished { .. } => "finished",
            Notice::Merged { .. } => "merged",
            Notice::Escalated { .. } => "escalated",
            Notice::Overdue { .. } => "overdue",
        }
    }

    /// The case the notice leads to (a merged report's reporter follows the case it joined).
    pub fn case(&self) -> i64 {
        match self {
            Notice::Merged { into, .. } => *into,
            Notice::Reported { case }
            | Notice::Triaged { case }
            | Notice::Dispatched { case, .. }
            | Notice::SentBack { case, .. }
            | Notice::Fixed { case }
            | Notice::Verified { case }
            | Notice::Reworked { case }
            | Notice::ExtensionAsked { case, .. }
            | Notice::ExtensionDecided { case, .. }
            | Notice::Urged { case, .. }
            | Notice::Withdrawn { case }
            | Notice::DeadlineMoved { case, .. }
            | Notice::Finished { case, .. }
            | Notice::Escalated { case, .. }
            | Notice::Overdue { case, .. } => *case,
        }
    }

    /// The particulars by name, as the catalogue's wording names them (`due_at`, `until`: ms).
    pub fn args(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            Notice::Reported { case }
            | Notice::Triaged { case }
            | Notice::Fixed { case }
            | Notice::Verified { case }
            | Notice::Reworked { case }
            | Notice::Withdrawn { case } => json!({"case": case}),
            Notice::Dispatched { case, lead, due_at } => {
                json!({"case": case, "lead": lead, "due_at": due_at})
            }
            Notice::SentBack {
                case,
                department_id,
            } => json!({"case": case, "department_id": department_id}),
            Notice::ExtensionAsked {
                case,
                department_id,
                until,
            } => json!({"case": case, "department_id": department_id, "until": until}),
            Notice::ExtensionDecided { case, due_at, .. }
            | Notice::DeadlineMoved { case, due_at }
            | Notice::Overdue { case, due_at } => json!({"case": case, "due_at": due_at}),
            Notice::Urged { case, note } => json!({"case": case, "note": note}),
            Notice::Finished { case, state } => json!({"case": case, "state": state.code()}),
            Notice::Merged { case, into } => json!({"case": case, "into": into}),
            Notice::Escalated {
                case,
                department_id,
                department,
                due_at,
            } => {
                json!({"case": case, "department_id": department_id, "department": department, "due_at": due_at})
            }
        }
    }
}

/// Whom a notice goes to; the application finds the accounts (and never tells the actor of their
/// own step).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Account(i64),
    /// The active accounts of a unit.
    Unit(i64),
    /// Every active account of a role.
    Role(Role),
    /// Who verifies a fix: the reporter when their role may verify, else the group.
    Verifier {
        reporter: i64,
    },
}
