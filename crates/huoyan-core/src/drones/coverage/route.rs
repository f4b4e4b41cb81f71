//! Chaining the zones into one route and cutting it among the drones and into sorties.

use super::geom::P;

pub(crate) struct FleetDrone {
    pub home: P,
    pub speed: f64,
    /// Metres one sortie may fly: speed × (endurance − reserve).
    pub range: f64,
    pub turnaround: f64,
}

/// A sortie in the planning frame: (point, leg-to-here is covering, on the ground).
pub(crate) struct SortiePath {
    pub points: Vec<(P, bool, bool)>,
    pub length: f64,
    pub covering_length: f64,
}

/// (zone index, fleet index of the nearest drone, its distance) for a point nobody reaches.
type Unreached = (usize, usize, f64);

fn nearest(fleet: &[FleetDrone], p: P) -> (usize, f64) {
    fleet
        .iter()
        .enumerate()
        .map(|(k, d)| (k, p.dist(d.home), p.dist(d.home) - d.range / 2.0))
        .min_by(|a, b| a.2.total_cmp(&b.2))
        .map(|(k, dist, _)| (k, dist))
        .expect("the fleet was checked to be non-empty")
}

/// Every point of every zone's path must be within half a sortie of some drone's home.
pub(crate) fn check_reach(zone_paths: &[Vec<P>], fleet: &[FleetDrone]) -> Result<(), Unreached> {
    for (z, path) in zone_paths.iter().enumerate() {
        for &p in path {
            if !fleet.iter().any(|d| 2.0 * p.dist(d.home) <= d.range) {
                let (k, dist) = nearest(fleet, p);
                return Err((z, k, dist));
            }
        }
    }
    Ok(())
}

/// Zone order and orientation (reversed or not): nearest neighbour from `start`, then 2-opt.
fn order_zones(paths: &[Vec<P>], start: P) -> Vec<(usize, bool)> {
    let ends = |(i, rev): (usize, bool)| {
        let p = &paths[i];
        let (a, b) = (p[0], p[p.len() - 1]);
        if rev { (b, a) } else { (a, b) }
    };
    let n = paths.len();
    let mut done = vec![false; n];
    let mut seq = Vec::with_capacity(n);
    let mut cur = start;
    for _ in 0..n {
        let mut best: Option<(f64, usize, bool)> = None;
        for i in (0..n).filter(|&i| !done[i]) {
            for rev in [false, true] {
                let c = cur.dist(ends((i, rev)).0);
                if best.is_none_or(|b| c < b.0) {
                    best = Some((c, i, rev));
                }
            }
        }
        let (_, i, rev) = best.expect("an unvisited zone remains in this round");
        done[i] = true;
        seq.push((i, rev));
        cur = ends((i, rev)).1;
    }
    // 2-opt on the open path: reversing a stretch also turns each of its zones around. Quadratic
    // per pass, so skipped for very large requests where nearest neighbour has to do.
    if n <= 3000 {
        for _ in 0..20 {
            let mut improved = false;
            for i in 0..n {
                for j in i + 1..n {
                    let prev = if i == 0 { start } else { ends(seq[i - 1]).1 };
                    let (a, b) = (ends(seq[i]).0, ends(seq[j]).1);
                    let next = (j + 1 < n).then(|| ends(seq[j + 1]).0);
                    let old = prev.dist(a) + next.map_or(0.0, |e| b.dist(e));
                    let new = prev.dist(b) + next.map_or(0.0, |e| a.dist(e));
                    if new < old - 1e-6 {
                        seq[i..=j].reverse();
                        for s in &mut seq[i..=j] {
                            s.1 = !s.1;
                        }
                        improved = true;
                    }
                }
            }
            if !improved {
                break;
            }
        }
    }
    seq
}

struct Route {
    pts: Vec<P>,
    /// Whether the leg arriving at each point is a coverage leg.
    cov: Vec<bool>,
    zone: Vec<usize>,
    cum: Vec<f64>,
}

