//! WGS-84 ↔ GCJ-02, the obfuscated datum of Chinese web maps (AMap, Tencent, and the district
//! outlines in `shared/data/`). Positions are stored and flown in WGS-84 (GPS, MAVLink, QGC); a
//! map drawn over GCJ-02 tiles shifts them by 250–500 m unless converted. The standard published
//! algorithm ("eviltransform"), about forty lines: written here rather than taken from a crate
//! because the maintained crates either mask China by an ODbL polygon (results differ near borders)
//! or bring a general geodesy library for one function (docs/research/drones-formats.md §8).

use std::f64::consts::PI;

/// Krasovsky 1940 semi-major axis and eccentricity², as the published transform uses.
const A: f64 = 6_378_245.0;
const EE: f64 = 0.006_693_421_622_965_943;

/// Outside this box the transform is the identity (the datum only applies in China).
fn in_china(lat: f64, lon: f64) -> bool {
    (72.004..=137.8347).contains(&lon) && (0.8293..=55.8271).contains(&lat)
}

fn transform(x: f64, y: f64) -> (f64, f64) {
    let d = 20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin();
    let lat = (d
        + 20.0 * (y * PI).sin()
        + 40.0 * (y / 3.0 * PI).sin()
        + 160.0 * (y / 12.0 * PI).sin()
        + 320.0 * (y * PI / 30.0).sin())
        * 2.0
        / 3.0
        - 100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * x.abs().sqrt();
    let lon = (d
        + 20.0 * (x * PI).sin()
        + 40.0 * (x / 3.0 * PI).sin()
        + 150.0 * (x / 12.0 * PI).sin()
        + 300.0 * (x / 30.0 * PI).sin())
        * 2.0
        / 3.0
        + 300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * x.abs().sqrt();
    (lat, lon)
}

/// The GCJ-02 offset at a point, degrees (lat, lon).
fn delta(lat: f64, lon: f64) -> (f64, f64) {
    let (d_lat, d_lon) = transform(lon - 105.0, lat - 35.0);
    let r = lat.to_radians();
    let m = 1.0 - EE * r.sin() * r.sin();
    let s = m.sqrt();
    (
        d_lat * 180.0 / ((A * (1.0 - EE)) / (m * s) * PI),
        d_lon * 180.0 / (A / s * r.cos() * PI),
    )
}

/// A WGS-84 position as a GCJ-02 map shows it, (lon, lat) in and out.
pub fn wgs_to_gcj(lon: f64, lat: f64) -> (f64, f64) {
    if !in_china(lat, lon) {
        return (lon, lat);
    }
    let (d_lat, d_lon) = delta(lat, lon);
    (lon + d_lon, lat + d_lat)
}

/// The WGS-84 position a GCJ-02 map shows at (lon, lat): the inverse of `wgs_to_gcj` by fixed-point
/// iteration (the one-step inverse is off by 1–2 m), to 1e-9° (0.1 mm).
pub fn gcj_to_wgs(lon: f64, lat: f64) -> (f64, f64) {
    if !in_china(lat, lon) {
        return (lon, lat);
    }
    let (mut w_lon, mut w_lat) = (lon, lat);
    for _ in 0..30 {
        let (g_lon, g_lat) = wgs_to_gcj(w_lon, w_lat);
        let (e_lon, e_lat) = (g_lon - lon, g_lat - lat);
        w_lon -= e_lon;
        w_lat -= e_lat;
        if e_lon.abs() < 1e-9 && e_lat.abs() < 1e-9 {
            break;
        }
    }
    (w_lon, w_lat)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// eviltransform's test vectors: (WGS lat, lon) → (GCJ lat, lon).
    const VECTORS: [[f64; 4]; 3] = [
        [31.1774276, 121.5272106, 31.17530398364597, 121.531541859215],
        [22.543847, 113.912316, 22.540796131694766, 113.9171764808363],
        [39.911954, 116.377817, 39.91334545536069, 116.38404722455657],
    ];

    #[test]
    fn the_published_vectors_are_reproduced_both_ways() {
        for [w_lat, w_lon, g_lat, g_lon] in VECTORS {
            let (lon, lat) = wgs_to_gcj(w_lon, w_lat);
            assert!(
                (lon - g_lon).abs() < 1e-9 && (lat - g_lat).abs() < 1e-9,
                "{lon} {lat}"
            );
            let (lon, lat) = gcj_to_wgs(g_lon, g_lat);
            assert!(
                (lon - w_lon).abs() < 1e-8 && (lat - w_lat).abs() < 1e-8,
                "{lon} {lat}"
            );
        }
    }

    #[test]
    fn daqing_shifts_by_a_few_hundred_metres_and_abroad_not_at_all() {
        let (lon, lat) = wgs_to_gcj(125.10, 46.59);
        let metres = ((lon - 125.10) * 111_320.0 * 46.59f64.to_radians().cos())
            .hypot((lat - 46.59) * 110_540.0);
        assert!((200.0..700.0).contains(&metres), "{metres} m");
        assert_eq!(wgs_to_gcj(2.35, 48.85), (2.35, 48.85));
        assert_eq!(gcj_to_wgs(-74.0, 40.7), (-74.0, 40.7));
    }
}
