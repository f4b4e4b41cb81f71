//! The order in which a team visits a round's sites: the shortest path over their coordinates,
//! from where the team sets out (or from whichever site suits, when that is not given), not
//! returning. Straight-line distance on a local plane: within a city the roads follow it closely
//! enough to order a night's visits, and nothing here may fetch a road network.
//!
//! Written here rather than taken from a crate: a round has a few to a few dozen sites, for which
//! an exact answer is cheap up to `EXACT` sites (Held–Karp dynamic programming over subsets) and a
//! local search (2-opt and segment moves from several starting orders, the team's own among them)
//! is close beyond; the crates that solve the travelling salesman problem solve the closed tour,
//! while a round is an open path with a fixed or free start, and bring far more than this needs.

use crate::drones::coverage::geom::{Frame, P};

/// Up to this many sites the order is the exact optimum.
pub const EXACT: usize = 12;
/// Most sites a round may hold.
pub const MAX_SITES: usize = 200;

/// A proposed order and what it saves.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// Indexes into the sites as given, in the order to visit them.
    pub order: Vec<usize>,
    /// The proposed path's length in metres.
    pub length_m: f64,
    /// The length of visiting the sites in the order given.
    pub given_length_m: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error("a round holds at most {MAX_SITES} sites, not {0}")]
    TooMany(usize),
    #[error("site {0} has no valid coordinates")]
    BadPoint(usize),
}

/// The shortest order to visit `sites` (longitude, latitude in degrees), setting out from `start`
/// if given. Never longer than the order given.
pub fn propose(sites: &[[f64; 2]], start: Option<[f64; 2]>) -> Result<Route, RouteError> {
    if sites.len() > MAX_SITES {
        return Err(RouteError::TooMany(sites.len()));
    }
    let valid = |p: &[f64; 2]| {
        p[0].is_finite() && p[1].is_finite() && p[0].abs() <= 180.0 && p[1].abs() <= 90.0
    };
    if let Some(i) = sites.iter().position(|p| !valid(p)) {
        return Err(RouteError::BadPoint(i));
    }
    let start = start.filter(valid);
    let frame = Frame::around(sites.iter().chain(start.as_ref()).copied());
    let xy: Vec<P> = sites.iter().map(|p| frame.to_xy(p[0], p[1])).collect();
    let m = Metric {
        start: start.map(|p| frame.to_xy(p[0], p[1])),
        xy,
    };
    let given: Vec<usize> = (0..sites.len()).collect();
    let given_length_m = m.length(&given);
    let order = if sites.len() <= EXACT {
        m.exact()
    } else {
        m.search(&given)
    };
    let length_m = m.length(&order);
    // Rounding may make an equally long order look a hair longer: keep the team's then.
    Ok(if length_m < given_length_m {
        Route {
            order,
            length_m,
            given_length_m,
        }
    } else {
        Route {
            order: given,
            length_m: given_length_m,
            given_length_m,
        }
    })
}

struct Metric {
    start: Option<P>,
    xy: Vec<P>,
}

impl Metric {
    fn d(&self, a: usize, b: usize) -> f64 {
        (self.xy[a] - self.xy[b]).norm()
    }

    /// From the start to site `a` (nothing when the path may begin anywhere).
    fn out_to(&self, a: usize) -> f64 {
        self.start.map_or(0.0, |s| (self.xy[a] - s).norm())
    }

    fn length(&self, order: &[usize]) -> f64 {
        order.first().map_or(0.0, |&f| self.out_to(f))
            + order.windows(2).map(|w| self.d(w[0], w[1])).sum::<f64>()
    }

    /// Held–Karp: the shortest path over every subset ending at each site, O(2ⁿ·n²).
    fn exact(&self) -> Vec<usize> {
        let n = self.xy.len();
        if n == 0 {
            return Vec::new();
        }
        let full = (1usize << n) - 1;
        let mut best = vec![f64::INFINITY; (full + 1) * n];
        let mut came = vec![usize::MAX; (full + 1) * n];
        for j in 0..n {
            best[(1 << j) * n + j] = self.out_to(j);
        }
        for mask in 1..=full {
            for j in 0..n {
                let here = best[mask * n + j];
                if mask & (1 << j) == 0 || here.is_infinite() {
                    continue;
                }
                for k in 0..n {
                    if mask & (1 << k) != 0 {
                        continue;
                    }
                    let next = mask | (1 << k);
                    let via = here + self.d(j, k);
                    if via < best[next * n + k] {
                        best[next * n + k] = via;
                        came[next * n + k] = j;
                    }
                }
            }
        }
        let mut end = (0..n)
            .min_by(|&a, &b| best[full * n + a].total_cmp(&best[full * n + b]))
            .expect("at least one site");
        let mut mask = full;
        let mut order = Vec::with_capacity(n);
        while end != usize::MAX {
            order.push(end);
            let prev = came[mask * n + end];
            mask &= !(1 << end);
            end = prev;
        }
        order.reverse();
        order
    }

