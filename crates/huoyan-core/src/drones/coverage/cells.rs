//! Boustrophedon cell decomposition and the sweep lines inside each cell.
//!
//! A polygon (holes included) is cut into horizontal slabs at every vertex height; inside a slab
//! the interior is a row of trapezoids. Trapezoids of neighbouring slabs are merged into one cell
//! while the connection is one-to-one, so a cell changes only where the free space splits or joins
//! (the critical points of the boustrophedon decomposition) and every horizontal line meets a cell
//! in one interval — which is what a back-and-forth sweep needs.

use super::geom::{P, width_directions};

#[derive(Debug, Clone, Copy)]
struct Trap {
    y0: f64,
    y1: f64,
    xl0: f64,
    xl1: f64,
    xr0: f64,
    xr1: f64,
}

impl Trap {
    fn at(&self, y: f64) -> (f64, f64) {
        let h = self.y1 - self.y0;
        let t = if h > 0.0 {
            ((y - self.y0) / h).clamp(0.0, 1.0)
        } else {
            0.0
        };
        (
            self.xl0 + t * (self.xl1 - self.xl0),
            self.xr0 + t * (self.xr1 - self.xr0),
        )
    }
}

/// A y-monotone cell in the frame it was decomposed in: trapezoids stacked bottom to top.
#[derive(Debug, Clone)]
pub(crate) struct Cell {
    traps: Vec<Trap>,
}

struct Edge {
    lo: P,
    hi: P,
}

impl Edge {
    fn x_at(&self, y: f64) -> f64 {
        self.lo.x + (y - self.lo.y) / (self.hi.y - self.lo.y) * (self.hi.x - self.lo.x)
    }
}

/// Cells of the even-odd interior of `rings`, in the rings' own frame (sweep lines horizontal).
pub(crate) fn decompose(rings: &[Vec<P>]) -> Vec<Cell> {
    // Heights that differ by rounding only (an edge made horizontal by a rotation) are snapped
    // together, or they would leave slabs a femtometre thick that split cells for nothing.
    let mut ys: Vec<f64> = rings.iter().flatten().map(|p| p.y).collect();
    ys.sort_by(f64::total_cmp);
    ys.dedup_by(|b, a| *b - *a < 1e-6);
    // Each height maps to the first of its cluster, which is the last kept height not above it.
    let snap = |y: f64| ys[ys.partition_point(|&v| v <= y).saturating_sub(1)];
    let rings: Vec<Vec<P>> = rings
        .iter()
        .map(|r| r.iter().map(|p| P::new(p.x, snap(p.y))).collect())
        .collect();
    let mut edges = Vec::new();
    for ring in &rings {
        let n = ring.len();
        for i in 0..n {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            // Horizontal edges bound no slab; their ends still split slabs.
            if a.y != b.y {
                let (lo, hi) = if a.y < b.y { (a, b) } else { (b, a) };
                edges.push(Edge { lo, hi });
            }
        }
    }
    edges.sort_by(|a, b| a.lo.y.total_cmp(&b.lo.y));

    let mut cells: Vec<Cell> = Vec::new();
    let mut prev: Vec<(Trap, usize)> = Vec::new();
    let mut active: Vec<usize> = Vec::new();
    let mut next = 0;
    for w in ys.windows(2) {
        let (y0, y1) = (w[0], w[1]);
        active.retain(|&e| edges[e].hi.y > y0);
        while next < edges.len() && edges[next].lo.y <= y0 {
            if edges[next].hi.y > y0 {
                active.push(next);
            }
            next += 1;
        }
        let ym = 0.5 * (y0 + y1);
        let mut xs: Vec<(f64, usize)> = active.iter().map(|&e| (edges[e].x_at(ym), e)).collect();
        xs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let traps: Vec<Trap> = xs
            .chunks_exact(2)
            .map(|c| {
                let (l, r) = (&edges[c[0].1], &edges[c[1].1]);
                Trap {
                    y0,
                    y1,
                    xl0: l.x_at(y0),
                    xl1: l.x_at(y1),
                    xr0: r.x_at(y0),
                    xr1: r.x_at(y1),
                }
            })
            .collect();
        let mut up = vec![0usize; prev.len()];
        let mut down = vec![(0usize, 0usize); traps.len()];
        for (i, (a, _)) in prev.iter().enumerate() {
            for (j, b) in traps.iter().enumerate() {
                if a.xr1.min(b.xr0) - a.xl1.max(b.xl0) > 1e-9 {
                    up[i] += 1;
                    down[j].0 += 1;
                    down[j].1 = i;
                }
            }
        }
        let mut cur = Vec::with_capacity(traps.len());
        for (j, t) in traps.into_iter().enumerate() {
            let (count, below) = down[j];
            let id = if count == 1 && up[below] == 1 {
                let id = prev[below].1;
                cells[id].traps.push(t);
                id
            } else {
                cells.push(Cell { traps: vec![t] });
                cells.len() - 1
            };
            cur.push((t, id));
        }
        prev = cur;
    }
    cells
}

