//! Greedy construction and simulated annealing with an exact incremental objective.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::time::Instant;

use super::model::{Model, NONE};
use super::{Assignment, Shortfall, Solution, SolveOptions};

mod moves;
use moves::{move_fill, move_person_day, move_swap_groups};

/// Iterations when the options set neither a time limit nor an iteration cap.
const DEFAULT_ITERATIONS: u64 = 2_000_000;

/// The group counters are hit on every move; SipHash would dominate the profile, so a
/// multiply-shift hash over our own integer keys is enough (no untrusted keys reach it).
#[derive(Default)]
struct IntHasher(u64);
impl Hasher for IntHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29);
    }
}
type IntMap<V> = HashMap<u64, V, BuildHasherDefault<IntHasher>>;

/// SplitMix64: tiny, seedable, good enough for move selection; saves a dependency.
pub(crate) struct Rng(u64);
impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (((self.next() >> 32) * n as u64) >> 32) as usize
    }
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

struct State<'m, 'a> {
    m: &'m Model<'a>,
    /// Shift worked by person `p` on day `d` at `p * days + d`, or `NONE`.
    at: Vec<u32>,
    week_min: Vec<u32>,
    early_n: Vec<u32>,
    members: Vec<Vec<u32>>,
    /// Shifts with a vacancy, and each shift's position in it (`NONE` when full).
    vacant: Vec<u32>,
    vac_pos: Vec<u32>,
    group_cnt: IntMap<u32>,
    pinned: HashSet<u64>,
    cost: i64,
}

impl<'m, 'a> State<'m, 'a> {
    fn new(m: &'m Model<'a>) -> Self {
        let unfilled: i64 = m.s_head.iter().map(|&h| i64::from(h)).sum();
        Self {
            m,
            at: vec![NONE; m.n_people * m.days],
            week_min: vec![0; m.n_people * m.weeks],
            early_n: vec![0; m.n_people],
            members: vec![Vec::new(); m.n_shifts],
            vacant: (0..m.n_shifts as u32).collect(),
            vac_pos: (0..m.n_shifts as u32).collect(),
            group_cnt: IntMap::default(),
            pinned: HashSet::new(),
            cost: m.w.unfilled * unfilled + m.change_constant,
        }
    }

    fn key(&self, p: u32, s: u32) -> u64 {
        u64::from(p) * self.m.n_shifts as u64 + u64::from(s)
    }

    fn early_on(&self, p: u32, d: usize) -> bool {
        let t = self.at[p as usize * self.m.days + d];
        t != NONE && self.m.s_early[t as usize]
    }

    fn group_key(&self, p: u32, s: u32) -> Option<u64> {
        let g = self.m.group[p as usize];
        (g != NONE).then(|| {
            (u64::from(g) << 36)
                | (u64::from(self.m.s_day[s as usize]) << 28)
                | u64::from(self.m.s_post[s as usize])
        })
    }

    /// Every hard rule for adding `p` to `s` given the rest of the roster.
    fn can_add(&self, p: u32, s: u32) -> bool {
        let m = self.m;
        let (pi, si) = (p as usize, s as usize);
        let d = usize::from(m.s_day[si]);
        if self.at[pi * m.days + d] != NONE || self.members[si].len() >= usize::from(m.s_head[si]) {
            return false;
        }
        if m.lin(p, s).is_none() {
            return false;
        }
        if self.week_min[pi * m.weeks + m.week(s)] + m.dur(s) > m.max_week[pi] {
            return false;
        }
        let lo = d.saturating_sub(m.rest_window);
        let hi = (d + m.rest_window + 1).min(m.days);
        (lo..hi).all(|e| {
            let t = self.at[pi * m.days + e];
            t == NONE || m.rest_ok(s, t)
        })
    }

    /// Objective change of adding `p` to `s` in the current state (removal is the negated change of
    /// adding back after the removal).
    fn delta(&self, p: u32, s: u32) -> i64 {
        let m = self.m;
        let w = &m.w;
        let si = s as usize;
        let d = usize::from(m.s_day[si]);
        let lin = m.lin(p, s).expect("only eligible pairs enter the roster");
        let mut delta = lin - w.unfilled;
        if m.s_early[si] {
            let e = i64::from(self.early_n[p as usize]);
            delta += w.early_square * (2 * e + 1);
            let neighbours = i64::from(d > 0 && self.early_on(p, d - 1))
                + i64::from(d + 1 < m.days && self.early_on(p, d + 1));
            delta += w.consecutive_early * neighbours;
        }
        if let Some(k) = self.group_key(p, s)
            && !self.group_cnt.contains_key(&k)
        {
            delta += w.group_split;
        }
        delta
    }

