//! A sortie as the pilots' ground-control software takes it: one list of MAVLink mission items,
//! written as a QGroundControl `.plan` file, as a `QGC WPL 110` `.waypoints` file, or uploaded to
//! the vehicle item by item. All three come from `GroundMission::items`, so they cannot disagree.
//!
//! The formats' rules, as QGC's loader and pymavlink read them, are in
//! docs/research/drones-formats.md. What matters here:
//! - Item 0 is the home position (ArduPilot keeps home in slot 0 and QGC's `.waypoints` loader
//!   takes line 0 as the planned home); the flight's items follow from 1.
//! - QGC and MAVLink order coordinates lat, lon; the coverage plan (GeoJSON) lon, lat.
//! - Altitudes are relative to home (`MAV_FRAME_GLOBAL_RELATIVE_ALT`): the plan flies at the
//!   camera's height above the ground it took off from.
//! - The heading at each waypoint is NaN ("the vehicle's own yaw behaviour"): 0 would turn a PX4
//!   vehicle north at every point. ArduPilot allows NaN there; the `.plan` writes it as `null`.

use serde_json::{Value, json};

use super::coverage::Sortie;
use super::coverage::geom::{Frame, P, convex_hull, signed_area2};

/// MAVLink commands and frames used (common.xml).
pub const NAV_WAYPOINT: u16 = 16;
pub const NAV_RETURN_TO_LAUNCH: u16 = 20;
pub const NAV_TAKEOFF: u16 = 22;
pub const DO_CHANGE_SPEED: u16 = 178;
pub const FRAME_GLOBAL: u8 = 0;
pub const FRAME_MISSION: u8 = 2;
pub const FRAME_GLOBAL_RELATIVE_ALT: u8 = 3;

/// The firmware the `.plan` declares (MAV_AUTOPILOT_ARDUPILOTMEGA) and the vehicle (quadrotor):
/// the police squad's multirotors, and the convention (home in slot 0) the items follow.
const FIRMWARE_ARDUPILOT: u8 = 3;
const VEHICLE_QUADROTOR: u8 = 2;

/// How far outside the flown path the geofence lies: room for wind and turns.
pub const FENCE_MARGIN_M: f64 = 100.0;

/// One mission item, as MISSION_ITEM_INT carries it (lat/lon in degrees here).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MissionItem {
    pub command: u16,
    pub frame: u8,
    pub params: [f64; 4],
    pub lat: f64,
    pub lon: f64,
    pub alt: f64,
}

/// A sortie ready for ground control.
#[derive(Debug, Clone, PartialEq)]
pub struct GroundMission {
    /// Home first, then take-off, cruise speed, the waypoints, return to launch.
    pub items: Vec<MissionItem>,
    pub cruise_mps: f64,
    /// The inclusion geofence, [lat, lon], clockwise: the flown path's hull widened by
    /// `FENCE_MARGIN_M`.
    pub fence: Vec<[f64; 2]>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExportError {
    #[error("the sortie has no waypoint between take-off and landing")]
    Empty,
}

impl GroundMission {
    /// The sortie's items: its first and last waypoints are the home point on the ground, the
    /// others are flown at their altitude.
    pub fn for_sortie(sortie: &Sortie, cruise_mps: f64) -> Result<GroundMission, ExportError> {
        if sortie.waypoints.len() <= 2 {
            return Err(ExportError::Empty);
        }
        let first = &sortie.waypoints[0];
        let flown = &sortie.waypoints[1..sortie.waypoints.len() - 1];
        let climb = flown.iter().map(|w| w.alt).fold(0.0, f64::max);
        let yaw = f64::NAN;
        let mut items = vec![
            MissionItem {
                command: NAV_WAYPOINT,
                frame: FRAME_GLOBAL,
                params: [0.0; 4],
                lat: first.lat,
                lon: first.lon,
                alt: 0.0,
            },
            MissionItem {
                command: NAV_TAKEOFF,
                frame: FRAME_GLOBAL_RELATIVE_ALT,
                params: [0.0, 0.0, 0.0, yaw],
                lat: first.lat,
                lon: first.lon,
                alt: climb,
            },
            MissionItem {
                command: DO_CHANGE_SPEED,
                frame: FRAME_MISSION,
                // Ground speed, at this many m/s, throttle unchanged.
                params: [1.0, cruise_mps, -1.0, 0.0],
                lat: 0.0,
                lon: 0.0,
                alt: 0.0,
            },
        ];
        items.extend(flown.iter().map(|w| MissionItem {
            command: NAV_WAYPOINT,
            frame: FRAME_GLOBAL_RELATIVE_ALT,
            params: [0.0, 0.0, 0.0, yaw],
            lat: w.lat,
            lon: w.lon,
            alt: w.alt,
        }));
        items.push(MissionItem {
            command: NAV_RETURN_TO_LAUNCH,
            frame: FRAME_MISSION,
            params: [0.0; 4],
            lat: 0.0,
            lon: 0.0,
            alt: 0.0,
        });
        let path: Vec<[f64; 2]> = sortie.waypoints.iter().map(|w| [w.lon, w.lat]).collect();
        Ok(GroundMission {
            items,
            cruise_mps,
            fence: fence_around(&path, FENCE_MARGIN_M),
        })
    }

