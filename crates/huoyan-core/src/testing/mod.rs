//! Mass testing: sampling rounds, pooled tubes and the scans that fill them, residents' health
//! codes and ID numbers. What a scan may do to a tube is decided here, from what the writer holds
//! in memory, so the ingest path needs no database read to refuse one.

pub mod codes;
pub mod recall;
pub mod residents;
pub mod tubes;

/// The notices `testing` sends: a positive tube's recall opened, its buildings' control proposed
/// to the commander, and decided.
pub const NOTICE_KINDS: [&str; 3] = ["tube_positive", "control_proposed", "control_decided"];
