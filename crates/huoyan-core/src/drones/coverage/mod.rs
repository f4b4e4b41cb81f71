//! Patrol coverage planning: the sorties that let a few drones see every strip of the sealed
//! zones (issue #4). Pure computation: GeoJSON zones, a camera and a fleet in; per drone, sorties
//! of waypoints out.
//!
//! Method, in the order it runs:
//! 1. Everything is projected into one local azimuthal-equidistant frame (metres) and converted
//!    back at the end; GeoJSON order is lon/lat.
//! 2. Sweep spacing d = footprint × (1 − side overlap), footprint = 2 · altitude · tan(hfov/2).
//! 3. Each polygon is cut into y-monotone cells (boustrophedon decomposition, see `cells`) along
//!    the polygon's narrowest directions; each cell is then swept back and forth along its own
//!    minimum-width direction when it is monotone there. Lines sit at most d apart and reach just
//!    far enough that every point of the zone is within d/2 of a line.
//! 4. Cells are chained nearest-first, zones are chained by nearest neighbour and 2-opt.
//! 5. The work is divided among the drones in proportion to what each can do (speed, usable
//!    endurance, distance from home, battery swaps) so that the last drone lands as early as
//!    possible. Two ways are tried and the earlier finish kept: the chained route cut into
//!    consecutive stretches by bisection on the finish time (with one base this divides the area
//!    into bands proportional to capability), and pieces of the paths clustered to the drone whose
//!    home makes them cheapest, balanced by moves off the busiest drone (for bases spread over the
//!    city). Each drone's share is cut into sorties that leave home, fly a stretch and return
//!    within endurance − reserve; a stretch out of one drone's reach is left to another.

mod cells;
pub(crate) mod geom;
mod route;
mod score;
#[cfg(test)]
mod tests;
mod tidy;

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use geom::{Frame, P};
pub use score::{coverage_ratio, lower_bound_length};

/// A sealed zone to patrol: a GeoJSON Polygon or MultiPolygon in WGS-84 lon/lat; holes (a lake, a
/// zone inside the zone that is patrolled apart) are left out of the sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Zone {
    pub id: String,
    pub geometry: geojson::Geometry,
}

impl Zone {
    pub fn from_geojson(id: impl Into<String>, geometry: geojson::Geometry) -> Self {
        Zone {
            id: id.into(),
            geometry,
        }
    }

    /// A one-polygon zone from lon/lat rings: the first is the outer boundary, the others holes.
    /// Rings may be given open or closed.
    pub fn from_rings(id: impl Into<String>, rings: Vec<Vec<[f64; 2]>>) -> Self {
        let coords = rings
            .into_iter()
            .map(|r| r.into_iter().map(geojson::Position::from).collect())
            .collect();
        Zone::from_geojson(
            id,
            geojson::Geometry::new(geojson::GeometryValue::Polygon {
                coordinates: coords,
            }),
        )
    }
}

/// The camera the sweep is planned for.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CameraSpec {
    /// Flight height above ground, metres.
    pub altitude_m: f64,
    /// Horizontal (across-track) field of view, degrees.
    pub hfov_deg: f64,
    /// Fraction of the footprint that neighbouring sweeps share, 0 ≤ overlap ≤ 0.9.
    pub side_overlap: f64,
}

impl CameraSpec {
    /// Width of ground seen across the track.
    pub fn footprint_m(&self) -> f64 {
        2.0 * self.altitude_m * (self.hfov_deg.to_radians() / 2.0).tan()
    }

    /// Distance between neighbouring sweep lines.
    pub fn spacing_m(&self) -> f64 {
        self.footprint_m() * (1.0 - self.side_overlap)
    }

    fn validate(&self) -> Result<(), CoverageError> {
        let bad = |field, value, expected| {
            Err(CoverageError::BadCamera {
                field,
                value,
                expected,
            })
        };
        if !(self.altitude_m.is_finite() && self.altitude_m > 0.0 && self.altitude_m <= 10_000.0) {
            return bad("altitude_m", self.altitude_m, "above 0 and at most 10000 m");
        }
        if !(self.hfov_deg.is_finite() && self.hfov_deg > 0.0 && self.hfov_deg < 180.0) {
            return bad("hfov_deg", self.hfov_deg, "above 0 and below 180 degrees");
        }
        if !(self.side_overlap.is_finite() && (0.0..=0.9).contains(&self.side_overlap)) {
            return bad("side_overlap", self.side_overlap, "from 0 to 0.9");
        }
        if self.spacing_m() < 0.1 {
            return bad(
                "hfov_deg",
                self.hfov_deg,
                "wide enough that sweeps are at least 0.1 m apart",
            );
        }
        Ok(())
    }
}

