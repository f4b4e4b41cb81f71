//! The problem compiled to indices: who may work which shift (and at what linear cost), checked
//! once so the search and the evaluator work on integers only.

use std::collections::{HashMap, HashSet};

use super::{
    Assignment, Breakdown, MAX_DAYS, MINUTES_PER_DAY, Reach, RosterError, RosterProblem,
    ShortReason, Violation, Weights,
};

pub(crate) const NONE: u32 = u32::MAX;

pub(crate) struct Model<'a> {
    pub p: &'a RosterProblem,
    pub w: Weights,
    pub days: usize,
    pub weeks: usize,
    pub n_people: usize,
    pub n_shifts: usize,
    person_idx: HashMap<&'a str, u32>,
    shift_idx: HashMap<&'a str, u32>,
    pub s_day: Vec<u16>,
    pub s_post: Vec<u32>,
    pub s_start: Vec<u32>,
    pub s_end: Vec<u32>,
    pub s_head: Vec<u16>,
    pub s_early: Vec<bool>,
    /// Group index per person, `NONE` without a group.
    pub group: Vec<u32>,
    pub group_members: Vec<Vec<u32>>,
    pub max_week: Vec<u32>,
    /// Eligible people per shift, sorted by person, with the linear cost of the assignment
    /// (distance, day off, early avoidance and the change against the baseline).
    pub eligible: Vec<Vec<(u32, i64)>>,
    /// Eligible shifts per person and day (`p * days + d`).
    pub by_person_day: Vec<Vec<u32>>,
    /// Baseline pairs that name a known person and shift, as `p * n_shifts + s`.
    baseline: HashSet<u64>,
    /// `weights.change` × number of distinct baseline assignments: the cost of dropping them all.
    pub change_constant: i64,
    /// Days either side of a shift on which another shift can break the minimum rest.
    pub rest_window: usize,
    blocked: Vec<u16>,
    off: Vec<u16>,
    skills: Vec<Vec<u64>>,
    s_skills: Vec<Vec<u64>>,
}

