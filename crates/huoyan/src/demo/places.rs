//! Where the demo puts things it has no real position for: a random point inside an outline.

use rand::RngExt;
use rand::rngs::StdRng;

/// A random point inside `outline`, within `radius` degrees of `near` when given.
pub(super) fn random_point_in(
    rng: &mut StdRng,
    outline: &geojson::Geometry,
    near: Option<((f64, f64), f64)>,
) -> (f64, f64) {
    let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
    let rings = match &outline.value {
        geojson::GeometryValue::Polygon { coordinates } => coordinates.iter().collect::<Vec<_>>(),
        geojson::GeometryValue::MultiPolygon { coordinates } => {
            coordinates.iter().flatten().collect()
        }
        _ => Vec::new(),
    };
    for p in rings.into_iter().flatten() {
        for k in 0..2 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    }
    if let Some(((x, y), r)) = near {
        lo = [lo[0].max(x - r), lo[1].max(y - r)];
        hi = [hi[0].min(x + r), hi[1].min(y + r)];
    }
    for _ in 0..10_000 {
        let (x, y) = (
            rng.random_range(lo[0]..hi[0]),
            rng.random_range(lo[1]..hi[1]),
        );
        if huoyan_core::org::places::contains(outline, x, y) {
            return (x, y);
        }
    }
    near.map_or(((lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0), |n| n.0)
}

/// Moves every position of a GeoJSON value from GCJ-02 to WGS-84 in place: the district outlines
/// in data/ come from a Chinese web map, and positions are stored in WGS-84 (GPS, the drones'
/// telemetry), so an outline left in GCJ-02 would put points 400 m into the wrong compound.
pub(super) fn gcj_to_wgs(v: &mut serde_json::Value) {
    let Some(items) = v.as_array_mut() else {
        if let Some(o) = v.as_object_mut() {
            o.values_mut().for_each(gcj_to_wgs);
        }
        return;
    };
    if let [lon, lat, ..] = items.as_mut_slice()
        && let (Some(x), Some(y)) = (lon.as_f64(), lat.as_f64())
    {
        let (wx, wy) = huoyan_core::drones::gcj02::gcj_to_wgs(x, y);
        *lon = wx.into();
        *lat = wy.into();
        return;
    }
    items.iter_mut().for_each(gcj_to_wgs);
}