    pub fn home(&self) -> &MissionItem {
        &self.items[0]
    }

    /// The QGroundControl `.plan` document.
    pub fn to_plan(&self) -> Value {
        let home = self.home();
        let items: Vec<Value> = self.items[1..]
            .iter()
            .enumerate()
            .map(|(k, it)| {
                let p = |v: f64| if v.is_nan() { Value::Null } else { json!(v) };
                json!({
                    "type": "SimpleItem",
                    "autoContinue": true,
                    "command": it.command,
                    "doJumpId": k + 1,
                    "frame": it.frame,
                    "params": [p(it.params[0]), p(it.params[1]), p(it.params[2]), p(it.params[3]),
                               it.lat, it.lon, it.alt],
                })
            })
            .collect();
        json!({
            "fileType": "Plan",
            "version": 1,
            "groundStation": "Huoyan",
            "mission": {
                "version": 2,
                "firmwareType": FIRMWARE_ARDUPILOT,
                "vehicleType": VEHICLE_QUADROTOR,
                "cruiseSpeed": self.cruise_mps,
                "hoverSpeed": self.cruise_mps,
                "globalPlanAltitudeMode": 1,
                "plannedHomePosition": [home.lat, home.lon, home.alt],
                "items": items,
            },
            "geoFence": {
                "version": 2,
                "polygons": [{ "version": 1, "inclusion": true, "polygon": self.fence }],
                "circles": [],
            },
            "rallyPoints": { "version": 2, "points": [] },
        })
    }