    fn add(&mut self, p: u32, s: u32) -> i64 {
        let m = self.m;
        let si = s as usize;
        let d = usize::from(m.s_day[si]);
        let delta = self.delta(p, s);
        self.at[p as usize * m.days + d] = s;
        self.week_min[p as usize * m.weeks + m.week(s)] += m.dur(s);
        if m.s_early[si] {
            self.early_n[p as usize] += 1;
        }
        if let Some(k) = self.group_key(p, s) {
            *self.group_cnt.entry(k).or_insert(0) += 1;
        }
        self.members[si].push(p);
        if self.members[si].len() == usize::from(m.s_head[si]) {
            let pos = self.vac_pos[si] as usize;
            let last = *self
                .vacant
                .last()
                .expect("a shift with a vacancy is in the vacant list");
            self.vacant.swap_remove(pos);
            if last != s {
                self.vac_pos[last as usize] = pos as u32;
            }
            self.vac_pos[si] = NONE;
        }
        self.cost += delta;
        delta
    }

    fn remove(&mut self, p: u32, s: u32) -> i64 {
        let m = self.m;
        let si = s as usize;
        let d = usize::from(m.s_day[si]);
        self.at[p as usize * m.days + d] = NONE;
        if m.s_early[si] {
            self.early_n[p as usize] -= 1;
        }
        self.week_min[p as usize * m.weeks + m.week(s)] -= m.dur(s);
        if let Some(k) = self.group_key(p, s) {
            let c = self
                .group_cnt
                .get_mut(&k)
                .expect("a worked group place is counted");
            *c -= 1;
            if *c == 0 {
                self.group_cnt.remove(&k);
            }
        }
        let list = &mut self.members[si];
        let i = list
            .iter()
            .position(|&q| q == p)
            .expect("removed person is on the shift");
        list.swap_remove(i);
        if self.vac_pos[si] == NONE {
            self.vac_pos[si] = self.vacant.len() as u32;
            self.vacant.push(s);
        }
        let delta = -self.delta(p, s);
        self.cost += delta;
        delta
    }

    fn pairs(&self) -> Vec<(u32, u32)> {
        let days = self.m.days;
        self.at
            .iter()
            .enumerate()
            .filter(|&(_, &s)| s != NONE)
            .map(|(i, &s)| ((i / days) as u32, s))
            .collect()
    }
}

/// A move as a list of adds and removes so it can be undone exactly.
struct Log(Vec<(bool, u32, u32)>);
impl Log {
    fn add(&mut self, st: &mut State, p: u32, s: u32) {
        st.add(p, s);
        self.0.push((true, p, s));
    }
    fn remove(&mut self, st: &mut State, p: u32, s: u32) {
        st.remove(p, s);
        self.0.push((false, p, s));
    }
    fn undo(&mut self, st: &mut State) {
        self.undo_to(st, 0);
    }
    /// Undoes the steps after the first `mark` ones.
    fn undo_to(&mut self, st: &mut State, mark: usize) {
        while self.0.len() > mark {
            let (added, p, s) = self.0.pop().expect("longer than the mark");
            if added {
                st.remove(p, s);
            } else {
                st.add(p, s);
            }
        }
    }
}

/// Fills every vacancy it can, scarcest shifts first, each with the person whose addition costs
/// least.
fn construct(st: &mut State) {
    let m = st.m;
    let mut order: Vec<u32> = (0..m.n_shifts as u32).collect();
    order.sort_by_key(|&s| {
        let s = s as usize;
        (
            m.eligible[s].len() * 1000 / usize::from(m.s_head[s]),
            m.s_day[s],
            s,
        )
    });
    for s in order {
        while st.members[s as usize].len() < usize::from(m.s_head[s as usize]) {
            let best = m.eligible[s as usize]
                .iter()
                .filter(|&&(p, _)| st.can_add(p, s))
                .map(|&(p, _)| (st.delta(p, s), p))
                .min();
            match best {
                Some((_, p)) => {
                    st.add(p, s);
                }
                None => break,
            }
        }
    }
}