/// A drone of the fleet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drone {
    pub id: String,
    /// Take-off and landing point, [lon, lat].
    pub home: [f64; 2],
    pub cruise_speed_mps: f64,
    /// Flight time on a full battery, seconds.
    pub endurance_s: f64,
    /// Flight time that must be left on landing, seconds.
    pub reserve_s: f64,
    /// Ground time between two sorties (battery swap), seconds.
    #[serde(default)]
    pub turnaround_s: f64,
}

impl Drone {
    /// Metres the drone may fly in one sortie.
    fn range_m(&self) -> f64 {
        self.cruise_speed_mps * (self.endurance_s - self.reserve_s)
    }

    fn validate(&self) -> Result<(), CoverageError> {
        let bad = |field, value, expected| {
            Err(CoverageError::BadDrone {
                drone: self.id.clone(),
                field,
                value,
                expected,
            })
        };
        let [lon, lat] = self.home;
        if !(lon.is_finite() && (-180.0..=180.0).contains(&lon)) {
            return bad("home[0] (lon)", lon, "from -180 to 180");
        }
        if !(lat.is_finite() && (-85.0..=85.0).contains(&lat)) {
            return bad("home[1] (lat)", lat, "from -85 to 85");
        }
        if !(self.cruise_speed_mps.is_finite() && self.cruise_speed_mps > 0.0) {
            return bad("cruise_speed_mps", self.cruise_speed_mps, "above 0");
        }
        if !(self.endurance_s.is_finite() && self.endurance_s > 0.0) {
            return bad("endurance_s", self.endurance_s, "above 0");
        }
        if !(self.reserve_s.is_finite()
            && self.reserve_s >= 0.0
            && self.reserve_s < self.endurance_s)
        {
            return bad(
                "reserve_s",
                self.reserve_s,
                "at least 0 and below endurance_s",
            );
        }
        if !(self.turnaround_s.is_finite() && self.turnaround_s >= 0.0) {
            return bad("turnaround_s", self.turnaround_s, "at least 0");
        }
        Ok(())
    }
}

/// What to plan: zones, camera, fleet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanRequest {
    pub zones: Vec<Zone>,
    pub camera: CameraSpec,
    pub drones: Vec<Drone>,
}

/// A point of a sortie. Take-off and landing are at the home point at altitude 0; all other
/// points are at the camera altitude (climb and descent are not timed).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Waypoint {
    pub lon: f64,
    pub lat: f64,
    pub alt: f64,
    /// Whether the leg that ends here is part of a zone's coverage path (a sweep line, a turn or a
    /// hop between cells), as opposed to transit from home, between zones or back home.
    pub covering: bool,
}

/// One flight: take-off from home, a stretch of the route, return home.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sortie {
    pub waypoints: Vec<Waypoint>,
    /// Horizontal length flown, transit included.
    pub length_m: f64,
    /// Flight time at cruise speed.
    pub time_s: f64,
    /// The part of `length_m` on coverage legs.
    pub covering_length_m: f64,
}

/// Everything one drone flies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DronePlan {
    pub drone: String,
    pub sorties: Vec<Sortie>,
    pub length_m: f64,
    /// From first take-off to last landing: flight time plus turnarounds.
    pub busy_s: f64,
}

/// Per zone: its size against the bound, for the dispatcher and the benchmark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZoneSummary {
    pub zone: String,
    pub area_m2: f64,
    /// area / spacing: no path with this camera can be shorter.
    pub lower_bound_m: f64,
    /// Length of the zone's coverage path (sweeps, turns, hops between cells).
    pub path_length_m: f64,
    pub cells: usize,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub footprint_m: f64,
    pub spacing_m: f64,
    pub zones: Vec<ZoneSummary>,
    pub drones: Vec<DronePlan>,
    /// When the last drone lands, counted from the common start.
    pub makespan_s: f64,
}

impl Plan {
    /// Coverage legs of every sortie, as lon/lat segments.
    pub fn covering_segments(&self) -> Vec<([f64; 2], [f64; 2])> {
        let mut out = Vec::new();
        for s in self.drones.iter().flat_map(|d| &d.sorties) {
            for w in s.waypoints.windows(2) {
                if w[1].covering {
                    out.push(([w[0].lon, w[0].lat], [w[1].lon, w[1].lat]));
                }
            }
        }
        out
    }
}