impl<'a> Model<'a> {
    pub fn new(p: &'a RosterProblem) -> Result<Self, RosterError> {
        let r = &p.rules;
        if r.days == 0 || r.days > MAX_DAYS {
            return Err(RosterError::BadHorizon(r.days));
        }
        if r.early_before_minute >= MINUTES_PER_DAY {
            return Err(RosterError::BadEarlyMinute(r.early_before_minute));
        }
        if r.min_rest_minutes > 2 * MINUTES_PER_DAY {
            return Err(RosterError::BadRest(r.min_rest_minutes));
        }
        let w = p.weights;
        for (name, v) in [
            ("unfilled", w.unfilled),
            ("early_square", w.early_square),
            ("consecutive_early", w.consecutive_early),
            ("early_avoid", w.early_avoid),
            ("group_split", w.group_split),
            ("day_off", w.day_off),
            ("distance_per_100m", w.distance_per_100m),
            ("change", w.change),
        ] {
            if v < 0 {
                return Err(RosterError::NegativeWeight(name));
            }
        }
        let days = usize::from(r.days);
        let weeks = days.div_ceil(7);

        let mut person_idx = HashMap::with_capacity(p.people.len());
        for (i, person) in p.people.iter().enumerate() {
            if person_idx.insert(person.id.as_str(), i as u32).is_some() {
                return Err(RosterError::DuplicatePerson(person.id.clone()));
            }
            if person.max_minutes_per_week > 7 * MINUTES_PER_DAY {
                return Err(RosterError::BadMaxMinutes(person.id.clone()));
            }
        }
        let mut post_idx = HashMap::with_capacity(p.posts.len());
        for (i, post) in p.posts.iter().enumerate() {
            if post_idx.insert(post.id.as_str(), i as u32).is_some() {
                return Err(RosterError::DuplicatePost(post.id.clone()));
            }
        }
        let mut shift_idx = HashMap::with_capacity(p.shifts.len());
        let n = p.shifts.len();
        let (mut s_day, mut s_post, mut s_start, mut s_end, mut s_head, mut s_early) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let mut longest_reach_past_day = 0u32;
        for (i, s) in p.shifts.iter().enumerate() {
            if shift_idx.insert(s.id.as_str(), i as u32).is_some() {
                return Err(RosterError::DuplicateShift(s.id.clone()));
            }
            let Some(&post) = post_idx.get(s.post.as_str()) else {
                return Err(RosterError::UnknownPost {
                    shift: s.id.clone(),
                    post: s.post.clone(),
                });
            };
            if s.end <= s.start {
                return Err(RosterError::ShiftEndsBeforeStart(s.id.clone()));
            }
            if s.end - s.start > MINUTES_PER_DAY {
                return Err(RosterError::ShiftTooLong(s.id.clone()));
            }
            if s.day >= r.days {
                return Err(RosterError::ShiftDayOutsideHorizon(s.id.clone()));
            }
            let day_start = u32::from(s.day) * MINUTES_PER_DAY;
            if s.start < day_start || s.start >= day_start + MINUTES_PER_DAY {
                return Err(RosterError::ShiftStartNotOnDay(s.id.clone()));
            }
            if s.headcount == 0 {
                return Err(RosterError::ZeroHeadcount(s.id.clone()));
            }
            longest_reach_past_day = longest_reach_past_day.max(s.end - day_start);
            s_day.push(s.day);
            s_post.push(post);
            s_start.push(s.start);
            s_end.push(s.end);
            s_head.push(s.headcount);
            s_early.push(s.start - day_start < r.early_before_minute);
        }
        // A later shift starts at least at its day's 00:00, so days past this cannot conflict.
        let rest_window =
            ((longest_reach_past_day + r.min_rest_minutes) / MINUTES_PER_DAY) as usize + 1;

        // Skills interned to bitsets: checking 5,000 people × 8,400 shifts by string is too slow.
        let mut skill_idx: HashMap<&str, usize> = HashMap::new();
        for s in p
            .people
            .iter()
            .flat_map(|x| &x.skills)
            .chain(p.shifts.iter().flat_map(|x| &x.skills))
        {
            let next = skill_idx.len();
            skill_idx.entry(s.as_str()).or_insert(next);
        }
        let words = skill_idx.len().div_ceil(64).max(1);
        let bits = |names: &[String]| {
            let mut v = vec![0u64; words];
            for n in names {
                let i = skill_idx[n.as_str()];
                v[i / 64] |= 1 << (i % 64);
            }
            v
        };
        let skills: Vec<Vec<u64>> = p.people.iter().map(|x| bits(&x.skills)).collect();
        let s_skills: Vec<Vec<u64>> = p.shifts.iter().map(|x| bits(&x.skills)).collect();

        let mut blocked = Vec::with_capacity(p.people.len());
        let mut off = Vec::with_capacity(p.people.len());
        let mut groups: HashMap<&str, u32> = HashMap::new();
        let mut group = Vec::with_capacity(p.people.len());
        for person in &p.people {
            let mut b = 0u16;
            for bl in &person.blockers {
                if bl.day >= r.days {
                    return Err(RosterError::BlockerOutsideHorizon {
                        person: person.id.clone(),
                        day: bl.day,
                    });
                }
                b |= 1 << bl.day;
            }
            let mut o = 0u16;
            for &d in &person.off_requests {
                if d >= r.days {
                    return Err(RosterError::OffRequestOutsideHorizon {
                        person: person.id.clone(),
                        day: d,
                    });
                }
                o |= 1 << d;
            }
            blocked.push(b);
            off.push(o);
            group.push(match &person.group {
                Some(g) => {
                    let next = groups.len() as u32;
                    *groups.entry(g.as_str()).or_insert(next)
                }
                None => NONE,
            });
        }

        // People in reach of each post with their distance cost.
        let in_reach: Vec<Vec<(u32, u32)>> = p
            .posts
            .iter()
            .map(|post| {
                p.people
                    .iter()
                    .enumerate()
                    .filter_map(|(i, person)| {
                        let h = &person.home;
                        let ok = match r.reach {
                            Reach::SameCommunity => h.community == post.place.community,
                            Reach::SameSubdistrict => h.subdistrict == post.place.subdistrict,
                            Reach::WithinMetres { metres } => h.distance_m(&post.place) <= metres,
                        };
                        ok.then(|| (i as u32, h.distance_m(&post.place).div_ceil(100)))
                    })
                    .collect()
            })
            .collect();

        let mut baseline = HashSet::new();
        let mut distinct = HashSet::new();
        for a in p.baseline.iter().flatten() {
            distinct.insert((a.person.as_str(), a.shift.as_str()));
            if let (Some(&pi), Some(&si)) = (
                person_idx.get(a.person.as_str()),
                shift_idx.get(a.shift.as_str()),
            ) {
                baseline.insert(u64::from(pi) * n as u64 + u64::from(si));
            }
        }
        let change_constant = w.change * distinct.len() as i64;

        let mut eligible = Vec::with_capacity(n);
        let mut by_person_day = vec![Vec::new(); p.people.len() * days];
        for s in 0..n {
            let d = s_day[s];
            let mut list = Vec::new();
            for &(pi, dist) in &in_reach[s_post[s] as usize] {
                let i = pi as usize;
                if blocked[i] & (1 << d) != 0 || !covers(&skills[i], &s_skills[s]) {
                    continue;
                }
                let mut c = w.distance_per_100m * i64::from(dist);
                if off[i] & (1 << d) != 0 {
                    c += w.day_off;
                }
                if s_early[s] && p.people[i].avoid_early {
                    c += w.early_avoid;
                }
                if p.baseline.is_some() {
                    c += if baseline.contains(&(u64::from(pi) * n as u64 + s as u64)) {
                        -w.change
                    } else {
                        w.change
                    };
                }
                list.push((pi, c));
                by_person_day[i * days + usize::from(d)].push(s as u32);
            }
            eligible.push(list);
        }

        Ok(Self {
            p,
            w,
            days,
            weeks,
            n_people: p.people.len(),
            n_shifts: n,
            person_idx,
            shift_idx,
            s_day,
            s_post,
            s_start,
            s_end,
            s_head,
            s_early,
            group_members: {
                let mut gm = vec![Vec::new(); groups.len()];
                for (i, &g) in group.iter().enumerate() {
                    if g != NONE {
                        gm[g as usize].push(i as u32);
                    }
                }
                gm
            },
            group,
            max_week: p.people.iter().map(|x| x.max_minutes_per_week).collect(),
            eligible,
            by_person_day,
            baseline,
            change_constant,
            rest_window,
            blocked,
            off,
            skills,
            s_skills,
        })
    }

