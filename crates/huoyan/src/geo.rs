//! Places on the map as the API takes them: points in WGS-84 lon/lat and GeoJSON outlines, checked
//! where they enter. Containment and the other rules on shapes live in `huoyan_core::org::places`.

use crate::check::Check;

/// Coordinates must be in China (WGS-84 lon/lat), so swapped or zero coordinates are caught.
pub fn check_point(check: &mut Check, lon: Option<f64>, lat: Option<f64>) {
    match (lon, lat) {
        (Some(lon), Some(lat)) => {
            if !(73.0..=136.0).contains(&lon) {
                check.fail(
                    "lon",
                    "longitude must lie in China (73–136); GeoJSON order is lon, lat",
                );
            }
            if !(3.0..=54.0).contains(&lat) {
                check.fail("lat", "latitude must lie in China (3–54)");
            }
        }
        (None, None) => {}
        (None, Some(_)) => check.fail("lon", "give both lon and lat, or neither"),
        (Some(_), None) => check.fail("lat", "give both lon and lat, or neither"),
    }
}

/// Validates a GeoJSON geometry for a region or zone: a Polygon or MultiPolygon in lon/lat.
pub fn check_geometry(check: &mut Check, field: &str, value: &serde_json::Value) -> Option<String> {
    match serde_json::from_value::<geojson::Geometry>(value.clone()) {
        Ok(g) => match g.value {
            geojson::GeometryValue::Polygon { .. }
            | geojson::GeometryValue::MultiPolygon { .. } => Some(value.to_string()),
            _ => {
                check.fail(field, "must be a GeoJSON Polygon or MultiPolygon");
                None
            }
        },
        Err(e) => {
            check.fail(field, format!("not a GeoJSON geometry: {e}"));
            None
        }
    }
}
