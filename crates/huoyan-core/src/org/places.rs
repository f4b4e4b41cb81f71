//! Where a point lies: inside a region's GeoJSON outline or not. Used to match a reported point
//! to its compound and to refuse points outside the city. Regions are small enough that the
//! even-odd test in raw degrees is exact for our purpose (no edge is long enough to curve).

use crate::drones::coverage::geom::{Frame, P, inside};

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

fn rings(geometry: &geojson::Geometry) -> Vec<&Vec<geojson::Position>> {
    use geojson::GeometryValue as G;
    match &geometry.value {
        G::Polygon { coordinates } => coordinates.iter().collect(),
        G::MultiPolygon { coordinates } => coordinates.iter().flatten().collect(),
        _ => Vec::new(),
    }
}

/// The distance in metres from the point to `geometry`'s outline, 0 inside it; None for a
/// geometry without rings.
pub fn distance_m(geometry: &geojson::Geometry, lon: f64, lat: f64) -> Option<f64> {
    if contains(geometry, lon, lat) {
        return Some(0.0);
    }
    let frame = Frame::new(lon, lat);
    let mut best: Option<f64> = None;
    for ring in rings(geometry) {
        let pts: Vec<P> = ring
            .iter()
            .filter(|c| c.len() >= 2)
            .map(|c| frame.to_xy(c[0], c[1]))
            .collect();
        for w in pts.windows(2) {
            let d = to_segment(w[0], w[1]);
            best = Some(best.map_or(d, |b| b.min(d)));
        }
    }
    best
}

/// Distance from the frame's origin to the segment `a`-`b`.
fn to_segment(a: P, b: P) -> f64 {
    let ab = b - a;
    let len2 = ab.dot(ab);
    let t = if len2 > 0.0 {
        (-a.dot(ab) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (a + ab * t).norm()
}

/// A compound's outline, for finding the places it shares.
pub struct Outline {
    pub id: i64,
    pub community_id: i64,
    pub geometry: geojson::Geometry,
}

/// A named place on the map (a sampling point, a gate, a shop…).
pub struct NamedPoint {
    pub name: String,
    pub lon: f64,
    pub lat: f64,
}

/// The named places shared across community lines: for each place, the compounds of different
/// communities whose outlines lie within `reach_m` of it, as pairs (both orders) with the place's
/// name. A sampling point on the road between two compounds of two communities serves both: a
/// problem there is reported from either side.
pub fn shared_places(
    compounds: &[Outline],
    places: &[NamedPoint],
    reach_m: f64,
) -> Vec<(i64, i64, String)> {
    // Degrees of latitude and longitude around a compound's box a place may lie in.
    let boxes: Vec<Option<[f64; 4]>> = compounds
        .iter()
        .map(|c| {
            let pts: Vec<&geojson::Position> = rings(&c.geometry).into_iter().flatten().collect();
            let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
            for p in pts.iter().filter(|p| p.len() >= 2) {
                for k in 0..2 {
                    lo[k] = lo[k].min(p[k]);
                    hi[k] = hi[k].max(p[k]);
                }
            }
            let dlat = reach_m / 111_000.0;
            let dlon = dlat / lo[1].to_radians().cos().max(0.1);
            (lo[0] <= hi[0]).then_some([lo[0] - dlon, lo[1] - dlat, hi[0] + dlon, hi[1] + dlat])
        })
        .collect();
    let mut out = Vec::new();
    for place in places {
        let near: Vec<&Outline> = compounds
            .iter()
            .zip(&boxes)
            .filter(|(_, b)| {
                b.is_some_and(|b| {
                    (b[0]..=b[2]).contains(&place.lon) && (b[1]..=b[3]).contains(&place.lat)
                })
            })
            .filter(|(c, _)| {
                distance_m(&c.geometry, place.lon, place.lat).is_some_and(|d| d <= reach_m)
            })
            .map(|(c, _)| c)
            .collect();
        for a in &near {
            for b in &near {
                if a.community_id != b.community_id {
                    out.push((a.id, b.id, place.name.clone()));
                }
            }
        }
    }
    out
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

    #[test]
    fn a_place_between_two_communities_compounds_is_shared() {
        let outline = |id, community_id, x0: f64| Outline {
            id,
            community_id,
            geometry: geojson::Geometry::new(G::Polygon {
                coordinates: vec![square(x0, 46.0, 0.001)],
            }),
        };
        // About 77 m a thousandth of a degree of longitude at 46°N: two compounds ~77 m apart.
        let compounds = [
            outline(1, 10, 125.0),
            outline(2, 20, 125.002),
            outline(3, 10, 125.0),
            outline(4, 30, 125.02),
        ];
        let between = NamedPoint {
            name: "福瑞采样点".into(),
            lon: 125.0015,
            lat: 46.0005,
        };
        let far = NamedPoint {
            name: "远处超市".into(),
            lon: 125.01,
            lat: 46.0005,
        };
        let shared = shared_places(&compounds, &[between, far], 100.0);
        let mut pairs: Vec<(i64, i64)> = shared.iter().map(|(a, b, _)| (*a, *b)).collect();
        pairs.sort();
        assert_eq!(
            pairs,
            [(1, 2), (2, 1), (2, 3), (3, 2)],
            "compounds 1 and 3 share a community"
        );
        assert!(shared.iter().all(|s| s.2 == "福瑞采样点"));
        let d = distance_m(&compounds[0].geometry, 125.0015, 46.0005).unwrap();
        assert!((35.0..42.0).contains(&d), "{d} m to the east edge");
        assert_eq!(
            distance_m(&compounds[0].geometry, 125.0005, 46.0005),
            Some(0.0)
        );
    }
}
