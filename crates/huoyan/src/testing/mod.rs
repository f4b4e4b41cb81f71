//! `testing`: mass testing at city scale. Sampling points and rounds (`rounds`); the residents'
//! registry with its keyed ID hashes and printable code cards (`residents`); the tubes and kits
//! handed out to a point (`kits`); tubes opened at a point, sealed and carried to a lab in
//! transfer boxes (`tubes`, `boxes`); the scans that fill the tubes, written by group commit
//! (`ingest`); lab results and the recall of a positive tube's people, its follow-up cases
//! (`results`) and its proposals to the commander (`proposals`).

mod boxes;
mod figures;
mod ingest;
mod kits;
mod pages;
mod proposals;
mod recall_pages;
mod residents;
mod results;
mod rounds;
mod scanner_pages;
mod tube_memory;
mod tubes;

pub use boxes::{NewBox, hand_over as hand_over_box, pack as pack_box};
pub use ingest::{Ingest, NewScan, Scan, ScanAnswer, write_in, write_many};
pub use kits::{NewHandout, hand_out as hand_out_kits};
pub use proposals::{Decision, decide as decide_proposal};
pub use residents::{NewResident, import as import_residents, register as register_resident};
pub use results::import as import_results;
pub use rounds::{NewPoint, NewRound, RoundPoint, create_point, create_round};
pub use tube_memory::TubeMemory;
pub use tubes::{OpenTube, open as open_tube, seal as seal_tube};

use std::sync::Arc;

use utoipa_axum::router::OpenApiRouter;

use crate::auth::Principal;
use crate::check::Check;
use crate::db::Db;
use crate::error::AppResult;
use crate::web::Menu;

/// What `testing`'s routes and pages need.
#[derive(Clone, axum::extract::FromRef)]
pub struct TestingState {
    pub db: Db,
    pub menu: Menu,
    pub ingest: Arc<Ingest>,
}

/// The key under which ID-card numbers are hashed for look-up: derived from the audit key, which
/// the database never holds, so a copy of the database does not give the numbers back.
pub fn id_key(db: &Db) -> AppResult<[u8; 32]> {
    db.derived_key("testing.id-number")
}

/// `raw` (the request's field `field`) as a tube's or box's barcode; why not names the field.
fn barcode(field: &str, raw: &str) -> AppResult<huoyan_core::testing::codes::Barcode> {
    huoyan_core::testing::codes::Barcode::parse(raw)
        .map_err(|e| crate::error::AppError::invalid(field, e.to_string()))
}

/// Fails `field` when a row in the region of path `path` lies outside `p`'s region (a
/// region-scoped caller; others reach every point they may act at).
fn within(p: &Principal, check: &mut Check, field: &str, path: &str) {
    if p.scope_path
        .as_deref()
        .is_some_and(|s| !path.starts_with(s))
    {
        check.outside(field);
    }
}

pub fn api() -> OpenApiRouter<TestingState> {
    OpenApiRouter::new()
        .merge(rounds::api())
        .merge(residents::api())
        .merge(tubes::api())
        .merge(ingest::api())
        .merge(boxes::api())
        .merge(results::api())
        .merge(proposals::api())
        .merge(kits::api())
        .merge(figures::api())
}

pub fn pages() -> axum::Router<TestingState> {
    pages::router()
        .merge(scanner_pages::router())
        .merge(recall_pages::router())
        .merge(kits::router())
        .merge(figures::router())
}

/// The pages and scripts the field app keeps for use without a network.
pub const OFFLINE: &[&str] = &[
    "/testing/scan",
    "/static/testing_scan.js",
    "/static/scan.js",
];

pub fn menu() -> Vec<crate::web::MenuItem> {
    use huoyan_core::auth::Permission;
    vec![crate::web::MenuItem::new(
        "/testing/cards",
        "nav.testing",
        |r| r.allows(Permission::TestingRegister),
    )]
}
