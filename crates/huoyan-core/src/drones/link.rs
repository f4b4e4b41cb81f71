//! What the server knows of one vehicle from its telemetry: last heartbeat, position, battery, and
//! from them the drone's link state and status. Plain state updated by the link's messages and read
//! at a given time, so that link loss is a rule with tests and not a timer.

use serde::{Deserialize, Serialize};

/// Silence after which a vehicle's link counts as lost: vehicles send a heartbeat every second, so
/// three missed in a row is a lost link, not a late datagram (the map must show it within 5 s).
pub const LOST_AFTER_MS: i64 = 3_000;

/// Above this height over home a vehicle counts as in the air even when its heartbeat does not say
/// it is armed (a vehicle that reports no arming state).
const AIRBORNE_ABOVE_M: f64 = 2.0;

crate::coded_enum!(
    /// How the server hears a vehicle.
    LinkState {
        None = "none", "未连接", "Not connected";
        Up = "up", "在线", "Connected";
        Lost = "lost", "失联", "Link lost";
    }
);

crate::coded_enum!(
    /// What a drone is doing, as the fleet list shows it.
    Status {
        Idle = "idle", "待命", "Idle";
        InAir = "in_air", "飞行中", "In the air";
        LinkLost = "link_lost", "失联", "Link lost";
        Charging = "charging", "充电中", "Charging";
    }
);

/// A position report (GLOBAL_POSITION_INT), WGS-84.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Fix {
    pub at_ms: i64,
    pub lon: f64,
    pub lat: f64,
    /// Metres above home.
    pub alt_m: f64,
    /// Degrees from north, clockwise; None when the vehicle does not know.
    pub heading_deg: Option<f64>,
}

/// One vehicle's telemetry state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Vehicle {
    pub heard_ms: Option<i64>,
    pub armed: bool,
    pub fix: Option<Fix>,
    /// Percent, when the vehicle reports it.
    pub battery_pct: Option<u8>,
}

impl Vehicle {
    /// A HEARTBEAT: the link is up; `base_mode`'s bit 7 is MAV_MODE_FLAG_SAFETY_ARMED.
    pub fn heartbeat(&mut self, at_ms: i64, base_mode: u8) {
        self.heard(at_ms);
        self.armed = base_mode & 0x80 != 0;
    }

    /// A GLOBAL_POSITION_INT, in its wire units (degE7, mm, centidegrees with 65535 unknown).
    pub fn position(
        &mut self,
        at_ms: i64,
        lat_e7: i32,
        lon_e7: i32,
        relative_mm: i32,
        hdg_cdeg: u16,
    ) {
        self.heard(at_ms);
        self.fix = Some(Fix {
            at_ms,
            lon: f64::from(lon_e7) / 1e7,
            lat: f64::from(lat_e7) / 1e7,
            alt_m: f64::from(relative_mm) / 1000.0,
            heading_deg: (hdg_cdeg != u16::MAX).then(|| f64::from(hdg_cdeg) / 100.0),
        });
    }

    /// A battery level (SYS_STATUS or BATTERY_STATUS); -1 is "not known" on the wire.
    pub fn battery(&mut self, at_ms: i64, remaining: i8) {
        self.heard(at_ms);
        self.battery_pct = u8::try_from(remaining).ok().filter(|&p| p <= 100);
    }

    fn heard(&mut self, at_ms: i64) {
        self.heard_ms = Some(self.heard_ms.map_or(at_ms, |h| h.max(at_ms)));
    }

    pub fn link(&self, now_ms: i64) -> LinkState {
        match self.heard_ms {
            None => LinkState::None,
            Some(h) if now_ms - h > LOST_AFTER_MS => LinkState::Lost,
            Some(_) => LinkState::Up,
        }
    }

    /// The drone's status: the operator's charging mark first (a drone on the charger may still
    /// send heartbeats), then a lost link, then in the air or idle.
    pub fn status(&self, now_ms: i64, charging: bool) -> Status {
        if charging {
            return Status::Charging;
        }
        match self.link(now_ms) {
            LinkState::Lost => Status::LinkLost,
            LinkState::Up if self.armed || self.fix.is_some_and(|f| f.alt_m > AIRBORNE_ABOVE_M) => {
                Status::InAir
            }
            _ => Status::Idle,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vehicle_silent_for_three_seconds_has_lost_its_link() {
        let mut v = Vehicle::default();
        assert_eq!(
            (v.link(0), v.status(0, false)),
            (LinkState::None, Status::Idle)
        );
        v.heartbeat(10_000, 0);
        assert_eq!(v.link(10_000 + LOST_AFTER_MS), LinkState::Up);
        assert_eq!(v.link(10_001 + LOST_AFTER_MS), LinkState::Lost);
        assert_eq!(v.status(20_000, false), Status::LinkLost);
        // A late datagram from before the last one does not move the clock back.
        v.heartbeat(12_000, 0);
        v.heartbeat(11_000, 0);
        assert_eq!(v.heard_ms, Some(12_000));
    }

    #[test]
    fn armed_or_above_two_metres_is_in_the_air_and_charging_wins() {
        let mut v = Vehicle::default();
        v.heartbeat(0, 0x80 | 0x01);
        assert_eq!(v.status(500, false), Status::InAir);
        v.heartbeat(1_000, 0x01);
        v.position(1_000, 465_900_000, 1_251_000_000, 1_500, 9_000);
        assert_eq!(v.status(1_500, false), Status::Idle);
        v.position(2_000, 465_900_000, 1_251_000_000, 80_000, u16::MAX);
        assert_eq!(v.status(2_500, false), Status::InAir);
        assert_eq!(v.status(2_500, true), Status::Charging);
        let f = v.fix.unwrap();
        assert_eq!(
            (f.lat, f.lon, f.alt_m, f.heading_deg),
            (46.59, 125.1, 80.0, None)
        );
    }

    #[test]
    fn an_unknown_battery_level_is_none() {
        let mut v = Vehicle::default();
        v.battery(0, 76);
        assert_eq!(v.battery_pct, Some(76));
        v.battery(1, -1);
        assert_eq!(v.battery_pct, None);
    }
}