    /// The `QGC WPL 110` text: tab-separated, twelve fields a line, the home line first, no
    /// comments or blank lines (QGC refuses them).
    pub fn to_waypoints(&self) -> String {
        let num = |v: f64| {
            if v.is_nan() {
                "nan".to_string()
            } else {
                format!("{v}")
            }
        };
        let mut out = String::from("QGC WPL 110\n");
        for (seq, it) in self.items.iter().enumerate() {
            out.push_str(&format!(
                "{seq}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{:.8}\t{:.8}\t{:.6}\t1\n",
                u8::from(seq == 0),
                it.frame,
                it.command,
                num(it.params[0]),
                num(it.params[1]),
                num(it.params[2]),
                num(it.params[3]),
                it.lat,
                it.lon,
                it.alt,
            ));
        }
        out
    }
}

/// The hull of `path` (lon, lat) widened by `margin_m`, as clockwise [lat, lon] points: each
/// point of the path stands for a circle of the margin (twelve points around it).
fn fence_around(path: &[[f64; 2]], margin_m: f64) -> Vec<[f64; 2]> {
    let frame = Frame::around(path.iter().copied());
    let mut pts = Vec::with_capacity(path.len() * 12);
    for &[lon, lat] in path {
        let c = frame.to_xy(lon, lat);
        for k in 0..12 {
            let a = f64::from(k) * std::f64::consts::PI / 6.0;
            // Outside the circle: a polygon inscribed in it would cut its sides by 3.4 %.
            let r = margin_m / (std::f64::consts::PI / 12.0).cos();
            pts.push(P::new(c.x + r * a.cos(), c.y + r * a.sin()));
        }
    }
    let mut hull = convex_hull(&pts);
    if signed_area2(&hull) > 0.0 {
        hull.reverse();
    }
    hull.into_iter()
        .map(|p| {
            let [lon, lat] = frame.to_lonlat(p);
            [lat, lon]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::coverage::{CameraSpec, Drone, PlanRequest, Zone, plan};
    use super::*;

    fn sortie() -> Sortie {
        let zone = Zone::from_rings(
            "景程小区",
            vec![vec![
                [125.100, 46.590],
                [125.104, 46.590],
                [125.104, 46.593],
                [125.100, 46.593],
            ]],
        );
        let req = PlanRequest {
            zones: vec![zone],
            camera: CameraSpec {
                altitude_m: 80.0,
                hfov_deg: 70.0,
                side_overlap: 0.2,
            },
            drones: vec![Drone {
                id: "警航1".into(),
                home: [125.098, 46.589],
                cruise_speed_mps: 10.0,
                endurance_s: 1800.0,
                reserve_s: 300.0,
                turnaround_s: 0.0,
            }],
        };
        plan(&req).unwrap().drones[0].sorties[0].clone()
    }

    #[test]
    fn the_items_are_home_takeoff_speed_waypoints_and_return() {
        let s = sortie();
        let m = GroundMission::for_sortie(&s, 10.0).unwrap();
        let n = s.waypoints.len();
        assert_eq!(m.items.len(), n - 2 + 4);
        let home = m.home();
        assert_eq!(
            (home.command, home.frame, home.alt),
            (NAV_WAYPOINT, FRAME_GLOBAL, 0.0)
        );
        assert_eq!(
            (home.lat, home.lon),
            (s.waypoints[0].lat, s.waypoints[0].lon)
        );
        assert_eq!((m.items[1].command, m.items[1].alt), (NAV_TAKEOFF, 80.0));
        assert_eq!(
            (m.items[2].command, m.items[2].params[1]),
            (DO_CHANGE_SPEED, 10.0)
        );
        for (it, w) in m.items[3..m.items.len() - 1]
            .iter()
            .zip(&s.waypoints[1..n - 1])
        {
            assert_eq!(
                (it.command, it.frame, it.lat, it.lon, it.alt),
                (NAV_WAYPOINT, FRAME_GLOBAL_RELATIVE_ALT, w.lat, w.lon, w.alt)
            );
            assert!(it.params[3].is_nan());
        }
        assert_eq!(m.items.last().unwrap().command, NAV_RETURN_TO_LAUNCH);
    }

    #[test]
    fn the_fence_is_clockwise_and_holds_every_waypoint_with_its_margin() {
        let s = sortie();
        let m = GroundMission::for_sortie(&s, 10.0).unwrap();
        let frame = Frame::around(s.waypoints.iter().map(|w| [w.lon, w.lat]));
        let ring: Vec<P> = m
            .fence
            .iter()
            .map(|&[lat, lon]| frame.to_xy(lon, lat))
            .collect();
        assert!(signed_area2(&ring) < 0.0, "clockwise");
        for w in &s.waypoints {
            let q = frame.to_xy(w.lon, w.lat);
            // Distance from q to each edge's line, inside (clockwise: the inside is on the right).
            for k in 0..ring.len() {
                let (a, b) = (ring[k], ring[(k + 1) % ring.len()]);
                let e = b - a;
                let side = e.cross(q - a) / e.norm();
                assert!(side <= -FENCE_MARGIN_M + 0.5, "{side} m from edge {k}");
            }
        }
    }

    #[test]
    fn the_plan_follows_qgcs_loader_rules() {
        let m = GroundMission::for_sortie(&sortie(), 10.0).unwrap();
        let plan = m.to_plan();
        assert_eq!(plan["fileType"], "Plan");
        assert_eq!(plan["version"], 1);
        assert!(plan["groundStation"].is_string());
        for key in ["mission", "geoFence", "rallyPoints"] {
            assert!(plan[key].is_object(), "{key}");
        }
        let mission = &plan["mission"];
        assert_eq!(mission["version"], 2);
        assert!(mission["firmwareType"].is_number());
        let home = mission["plannedHomePosition"].as_array().unwrap();
        assert_eq!(home.len(), 3);
        assert_eq!(home[0], m.home().lat, "lat first");
        let items = mission["items"].as_array().unwrap();
        assert_eq!(items.len(), m.items.len() - 1, "home is not an item");
        for (k, item) in items.iter().enumerate() {
            assert_eq!(item["type"], "SimpleItem");
            assert!(item["autoContinue"].is_boolean());
            assert!(item["frame"].is_number() && item["command"].is_number());
            assert_eq!(item["doJumpId"], k + 1);
            let params = item["params"].as_array().unwrap();
            assert_eq!(params.len(), 7);
            assert!(params[..4].iter().all(|p| p.is_number() || p.is_null()));
            assert!(params[4..].iter().all(Value::is_number));
            assert_eq!(params[4], m.items[k + 1].lat);
        }
        let fence = &plan["geoFence"];
        assert_eq!(fence["version"], 2);
        assert!(fence["circles"].is_array());
        let polygon = &fence["polygons"][0];
        assert_eq!(
            (polygon["version"].as_i64(), polygon["inclusion"].as_bool()),
            (Some(1), Some(true))
        );
        assert!(
            polygon["polygon"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p.as_array().unwrap().len() == 2)
        );
        assert_eq!(plan["rallyPoints"]["version"], 2);
    }

    #[test]
    fn the_waypoints_file_has_twelve_tab_separated_fields_a_line_and_home_first() {
        let m = GroundMission::for_sortie(&sortie(), 10.0).unwrap();
        let text = m.to_waypoints();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("QGC WPL 110"));
        let rows: Vec<Vec<&str>> = lines.map(|l| l.split('\t').collect()).collect();
        assert_eq!(rows.len(), m.items.len());
        for (seq, row) in rows.iter().enumerate() {
            assert_eq!(row.len(), 12, "line {seq}");
            assert_eq!(row[0], seq.to_string());
            assert_eq!(row[1], if seq == 0 { "1" } else { "0" });
            let lat: f64 = row[8].parse().unwrap();
            assert!((lat - m.items[seq].lat).abs() < 1e-8);
        }
        assert!(text.ends_with('\n') && !text.contains("\n\n"));
    }

    #[test]
    fn a_sortie_without_flown_points_is_refused() {
        let mut s = sortie();
        s.waypoints.truncate(2);
        assert_eq!(GroundMission::for_sortie(&s, 10.0), Err(ExportError::Empty));
    }
}
