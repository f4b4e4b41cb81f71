//! The vehicles as their telemetry tells them, in memory: one `Vehicle` per MAVLink system id (at
//! most 255, so the map is bounded by the protocol), and every change sent to the live map's
//! subscribers. The link (`link`) writes here; the fleet list, the map and the findings read.

use std::collections::HashMap;
use std::sync::Mutex;

use huoyan_core::drones::link::{Fix, LinkState, Status, Vehicle};
use serde::Serialize;
use tokio::sync::broadcast;
use utoipa::ToSchema;

/// Events a slow subscriber may fall behind before it skips to the newest (200 vehicles at
/// 10 Hz for two seconds).
const BACKLOG: usize = 4_096;

/// What the live map is told of a vehicle.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Telemetry {
    pub system_id: u8,
    pub link: LinkState,
    /// As the telemetry tells it, without the operator's charging mark (the fleet list has it).
    pub status: Status,
    pub position: Option<Fix>,
    pub battery_pct: Option<u8>,
    /// When the vehicle was last heard, epoch milliseconds.
    pub heard_ms: Option<i64>,
}

struct Known {
    vehicle: Vehicle,
    /// The link state last told, so that a change to lost is told once.
    told: LinkState,
}

pub struct Live {
    vehicles: Mutex<HashMap<u8, Known>>,
    events: broadcast::Sender<Telemetry>,
}

impl Default for Live {
    fn default() -> Self {
        Live {
            vehicles: Mutex::default(),
            events: broadcast::channel(BACKLOG).0,
        }
    }
}

fn telemetry(system_id: u8, v: &Vehicle, now_ms: i64) -> Telemetry {
    Telemetry {
        system_id,
        link: v.link(now_ms),
        status: v.status(now_ms, false),
        position: v.fix,
        battery_pct: v.battery_pct,
        heard_ms: v.heard_ms,
    }
}

impl Live {
    /// Applies what vehicle `system_id` sent and tells the subscribers.
    pub fn heard(&self, system_id: u8, now_ms: i64, apply: impl FnOnce(&mut Vehicle)) -> Telemetry {
        let t = {
            let mut all = self.vehicles.lock().expect("not poisoned");
            let known = all.entry(system_id).or_insert_with(|| Known {
                vehicle: Vehicle::default(),
                told: LinkState::None,
            });
            apply(&mut known.vehicle);
            let t = telemetry(system_id, &known.vehicle, now_ms);
            known.told = t.link;
            t
        };
        // No subscriber is not an error: nobody has the map open.
        let _ = self.events.send(t.clone());
        t
    }

    /// Tells the subscribers of each vehicle whose link was lost since the last sweep.
    pub fn sweep(&self, now_ms: i64) -> Vec<Telemetry> {
        let lost: Vec<Telemetry> = {
            let mut all = self.vehicles.lock().expect("not poisoned");
            all.iter_mut()
                .filter_map(|(&id, k)| {
                    let link = k.vehicle.link(now_ms);
                    (link != k.told).then(|| {
                        k.told = link;
                        telemetry(id, &k.vehicle, now_ms)
                    })
                })
                .collect()
        };
        for t in &lost {
            let _ = self.events.send(t.clone());
        }
        lost
    }

    pub fn vehicle(&self, system_id: u8) -> Option<Vehicle> {
        let all = self.vehicles.lock().expect("not poisoned");
        all.get(&system_id).map(|k| k.vehicle.clone())
    }

    /// Every vehicle heard since the server started.
    pub fn all(&self, now_ms: i64) -> Vec<Telemetry> {
        let all = self.vehicles.lock().expect("not poisoned");
        let mut out: Vec<Telemetry> = all
            .iter()
            .map(|(&id, k)| telemetry(id, &k.vehicle, now_ms))
            .collect();
        out.sort_by_key(|t| t.system_id);
        out
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Telemetry> {
        self.events.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_link_is_told_once_and_a_heartbeat_brings_it_back() {
        let live = Live::default();
        let mut rx = live.subscribe();
        live.heard(7, 1_000, |v| v.heartbeat(1_000, 0));
        assert_eq!(rx.try_recv().unwrap().link, LinkState::Up);
        assert!(live.sweep(3_000).is_empty());
        let lost = live.sweep(4_500);
        assert_eq!((lost.len(), lost[0].link), (1, LinkState::Lost));
        assert_eq!(rx.try_recv().unwrap().link, LinkState::Lost);
        assert!(live.sweep(9_000).is_empty(), "told once");
        live.heard(7, 9_500, |v| v.heartbeat(9_500, 0));
        assert_eq!(rx.try_recv().unwrap().link, LinkState::Up);
        assert_eq!(live.all(9_600).len(), 1);
    }
}