impl Route {
    /// Chains `paths` (each tagged with its zone in `zones`) in `order`, each possibly reversed.
    fn new(paths: &[Vec<P>], zones: &[usize], order: &[(usize, bool)]) -> Self {
        let (mut pts, mut cov, mut zone) = (Vec::new(), Vec::new(), Vec::new());
        for &(z, rev) in order {
            let it: Box<dyn Iterator<Item = &P>> = if rev {
                Box::new(paths[z].iter().rev())
            } else {
                Box::new(paths[z].iter())
            };
            for (k, &p) in it.enumerate() {
                // A piece that starts where the previous one ended continues it.
                if k == 0 && pts.last().is_some_and(|q: &P| q.dist(p) < 1e-6) {
                    continue;
                }
                pts.push(p);
                cov.push(k > 0);
                zone.push(zones[z]);
            }
        }
        let mut cum = Vec::with_capacity(pts.len());
        let mut acc = 0.0;
        for i in 0..pts.len() {
            if i > 0 {
                acc += pts[i - 1].dist(pts[i]);
            }
            cum.push(acc);
        }
        Route {
            pts,
            cov,
            zone,
            cum,
        }
    }

    fn len(&self) -> f64 {
        self.cum.last().copied().unwrap_or(0.0)
    }

    /// Index of the segment holding arc length `s` (segment k runs from point k to k+1).
    fn seg(&self, s: f64) -> usize {
        let k = self.cum.partition_point(|&c| c <= s);
        k.saturating_sub(1).min(self.pts.len().saturating_sub(2))
    }