    pub fn dur(&self, s: u32) -> u32 {
        self.s_end[s as usize] - self.s_start[s as usize]
    }

    pub fn week(&self, s: u32) -> usize {
        usize::from(self.s_day[s as usize]) / 7
    }

    /// Linear cost of `p` on `s`, or `None` when `p` may not work it.
    pub fn lin(&self, p: u32, s: u32) -> Option<i64> {
        let list = &self.eligible[s as usize];
        list.binary_search_by_key(&p, |&(q, _)| q)
            .ok()
            .map(|i| list[i].1)
    }

    /// Whether two shifts on different days leave the minimum rest between them.
    pub fn rest_ok(&self, a: u32, b: u32) -> bool {
        let (a, b) = if self.s_start[a as usize] <= self.s_start[b as usize] {
            (a, b)
        } else {
            (b, a)
        };
        self.s_start[b as usize] >= self.s_end[a as usize] + self.p.rules.min_rest_minutes
    }

    pub fn baseline_pairs(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        let n = self.n_shifts as u64;
        let mut v: Vec<u64> = self.baseline.iter().copied().collect();
        v.sort_unstable();
        v.into_iter().map(move |k| ((k / n) as u32, (k % n) as u32))
    }

    pub fn resolve(&self, a: &[Assignment]) -> Result<Vec<(u32, u32)>, Violation> {
        a.iter()
            .map(|x| {
                let p = *self
                    .person_idx
                    .get(x.person.as_str())
                    .ok_or_else(|| Violation::UnknownPerson(x.person.clone()))?;
                let s = *self
                    .shift_idx
                    .get(x.shift.as_str())
                    .ok_or_else(|| Violation::UnknownShift(x.shift.clone()))?;
                Ok((p, s))
            })
            .collect()
    }