impl Cell {
    /// The cell's outline (left side up, right side down), for re-sweeping it in another frame.
    pub fn outline(&self) -> Vec<P> {
        let mut left = Vec::with_capacity(2 * self.traps.len());
        let mut right = Vec::with_capacity(2 * self.traps.len());
        for t in &self.traps {
            left.push(P::new(t.xl0, t.y0));
            left.push(P::new(t.xl1, t.y1));
            right.push(P::new(t.xr0, t.y0));
            right.push(P::new(t.xr1, t.y1));
        }
        right.reverse();
        left.extend(right);
        simplify_collinear(left)
    }

    /// Sweep lines, bottom to top, each as (start, end) left to right.
    ///
    /// With n = ⌈height/d⌉ lines at spacing s = height/n ≤ d, line i answers for the band of
    /// height s around it. A point of the band at height offset v and horizontally past the line's
    /// end by δ is within d/2 of the end point when δ ≤ √(r² − v²), r = d/2. So the line must
    /// reach max(x − √(r² − v²)) over the cell inside the band; that function is convex, so its
    /// maximum lies at a corner of a trapezoid clipped to the band. This is what makes the
    /// guarantee exact (every point within d/2 of a line) without overshooting slanted ends.
    pub fn sweep_lines(&self, d: f64) -> Vec<(P, P)> {
        let (Some(first), Some(last)) = (self.traps.first(), self.traps.last()) else {
            return Vec::new();
        };
        let (bottom, top) = (first.y0, last.y1);
        let height = top - bottom;
        let n = ((height / d) - 1e-9).ceil().max(1.0) as usize;
        let s = height / n as f64;
        let r = d / 2.0;
        let mut lines = Vec::with_capacity(n);
        let mut k0 = 0;
        for i in 0..n {
            let (b0, b1) = (bottom + i as f64 * s, bottom + (i + 1) as f64 * s);
            let y = 0.5 * (b0 + b1);
            while k0 < self.traps.len() && self.traps[k0].y1 < b0 {
                k0 += 1;
            }
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            for t in self.traps[k0..].iter().take_while(|t| t.y0 <= b1) {
                let (ya, yb) = (t.y0.max(b0), t.y1.min(b1));
                if yb < ya {
                    continue;
                }
                for yy in [ya, yb] {
                    let v = yy - y;
                    let w = (r * r - v * v).max(0.0).sqrt();
                    let (xl, xr) = t.at(yy);
                    lo = lo.min(xl + w);
                    hi = hi.max(xr - w);
                }
            }
            if !lo.is_finite() {
                continue;
            }
            if lo > hi {
                // A sliver narrower than the footprint: one point covers it (see the proof above),
                // and so does any segment through that point. A metre of line keeps a leg to
                // score and to fly.
                let m = 0.5 * (lo + hi);
                (lo, hi) = (m - 0.5, m + 0.5);
            }
            lines.push((P::new(lo, y), P::new(hi, y)));
        }
        lines
    }
}

fn simplify_collinear(mut pts: Vec<P>) -> Vec<P> {
    pts.dedup_by(|a, b| a.dist(*b) < 1e-9);
    while pts.len() > 1 && pts[0].dist(pts[pts.len() - 1]) < 1e-9 {
        pts.pop();
    }
    if pts.len() < 4 {
        return pts;
    }
    let n = pts.len();
    let keep: Vec<bool> = (0..n)
        .map(|i| {
            let (a, b, c) = (pts[(i + n - 1) % n], pts[i], pts[(i + 1) % n]);
            (b - a).cross(c - b).abs() > 1e-9 * (b - a).norm() * (c - b).norm()
        })
        .collect();
    pts.into_iter()
        .zip(keep)
        .filter_map(|(p, k)| k.then_some(p))
        .collect()
}

/// One cell's sweep in the planning frame: lines bottom to top, each start→end.
#[derive(Debug, Clone)]
pub(crate) struct CellSweep {
    /// The two boustrophedon polylines: starting at line 0's start, or at its end.
    pub paths: [Vec<P>; 2],
    pub lens: [f64; 2],
}

impl CellSweep {
    fn new(lines: &[(P, P)]) -> Self {
        let build = |flip: bool| {
            let mut v = Vec::with_capacity(2 * lines.len());
            for (i, &(a, b)) in lines.iter().enumerate() {
                if (i % 2 == 0) != flip {
                    v.push(a);
                    v.push(b);
                } else {
                    v.push(b);
                    v.push(a);
                }
            }
            v.dedup_by(|a, b| a.dist(*b) < 1e-9);
            v
        };
        let paths = [build(false), build(true)];
        let lens = [path_len(&paths[0]), path_len(&paths[1])];
        CellSweep { paths, lens }
    }