/// Why a plan was refused; each names the field or item at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CoverageError {
    #[error("zones: at least one zone is needed")]
    NoZones,
    #[error("drones: at least one drone is needed")]
    NoDrones,
    #[error("zones[{index}].id: must not be empty")]
    EmptyZoneId { index: usize },
    #[error("zones[{index}].id: `{id}` is used by another zone")]
    DuplicateZoneId { index: usize, id: String },
    #[error("zone `{zone}`: geometry must be a Polygon or MultiPolygon, not a {kind}")]
    UnsupportedGeometry { zone: String, kind: String },
    #[error(
        "zone `{zone}`: polygon {polygon} ring {ring} has {points} distinct points; a ring needs at least 3"
    )]
    TooFewPoints {
        zone: String,
        polygon: usize,
        ring: usize,
        points: usize,
    },
    #[error(
        "zone `{zone}`: polygon {polygon} ring {ring} point {point} is not a lon/lat position: {value:?}"
    )]
    BadCoordinate {
        zone: String,
        polygon: usize,
        ring: usize,
        point: usize,
        value: Vec<f64>,
    },
    #[error(
        "zone `{zone}`: polygon {polygon} crosses or touches itself near lon {lon:.6}, lat {lat:.6} \
         (ring {ring_a} edge {edge_a} meets ring {ring_b} edge {edge_b})"
    )]
    SelfIntersection {
        zone: String,
        polygon: usize,
        ring_a: usize,
        edge_a: usize,
        ring_b: usize,
        edge_b: usize,
        lon: f64,
        lat: f64,
    },
    #[error(
        "zone `{zone}`: polygon {polygon} hole {hole} (ring {hole}) is not inside the outer ring or lies in another hole"
    )]
    HoleOutside {
        zone: String,
        polygon: usize,
        hole: usize,
    },
    #[error("zone `{zone}`: polygon {polygon} has no area")]
    ZeroArea { zone: String, polygon: usize },
    #[error("camera.{field}: {value} is out of range; expected {expected}")]
    BadCamera {
        field: &'static str,
        value: f64,
        expected: &'static str,
    },
    #[error("drones[{index}].id: must not be empty")]
    EmptyDroneId { index: usize },
    #[error("drones[{index}].id: `{id}` is used by another drone")]
    DuplicateDroneId { index: usize, id: String },
    #[error("drone `{drone}`: {field} = {value} is out of range; expected {expected}")]
    BadDrone {
        drone: String,
        field: &'static str,
        value: f64,
        expected: &'static str,
    },
    #[error(
        "zone `{zone}` is out of reach: a point of it is {distance_m:.0} m from drone `{drone}`, the \
         nearest, which can fly out only {radius_m:.0} m and back"
    )]
    OutOfReach {
        zone: String,
        drone: String,
        distance_m: f64,
        radius_m: f64,
    },
    #[error(
        "zones: the sweep would be {length_km:.0} km long, more than the {limit_km:.0} km one plan may hold; split the request or raise the altitude"
    )]
    TooLarge { length_km: f64, limit_km: f64 },
}

/// Bound on total sweep length per request, so a typo in the overlap cannot eat the server.
const MAX_SWEEP_M: f64 = 2.0e9;

/// A zone's polygons as validated lon/lat rings (closing point dropped).
type RingsLl = Vec<Vec<Vec<[f64; 2]>>>;
/// The same in the planning frame.
type PolysXy = Vec<Vec<Vec<P>>>;

