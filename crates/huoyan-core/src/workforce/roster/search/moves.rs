//! The compound moves of the annealing: each changes the roster through `Log`, so the caller can
//! price it by the change in `State::cost` and undo it.

use super::super::model::NONE;
use super::{Log, Rng, State};

/// Person-day move: put a random person on a random shift they may work that day, relocating,
/// replacing or swapping with whoever is in the way. Returns false when nothing applies.
pub(super) fn move_person_day(st: &mut State, rng: &mut Rng, log: &mut Log) -> bool {
    let m = st.m;
    let p = rng.below(m.n_people) as u32;
    let d = rng.below(m.days);
    let options = &m.by_person_day[p as usize * m.days + d];
    if options.is_empty() {
        return false;
    }
    let s = options[rng.below(options.len())];
    place(st, rng, log, p, d, s)
}

/// Group exchange: on one day, a person's branch group leaves its post for another post and
/// the group found there (if any) takes its place, each person keeping the same hours. Groups
/// trading posts is what single moves reach only through many uphill steps.
pub(super) fn move_swap_groups(st: &mut State, rng: &mut Rng, log: &mut Log) -> bool {
    let m = st.m;
    let p = rng.below(m.n_people) as u32;
    let g1 = m.group[p as usize];
    let d = rng.below(m.days);
    let cur = st.at[p as usize * m.days + d];
    if g1 == NONE || cur == NONE {
        return false;
    }
    let opts = &m.by_person_day[p as usize * m.days + d];
    let s = opts[rng.below(opts.len())];
    let (a, b) = (m.s_post[cur as usize], m.s_post[s as usize]);
    if a == b {
        return false;
    }
    let mem = &st.members[s as usize];
    let g2 = if mem.is_empty() {
        NONE
    } else {
        m.group[mem[rng.below(mem.len())] as usize]
    };
    if g2 == g1 {
        return false;
    }
    let at_post = |g: u32, post: u32| -> Vec<(u32, u32)> {
        if g == NONE {
            return Vec::new();
        }
        m.group_members[g as usize]
            .iter()
            .filter_map(|&q| {
                let t = st.at[q as usize * m.days + d];
                (t != NONE && m.s_post[t as usize] == post).then_some((q, t))
            })
            .collect()
    };
    let (x, y) = (at_post(g1, a), at_post(g2, b));
    if x.iter()
        .chain(&y)
        .any(|&(q, t)| st.pinned.contains(&st.key(q, t)))
    {
        return false;
    }
    for &(q, t) in x.iter().chain(&y) {
        log.remove(st, q, t);
    }
    for (group, to) in [(&x, b), (&y, a)] {
        for &(q, t) in group {
            let (start, end) = (m.s_start[t as usize], m.s_end[t as usize]);
            let target = m.by_person_day[q as usize * m.days + d]
                .iter()
                .copied()
                .find(|&u| {
                    m.s_post[u as usize] == to
                        && m.s_start[u as usize] == start
                        && m.s_end[u as usize] == end
                });
            match target {
                Some(u) if st.can_add(q, u) => log.add(st, q, u),
                _ => return false,
            }
        }
    }
    true
}

/// Puts `p` on `s` (on day `d`), relocating from their current shift that day, or replacing or
/// swapping with someone on `s` when it is full. Returns false when nothing applies.
fn place(st: &mut State, rng: &mut Rng, log: &mut Log, p: u32, d: usize, s: u32) -> bool {
    let m = st.m;
    let mut r = NONE;
    if st.members[s as usize].len() >= usize::from(m.s_head[s as usize]) {
        let mem = &st.members[s as usize];
        r = mem[rng.below(mem.len())];
        if r == p || st.pinned.contains(&st.key(r, s)) {
            return false;
        }
        log.remove(st, r, s);
    }
    // No ejection chain here: tried on these moves it cost more time than it gained.
    if !move_over(st, rng, log, p, s, r, 0) {
        return false;
    }
    if r != NONE && st.at[r as usize * m.days + d] == NONE {
        // r is free that day: let r take a vacancy then if one fits.
        let opts = &m.by_person_day[r as usize * m.days + d];
        let t = opts[rng.below(opts.len())];
        if t != s && st.can_add(r, t) {
            log.add(st, r, t);
        }
    }
    true
}