struct Budget {
    start: Instant,
    opts: SolveOptions,
    max_iter: u64,
}

impl Budget {
    fn new(opts: &SolveOptions) -> Self {
        let max_iter = if opts.time_limit.is_none() && opts.max_iterations == u64::MAX {
            DEFAULT_ITERATIONS
        } else {
            opts.max_iterations
        };
        Self {
            start: Instant::now(),
            opts: opts.clone(),
            max_iter,
        }
    }
    /// Fraction of the budget spent, or `None` when it is spent.
    fn progress(&self, iter: u64) -> Option<f64> {
        let by_iter = iter as f64 / self.max_iter as f64;
        let by_time = self
            .opts
            .time_limit
            .map(|t| self.start.elapsed().as_secs_f64() / t.as_secs_f64().max(1e-9))
            .unwrap_or(0.0);
        let f = by_iter.max(by_time);
        if let Some(c) = &self.opts.control {
            if c.stopped() {
                return None;
            }
            c.report(f);
        }
        (f < 1.0).then_some(f)
    }
}

pub(crate) fn run(
    m: &Model,
    pins: &[(u32, u32)],
    warm: &[(u32, u32)],
    opts: &SolveOptions,
) -> Solution {
    let budget = Budget::new(opts);
    let mut rng = Rng::new(opts.seed);
    let mut st = State::new(m);
    for &(p, s) in pins {
        // Pins were checked against every hard rule by the caller.
        st.add(p, s);
        let k = st.key(p, s);
        st.pinned.insert(k);
    }
    for &(p, s) in warm {
        if st.can_add(p, s) {
            st.add(p, s);
        }
    }
    construct(&mut st);
    // A warm start is already good: search near it instead of shaking it up.
    let (t0, t1) = if warm.is_empty() {
        // Tuned on fixed iteration counts over small-50, daqing-79, city-1000 and city-5000.
        (20.0, 2.0)
    } else {
        (5.0, 0.2)
    };
    let iterations = anneal(&mut st, &mut rng, &budget, t0, t1);
    finish(&st, iterations)
}

fn anneal(st: &mut State, rng: &mut Rng, budget: &Budget, t0: f64, t1: f64) -> u64 {
    let m = st.m;
    let mut best_cost = st.cost;
    let mut best_at = st.at.clone();
    let mut at_best = true;
    let mut log = Log(Vec::with_capacity(8));
    let mut iter = 0u64;
    let mut temp = t0;
    if m.n_people == 0 || m.n_shifts == 0 {
        return 0;
    }
    loop {
        if iter.is_multiple_of(256) {
            match budget.progress(iter) {
                Some(f) => temp = t0 * (t1 / t0).powf(f),
                None => break,
            }
        }
        iter += 1;
        if rng.below(REPAIR_ONE_IN) == 0 {
            // Exact repair never worsens the roster, so it needs no acceptance test.
            if repair(st, rng) && st.cost < best_cost {
                best_cost = st.cost;
                at_best = true;
            }
            continue;
        }
        let before = st.cost;
        let tried = match rng.below(8) {
            0 | 1 if !st.vacant.is_empty() => move_fill(st, rng, &mut log),
            2 => move_swap_groups(st, rng, &mut log),
            _ => move_person_day(st, rng, &mut log),
        };
        if !tried {
            log.undo(st);
            continue;
        }
        let delta = st.cost - before;
        if delta <= 0 || rng.unit() < (-(delta as f64) / temp).exp() {
            if delta > 0 && at_best {
                // Leaving the best roster seen: step back, keep a copy, step forward again.
                let ops = log.0.clone();
                log.undo(st);
                best_at.copy_from_slice(&st.at);
                for (added, p, s) in ops {
                    if added {
                        st.add(p, s);
                    } else {
                        st.remove(p, s);
                    }
                }
                at_best = false;
            }
            if st.cost < best_cost {
                best_cost = st.cost;
                at_best = true;
            }
            log.0.clear();
        } else {
            log.undo(st);
        }
    }
    if !at_best && best_cost < st.cost {
        // Rebuild the best roster; it holds every pin, and the pins keep their mark.
        let pinned = std::mem::take(&mut st.pinned);
        let mut fresh = State::new(m);
        fresh.pinned = pinned;
        for (i, &s) in best_at.iter().enumerate() {
            if s != NONE {
                fresh.add((i / m.days) as u32, s);
            }
        }
        debug_assert_eq!(fresh.cost, best_cost);
        *st = fresh;
    }
    iter
}

