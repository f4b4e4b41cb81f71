//! Huoyan (火眼): command, supervision and volunteer coordination for a sealed city.
//!
//! Layers, each importing only those below it:
//! - toolkits: `db`, `time`, `check`, `geo`, `error`, `i18n`, `tabular`, `http` (the JSON API's
//!   extractors and paging) and `web` (the page kit);
//! - the kernel: `audit` (the hash-chained write path), `auth` (accounts, sessions, permissions
//!   and the `Can`/`Page` extractors), `notifications`;
//! - the contexts, one folder each with its storage, routes, pages and imports: `org`, below every
//!   other context, `cases`, `inspections` (which files its findings through `cases`), and
//!   `workforce` (posts, blockers, the roster engine's plans, each person's duty);
//!   `testing` (sampling points and rounds, residents, tubes, scans, boxes, results, recalls);
//!   `drones` (the fleet, coverage patrols exported to ground control, the MAVLink link and the
//!   live map, aerial findings filed through `cases`); `supply` (batches carried to every
//!   building, a shortfall or a miss filed through `cases`, residents' requests for help);
//! - the composition root `app`, which alone knows every context, and the loaders and command
//!   line above it (`demo`, `cli`).
//!
//! The domain rules live in the `huoyan-core` crate.

pub mod app;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod cases;
pub mod check;
pub mod cli;
pub mod db;
pub mod demo;
pub mod drones;
pub mod error;
pub mod geo;
pub mod http;
pub mod i18n;
pub mod inspections;
pub mod notifications;
pub mod org;
pub mod supply;
pub mod tabular;
pub mod testing;
pub mod time;
pub mod web;
pub mod workforce;