    pub fn resolve_named(
        &self,
        a: &[Assignment],
        field: &'static str,
    ) -> Result<Vec<(u32, u32)>, RosterError> {
        self.resolve(a).map_err(|v| match v {
            Violation::UnknownPerson(id) => RosterError::UnknownPerson { field, id },
            Violation::UnknownShift(id) => RosterError::UnknownShift { field, id },
            other => RosterError::PinBreaksRule(other),
        })
    }

    fn names(&self, p: u32, s: u32) -> (String, String) {
        (
            self.p.people[p as usize].id.clone(),
            self.p.shifts[s as usize].id.clone(),
        )
    }

    /// The hard rules, checked from scratch.
    pub fn check(&self, pairs: &[(u32, u32)]) -> Result<(), Violation> {
        let mut seen = HashSet::with_capacity(pairs.len());
        let mut count = vec![0u32; self.n_shifts];
        let mut at: HashMap<u32, Vec<u32>> = HashMap::new();
        for &(p, s) in pairs {
            let (pn, sn) = self.names(p, s);
            if !seen.insert((p, s)) {
                return Err(Violation::Duplicate {
                    person: pn,
                    shift: sn,
                });
            }
            if self.lin(p, s).is_none() {
                let d = self.s_day[s as usize];
                return Err(if self.blocked[p as usize] & (1 << d) != 0 {
                    Violation::Blocked {
                        person: pn,
                        shift: sn,
                    }
                } else if !covers(&self.skills[p as usize], &self.s_skills[s as usize]) {
                    let have = &self.p.people[p as usize].skills;
                    let skill = self.p.shifts[s as usize]
                        .skills
                        .iter()
                        .find(|k| !have.contains(k))
                        .cloned()
                        .unwrap_or_default();
                    Violation::MissingSkill {
                        person: pn,
                        shift: sn,
                        skill,
                    }
                } else {
                    Violation::OutOfReach {
                        person: pn,
                        shift: sn,
                    }
                });
            }
            count[s as usize] += 1;
            if count[s as usize] > u32::from(self.s_head[s as usize]) {
                return Err(Violation::OverHeadcount { shift: sn });
            }
            at.entry(p).or_default().push(s);
        }
        let mut people: Vec<_> = at.into_iter().collect();
        people.sort_unstable();
        for (p, mut shifts) in people {
            shifts.sort_unstable_by_key(|&s| self.s_start[s as usize]);
            let mut week = vec![0u32; self.weeks];
            for (i, &s) in shifts.iter().enumerate() {
                week[self.week(s)] += self.dur(s);
                for &t in &shifts[i + 1..] {
                    let (pn, sn) = self.names(p, t);
                    let other = self.p.shifts[s as usize].id.clone();
                    if self.s_day[t as usize] == self.s_day[s as usize] {
                        return Err(Violation::TwoShiftsOneDay {
                            person: pn,
                            shift: sn,
                            other,
                        });
                    }
                    if !self.rest_ok(s, t) {
                        return Err(Violation::RestTooShort {
                            person: pn,
                            shift: sn,
                            other,
                        });
                    }
                }
            }
            if let Some(wk) = week.iter().position(|&m| m > self.max_week[p as usize]) {
                return Err(Violation::WeeklyHoursExceeded {
                    person: self.p.people[p as usize].id.clone(),
                    week: wk as u16,
                });
            }
        }
        Ok(())
    }