/// One move in this many is an exact repair.
const REPAIR_ONE_IN: usize = 500;
/// Search-tree nodes one exact repair may visit.
const REPAIR_NODES: u32 = 4_000;

/// Large-neighbourhood move: frees every shift of two or three people who could stand in for
/// each other over a window of three days (or their whole week, when small enough), and
/// re-assigns those person-days by exhaustive branch and bound on the exact objective. Chains
/// the single moves cannot reach (rotations among three people, a night moved to free an early
/// the next day) are found here. Returns true when the roster improved.
fn repair(st: &mut State, rng: &mut Rng) -> bool {
    let m = st.m;
    let p = rng.below(m.n_people) as u32;
    let d = rng.below(m.days);
    let opts = &m.by_person_day[p as usize * m.days + d];
    if opts.is_empty() {
        return false;
    }
    let s = opts[rng.below(opts.len())];
    let g = m.group[p as usize];
    let (people, lo, hi) = if g != NONE && rng.below(2) == 0 {
        // The whole branch group on one day: moves it to one post together.
        let mut people = m.group_members[g as usize].clone();
        // Half the time with the group whose post it might take, so two groups can trade posts.
        let mem = &st.members[s as usize];
        if !mem.is_empty() && rng.below(2) == 0 {
            let g2 = m.group[mem[rng.below(mem.len())] as usize];
            if g2 != NONE && g2 != g {
                people.extend(&m.group_members[g2 as usize]);
            }
        }
        if people.len() > 10 {
            people.retain(|&q| q == p || rng.below(2) == 0);
        }
        (people, d, d + 1)
    } else {
        // Two or three people who can stand in for each other, over three days.
        let mut people = vec![p];
        let el = &m.eligible[s as usize];
        for _ in 0..(1 + rng.below(2)) {
            let q = el[rng.below(el.len())].0;
            if !people.contains(&q) {
                people.push(q);
            }
        }
        // Half the time their whole week, when the search can go through it to the end: the
        // weekly hours tie its days together, so some places only come free when the week is
        // re-planned at once. A larger week would be searched only in part, which cost time on
        // the benchmark for no gain.
        let (w0, w1) = (d / 7 * 7, (d / 7 * 7 + 7).min(m.days));
        if week_fits(m, &people, w0, w1) && rng.below(2) == 0 {
            (people, w0, w1)
        } else {
            (people, d.saturating_sub(1), (d + 2).min(m.days))
        }
    };
    let before = st.cost;
    let mut removed = Vec::new();
    let mut slots = Vec::new();
    for &q in &people {
        for e in lo..hi {
            let t = st.at[q as usize * m.days + e];
            if t != NONE {
                if st.pinned.contains(&st.key(q, t)) {
                    continue;
                }
                st.remove(q, t);
                removed.push((q, t));
            }
            if !m.by_person_day[q as usize * m.days + e].is_empty() {
                slots.push((q, e));
            }
        }
    }
    // Optimistic bound per slot: no add costs less than its linear part minus the filled place.
    let mut bound = vec![0i64; slots.len() + 1];
    for i in (0..slots.len()).rev() {
        let (q, e) = slots[i];
        let best = m.by_person_day[q as usize * m.days + e]
            .iter()
            .map(|&t| m.lin(q, t).expect("listed shifts are eligible") - m.w.unfilled)
            .min()
            .unwrap_or(0);
        bound[i] = bound[i + 1] + best.min(0);
    }
    let mut best = (before, removed.clone());
    let mut chosen = Vec::with_capacity(slots.len());
    let mut nodes = 0u32;
    branch(st, &slots, &bound, 0, &mut chosen, &mut best, &mut nodes);
    for &(q, t) in &best.1 {
        st.add(q, t);
    }
    st.cost < before
}