    fn at(&self, s: f64) -> P {
        if self.pts.len() < 2 {
            return self.pts[0];
        }
        let k = self.seg(s);
        let l = self.cum[k + 1] - self.cum[k];
        let t = if l > 0.0 {
            ((s - self.cum[k]) / l).clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.pts[k] + (self.pts[k + 1] - self.pts[k]) * t
    }

    /// First arc length in [a, b] within `radius` of `home`, if any: the first segment that
    /// enters the disc, solved exactly.
    fn first_within(&self, a: f64, b: f64, home: P, radius: f64) -> Option<f64> {
        if radius < 0.0 {
            return None;
        }
        if self.at(a).dist(home) <= radius {
            return Some(a);
        }
        let mut k = self.seg(a);
        while k + 1 < self.pts.len() && self.cum[k] <= b {
            let (p, q) = (self.pts[k], self.pts[k + 1]);
            let l = self.cum[k + 1] - self.cum[k];
            if l > 0.0 {
                // |p + t·u − home| = radius for the unit direction u; take the smaller root.
                let u = (q - p) * (1.0 / l);
                let w = p - home;
                let (bq, cq) = (w.dot(u), w.dot(w) - radius * radius);
                let disc = bq * bq - cq;
                if disc >= 0.0 {
                    let t = (-bq - disc.sqrt()).max(0.0);
                    let s = self.cum[k] + t;
                    if t <= l && s >= a && s <= b {
                        return Some(s);
                    }
                    // Entered before `a` (impossible: `a` is outside) or after this segment.
                }
            }
            k += 1;
        }
        None
    }

    /// Furthest arc length a sortie from `home` starting at `s` can reach and still return within
    /// `budget` metres. Out-and-home length grows with how far along the route the sortie goes
    /// (triangle inequality), so walking segment ends and bisecting the last one is exact.
    fn extend(&self, s: f64, home: P, budget: f64) -> f64 {
        let d0 = self.at(s).dist(home);
        let g = |s1: f64, p: P| d0 + (s1 - s) + p.dist(home);
        let end = self.len();
        if g(end, self.at(end)) <= budget {
            return end;
        }
        let mut k = self.seg(s);
        while k + 1 < self.pts.len() && g(self.cum[k + 1], self.pts[k + 1]) <= budget {
            k += 1;
        }
        let (mut lo, mut hi) = (
            s.max(self.cum[k]),
            self.cum[(k + 1).min(self.pts.len() - 1)],
        );
        for _ in 0..60 {
            if hi - lo < 1e-4 {
                break;
            }
            let m = 0.5 * (lo + hi);
            if g(m, self.at(m)) <= budget {
                lo = m
            } else {
                hi = m
            }
        }
        lo
    }
}

/// Sorties cut as (start, end, flown length); `None` time limit means unlimited.
type Cuts = Vec<Vec<(f64, f64, f64)>>;

/// Least progress a sortie must make to be worth flying; guards against endless slivers when a
/// zone sits at the very edge of a drone's reach.
const MIN_PROGRESS_M: f64 = 1.0;

/// Lets the drones, in `order`, take stretches of the route within `limit` seconds each. A drone
/// takes the first stretch still open that it can reach and goes as far as its battery and its
/// time allow; stretches out of its reach are left to the others (homes differ, so reach does).
/// Passes repeat while anyone makes progress. Returns the cuts and the first open arc length, if
/// any is left.
fn run(route: &Route, fleet: &[FleetDrone], order: &[usize], limit: f64) -> (Cuts, Option<f64>) {
    let total = route.len();
    let mut cuts: Cuts = vec![Vec::new(); fleet.len()];
    let mut time = vec![0.0; fleet.len()];
    // Open stretches of the route, sorted and disjoint; a route of one point is one empty stretch.
    let mut open: Vec<(f64, f64)> = vec![(0.0, total)];
    loop {
        let mut flew = false;
        for &k in order {
            let d = &fleet[k];
            let mut i = 0;
            while i < open.len() {
                let (a, b) = open[i];
                let pause = if cuts[k].is_empty() {
                    0.0
                } else {
                    d.turnaround
                };
                let budget = d.range.min((limit - time[k] - pause) * d.speed);
                if budget <= 0.0 {
                    break;
                }
                let Some(s) = route.first_within(a, b, d.home, budget / 2.0 - 1e-6) else {
                    i += 1;
                    continue;
                };
                let s1 = route.extend(s, d.home, budget).min(b);
                if s1 < b - 1e-6 && s1 - s < MIN_PROGRESS_M {
                    i += 1;
                    continue;
                }
                let flown = route.at(s).dist(d.home) + (s1 - s) + route.at(s1).dist(d.home);
                time[k] += pause + flown / d.speed;
                cuts[k].push((s, s1, flown));
                flew = true;
                let mut rest = Vec::with_capacity(2);
                if s - a > 1e-6 {
                    rest.push((a, s));
                }
                if b - s1 > 1e-6 {
                    rest.push((s1, b));
                }
                let skip = usize::from(s - a > 1e-6);
                open.splice(i..=i, rest);
                i += skip;
            }
        }
        if open.is_empty() {
            return (cuts, None);
        }
        if !flew {
            return (cuts, Some(open[0].0));
        }
    }
}

/// Drones' sorties and the time the last one lands.
type Assignment = (Vec<Vec<SortiePath>>, f64);

/// Splits the zones' paths among the fleet so that the last drone lands as early as possible, and
/// cuts each drone's share into sorties. Two methods are tried and the earlier finish is kept:
/// one route cut into consecutive stretches (best when the drones start together: it divides
/// the area into bands in proportion to capability), and pieces clustered to the drone whose home
/// makes them cheapest (best when homes are spread over the city).
pub(crate) fn assign(
    zone_paths: &[Vec<P>],
    fleet: &[FleetDrone],
) -> Result<Vec<Vec<SortiePath>>, Unreached> {
    // Short pieces (a quarter of the shortest sortie) keep a long sweep line from tying a piece
    // to the one home that reaches both its ends; longer ones cost fewer joins. Both are tried.
    let min_range = fleet.iter().map(|d| d.range).fold(f64::INFINITY, f64::min);
    let mut best: Option<Assignment> = None;
    let mut first_err = None;
    for attempt in [
        contiguous(zone_paths, fleet),
        clustered(zone_paths, fleet, f64::INFINITY),
        clustered(zone_paths, fleet, min_range / 4.0),
    ] {
        match attempt {
            // Switch only for a real gain: the first method keeps the fewest waypoints.
            Ok(a) if best.as_ref().is_none_or(|b| a.1 < 0.999 * b.1) => best = Some(a),
            Ok(_) => {}
            Err(e) => first_err = first_err.or(Some(e)),
        }
    }
    match (best, first_err) {
        (Some(b), _) => Ok(b.0),
        (None, Some(e)) => Err(e),
        (None, None) => unreachable!("three attempts were made"),
    }
}

fn busy(sorties: &[SortiePath], d: &FleetDrone) -> f64 {
    sorties.iter().map(|s| s.length / d.speed).sum::<f64>()
        + d.turnaround * sorties.len().saturating_sub(1) as f64
}

fn makespan(all: &[Vec<SortiePath>], fleet: &[FleetDrone]) -> f64 {
    all.iter()
        .zip(fleet)
        .map(|(s, d)| busy(s, d))
        .fold(0.0, f64::max)
}

/// One route through all zones, cut into consecutive stretches by bisection on the finish time.
fn contiguous(zone_paths: &[Vec<P>], fleet: &[FleetDrone]) -> Result<Assignment, Unreached> {
    let n = fleet.len() as f64;
    let centre = fleet
        .iter()
        .fold(P::new(0.0, 0.0), |a, d| a + d.home * (1.0 / n));
    let order = order_zones(zone_paths, centre);
    let ids: Vec<usize> = (0..zone_paths.len()).collect();
    let route = Route::new(zone_paths, &ids, &order);

    // Drones take the route in the order of where it passes closest to their homes.
    let mut drones: Vec<(f64, usize)> = fleet
        .iter()
        .enumerate()
        .map(|(k, d)| {
            let (i, _) = route
                .pts
                .iter()
                .enumerate()
                .map(|(i, p)| (i, p.dist(d.home)))
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .expect("zone paths are never empty");
            (route.cum[i], k)
        })
        .collect();
    drones.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let drone_order: Vec<usize> = drones.into_iter().map(|(_, k)| k).collect();

    if let (_, Some(left)) = run(&route, fleet, &drone_order, f64::INFINITY) {
        let (k, dist) = nearest(fleet, route.at(left));
        // The point sits on the segment ending at the next vertex, which belongs to its zone.
        let i = (route.seg(left) + 1).min(route.zone.len() - 1);
        return Err((route.zone[i], k, dist));
    }
    let feasible = |t: f64| run(&route, fleet, &drone_order, t).1.is_none();
    let mut hi = 60.0;
    while !feasible(hi) && hi < 1e12 {
        hi *= 2.0;
    }
    if hi >= 1e12 {
        // Feasible without a limit (checked above) but not within 30 000 years: plan unlimited.
        hi = f64::INFINITY;
    }
    let mut lo = 0.0;
    for _ in 0..60 {
        if !hi.is_finite() {
            break;
        }
        if hi - lo < 1e-3 * hi.max(1.0) {
            break;
        }
        let mid = 0.5 * (lo + hi);
        if feasible(mid) { hi = mid } else { lo = mid }
    }
    let (cuts, _) = run(&route, fleet, &drone_order, hi);

    let all: Vec<Vec<SortiePath>> = cuts
        .into_iter()
        .zip(fleet)
        .map(|(cs, d)| {
            cs.into_iter()
                .map(|(s0, s1, flown)| sortie(&route, d.home, s0, s1, flown))
                .collect()
        })
        .collect();
    let t = makespan(&all, fleet);
    Ok((all, t))
}

/// A piece of a zone's coverage path: the unit the clustering hands to a drone.
struct Piece {
    pts: Vec<P>,
    zone: usize,
    len: f64,
    centre: P,
}

impl Piece {
    fn new(pts: Vec<P>, zone: usize) -> Self {
        let len = super::cells::path_len(&pts);
        let n = pts.len().max(1) as f64;
        let centre = pts.iter().fold(P::new(0.0, 0.0), |a, &p| a + p * (1.0 / n));
        Piece {
            pts,
            zone,
            len,
            centre,
        }
    }