    pub fn min_len(&self) -> f64 {
        self.lens[0].min(self.lens[1])
    }
}

pub(crate) fn path_len(p: &[P]) -> f64 {
    p.windows(2).map(|w| w[0].dist(w[1])).sum()
}

fn rotate_all(ring: &[P], angle: f64) -> Vec<P> {
    ring.iter().map(|p| p.rotate_into(angle)).collect()
}

fn sweep_in_frame(cell: &Cell, angle: f64, d: f64) -> CellSweep {
    let lines: Vec<(P, P)> = cell
        .sweep_lines(d)
        .into_iter()
        .map(|(a, b)| (a.rotate_back(angle), b.rotate_back(angle)))
        .collect();
    CellSweep::new(&lines)
}

/// Re-sweep a cell along its own narrowest directions when it stays one cell there (monotone in
/// that direction); otherwise keep the direction it was cut in, along which it is monotone.
fn best_cell_sweep(cell: &Cell, angle: f64, d: f64) -> CellSweep {
    let mut best = sweep_in_frame(cell, angle, d);
    let outline: Vec<P> = cell
        .outline()
        .into_iter()
        .map(|p| p.rotate_back(angle))
        .collect();
    if outline.len() < 3 {
        return best;
    }
    for (a, _) in width_directions(&outline).into_iter().take(6) {
        if (a - angle)
            .rem_euclid(std::f64::consts::PI)
            .min((angle - a).rem_euclid(std::f64::consts::PI))
            < 1e-6
        {
            continue;
        }
        let sub = decompose(&[rotate_all(&outline, a)]);
        if let [only] = sub.as_slice() {
            let s = sweep_in_frame(only, a, d);
            if s.min_len() < best.min_len() {
                best = s;
            }
        }
    }
    best
}

/// Sweeps for one polygon (outer ring and holes, planning frame): tries the polygon's narrowest
/// directions for the decomposition and keeps the one with the shortest total path.
pub(crate) fn plan_polygon(rings: &[Vec<P>], d: f64) -> Vec<CellSweep> {
    let mut best: Option<(f64, Vec<CellSweep>)> = None;
    let mut tried: Vec<f64> = Vec::new();
    for (angle, _) in width_directions(&rings[0]) {
        if tried.len() >= 8 {
            break;
        }
        let a = angle.rem_euclid(std::f64::consts::PI);
        if tried
            .iter()
            .any(|t| (t - a).abs() < 1e-3 || (std::f64::consts::PI - (t - a).abs()) < 1e-3)
        {
            continue;
        }
        tried.push(a);
        let rotated: Vec<Vec<P>> = rings.iter().map(|r| rotate_all(r, a)).collect();
        let sweeps: Vec<CellSweep> = decompose(&rotated)
            .iter()
            .map(|c| best_cell_sweep(c, a, d))
            .collect();
        let (_, cost) = order_cells(&sweeps, None);
        if best.as_ref().is_none_or(|(c, _)| cost < *c) {
            best = Some((cost, sweeps));
        }
    }
    best.map(|(_, s)| s).unwrap_or_default()
}

/// Greedy nearest-neighbour order of cells with the best entry of each (4 ways in: either
/// polyline, either direction). Returns the joined polyline and its length.
pub(crate) fn order_cells(cells: &[CellSweep], start: Option<P>) -> (Vec<P>, f64) {
    let mut done = vec![false; cells.len()];
    let mut out: Vec<P> = Vec::new();
    let mut cur = start;
    for _ in 0..cells.len() {
        let mut pick: Option<(f64, usize, usize, bool)> = None;
        for (i, c) in cells.iter().enumerate().filter(|(i, _)| !done[*i]) {
            for k in 0..2 {
                let p = &c.paths[k];
                let (Some(&first), Some(&last)) = (p.first(), p.last()) else {
                    continue;
                };
                for rev in [false, true] {
                    let entry = if rev { last } else { first };
                    let cost = cur.map_or(0.0, |q| q.dist(entry)) + c.lens[k] - c.min_len();
                    if pick.is_none_or(|(b, ..)| cost < b) {
                        pick = Some((cost, i, k, rev));
                    }
                }
            }
        }
        let Some((_, i, k, rev)) = pick else { break };
        done[i] = true;
        let p = &cells[i].paths[k];
        if rev {
            out.extend(p.iter().rev());
        } else {
            out.extend(p.iter());
        }
        cur = out.last().copied();
    }
    out.dedup_by(|a, b| a.dist(*b) < 1e-9);
    let len = path_len(&out);
    (out, len)
}