fn zone_rings(zone: &Zone) -> Result<RingsLl, CoverageError> {
    use geojson::GeometryValue as G;
    let polys: Vec<&Vec<Vec<geojson::Position>>> = match &zone.geometry.value {
        G::Polygon { coordinates } => vec![coordinates],
        G::MultiPolygon { coordinates } => coordinates.iter().collect(),
        other => {
            return Err(CoverageError::UnsupportedGeometry {
                zone: zone.id.clone(),
                kind: other.type_name().to_string(),
            });
        }
    };
    if polys.is_empty() {
        return Err(CoverageError::ZeroArea {
            zone: zone.id.clone(),
            polygon: 0,
        });
    }
    let mut out = Vec::with_capacity(polys.len());
    for (pi, poly) in polys.into_iter().enumerate() {
        if poly.is_empty() {
            return Err(CoverageError::TooFewPoints {
                zone: zone.id.clone(),
                polygon: pi,
                ring: 0,
                points: 0,
            });
        }
        let mut rings = Vec::with_capacity(poly.len());
        for (ri, ring) in poly.iter().enumerate() {
            let mut pts: Vec<[f64; 2]> = Vec::with_capacity(ring.len());
            for (k, pos) in ring.iter().enumerate() {
                let v = pos.as_slice();
                let ok = v.len() >= 2
                    && v[0].is_finite()
                    && v[1].is_finite()
                    && (-180.0..=180.0).contains(&v[0])
                    && (-85.0..=85.0).contains(&v[1]);
                if !ok {
                    return Err(CoverageError::BadCoordinate {
                        zone: zone.id.clone(),
                        polygon: pi,
                        ring: ri,
                        point: k,
                        value: v.to_vec(),
                    });
                }
                let p = [v[0], v[1]];
                if pts.last() != Some(&p) {
                    pts.push(p);
                }
            }
            while pts.len() > 1 && pts.first() == pts.last() {
                pts.pop();
            }
            if pts.len() < 3 {
                return Err(CoverageError::TooFewPoints {
                    zone: zone.id.clone(),
                    polygon: pi,
                    ring: ri,
                    points: pts.len(),
                });
            }
            rings.push(pts);
        }
        out.push(rings);
    }
    Ok(out)
}

/// Projects a zone's rings and checks them: no crossings, holes inside, some area.
fn project_zone(
    zone: &str,
    rings: &RingsLl,
    frame: &Frame,
) -> Result<(PolysXy, f64), CoverageError> {
    let mut polys = Vec::with_capacity(rings.len());
    let mut area = 0.0;
    for (pi, poly) in rings.iter().enumerate() {
        let xy: Vec<Vec<P>> = poly
            .iter()
            .map(|r| r.iter().map(|&[lon, lat]| frame.to_xy(lon, lat)).collect())
            .collect();
        if let Some((a, b, at)) = geom::first_crossing(&xy) {
            let [lon, lat] = frame.to_lonlat(at);
            return Err(CoverageError::SelfIntersection {
                zone: zone.to_string(),
                polygon: pi,
                ring_a: a.ring,
                edge_a: a.index,
                ring_b: b.ring,
                edge_b: b.index,
                lon,
                lat,
            });
        }
        for h in 1..xy.len() {
            let q = xy[h][0];
            let in_outer = geom::inside(&xy[..1], q);
            let in_other = (1..xy.len()).any(|o| o != h && geom::inside(&xy[o..o + 1], q));
            if !in_outer || in_other {
                return Err(CoverageError::HoleOutside {
                    zone: zone.to_string(),
                    polygon: pi,
                    hole: h,
                });
            }
        }
        let a = geom::signed_area2(&xy[0]).abs() / 2.0
            - xy[1..]
                .iter()
                .map(|r| geom::signed_area2(r).abs() / 2.0)
                .sum::<f64>();
        // Below a square metre it is a line or a point, whatever rounding says.
        if a < 1.0 {
            return Err(CoverageError::ZeroArea {
                zone: zone.to_string(),
                polygon: pi,
            });
        }
        area += a;
        polys.push(xy);
    }
    Ok((polys, area))
}

fn validate_ids<'a>(
    ids: impl Iterator<Item = &'a str>,
    empty: impl Fn(usize) -> CoverageError,
    dup: impl Fn(usize, String) -> CoverageError,
) -> Result<(), CoverageError> {
    let mut seen = HashSet::new();
    for (i, id) in ids.enumerate() {
        if id.trim().is_empty() {
            return Err(empty(i));
        }
        if !seen.insert(id) {
            return Err(dup(i, id.to_string()));
        }
    }
    Ok(())
}