    /// Local search from the given order and from nearest-neighbour orders out of a few first
    /// sites; the shortest result.
    fn search(&self, given: &[usize]) -> Vec<usize> {
        let n = self.xy.len();
        let mut starts = vec![given.to_vec()];
        let firsts: Vec<usize> = match self.start {
            // From the start the nearest site comes first, whichever the search begins with.
            Some(_) => vec![
                (0..n)
                    .min_by(|&a, &b| self.out_to(a).total_cmp(&self.out_to(b)))
                    .expect("sites"),
            ],
            // Without one, the path's ends are free: try a handful spread over the list.
            None => (0..n).step_by(n.div_ceil(8).max(1)).collect(),
        };
        starts.extend(firsts.into_iter().map(|f| self.nearest_neighbour(f)));
        starts
            .into_iter()
            .map(|o| self.improve(o))
            .min_by(|a, b| self.length(a).total_cmp(&self.length(b)))
            .expect("the given order at least")
    }

    fn nearest_neighbour(&self, first: usize) -> Vec<usize> {
        let n = self.xy.len();
        let mut left: Vec<usize> = (0..n).filter(|&i| i != first).collect();
        let mut order = vec![first];
        while !left.is_empty() {
            let last = *order.last().expect("non-empty");
            let (i, _) = left
                .iter()
                .enumerate()
                .min_by(|a, b| self.d(last, *a.1).total_cmp(&self.d(last, *b.1)))
                .expect("non-empty");
            order.push(left.swap_remove(i));
        }
        order
    }

    /// 2-opt and moves of segments of one to three sites, until neither shortens the path.
    fn improve(&self, mut order: Vec<usize>) -> Vec<usize> {
        const EPS: f64 = 1e-9;
        let n = order.len();
        let mut better = true;
        while better {
            better = false;
            // 2-opt: reverse order[i..=k].
            for i in 0..n {
                for k in i + 1..n {
                    let before = |o: &[usize]| {
                        let into = if i == 0 {
                            self.out_to(o[i])
                        } else {
                            self.d(o[i - 1], o[i])
                        };
                        let out = if k + 1 < n {
                            self.d(o[k], o[k + 1])
                        } else {
                            0.0
                        };
                        into + out
                    };
                    let old = before(&order);
                    let into = if i == 0 {
                        self.out_to(order[k])
                    } else {
                        self.d(order[i - 1], order[k])
                    };
                    let out = if k + 1 < n {
                        self.d(order[i], order[k + 1])
                    } else {
                        0.0
                    };
                    if into + out < old - EPS {
                        order[i..=k].reverse();
                        better = true;
                    }
                }
            }
            // Or-opt: move order[i..i+len] elsewhere, either way round.
            for len in 1..=3.min(n.saturating_sub(1)) {
                let mut i = 0;
                while i + len <= n {
                    if let Some(moved) = self.best_move(&order, i, len) {
                        order = moved;
                        better = true;
                    }
                    i += 1;
                }
            }
        }
        order
    }

    /// The edge from `p` (the start when None) to `q` (the path's open end when None).
    fn link(&self, p: Option<usize>, q: Option<usize>) -> f64 {
        match (p, q) {
            (_, None) => 0.0,
            (None, Some(q)) => self.out_to(q),
            (Some(p), Some(q)) => self.d(p, q),
        }
    }

