//! Workforce: posts and shifts, availability and blockers, and the automatic roster that replaces
//! the dispatcher's evening of phone calls.

pub mod roster;
