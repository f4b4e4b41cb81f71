//! Huoyan (火眼): command, supervision and volunteer coordination for a sealed city.
//!
//! Shared plumbing (`db`, `auth`, `audit`, `error`, `i18n`, `http`) and one module per bounded
//! context (`org`, …), each holding its storage queries, JSON routes, pages and imports. The
//! domain rules live in the `huoyan-core` crate.

pub mod audit;
pub mod auth;
pub mod backup;
pub mod cases;
pub mod cli;
pub mod db;
pub mod demo;
pub mod error;
pub mod http;
pub mod i18n;
pub mod notifications;
pub mod org;
pub mod tabular;