    /// The stretch of `pts` between arc lengths a and b.
    fn slice(pts: &[P], a: f64, b: f64) -> Vec<P> {
        let mut out = Vec::new();
        let mut acc = 0.0;
        for w in pts.windows(2) {
            let l = w[0].dist(w[1]);
            let (s0, s1) = (acc, acc + l);
            let at = |s: f64| {
                if l > 0.0 {
                    w[0] + (w[1] - w[0]) * ((s - s0) / l)
                } else {
                    w[0]
                }
            };
            if out.is_empty() && a <= s1 {
                out.push(at(a.max(s0)));
            }
            if !out.is_empty() {
                if b <= s1 {
                    out.push(at(b));
                    break;
                }
                out.push(w[1]);
            }
            acc = s1;
        }
        if out.is_empty() {
            out.push(pts[0]);
        }
        out.dedup_by(|p, q| p.dist(*q) < 1e-9);
        out
    }

    fn halves(self) -> [Piece; 2] {
        let h = self.len / 2.0;
        [
            Piece::new(Piece::slice(&self.pts, 0.0, h), self.zone),
            Piece::new(Piece::slice(&self.pts, h, self.len), self.zone),
        ]
    }

    /// Estimated seconds for drone `d` to fly this piece. A metre flown at distance r from home
    /// costs range / (range − 2r) metres once the trips out and back are shared out (a sortie
    /// has range − 2r left for work there); battery swaps are shared the same way. Sampled every
    /// few hundred metres, since long sweep lines run far from the piece's centre. `None` when
    /// the drone cannot reach all of the piece.
    fn cost(&self, d: &FleetDrone) -> Option<f64> {
        let far = self.pts.iter().map(|p| p.dist(d.home)).fold(0.0, f64::max);
        if 2.0 * far >= d.range {
            return None;
        }
        if self.len <= 0.0 {
            return Some(2.0 * self.pts[0].dist(d.home) / d.speed);
        }
        let step = (self.len / 32.0).max(200.0);
        let (mut metres, mut trips) = (0.0, 0.0);
        for w in self.pts.windows(2) {
            let l = w[0].dist(w[1]);
            let n = (l / step).ceil().max(1.0);
            for i in 0..n as usize {
                let p = w[0] + (w[1] - w[0]) * ((i as f64 + 0.5) / n);
                let work = d.range - 2.0 * p.dist(d.home);
                metres += l / n * d.range / work;
                trips += l / n / work;
            }
        }
        Some(metres / d.speed + trips * d.turnaround)
    }
}

/// Pieces of about 1/24 of each drone's share (at most a quarter of a sortie) go to the drone for which they are cheapest given
/// its load so far (longest first), then single moves off the most loaded drone are made while
/// they lower the estimated finish. Each drone's pieces are then chained from its home.
fn clustered(
    zone_paths: &[Vec<P>],
    fleet: &[FleetDrone],
    max_piece: f64,
) -> Result<Assignment, Unreached> {
    let total: f64 = zone_paths.iter().map(|p| super::cells::path_len(p)).sum();
    let chunk = (total / (24.0 * fleet.len() as f64))
        .min(max_piece)
        .max(1.0);
    let mut pending: Vec<Piece> = Vec::new();
    for (z, path) in zone_paths.iter().enumerate() {
        let len = super::cells::path_len(path);
        let n = (len / chunk).ceil().max(1.0) as usize;
        for i in 0..n {
            let (a, b) = (len * i as f64 / n as f64, len * (i + 1) as f64 / n as f64);
            pending.push(Piece::new(Piece::slice(path, a, b), z));
        }
    }
    pending.sort_by(|a, b| a.len.total_cmp(&b.len));
    let mut load = vec![0.0; fleet.len()];
    let mut pieces: Vec<(Piece, Vec<Option<f64>>)> = Vec::new();
    // Longest first, each to the drone that would finish it earliest.
    let mut owner: Vec<usize> = Vec::new();
    while let Some(p) = pending.pop() {
        let costs: Vec<Option<f64>> = fleet.iter().map(|d| p.cost(d)).collect();
        let best = costs
            .iter()
            .enumerate()
            .filter_map(|(k, c)| c.map(|c| (k, load[k] + c)))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            Some((k, t)) => {
                load[k] = t;
                owner.push(k);
                pieces.push((p, costs));
            }
            // No one drone reaches all of it: halve it, down to pieces too short to matter.
            None if p.len > 50.0 => pending.extend(p.halves()),
            None => {
                let gap = |q: &P| {
                    fleet
                        .iter()
                        .map(|d| q.dist(d.home) - d.range / 2.0)
                        .fold(f64::INFINITY, f64::min)
                };
                let far = p
                    .pts
                    .iter()
                    .copied()
                    .max_by(|a, b| gap(a).total_cmp(&gap(b)));
                let (k, dist) = nearest(fleet, far.unwrap_or(p.centre));
                return Err((p.zone, k, dist));
            }
        }
    }
    // The cost model is rough for pieces far from home; eight rounds calibrate it per drone
    // against the sorties actually cut, keeping the best finish seen.
    let mut factor = vec![1.0; fleet.len()];
    let mut best: Option<Assignment> = None;
    for _ in 0..8 {
        let cost = |i: usize, k: usize| pieces[i].1[k].map(|c| c * factor[k]);
        let mut load = vec![0.0; fleet.len()];
        for (i, &k) in owner.iter().enumerate() {
            load[k] += cost(i, k).expect("a piece only goes to a drone that reaches it");
        }
        for _ in 0..20_000 {
            let Some(m) = (0..fleet.len()).max_by(|&a, &b| load[a].total_cmp(&load[b])) else {
                break;
            };
            let mut mv: Option<(f64, usize, usize, f64, f64)> = None;
            for i in (0..pieces.len()).filter(|&i| owner[i] == m) {
                let Some(cm) = cost(i, m) else { continue };
                for k in (0..fleet.len()).filter(|&k| k != m) {
                    let Some(ck) = cost(i, k) else { continue };
                    let worst = (load[m] - cm).max(load[k] + ck);
                    if worst < load[m] - 1e-6 && mv.is_none_or(|b| worst < b.0) {
                        mv = Some((worst, i, k, cm, ck));
                    }
                }
            }
            let Some((_, i, k, cm, ck)) = mv else { break };
            owner[i] = k;
            load[m] -= cm;
            load[k] += ck;
        }
        let all = build_sorties(&pieces, &owner, fleet)?;
        for (k, s) in all.iter().enumerate() {
            let actual = busy(s, &fleet[k]);
            if load[k] > 0.0 && actual > 0.0 {
                factor[k] *= actual / load[k];
            }
        }
        let t = makespan(&all, fleet);
        if best.as_ref().is_none_or(|b| t < b.1) {
            best = Some((all, t));
        }
    }
    Ok(best.expect("at least one round ran"))
}