/// Whether the exact search over `people`'s days `lo..hi` (one week) can go through to the end
/// within `REPAIR_NODES`: its tree has no more leaves than the product of the schedules each
/// person could work there alone, one shift or none a day within the weekly hours and the rest.
/// Counting one shift or none a day without the hours and the rest overstates the tree most where
/// the hours are tight, which is where the whole week is needed: a rotation of three people over
/// four days was refused at 6,144 leaves when they had 960 such schedules and the search took 383
/// nodes.
fn week_fits(m: &Model, people: &[u32], lo: usize, hi: usize) -> bool {
    let cap = REPAIR_NODES as usize;
    // Every shift short enough for the hours is a schedule on its own: this lower bound refuses
    // the week of a city (dozens of shifts a day) without counting thousands of schedules.
    let mut least = 1usize;
    for &q in people {
        let max = m.max_week[q as usize];
        let singles: usize = (lo..hi)
            .map(|e| {
                let opts = &m.by_person_day[q as usize * m.days + e];
                opts.iter().filter(|&&t| m.dur(t) <= max).count()
            })
            .sum();
        least = least.saturating_mul(1 + singles);
    }
    if least > cap {
        return false;
    }
    let mut tree = 1usize;
    for &q in people {
        tree = tree.saturating_mul(schedules(m, q, lo, hi, &mut Vec::new(), 0, cap / tree));
        if tree > cap {
            return false;
        }
    }
    true
}

/// Schedules of `q` over days `d..hi` that keep the weekly hours and the rest with `chosen` (the
/// shifts picked on earlier days, `minutes` long), counted only until they pass `cap` (any
/// count above `cap` is returned as is), so that a large week costs little to refuse.
fn schedules(
    m: &Model,
    q: u32,
    d: usize,
    hi: usize,
    chosen: &mut Vec<u32>,
    minutes: u32,
    cap: usize,
) -> usize {
    if d == hi {
        return 1;
    }
    let mut n = schedules(m, q, d + 1, hi, chosen, minutes, cap);
    for &t in &m.by_person_day[q as usize * m.days + d] {
        if n > cap {
            break;
        }
        let worked = minutes + m.dur(t);
        if worked <= m.max_week[q as usize] && chosen.iter().all(|&c| m.rest_ok(c, t)) {
            chosen.push(t);
            n += schedules(m, q, d + 1, hi, chosen, worked, cap - n);
            chosen.pop();
        }
    }
    n
}

fn branch(
    st: &mut State,
    slots: &[(u32, usize)],
    bound: &[i64],
    i: usize,
    chosen: &mut Vec<(u32, u32)>,
    best: &mut (i64, Vec<(u32, u32)>),
    nodes: &mut u32,
) {
    *nodes += 1;
    if *nodes > REPAIR_NODES || st.cost + bound[i] >= best.0 {
        return;
    }
    if i == slots.len() {
        *best = (st.cost, chosen.clone());
        return;
    }
    let m = st.m;
    let (q, e) = slots[i];
    let mut options: Vec<(i64, u32)> = m.by_person_day[q as usize * m.days + e]
        .iter()
        .filter(|&&t| st.can_add(q, t))
        .map(|&t| (st.delta(q, t), t))
        .collect();
    options.sort_unstable();
    for (_, t) in options {
        st.add(q, t);
        chosen.push((q, t));
        branch(st, slots, bound, i + 1, chosen, best, nodes);
        chosen.pop();
        st.remove(q, t);
    }
    branch(st, slots, bound, i + 1, chosen, best, nodes);
}

fn finish(st: &State, iterations: u64) -> Solution {
    let m = st.m;
    let pairs = st.pairs();
    let breakdown = m.score(&pairs);
    debug_assert_eq!(breakdown.total, st.cost, "incremental objective drifted");
    let mut assignments: Vec<Assignment> = pairs
        .iter()
        .map(|&(p, s)| {
            Assignment::new(
                m.p.people[p as usize].id.clone(),
                m.p.shifts[s as usize].id.clone(),
            )
        })
        .collect();
    assignments.sort();
    let mut vacant = st.vacant.clone();
    vacant.sort_unstable();
    let shortfalls = vacant
        .into_iter()
        .map(|s| Shortfall {
            shift: m.p.shifts[s as usize].id.clone(),
            missing: m.s_head[s as usize] - st.members[s as usize].len() as u16,
            reason: m.short_reason(s, &st.at, &st.week_min),
        })
        .collect();
    Solution {
        assignments,
        breakdown,
        shortfalls,
        iterations,
    }
}
