//! Where a point lies: inside a region's GeoJSON outline or not. Used to match a reported point
//! to its compound and to refuse points outside the city. Regions are small enough that the
//! even-odd test in raw degrees is exact for our purpose (no edge is long enough to curve).

use crate::drones::coverage::geom::{P, inside};

/// Whether `geometry` (a Polygon or MultiPolygon, holes honoured) contains the point; any other
/// geometry contains nothing.
pub fn contains(geometry: &geojson::Geometry, lon: f64, lat: f64) -> bool {
    use geojson::GeometryValue as G;
    let ring = |r: &Vec<geojson::Position>| -> Vec<P> {
        r.iter()
            .filter(|c| c.len() >= 2)
            .map(|c| P::new(c[0], c[1]))
            .collect()
    };
    let q = P::new(lon, lat);
    match &geometry.value {
        G::Polygon { coordinates } => inside(&coordinates.iter().map(ring).collect::<Vec<_>>(), q),
        G::MultiPolygon { coordinates } => coordinates
            .iter()
            .any(|rings| inside(&rings.iter().map(ring).collect::<Vec<_>>(), q)),
        _ => false,
    }
}

/// The centre of `geometry`'s bounding box (lon, lat): where a map pins something known only by
/// its region. None for a geometry without coordinates.
pub fn centre(geometry: &geojson::Geometry) -> Option<(f64, f64)> {
    use geojson::GeometryValue as G;
    let positions: Vec<&geojson::Position> = match &geometry.value {
        G::Point { coordinates } => vec![coordinates],
        G::Polygon { coordinates } => coordinates.iter().flatten().collect(),
        G::MultiPolygon { coordinates } => coordinates.iter().flatten().flatten().collect(),
        _ => Vec::new(),
    };
    let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
    for p in positions.iter().filter(|p| p.len() >= 2) {
        for k in 0..2 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    }
    (lo[0] <= hi[0]).then(|| ((lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    use geojson::GeometryValue as G;

    fn square(x0: f64, y0: f64, s: f64) -> Vec<geojson::Position> {
        [
            [x0, y0],
            [x0 + s, y0],
            [x0 + s, y0 + s],
            [x0, y0 + s],
            [x0, y0],
        ]
        .into_iter()
        .map(geojson::Position::from)
        .collect()
    }

    #[test]
    fn holes_and_parts_are_honoured() {
        let donut = geojson::Geometry::new(G::Polygon {
            coordinates: vec![square(125.0, 46.0, 1.0), square(125.4, 46.4, 0.2)],
        });
        assert!(contains(&donut, 125.1, 46.1));
        assert!(!contains(&donut, 125.5, 46.5), "in the hole");
        assert!(!contains(&donut, 124.9, 46.1));
        let two = geojson::Geometry::new(G::MultiPolygon {
            coordinates: vec![
                vec![square(125.0, 46.0, 0.1)],
                vec![square(126.0, 46.0, 0.1)],
            ],
        });
        assert!(contains(&two, 126.05, 46.05));
        assert!(!contains(&two, 125.5, 46.05));
        let point = geojson::Geometry::new(G::Point {
            coordinates: geojson::Position::from([125.0, 46.0]),
        });
        assert!(!contains(&point, 125.0, 46.0));
    }

    #[test]
    fn a_centre_is_the_middle_of_every_part() {
        let two = geojson::Geometry::new(G::MultiPolygon {
            coordinates: vec![
                vec![square(125.0, 46.0, 0.1)],
                vec![square(126.0, 46.4, 0.2)],
            ],
        });
        let (lon, lat) = centre(&two).unwrap();
        assert!(
            (lon - 125.6).abs() < 1e-9 && (lat - 46.3).abs() < 1e-9,
            "{lon} {lat}"
        );
        let empty = geojson::Geometry::new(G::Polygon {
            coordinates: vec![],
        });
        assert_eq!(centre(&empty), None);
    }
}
