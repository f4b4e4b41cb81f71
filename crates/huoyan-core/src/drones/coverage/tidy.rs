//! Tidying zone outlines that come from web maps: such boundaries are often quantised and drawn
//! along internal borders, so they carry repeated points, zero-width spikes (a border walked out
//! and back) and rings that touch themselves at a vertex. None of that has area, but all of it is
//! invalid for `plan`, which refuses it by name; `Zone::tidy` removes it explicitly.

use std::collections::HashMap;

use super::Zone;

type Ring = Vec<[f64; 2]>;

fn cross(a: [f64; 2], b: [f64; 2], c: [f64; 2]) -> f64 {
    (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
}

fn area2(r: &Ring) -> f64 {
    let n = r.len();
    (0..n)
        .map(|i| r[i][0] * r[(i + 1) % n][1] - r[(i + 1) % n][0] * r[i][1])
        .sum()
}

/// Drops repeated points and vertices where the ring turns straight back (exactly collinear).
fn despike(mut r: Ring) -> Ring {
    loop {
        let before = r.len();
        r.dedup();
        while r.len() > 1 && r.first() == r.last() {
            r.pop();
        }
        let n = r.len();
        if n < 3 {
            return r;
        }
        let keep: Vec<bool> = (0..n)
            .map(|i| {
                let (a, b, c) = (r[(i + n - 1) % n], r[i], r[(i + 1) % n]);
                let back = (b[0] - a[0]) * (c[0] - b[0]) + (b[1] - a[1]) * (c[1] - b[1]) <= 0.0;
                !(cross(a, b, c) == 0.0 && back)
            })
            .collect();
        r = r
            .into_iter()
            .zip(keep)
            .filter_map(|(p, k)| k.then_some(p))
            .collect();
        if r.len() == before {
            return r;
        }
    }
}

/// Cuts a ring at every vertex it passes twice into simple loops.
fn split_loops(r: Ring) -> Vec<Ring> {
    let key = |p: [f64; 2]| (p[0].to_bits(), p[1].to_bits());
    let mut loops = Vec::new();
    let mut stack: Ring = Vec::new();
    let mut at: HashMap<(u64, u64), usize> = HashMap::new();
    for p in r {
        if let Some(&k) = at.get(&key(p)) {
            let lp: Ring = stack.split_off(k);
            for q in &lp {
                at.remove(&key(*q));
            }
            loops.push(lp);
        }
        at.insert(key(p), stack.len());
        stack.push(p);
    }
    loops.push(stack);
    loops
        .into_iter()
        .map(despike)
        .filter(|l| l.len() >= 3 && area2(l) != 0.0)
        .collect()
}

/// The ring's loops turned the same way as its largest one, largest first.
fn same_way(r: Ring) -> Vec<Ring> {
    let mut loops = split_loops(despike(r));
    loops.sort_by(|a, b| area2(b).abs().total_cmp(&area2(a).abs()));
    let Some(sign) = loops.first().map(|l| area2(l).signum()) else {
        return loops;
    };
    loops.retain(|l| area2(l).signum() == sign);
    loops
}

impl Zone {
    /// A copy with repeated points and zero-width spikes removed, and with rings that touch
    /// themselves at a vertex cut there: a lobe becomes a polygon of its own (or a hole of its
    /// own), while a loop turned the other way — a hole pinched onto the boundary — is dropped,
    /// so the tidy zone may cover a little more than the original, never less. Rings that really
    /// cross are left as they are, and `plan` refuses them. Geometry that is not a polygon is
    /// returned unchanged.
    pub fn tidy(&self) -> Zone {
        use geojson::GeometryValue as G;
        let polys: Vec<Vec<Ring>> = match &self.geometry.value {
            G::Polygon { coordinates } => vec![to_rings(coordinates)],
            G::MultiPolygon { coordinates } => coordinates.iter().map(|p| to_rings(p)).collect(),
            _ => return self.clone(),
        };
        let mut out: Vec<Vec<Ring>> = Vec::new();
        for poly in polys {
            let mut rings = poly.into_iter();
            let Some(outer) = rings.next() else { continue };
            let mut lobes = same_way(outer).into_iter();
            let Some(main) = lobes.next() else { continue };
            let mut first = vec![main];
            first.extend(rings.flat_map(same_way));
            out.push(first);
            out.extend(lobes.map(|l| vec![l]));
        }
        let close = |r: Ring| {
            let mut v: Vec<geojson::Position> = r.iter().map(|&p| p.into()).collect();
            if let Some(&f) = r.first() {
                v.push(f.into());
            }
            v
        };
        let mut coords: Vec<Vec<Vec<geojson::Position>>> = out
            .into_iter()
            .map(|p| p.into_iter().map(close).collect())
            .collect();
        let value = if coords.len() == 1 {
            G::Polygon {
                coordinates: coords.remove(0),
            }
        } else {
            G::MultiPolygon {
                coordinates: coords,
            }
        };
        Zone {
            id: self.id.clone(),
            geometry: geojson::Geometry::new(value),
        }
    }
}

fn to_rings(poly: &[Vec<geojson::Position>]) -> Vec<Ring> {
    poly.iter()
        .map(|r| {
            r.iter()
                .filter(|p| p.len() >= 2)
                .map(|p| [p[0], p[1]])
                .collect()
        })
        .collect()
}
