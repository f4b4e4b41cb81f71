//! Plane geometry in metres: the local projection, polygon checks and the convex hull. Kept
//! private to the coverage engine so its tolerances are chosen in one place.

use std::ops::{Add, Mul, Sub};

/// A point in the local metric frame (x east, y north, metres).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct P {
    pub x: f64,
    pub y: f64,
}

impl P {
    pub const fn new(x: f64, y: f64) -> Self {
        P { x, y }
    }
    pub fn dot(self, o: P) -> f64 {
        self.x * o.x + self.y * o.y
    }
    pub fn cross(self, o: P) -> f64 {
        self.x * o.y - self.y * o.x
    }
    pub fn norm(self) -> f64 {
        self.x.hypot(self.y)
    }
    pub fn dist(self, o: P) -> f64 {
        (self - o).norm()
    }
    /// Coordinates in a frame turned by `angle` so that direction `angle` becomes the x axis.
    pub fn rotate_into(self, angle: f64) -> P {
        let (s, c) = angle.sin_cos();
        P::new(self.x * c + self.y * s, -self.x * s + self.y * c)
    }
    /// Inverse of [`P::rotate_into`].
    pub fn rotate_back(self, angle: f64) -> P {
        let (s, c) = angle.sin_cos();
        P::new(self.x * c - self.y * s, self.x * s + self.y * c)
    }
}

impl Add for P {
    type Output = P;
    fn add(self, o: P) -> P {
        P::new(self.x + o.x, self.y + o.y)
    }
}
impl Sub for P {
    type Output = P;
    fn sub(self, o: P) -> P {
        P::new(self.x - o.x, self.y - o.y)
    }
}
impl Mul<f64> for P {
    type Output = P;
    fn mul(self, k: f64) -> P {
        P::new(self.x * k, self.y * k)
    }
}

/// Azimuthal equidistant projection on the sphere of the WGS-84 ellipsoid's Gaussian radius at the
/// centre. Over the ~150 km of a city distances are off by well under 0.5 %, and the engine only
/// needs the frame to be consistent: it plans and converts back through the same frame.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame {
    lon0: f64,
    sin_lat0: f64,
    cos_lat0: f64,
    r: f64,
}

impl Frame {
    pub fn new(lon0_deg: f64, lat0_deg: f64) -> Self {
        const A: f64 = 6_378_137.0;
        const E2: f64 = 0.006_694_379_990_14;
        let lat0 = lat0_deg.to_radians();
        let w = 1.0 - E2 * lat0.sin().powi(2);
        let n = A / w.sqrt();
        let m = A * (1.0 - E2) / w.powf(1.5);
        Frame {
            lon0: lon0_deg.to_radians(),
            sin_lat0: lat0.sin(),
            cos_lat0: lat0.cos(),
            r: (m * n).sqrt(),
        }
    }