/// Plans sorties for the fleet that together cover every zone.
pub fn plan(req: &PlanRequest) -> Result<Plan, CoverageError> {
    req.camera.validate()?;
    if req.zones.is_empty() {
        return Err(CoverageError::NoZones);
    }
    if req.drones.is_empty() {
        return Err(CoverageError::NoDrones);
    }
    validate_ids(
        req.zones.iter().map(|z| z.id.as_str()),
        |index| CoverageError::EmptyZoneId { index },
        |index, id| CoverageError::DuplicateZoneId { index, id },
    )?;
    validate_ids(
        req.drones.iter().map(|d| d.id.as_str()),
        |index| CoverageError::EmptyDroneId { index },
        |index, id| CoverageError::DuplicateDroneId { index, id },
    )?;
    for d in &req.drones {
        d.validate()?;
    }
    let rings: Vec<RingsLl> = req.zones.iter().map(zone_rings).collect::<Result<_, _>>()?;
    let frame = Frame::around(
        rings
            .iter()
            .flatten()
            .flatten()
            .flatten()
            .copied()
            .chain(req.drones.iter().map(|d| d.home)),
    );
    let d = req.camera.spacing_m();

    let mut projected = Vec::with_capacity(rings.len());
    let mut bound_total = 0.0;
    for (zone, r) in req.zones.iter().zip(&rings) {
        let (polys, area) = project_zone(&zone.id, r, &frame)?;
        bound_total += area / d;
        projected.push((polys, area));
    }
    if bound_total > MAX_SWEEP_M {
        return Err(CoverageError::TooLarge {
            length_km: bound_total / 1000.0,
            limit_km: MAX_SWEEP_M / 1000.0,
        });
    }

    let mut summaries = Vec::with_capacity(req.zones.len());
    let mut zone_paths = Vec::with_capacity(req.zones.len());
    for (zone, (polys, area)) in req.zones.iter().zip(&projected) {
        let sweeps: Vec<cells::CellSweep> = polys
            .iter()
            .flat_map(|p| cells::plan_polygon(p, d))
            .collect();
        let (mut path, len) = cells::order_cells(&sweeps, None);
        if path.is_empty() {
            // Cannot happen for a zone with area (every cell has a line), but a visit to one of
            // its corners keeps the route code total rather than trusting that.
            path.push(polys[0][0][0]);
        }
        summaries.push(ZoneSummary {
            zone: zone.id.clone(),
            area_m2: *area,
            lower_bound_m: area / d,
            path_length_m: len,
            cells: sweeps.len(),
        });
        zone_paths.push(path);
    }

    let fleet: Vec<route::FleetDrone> = req
        .drones
        .iter()
        .map(|dr| route::FleetDrone {
            home: frame.to_xy(dr.home[0], dr.home[1]),
            speed: dr.cruise_speed_mps,
            range: dr.range_m(),
            turnaround: dr.turnaround_s,
        })
        .collect();
    route::check_reach(&zone_paths, &fleet).map_err(|(z, k, dist)| CoverageError::OutOfReach {
        zone: req.zones[z].id.clone(),
        drone: req.drones[k].id.clone(),
        distance_m: dist,
        radius_m: fleet[k].range / 2.0,
    })?;
    let assignment =
        route::assign(&zone_paths, &fleet).map_err(|(z, k, dist)| CoverageError::OutOfReach {
            zone: req.zones[z].id.clone(),
            drone: req.drones[k].id.clone(),
            distance_m: dist,
            radius_m: fleet[k].range / 2.0,
        })?;

    let alt = req.camera.altitude_m;
    let to_wp = |p: P, covering: bool, alt: f64| {
        let [lon, lat] = frame.to_lonlat(p);
        Waypoint {
            lon,
            lat,
            alt,
            covering,
        }
    };
    let drones: Vec<DronePlan> = req
        .drones
        .iter()
        .zip(assignment)
        .map(|(dr, sorties)| {
            let sorties: Vec<Sortie> = sorties
                .into_iter()
                .map(|s| {
                    let waypoints = s
                        .points
                        .iter()
                        .map(|&(p, cov, on_ground)| {
                            to_wp(p, cov, if on_ground { 0.0 } else { alt })
                        })
                        .collect();
                    Sortie {
                        waypoints,
                        length_m: s.length,
                        time_s: s.length / dr.cruise_speed_mps,
                        covering_length_m: s.covering_length,
                    }
                })
                .collect();
            let flight: f64 = sorties.iter().map(|s| s.time_s).sum();
            let busy_s = flight + dr.turnaround_s * sorties.len().saturating_sub(1) as f64;
            DronePlan {
                drone: dr.id.clone(),
                length_m: sorties.iter().map(|s| s.length_m).sum(),
                sorties,
                busy_s,
            }
        })
        .collect();
    let makespan_s = drones.iter().map(|d| d.busy_s).fold(0.0, f64::max);
    Ok(Plan {
        footprint_m: req.camera.footprint_m(),
        spacing_m: d,
        zones: summaries,
        drones,
        makespan_s,
    })
}