    /// The objective, computed from scratch term by term (the search keeps it incrementally and
    /// the tests hold the two equal).
    pub fn score(&self, pairs: &[(u32, u32)]) -> Breakdown {
        let w = &self.w;
        let mut b = Breakdown::default();
        let mut count = vec![0i64; self.n_shifts];
        let mut early_n = vec![0i64; self.n_people];
        let mut early_days = vec![0u16; self.n_people];
        let mut group_places = HashSet::new();
        let mut distinct = HashSet::new();
        for &(p, s) in pairs {
            if !distinct.insert((p, s)) {
                continue;
            }
            let (pi, si) = (p as usize, s as usize);
            let person = &self.p.people[pi];
            let d = self.s_day[si];
            count[si] += 1;
            if self.s_early[si] {
                early_n[pi] += 1;
                early_days[pi] |= 1 << d;
                if person.avoid_early {
                    b.early_avoid += w.early_avoid;
                }
            }
            if self.group[pi] != NONE {
                group_places.insert((self.group[pi], d, self.s_post[si]));
            }
            if self.off[pi] & (1 << d) != 0 {
                b.day_off += w.day_off;
            }
            let post = &self.p.posts[self.s_post[si] as usize];
            b.distance +=
                w.distance_per_100m * i64::from(person.home.distance_m(&post.place).div_ceil(100));
        }
        for (head, n) in self.s_head.iter().zip(&count) {
            let missing = i64::from(*head) - n;
            b.unfilled_places += missing.max(0) as u32;
            b.unfilled += w.unfilled * missing.max(0);
        }
        for p in 0..self.n_people {
            b.early_fairness += w.early_square * early_n[p] * early_n[p];
            let m = early_days[p];
            b.consecutive_early += w.consecutive_early * i64::from((m & (m >> 1)).count_ones());
        }
        b.group_split = w.group_split * group_places.len() as i64;
        // Changes: the symmetric difference with the baseline, by name.
        let Some(baseline) = &self.p.baseline else {
            b.total = b.terms_sum();
            return b;
        };
        let base: HashSet<(&str, &str)> = baseline
            .iter()
            .map(|a| (a.person.as_str(), a.shift.as_str()))
            .collect();
        let mut kept = 0i64;
        for &(p, s) in &distinct {
            let (pn, sn) = (&self.p.people[p as usize].id, &self.p.shifts[s as usize].id);
            if base.contains(&(pn.as_str(), sn.as_str())) {
                kept += 1;
            }
        }
        b.changes = w.change * (base.len() as i64 + distinct.len() as i64 - 2 * kept);
        b.total = b.terms_sum();
        b
    }

    /// The first rule that leaves shift `s` short, given who works when (`at[p * days + d]`) and
    /// the minutes each person has worked per week.
    pub fn short_reason(&self, s: u32, at: &[u32], week_min: &[u32]) -> ShortReason {
        let si = s as usize;
        let d = usize::from(self.s_day[si]);
        let avail: Vec<usize> = (0..self.n_people)
            .filter(|&i| self.blocked[i] & (1 << d) == 0)
            .collect();
        if avail.is_empty() {
            return ShortReason::NobodyAvailable;
        }
        if !avail
            .iter()
            .any(|&i| covers(&self.skills[i], &self.s_skills[si]))
        {
            return ShortReason::NobodyWithSkill;
        }
        if self.eligible[si].is_empty() {
            return ShortReason::NobodyInReach;
        }
        // Among the able who are free that day and rested, is it the weekly hours that stop them?
        let free_rested = self.eligible[si].iter().filter(|&&(p, _)| {
            let pi = p as usize;
            at[pi * self.days + d] == NONE
                && (d.saturating_sub(self.rest_window)..(d + self.rest_window + 1).min(self.days))
                    .all(|e| {
                        let t = at[pi * self.days + e];
                        t == NONE || self.rest_ok(s, t)
                    })
        });
        let mut any = false;
        for &(p, _) in free_rested {
            any = true;
            if week_min[p as usize * self.weeks + self.week(s)] + self.dur(s)
                <= self.max_week[p as usize]
            {
                return ShortReason::AllBusy;
            }
        }
        if any {
            ShortReason::HoursSpent
        } else {
            ShortReason::AllBusy
        }
    }
}

fn covers(have: &[u64], need: &[u64]) -> bool {
    have.iter().zip(need).all(|(h, n)| n & !h == 0)
}