    /// A frame centred on the middle of the bounding box of `pts` (lon, lat in degrees).
    pub fn around(pts: impl Iterator<Item = [f64; 2]>) -> Self {
        let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
        for p in pts {
            for k in 0..2 {
                lo[k] = lo[k].min(p[k]);
                hi[k] = hi[k].max(p[k]);
            }
        }
        if lo[0] > hi[0] {
            return Frame::new(0.0, 0.0);
        }
        Frame::new((lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0)
    }

    pub fn to_xy(self, lon: f64, lat: f64) -> P {
        let (phi, dl) = (lat.to_radians(), lon.to_radians() - self.lon0);
        let (sp, cp) = phi.sin_cos();
        let cos_c = (self.sin_lat0 * sp + self.cos_lat0 * cp * dl.cos()).clamp(-1.0, 1.0);
        let c = cos_c.acos();
        let k = if c < 1e-12 { 1.0 } else { c / c.sin() };
        P::new(
            self.r * k * cp * dl.sin(),
            self.r * k * (self.cos_lat0 * sp - self.sin_lat0 * cp * dl.cos()),
        )
    }

    /// Back to (lon, lat) in degrees.
    pub fn to_lonlat(self, p: P) -> [f64; 2] {
        let rho = p.norm();
        if rho < 1e-9 {
            return [self.lon0.to_degrees(), self.sin_lat0.asin().to_degrees()];
        }
        let c = rho / self.r;
        let (sc, cc) = c.sin_cos();
        let lat = (cc * self.sin_lat0 + p.y * sc * self.cos_lat0 / rho)
            .clamp(-1.0, 1.0)
            .asin();
        let lon = self.lon0 + (p.x * sc).atan2(rho * self.cos_lat0 * cc - p.y * self.sin_lat0 * sc);
        let mut lon = lon.to_degrees();
        if lon > 180.0 {
            lon -= 360.0;
        } else if lon < -180.0 {
            lon += 360.0;
        }
        [lon, lat.to_degrees()]
    }
}

/// Twice the signed area of a ring (counter-clockwise positive); the ring is implicitly closed.
pub(crate) fn signed_area2(ring: &[P]) -> f64 {
    let n = ring.len();
    (0..n).map(|i| ring[i].cross(ring[(i + 1) % n])).sum()
}

/// Even-odd point-in-polygon over all rings (holes included).
pub(crate) fn inside(rings: &[Vec<P>], q: P) -> bool {
    let mut inside = false;
    for ring in rings {
        let n = ring.len();
        for i in 0..n {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            if (a.y > q.y) != (b.y > q.y) {
                let x = a.x + (q.y - a.y) / (b.y - a.y) * (b.x - a.x);
                if x > q.x {
                    inside = !inside;
                }
            }
        }
    }
    inside
}

/// Orientation of `c` against the line `a`→`b`: +1 left, -1 right, 0 on the line (within a
/// tolerance relative to the lengths involved, so metre-scale rounding does not flip it).
fn orient(a: P, b: P, c: P) -> i8 {
    let v = (b - a).cross(c - a);
    let tol = 1e-10 * (b - a).norm() * (c - a).norm();
    if v > tol {
        1
    } else if v < -tol {
        -1
    } else {
        0
    }
}

fn on_segment(a: P, b: P, c: P) -> bool {
    c.x >= a.x.min(b.x) - 1e-9
        && c.x <= a.x.max(b.x) + 1e-9
        && c.y >= a.y.min(b.y) - 1e-9
        && c.y <= a.y.max(b.y) + 1e-9
}

/// Whether closed segments `a`-`b` and `c`-`d` share any point.
pub(crate) fn segments_touch(a: P, b: P, c: P, d: P) -> bool {
    let (o1, o2, o3, o4) = (
        orient(a, b, c),
        orient(a, b, d),
        orient(c, d, a),
        orient(c, d, b),
    );
    if o1 * o2 < 0 && o3 * o4 < 0 {
        return true;
    }
    (o1 == 0 && on_segment(a, b, c))
        || (o2 == 0 && on_segment(a, b, d))
        || (o3 == 0 && on_segment(c, d, a))
        || (o4 == 0 && on_segment(c, d, b))
}

/// An edge of a polygon, by ring and index of its first vertex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EdgeRef {
    pub ring: usize,
    pub index: usize,
}

