//! Workforce: posts and shifts, availability and blockers, and the automatic roster that replaces
//! the dispatcher's evening of phone calls.

pub mod blockers;
pub mod posts;
pub mod roster;
pub mod signin;

/// The kinds of notice the workforce sends (beside the cases' `Notice::KINDS`): a person's
/// shifts changed or were cancelled by a published roster, a blocker waits for a decision, a
/// blocker was lifted or a request refused.
pub const NOTICE_KINDS: [&str; 5] = [
    "roster_changed",
    "roster_cleared",
    "blocker_opened",
    "blocker_lifted",
    "blocker_refused",
];
