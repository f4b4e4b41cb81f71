//! `drones`: aerial supervision. The fleet with each drone's status from its telemetry (`fleet`);
//! patrol missions laid by the core's coverage engine over zones under control and exported to
//! ground control (`missions`); the vehicles as the link hears them, in memory, with the live
//! map's event stream (`live`); the MAVLink link that hears them and uploads sorties (`link`,
//! `uploads`); what the camera sees filed as cases through `cases` (`findings`); and the live
//! map page (`pages`).

mod findings;
mod fleet;
pub mod link;
mod live;
mod missions;
mod pages;
mod uploads;

pub use findings::{NewFinding, file as file_finding};
pub use fleet::{DroneUpdate, NewDrone, Stream, register, update};
pub use live::{Live, Telemetry};
pub use missions::{Mission, NewMission, get as mission, plan, sorties};

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use utoipa_axum::router::OpenApiRouter;

use crate::db::Db;
use crate::web::{Menu, MenuItem};

/// What `drones`' routes and pages need.
#[derive(Clone, axum::extract::FromRef)]
pub struct DronesState {
    pub db: Db,
    pub menu: Menu,
    pub live: Arc<Live>,
    /// The MAVLink link, once started (`--mavlink`).
    pub link: Arc<OnceLock<Arc<link::Link>>>,
    /// The map's tiles, for the live page's content security policy.
    pub map_tiles: Option<crate::web::map::Tiles>,
}

/// Binds the MAVLink link on `addr` and runs it until the returned task is aborted; answers the
/// bound address (a port of 0 picks one).
pub async fn start_link(
    state: &DronesState,
    addr: SocketAddr,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let bound = Arc::new(link::Link::bind(addr).await?);
    let local = bound.local_addr()?;
    state
        .link
        .set(bound.clone())
        .map_err(|_| anyhow::anyhow!("the MAVLink link is started already"))?;
    let task = tokio::spawn(bound.run(state.live.clone(), state.db.clone()));
    Ok((local, task))
}

pub fn api() -> OpenApiRouter<DronesState> {
    OpenApiRouter::new()
        .merge(fleet::api())
        .merge(missions::api())
        .merge(findings::api())
        .merge(uploads::api())
}

pub fn pages() -> axum::Router<DronesState> {
    pages::router()
}

pub fn menu() -> Vec<MenuItem> {
    use huoyan_core::auth::Permission;
    vec![MenuItem::new("/drones", "nav.drones", |r| {
        r.allows(Permission::DronesRead)
    })]
}
