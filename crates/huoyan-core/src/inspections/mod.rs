//! Supervision teams' inspections: the rules of rounds, visits and findings.

pub mod route;
