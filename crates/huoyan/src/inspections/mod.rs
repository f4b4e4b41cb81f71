//! `inspections`: the supervision teams on site. Checklists per site kind, kept in every version
//! a round used (`checklists`); rounds planned over a team's sites in the order the core's route
//! engine proposes (`rounds`); visits answered item by item, each failure filed as a case through
//! `cases` (`visits`); which key sites of each team's area nobody has visited lately
//! (`coverage`); the figures (`figures`); and the discipline track (`discipline`), which only
//! the commission's roles know exists.

mod checklist_pages;
mod checklists;
mod coverage;
mod discipline;
mod discipline_pages;
mod figures;
mod overview_pages;
mod round_pages;
mod rounds;
mod visits;

pub use checklists::save as save_checklist;
pub use coverage::set_area;
pub use discipline::{
    FlagStep, NewFlag, detail as discipline_record, flag as flag_discipline,
    step as step_discipline,
};
pub use rounds::{NewRound, plan};
pub use visits::{Visit, visit};

use utoipa_axum::router::OpenApiRouter;

use crate::db::Db;
use crate::web::{Menu, MenuItem};

/// What `inspections`' routes and pages need.
#[derive(Clone, axum::extract::FromRef)]
pub struct InspectionsState {
    pub db: Db,
    pub menu: Menu,
}

pub fn api() -> OpenApiRouter<InspectionsState> {
    OpenApiRouter::new()
        .merge(checklists::api())
        .merge(rounds::api())
        .merge(visits::api())
        .merge(coverage::api())
        .merge(figures::api())
        .merge(discipline::api())
}

pub fn pages() -> axum::Router<InspectionsState> {
    round_pages::router()
        .merge(checklist_pages::router())
        .merge(overview_pages::router())
        .merge(discipline_pages::router())
}

pub fn menu() -> Vec<MenuItem> {
    use huoyan_core::auth::Permission;
    vec![
        MenuItem::new("/inspections", "nav.inspections", |r| {
            r.allows(Permission::InspectionsRead)
        }),
        MenuItem::new("/discipline", "nav.discipline", |r| {
            r.allows(Permission::DisciplineRead)
        }),
    ]
}
