//! Places on the map as the API takes them: points in WGS-84 lon/lat and GeoJSON outlines, checked
//! where they enter, and GeoJSON features as the map reads them. Containment and the other rules on
//! shapes live in `huoyan_core::org::places`.

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

/// A GeoJSON FeatureCollection (RFC 7946) as the map's endpoints answer, with how many rows
/// matched (foreign members, which GeoJSON readers ignore): a map shows at most `limit` of them.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct FeatureCollection<P> {
    #[serde(rename = "type")]
    pub kind: CollectionType,
    pub features: Vec<Feature<P>>,
    /// Rows matching the filters, over all pages.
    pub total: i64,
    /// The most features one answer carries.
    pub limit: i64,
}

impl<P> FeatureCollection<P> {
    pub fn new(features: Vec<Feature<P>>, total: i64, limit: i64) -> Self {
        Self {
            kind: CollectionType::FeatureCollection,
            features,
            total,
            limit,
        }
    }
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub enum CollectionType {
    FeatureCollection,
}

/// One feature: a row's geometry (a Point in WGS-84 lon/lat, or an outline) and its properties.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Feature<P> {
    #[serde(rename = "type")]
    pub kind: FeatureType,
    /// The row's id.
    pub id: i64,
    /// A GeoJSON geometry: Point, Polygon or MultiPolygon.
    #[schema(value_type = Object)]
    pub geometry: serde_json::Value,
    pub properties: P,
}

impl<P> Feature<P> {
    pub fn new(id: i64, geometry: serde_json::Value, properties: P) -> Self {
        Self {
            kind: FeatureType::Feature,
            id,
            geometry,
            properties,
        }
    }

    /// A point feature at (lon, lat).
    pub fn point(id: i64, (lon, lat): (f64, f64), properties: P) -> Self {
        Self::new(
            id,
            serde_json::json!({"type": "Point", "coordinates": [lon, lat]}),
            properties,
        )
    }
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub enum FeatureType {
    Feature,
}
