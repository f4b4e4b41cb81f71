//! `org`: the city's organisation — regions tree, control orders, sites, departments, people,
//! teams and double registration — as storage, JSON routes, pages, imports and exports.

pub mod addresses;
pub mod departments;
pub mod export;
mod history;
pub mod import;
mod import_page;
mod order_pages;
pub mod orders;
pub mod outlines;
pub mod pages;
pub mod people;
mod picker;
pub mod regions;
pub mod scope;
pub mod shared_places;
pub mod sites;
pub mod teams;

use axum::extract::FromRef;
use huoyan_core::auth::{Permission, Role};
use utoipa_axum::router::OpenApiRouter;

use crate::db::Db;
use crate::web::{Menu, MenuItem};

/// What `org`'s routes and pages need.
#[derive(Clone, FromRef)]
pub struct OrgState {
    pub db: Db,
    pub menu: Menu,
    pub regions: regions::Lineages,
}

pub fn api() -> OpenApiRouter<OrgState> {
    OpenApiRouter::new()
        .merge(regions::api())
        .merge(outlines::api())
        .merge(orders::api())
        .merge(sites::api())
        .merge(departments::api())
        .merge(people::api())
        .merge(teams::api())
        .merge(import::api())
        .merge(export::api())
}

pub fn pages() -> axum::Router<OrgState> {
    pages::router().merge(import_page::router())
}

/// `org`'s entries in the menu.
pub fn menu() -> Vec<MenuItem> {
    vec![
        MenuItem::new("/regions", "nav.regions", |_| true),
        MenuItem::new("/orders", "nav.orders", |_| true),
        MenuItem::new("/people", "nav.people", |r: Role| {
            r.allows(Permission::PeopleRead)
        }),
        MenuItem::new("/teams", "nav.teams", |r: Role| {
            r.allows(Permission::TeamsRead)
        }),
        MenuItem::new("/imports", "nav.imports", |r: Role| {
            r.allows(Permission::Import)
        }),
    ]
}