/// Vacancy move: gives a vacant place to a random able person (see [`move_over`]).
pub(super) fn move_fill(st: &mut State, rng: &mut Rng, log: &mut Log) -> bool {
    let s = st.vacant[rng.below(st.vacant.len())];
    let el = &st.m.eligible[s as usize];
    if el.is_empty() {
        return false;
    }
    let p = el[rng.below(el.len())].0;
    move_over(st, rng, log, p, s, NONE, CHAIN_LINKS)
}

/// Links an ejection chain started by a vacancy move may add (see [`refill`]). One is enough to
/// keep the Daqing instance fully staffed within 100,000 iterations on nearly every seed.
const CHAIN_LINKS: u32 = 1;

/// Moves `q` onto `t`, which has a vacancy: off their shift that day, and off another of their
/// shifts when the weekly hours or the rest stand in the way. The shifts `q` leaves are refilled,
/// `displaced` (whoever was just taken off `t`, or `NONE`) offered them first: so `q` and
/// `displaced` swap, on one day or across two days. The swap across days is needed when neither
/// can work both shifts; as two single moves it would leave a place empty on the way, which the
/// annealing practically never accepts. Returns false, with `log` as it was, when `q` cannot
/// take `t`.
fn move_over(
    st: &mut State,
    rng: &mut Rng,
    log: &mut Log,
    q: u32,
    t: u32,
    displaced: u32,
    links: u32,
) -> bool {
    let m = st.m;
    let d = usize::from(m.s_day[t as usize]);
    let cur = st.at[q as usize * m.days + d];
    if cur == t || (cur != NONE && st.pinned.contains(&st.key(q, cur))) {
        return false;
    }
    let mark = log.0.len();
    if cur != NONE {
        log.remove(st, q, cur);
    }
    let Some(dropped) = make_room(st, rng, log, q, t) else {
        log.undo_to(st, mark);
        return false;
    };
    log.add(st, q, t);
    let mut offer = displaced;
    for u in [cur, dropped] {
        if u != NONE {
            refill(st, rng, log, u, offer, q, links);
            if offer != NONE
                && st.at[offer as usize * m.days + usize::from(m.s_day[u as usize])] == u
            {
                offer = NONE;
            }
        }
    }
    true
}

/// Makes `p` able to take `s` when another of their shifts (same week, or within the rest
/// window) stands in the way, by dropping one such shift picked uniformly. Returns the dropped
/// shift (`NONE` when nothing had to go), or `None` when `p` still cannot take `s`.
fn make_room(st: &mut State, rng: &mut Rng, log: &mut Log, p: u32, s: u32) -> Option<u32> {
    if st.can_add(p, s) {
        return Some(NONE);
    }
    let m = st.m;
    let d = usize::from(m.s_day[s as usize]);
    let w = m.week(s);
    let lo = (w * 7).min(d.saturating_sub(m.rest_window));
    let hi = ((w + 1) * 7).max(d + m.rest_window + 1).min(m.days);
    // Reservoir pick among p's unpinned shifts on the window's other days.
    let (mut pick, mut seen) = (NONE, 0);
    for e in (lo..hi).filter(|&e| e != d) {
        let t = st.at[p as usize * m.days + e];
        if t != NONE && !st.pinned.contains(&st.key(p, t)) {
            seen += 1;
            if rng.below(seen) == 0 {
                pick = t;
            }
        }
    }
    if pick == NONE {
        return None;
    }
    log.remove(st, p, pick);
    st.can_add(p, s).then_some(pick)
}

/// Refills `t`, which `left` just left: with `first` if they can take it, else with one of a few
/// random able people. When nobody can be added as things stand and `links` remain, someone
/// other than `left` (who could only move back) moves over ([`move_over`]) and the shift they
/// leave is refilled the same way: an ejection chain, which fills a place only a rotation of
/// several people can free.
fn refill(st: &mut State, rng: &mut Rng, log: &mut Log, t: u32, first: u32, left: u32, links: u32) {
    if first != NONE && st.can_add(first, t) {
        log.add(st, first, t);
        return;
    }
    let el = &st.m.eligible[t as usize];
    for _ in 0..4 {
        let q = el[rng.below(el.len())].0;
        if st.can_add(q, t) {
            log.add(st, q, t);
            return;
        }
    }
    if links == 0 || el.len() < 2 {
        return;
    }
    // Uniform over the able people but `left`, who is on the list (sorted by person).
    let skip = el.partition_point(|&(x, _)| x < left);
    let i = rng.below(el.len() - 1);
    let q = el[if i >= skip { i + 1 } else { i }].0;
    move_over(st, rng, log, q, t, NONE, links - 1);
}
