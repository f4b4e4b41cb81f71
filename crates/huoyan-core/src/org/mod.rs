//! The city's organisation: the regions tree, control orders and the levels they impose, people
//! and teams. Rules only; storage lives in the application's `org` module.

pub mod addresses;
mod control;
mod departments;
mod people;
pub mod places;
mod regions;
mod sites;
mod teams;

pub use control::{
    ControlLevel, ControlOrder, LevelChange, OrderError, current_level, level_history,
};
pub use departments::DepartmentKind;
pub use people::{
    Gender, PersonError, mask_contact, mask_phone, parse_contact_phone, parse_phone,
    validate_birth_year,
};
pub use regions::{RegionLevel, RegionPath};
pub use sites::SiteKind;
pub use teams::{MemberRole, TeamKind};