    /// `order` with the segment at `i` of `len` sites moved to where it shortens the path most,
    /// if anywhere does.
    fn best_move(&self, order: &[usize], i: usize, len: usize) -> Option<Vec<usize>> {
        let (first, last) = (order[i], order[i + len - 1]);
        let before = i.checked_sub(1).map(|b| order[b]);
        let after = order.get(i + len).copied();
        let saved = self.link(before, Some(first)) + self.link(Some(last), after)
            - self.link(before, after);
        let rest: Vec<usize> = order[..i]
            .iter()
            .chain(&order[i + len..])
            .copied()
            .collect();
        // (gain, where in `rest`, reversed)
        let mut best: Option<(f64, usize, bool)> = None;
        for at in 0..=rest.len() {
            let p = at.checked_sub(1).map(|b| rest[b]);
            let q = rest.get(at).copied();
            for (reversed, (head, tail)) in [(false, (first, last)), (true, (last, first))] {
                let cost = self.link(p, Some(head)) + self.link(Some(tail), q) - self.link(p, q);
                let gain = saved - cost;
                if gain > 1e-9 && best.is_none_or(|(g, ..)| gain > g) {
                    best = Some((gain, at, reversed));
                }
            }
        }
        let (_, at, reversed) = best?;
        let mut segment = order[i..i + len].to_vec();
        if reversed {
            segment.reverse();
        }
        let mut moved = rest[..at].to_vec();
        moved.extend(segment);
        moved.extend_from_slice(&rest[at..]);
        Some(moved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every order of the sites, the shortest: the brute force the engine must match.
    fn brute_force(sites: &[[f64; 2]], start: Option<[f64; 2]>) -> f64 {
        let frame = Frame::around(sites.iter().chain(start.as_ref()).copied());
        let m = Metric {
            start: start.map(|p| frame.to_xy(p[0], p[1])),
            xy: sites.iter().map(|p| frame.to_xy(p[0], p[1])).collect(),
        };
        let mut order: Vec<usize> = (0..sites.len()).collect();
        let mut best = m.length(&order);
        // Heap's algorithm, iteratively.
        let mut c = vec![0; order.len()];
        let mut i = 1;
        while i < order.len() {
            if c[i] < i {
                if i % 2 == 0 {
                    order.swap(0, i);
                } else {
                    order.swap(c[i], i);
                }
                best = best.min(m.length(&order));
                c[i] += 1;
                i = 1;
            } else {
                c[i] = 0;
                i += 1;
            }
        }
        best
    }

    /// A site somewhere in Daqing's sealed districts.
    fn site() -> impl Strategy<Value = [f64; 2]> {
        (124.8f64..125.3, 46.3f64..46.8).prop_map(|(lon, lat)| [lon, lat])
    }

    fn is_permutation(order: &[usize], n: usize) -> bool {
        let mut seen = vec![false; n];
        order.len() == n
            && order
                .iter()
                .all(|&i| i < n && !std::mem::replace(&mut seen[i], true))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn up_to_nine_sites_the_order_is_the_brute_force_optimum(
            sites in prop::collection::vec(site(), 0..=9),
            start in prop::option::of(site()),
        ) {
            let r = propose(&sites, start).unwrap();
            prop_assert!(is_permutation(&r.order, sites.len()));
            let optimum = brute_force(&sites, start);
            prop_assert!((r.length_m - optimum).abs() <= 1e-6 * optimum.max(1.0),
                "{} against the optimum {}", r.length_m, optimum);
        }

        #[test]
        fn the_order_is_never_longer_than_the_one_given(
            sites in prop::collection::vec(site(), 0..50),
            start in prop::option::of(site()),
        ) {
            let r = propose(&sites, start).unwrap();
            prop_assert!(is_permutation(&r.order, sites.len()));
            prop_assert!(r.length_m <= r.given_length_m);
        }
    }

    #[test]
    fn sites_on_a_line_given_out_of_order_are_visited_along_it() {
        let sites: Vec<[f64; 2]> = [3, 0, 4, 1, 2]
            .iter()
            .map(|&i| [125.0 + 0.01 * f64::from(i), 46.5])
            .collect();
        let r = propose(&sites, Some([124.99, 46.5])).unwrap();
        assert_eq!(r.order, vec![1, 3, 4, 0, 2]);
        // 0.05° of longitude at 46.5° N is about 3.83 km.
        assert!((r.length_m - 3_830.0).abs() < 20.0, "{}", r.length_m);
        assert!(r.given_length_m > 2.0 * r.length_m);
    }

    #[test]
    fn beyond_the_exact_size_the_search_still_finds_a_line() {
        // Forty sites along a parallel, given from east to west with a few swapped.
        let mut at: Vec<u32> = (0..40).rev().collect();
        at.swap(3, 30);
        at.swap(10, 20);
        let lon = |i: u32| 125.0 + 0.002 * f64::from(i);
        let sites: Vec<[f64; 2]> = at.iter().map(|&i| [lon(i), 46.5]).collect();
        let r = propose(&sites, None).unwrap();
        let end_to_end = propose(&[[lon(0), 46.5], [lon(39), 46.5]], None)
            .unwrap()
            .length_m;
        assert!(
            (r.length_m - end_to_end).abs() < 1.0,
            "{} against {end_to_end}",
            r.length_m
        );
        assert!(r.given_length_m > r.length_m);
    }

    #[test]
    fn too_many_sites_or_a_bad_point_is_refused() {
        let sites = vec![[125.0, 46.5]; MAX_SITES + 1];
        assert_eq!(
            propose(&sites, None),
            Err(RouteError::TooMany(MAX_SITES + 1))
        );
        assert_eq!(
            propose(&[[125.0, 46.5], [f64::NAN, 46.5]], None),
            Err(RouteError::BadPoint(1))
        );
    }
}