/// The first pair of edges of a polygon (all rings together) that cross or touch, other than
/// neighbours on a ring sharing their common vertex; a neighbour pair folding back on itself (a
/// spike) counts too. Sort-and-sweep on x keeps this near O(n log n) for real boundaries.
pub(crate) fn first_crossing(rings: &[Vec<P>]) -> Option<(EdgeRef, EdgeRef, P)> {
    struct E {
        lo: f64,
        hi: f64,
        r: usize,
        i: usize,
        a: P,
        b: P,
    }
    let mut edges = Vec::new();
    for (r, ring) in rings.iter().enumerate() {
        let n = ring.len();
        for i in 0..n {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            edges.push(E {
                lo: a.x.min(b.x),
                hi: a.x.max(b.x),
                r,
                i,
                a,
                b,
            });
            // A spike: the next edge goes straight back along this one.
            let c = ring[(i + 2) % n];
            if orient(a, b, c) == 0 && (b - a).dot(c - b) < 0.0 {
                let e1 = EdgeRef { ring: r, index: i };
                let e2 = EdgeRef {
                    ring: r,
                    index: (i + 1) % n,
                };
                return Some((e1, e2, b));
            }
        }
    }
    edges.sort_by(|p, q| p.lo.total_cmp(&q.lo));
    for (k, e) in edges.iter().enumerate() {
        for f in &edges[k + 1..] {
            if f.lo > e.hi + 1e-9 {
                break;
            }
            if e.a.y.max(e.b.y) + 1e-9 < f.a.y.min(f.b.y)
                || f.a.y.max(f.b.y) + 1e-9 < e.a.y.min(e.b.y)
            {
                continue;
            }
            if e.r == f.r {
                let n = rings[e.r].len();
                if (e.i + 1) % n == f.i || (f.i + 1) % n == e.i {
                    continue; // neighbours share a vertex by construction
                }
            }
            if segments_touch(e.a, e.b, f.a, f.b) {
                let at = if orient(e.a, e.b, f.a) == 0 {
                    f.a
                } else if orient(e.a, e.b, f.b) == 0 {
                    f.b
                } else {
                    intersection(e.a, e.b, f.a, f.b)
                };
                return Some((
                    EdgeRef {
                        ring: e.r,
                        index: e.i,
                    },
                    EdgeRef {
                        ring: f.r,
                        index: f.i,
                    },
                    at,
                ));
            }
        }
    }
    None
}

fn intersection(a: P, b: P, c: P, d: P) -> P {
    let den = (b - a).cross(d - c);
    if den.abs() < 1e-18 {
        return a;
    }
    let t = (c - a).cross(d - c) / den;
    a + (b - a) * t
}

/// Convex hull (counter-clockwise, no collinear points), Andrew's monotone chain.
pub(crate) fn convex_hull(pts: &[P]) -> Vec<P> {
    let mut v: Vec<P> = pts.to_vec();
    v.sort_by(|a, b| a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y)));
    v.dedup();
    if v.len() < 3 {
        return v;
    }
    let mut h: Vec<P> = Vec::with_capacity(2 * v.len());
    for pass in 0..2 {
        let start = h.len();
        let iter: Box<dyn Iterator<Item = &P>> = if pass == 0 {
            Box::new(v.iter())
        } else {
            Box::new(v.iter().rev())
        };
        for &p in iter {
            while h.len() >= start + 2
                && (h[h.len() - 1] - h[h.len() - 2]).cross(p - h[h.len() - 2]) <= 0.0
            {
                h.pop();
            }
            h.push(p);
        }
        h.pop();
    }
    h
}

/// Sweep directions (angles of hull edges) with the width of the shape across each, narrowest
/// first: sweeping parallel to a hull edge across the minimum width needs the fewest lines
/// (rotating calipers; the optimum is always parallel to some hull edge).
pub(crate) fn width_directions(pts: &[P]) -> Vec<(f64, f64)> {
    let h = convex_hull(pts);
    if h.len() < 3 {
        return vec![(0.0, 0.0)];
    }
    let n = h.len();
    let mut out: Vec<(f64, f64)> = (0..n)
        .map(|i| {
            let (a, b) = (h[i], h[(i + 1) % n]);
            let u = (b - a) * (1.0 / (b - a).norm());
            let w = h.iter().map(|&p| u.cross(p - a).abs()).fold(0.0, f64::max);
            (u.y.atan2(u.x), w)
        })
        .collect();
    out.sort_by(|a, b| a.1.total_cmp(&b.1));
    out
}