/// Each drone's pieces chained from its home (nearest neighbour, 2-opt) and cut into sorties.
fn build_sorties(
    pieces: &[(Piece, Vec<Option<f64>>)],
    owner: &[usize],
    fleet: &[FleetDrone],
) -> Result<Vec<Vec<SortiePath>>, Unreached> {
    let mut all = Vec::with_capacity(fleet.len());
    for (k, d) in fleet.iter().enumerate() {
        let mine: Vec<&Piece> = pieces
            .iter()
            .zip(owner)
            .filter(|(_, o)| **o == k)
            .map(|(p, _)| &p.0)
            .collect();
        if mine.is_empty() {
            all.push(Vec::new());
            continue;
        }
        let zones: Vec<usize> = mine.iter().map(|p| p.zone).collect();
        let paths: Vec<Vec<P>> = mine.iter().map(|p| p.pts.clone()).collect();
        let order = order_zones(&paths, d.home);
        let route = Route::new(&paths, &zones, &order);
        let (cuts, left) = run(&route, std::slice::from_ref(d), &[0], f64::INFINITY);
        if let Some(left) = left {
            let i = (route.seg(left) + 1).min(route.zone.len() - 1);
            return Err((route.zone[i], k, route.at(left).dist(d.home)));
        }
        all.push(
            cuts.into_iter()
                .flatten()
                .map(|(s0, s1, flown)| sortie(&route, d.home, s0, s1, flown))
                .collect(),
        );
    }
    Ok(all)
}

fn sortie(route: &Route, home: P, s0: f64, s1: f64, length: f64) -> SortiePath {
    let mut points = vec![(home, false, true), (route.at(s0), false, false)];
    let first = route.cum.partition_point(|&c| c <= s0);
    let mut last_cov = false;
    for i in first..route.pts.len() {
        if route.cum[i] >= s1 - 1e-9 {
            last_cov = route.cov[i];
            break;
        }
        points.push((route.pts[i], route.cov[i], false));
    }
    if s1 > s0 {
        points.push((route.at(s1), last_cov, false));
    }
    points.push((home, false, true));
    let covering_length = points
        .windows(2)
        .filter(|w| w[1].1)
        .map(|w| w[0].0.dist(w[1].0))
        .sum();
    SortiePath {
        points,
        length,
        covering_length,
    }
}
