//! Scoring a plan against its zones: the lower bound on path length and the share of each zone
//! the camera actually sees. Used by the tests and the benchmark, and by a dispatcher who wants to
//! check a plan they edited by hand.

use super::geom::{Frame, P};
use super::{CameraSpec, CoverageError, Plan, Zone, project_zone, zone_rings};

/// No coverage path with this camera can be shorter than area / spacing: each metre flown sees at
/// most one spacing's width of new ground.
pub fn lower_bound_length(zone: &Zone, camera: &CameraSpec) -> Result<f64, CoverageError> {
    camera.validate()?;
    let rings = zone_rings(zone)?;
    let frame = Frame::around(rings.iter().flatten().flatten().copied());
    let (_, area) = project_zone(&zone.id, &rings, &frame)?;
    Ok(area / camera.spacing_m())
}

/// Share of the zone's area within spacing/2 of the plan's coverage legs (the path widened by
/// d/2, intersected with the zone, over the zone's area).
///
/// Computed on horizontal rows: on each row the zone and every widened leg are exact intervals,
/// so only the integration across rows is numeric (up to 4096 rows, jittered so that they cannot
/// alias with the sweep spacing).
pub fn coverage_ratio(zone: &Zone, plan: &Plan) -> Result<f64, CoverageError> {
    let rings = zone_rings(zone)?;
    let frame = Frame::around(rings.iter().flatten().flatten().copied());
    let (polys, _) = project_zone(&zone.id, &rings, &frame)?;
    let segs: Vec<(P, P)> = plan
        .covering_segments()
        .into_iter()
        .map(|(a, b)| (frame.to_xy(a[0], a[1]), frame.to_xy(b[0], b[1])))
        .collect();
    Ok(ratio_xy(&polys, &segs, plan.spacing_m / 2.0))
}

pub(crate) fn ratio_xy(polys: &[Vec<Vec<P>>], segs: &[(P, P)], r: f64) -> f64 {
    let (mut seen, mut total) = (0.0, 0.0);
    for rings in polys {
        let (s, t) = polygon_cover(rings, segs, r);
        seen += s;
        total += t;
    }
    if total > 0.0 { seen / total } else { 1.0 }
}

fn polygon_cover(rings: &[Vec<P>], segs: &[(P, P)], r: f64) -> (f64, f64) {
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for p in rings.iter().flatten() {
        (x0, x1, y0, y1) = (x0.min(p.x), x1.max(p.x), y0.min(p.y), y1.max(p.y));
    }
    let mut near: Vec<(f64, f64, P, P)> = segs
        .iter()
        .filter(|(a, b)| {
            a.x.max(b.x) + r >= x0
                && a.x.min(b.x) - r <= x1
                && a.y.max(b.y) + r >= y0
                && a.y.min(b.y) - r <= y1
        })
        .map(|&(a, b)| (a.y.min(b.y) - r, a.y.max(b.y) + r, a, b))
        .collect();
    near.sort_by(|a, b| a.0.total_cmp(&b.0));
    let height = y1 - y0;
    let rows = ((height / (r / 4.0)).ceil() as usize).clamp(512, 4096);
    let h = height / rows as f64;
    let mut rng: u64 = 0x9E37_79B9_7F4A_7C15;
    let (mut active, mut next) = (Vec::new(), 0);
    let (mut seen, mut total) = (0.0, 0.0);
    let mut inside = Vec::new();
    let mut cover = Vec::new();
    for j in 0..rows {
        rng = rng
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let jitter = (rng >> 11) as f64 / (1u64 << 53) as f64;
        let y = y0 + (j as f64 + jitter) * h;
        inside.clear();
        for ring in rings {
            let n = ring.len();
            for i in 0..n {
                let (a, b) = (ring[i], ring[(i + 1) % n]);
                if (a.y > y) != (b.y > y) {
                    inside.push(a.x + (y - a.y) / (b.y - a.y) * (b.x - a.x));
                }
            }
        }
        inside.sort_by(f64::total_cmp);
        while next < near.len() && near[next].0 <= y {
            active.push(next);
            next += 1;
        }
        active.retain(|&k| near[k].1 >= y);
        cover.clear();
        cover.extend(
            active
                .iter()
                .filter_map(|&k| capsule_slice(near[k].2, near[k].3, r, y)),
        );
        cover.sort_by(|a: &(f64, f64), b| a.0.total_cmp(&b.0));
        let merged = merge(&cover);
        let mut k = 0;
        for pair in inside.chunks_exact(2) {
            let (a, b) = (pair[0], pair[1]);
            total += (b - a) * h;
            while k < merged.len() && merged[k].1 < a {
                k += 1;
            }
            let mut m = k;
            while m < merged.len() && merged[m].0 < b {
                seen += (merged[m].1.min(b) - merged[m].0.max(a)).max(0.0) * h;
                m += 1;
            }
        }
    }
    (seen, total)
}

fn merge(sorted: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(sorted.len());
    for &(lo, hi) in sorted {
        match out.last_mut() {
            Some(last) if lo <= last.1 => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

/// Where the horizontal line at `y` meets the segment a-b widened by `r` (a capsule: two discs and
/// a rectangle, whose union is convex, so the slice is one interval).
fn capsule_slice(a: P, b: P, r: f64, y: f64) -> Option<(f64, f64)> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for c in [a, b] {
        let v = y - c.y;
        if v.abs() <= r {
            let w = (r * r - v * v).sqrt();
            (lo, hi) = (lo.min(c.x - w), hi.max(c.x + w));
        }
    }
    let d = b - a;
    let l = d.norm();
    if l > 0.0 {
        let u = d * (1.0 / l);
        let n = P::new(-u.y, u.x);
        let (mut xlo, mut xhi) = (f64::NEG_INFINITY, f64::INFINITY);
        // Along-track position in [0, l] and across-track offset in [-r, r], both linear in x.
        for (coef, c0, lb, ub) in [
            (u.x, (y - a.y) * u.y - a.x * u.x, 0.0, l),
            (n.x, (y - a.y) * n.y - a.x * n.x, -r, r),
        ] {
            if coef.abs() < 1e-12 {
                if c0 < lb || c0 > ub {
                    (xlo, xhi) = (f64::INFINITY, f64::NEG_INFINITY);
                }
            } else {
                let (p, q) = ((lb - c0) / coef, (ub - c0) / coef);
                (xlo, xhi) = (xlo.max(p.min(q)), xhi.min(p.max(q)));
            }
        }
        if xlo <= xhi {
            (lo, hi) = (lo.min(xlo), hi.max(xhi));
        }
    }
    (lo <= hi).then_some((lo, hi))
}
