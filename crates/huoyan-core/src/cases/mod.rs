//! Cases (三方联动): a problem or suggestion chased from report to verified fix. This module holds
//! the workflow of DESIGN.md as a state machine: which action moves a case from which state to
//! which, and which role may take it. The application's `cases` module stores them.

pub mod board;
mod check_in;
mod deadlines;
mod duplicates;
pub mod evidence;
pub mod figures;
mod kinds;
pub mod step;
mod tasks;
mod workflow;

pub use check_in::{CheckInFor, own_check_in};
pub use deadlines::{DeadlineConfig, DeadlinePolicy, Priority, is_overdue, quantile};
pub use duplicates::{
    CaseText, DuplicateRule, FEATURES, Idf, Profile, Proposal, Proximity, Reason, features,
    propose, score,
};
pub use evidence::{EvidenceConfig, EvidenceKind, EvidencePolicy};
pub use kinds::{Category, Kind, Source};
pub use tasks::{Share, Task, TaskError, TaskState, case_state, department_step, dispatch, rework};
pub use workflow::{Action, CaseState, WorkflowError, transition};
