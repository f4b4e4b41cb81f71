//! Supervision teams' inspections: checklists, the order of a round's visits, where visits were
//! made and which key sites nobody has visited, and the discipline track.

pub mod checklist;
pub mod discipline;
pub mod route;
pub mod standard;
pub mod visits;
