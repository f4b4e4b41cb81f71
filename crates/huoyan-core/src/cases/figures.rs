//! Figures (统计考核): how fast and how well cases are handled, per responsible unit and per
//! category, and the league table of units that GB/T 30428 keeps. The application loads plain
//! records for a filter; every count, quantile and rank is made here, so each figure a leader
//! reads can be re-derived by hand from the definitions below.
//!
//! # The times used
//!
//! A case (from its timeline):
//! - `reported_at`: when it was filed.
//! - `first_dispatched_at`: its *first* dispatch. A case sent back (退回) and dispatched again keeps
//!   its first dispatch: the resident's wait was already running, and the time lost to misrouting
//!   lands in dispatch→rectified, where it belongs.
//! - `last_rectified_at`: the *last* time it entered `rectified` from another state. After a rework
//!   (返工) the failed fix no longer counts: the case was rectified when the fix that was finally
//!   accepted was reported. Used only while the case is rectified, verified or closed — a case
//!   reworked and not yet fixed again has no standing fix.
//! - `verified_at`: when it was verified (once: nothing leaves `verified` but closing). Used only
//!   for verified or closed cases.
//!
//! So for every verified case report→dispatch + dispatch→rectified + rectified→verified is exactly
//! report→verified, the headline.
//!
//! A unit's task (主办 or 协办, each with its own clock):
//! - `dispatched_at`: when this task reached the unit (a dispatch after a send-back is a new task).
//! - `due_at`: its deadline now, after any granted extension (延期).
//! - `done_at`: the unit's last report of its fix. A rework clears it, so it is the fix that stood;
//!   used only for done tasks.
//!
//! # Durations (median and 90th percentile, nearest rank: always a time some case really took)
//!
//! Per category, one value per case of the category, on the case's clock:
//! report→dispatch (dispatched cases), dispatch→rectified (cases with a standing fix),
//! rectified→verified and report→verified (verified or closed cases).
//!
//! Per department, one value per task of the unit, on the unit's own clock:
//! report→dispatch = task dispatched − case reported (how long the case took to reach the unit: the
//! command side's speed, not the unit's); dispatch→rectified = done − dispatched (done tasks);
//! rectified→verified = case verified − done, and report→verified = case verified − case reported
//! (done tasks of verified or closed cases).
//!
//! # Rates and counts (over the tasks of the row; a category's tasks are its cases' tasks)
//!
//! - `on_time`: done tasks with `done_at <= due_at`.
//! - `decided`: done tasks plus open tasks already past their deadline at `now` — every task whose
//!   punctuality is settled. **on-time rate = on_time / decided.** Counting the open overdue tasks
//!   keeps a unit from looking punctual by never finishing its late work; `on_time / done` (the
//!   plain 按期率) can be read off the counts given.
//! - `overdue`: done tasks finished after their deadline plus open tasks past it at `now`
//!   (`is_overdue`). Sent-back and withdrawn tasks are no longer the unit's and count in neither.
//! - `fixed`: tasks that reported a fix at least once (done, or reworked at least once: only a done
//!   task can be reworked). `reworked`: tasks reworked at least once. **rework rate =
//!   reworked / fixed.**
//! - `extended`: tasks granted at least one extension. **extension rate = extended / tasks** (every
//!   task dispatched to the unit, in any state).
//!
//! # Ranking of departments
//!
//! A unit is ranked when it has at least `RankRule::min_decided` decided tasks; fewer and one late
//! fix would swing it from first to last. Ranked units are ordered by on-time rate (higher first),
//! then rework rate (lower first), then median dispatch→rectified (shorter first); a missing figure
//! comes after any present one, and rates are compared as exact fractions. Units equal on all
//! three share a rank (1, 2, 2, 4) and are listed by name. Unranked units follow, by name.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use super::deadlines::{is_overdue, quantile};
use super::kinds::Category;
use super::tasks::TaskState;
use super::workflow::CaseState;

pub mod sketch;
pub mod tally;

/// A case as the figures need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRecord {
    pub id: i64,
    pub category: String,
    pub state: CaseState,
    pub reported_at: i64,
    pub first_dispatched_at: Option<i64>,
    pub last_rectified_at: Option<i64>,
    pub verified_at: Option<i64>,
}

/// One unit's task on a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRecord {
    pub case_id: i64,
    pub department_id: i64,
    pub department: String,
    pub state: TaskState,
    pub dispatched_at: i64,
    pub due_at: i64,
    pub done_at: Option<i64>,
    pub extensions: i64,
    pub reworks: i64,
    /// Times the group urged (催办) the unit on this task.
    pub urges: i64,
}

/// Median and 90th percentile of a set of durations (milliseconds), with how many there were.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stat {
    pub n: usize,
    pub median_ms: Option<i64>,
    pub p90_ms: Option<i64>,
}

impl Stat {
    pub fn of(values: &[i64]) -> Stat {
        Stat {
            n: values.len(),
            median_ms: quantile(values, 0.5),
            p90_ms: quantile(values, 0.9),
        }
    }
}

/// The four durations of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Durations {
    pub report_to_dispatch: Stat,
    pub dispatch_to_rectified: Stat,
    pub rectified_to_verified: Stat,
    /// The headline: from report to verified fix.
    pub report_to_verified: Stat,
}

#[derive(Default)]
struct Samples([Vec<i64>; 4]);

impl Samples {
    fn push(&mut self, i: usize, v: Option<i64>) {
        if let Some(v) = v {
            self.0[i].push(v);
        }
    }
    fn stats(&self) -> Durations {
        Durations {
            report_to_dispatch: Stat::of(&self.0[0]),
            dispatch_to_rectified: Stat::of(&self.0[1]),
            rectified_to_verified: Stat::of(&self.0[2]),
            report_to_verified: Stat::of(&self.0[3]),
        }
    }
}

/// The counts behind the rates, over a set of tasks (see the module header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct TaskMeasures {
    pub tasks: i64,
    pub done: i64,
    pub on_time: i64,
    pub decided: i64,
    pub overdue: i64,
    pub fixed: i64,
    pub reworked: i64,
    pub extended: i64,
    /// Times the group urged (催办) these tasks.
    pub urges: i64,
}

fn ratio(num: i64, den: i64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

impl TaskMeasures {
    fn add(&mut self, t: &TaskRecord, now_ms: i64) {
        self.add_settled(t);
        if t.state.is_open() && is_overdue(t.due_at, None, now_ms) {
            self.add_late(1);
        }
    }

    /// What task `t` counts whenever it is read: everything but an open task's lateness, which
    /// depends on the moment of reading (`add_late`).
    pub fn add_settled(&mut self, t: &TaskRecord) {
        self.tasks += 1;
        let done = t.done_at.filter(|_| t.state == TaskState::Done);
        if let Some(d) = done {
            self.done += 1;
            self.decided += 1;
            if is_overdue(t.due_at, Some(d), 0) {
                self.overdue += 1;
            } else {
                self.on_time += 1;
            }
        }
        if done.is_some() || t.reworks > 0 {
            self.fixed += 1;
        }
        if t.reworks > 0 {
            self.reworked += 1;
        }
        if t.extensions > 0 {
            self.extended += 1;
        }
        self.urges += t.urges;
    }

    /// Counts `n` open tasks already past their deadline: decided, and overdue.
    pub fn add_late(&mut self, n: i64) {
        self.decided += n;
        self.overdue += n;
    }

    /// Adds `other` times `sign` (1 or −1).
    pub fn merge(&mut self, other: &TaskMeasures, sign: i64) {
        self.tasks += other.tasks * sign;
        self.done += other.done * sign;
        self.on_time += other.on_time * sign;
        self.decided += other.decided * sign;
        self.overdue += other.overdue * sign;
        self.fixed += other.fixed * sign;
        self.reworked += other.reworked * sign;
        self.extended += other.extended * sign;
        self.urges += other.urges * sign;
    }

    /// on_time / decided.
    pub fn on_time_rate(&self) -> Option<f64> {
        ratio(self.on_time, self.decided)
    }
    /// reworked / fixed.
    pub fn rework_rate(&self) -> Option<f64> {
        ratio(self.reworked, self.fixed)
    }
    /// extended / tasks.
    pub fn extension_rate(&self) -> Option<f64> {
        ratio(self.extended, self.tasks)
    }
}

/// One responsible unit's row.
#[derive(Debug, Clone, PartialEq)]
pub struct DepartmentFigures {
    pub department_id: i64,
    pub department: String,
    /// Its tasks by task state, every state listed (zeros included).
    pub states: Vec<(TaskState, i64)>,
    pub durations: Durations,
    pub measures: TaskMeasures,
    /// Its place in the ranking; `None` when it has too few decided tasks to be ranked.
    pub rank: Option<usize>,
}

/// One category's row (also the row over every case).
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryFigures {
    /// The category code; `None` for the row over all categories.
    pub category: Option<String>,
    pub cases: i64,
    /// Its cases by case state, every state listed (zeros included).
    pub states: Vec<(CaseState, i64)>,
    pub durations: Durations,
    pub measures: TaskMeasures,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// In ranking order: ranked units first.
    pub by_department: Vec<DepartmentFigures>,
    /// In the order of `Category::ALL`, unknown codes last; only categories with cases.
    pub by_category: Vec<CategoryFigures>,
    pub overall: CategoryFigures,
}

/// Who is ranked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RankRule {
    /// Fewest decided tasks (done, or open past deadline) for a unit to be ranked.
    pub min_decided: i64,
}

impl Default for RankRule {
    fn default() -> Self {
        RankRule { min_decided: 3 }
    }
}

/// The case's four spans, each `None` when the case has not reached its end point (see the module
/// header for which times count).
pub fn case_spans(c: &CaseRecord) -> [Option<i64>; 4] {
    use CaseState::*;
    let fix_stands = matches!(c.state, Rectified | Verified | Closed);
    let verified = matches!(c.state, Verified | Closed);
    let rectified = c.last_rectified_at.filter(|_| fix_stands);
    let verified_at = c.verified_at.filter(|_| verified);
    let dispatched = c.first_dispatched_at;
    [
        dispatched.map(|d| d - c.reported_at),
        dispatched.zip(rectified).map(|(d, r)| r - d),
        rectified.zip(verified_at).map(|(r, v)| v - r),
        verified_at.map(|v| v - c.reported_at),
    ]
}

/// A task's four spans on the unit's own clock.
pub fn task_spans(t: &TaskRecord, c: &CaseRecord) -> [Option<i64>; 4] {
    let done = t.done_at.filter(|_| t.state == TaskState::Done);
    let verified = c
        .verified_at
        .filter(|_| matches!(c.state, CaseState::Verified | CaseState::Closed));
    let done_and_verified = done.zip(verified);
    [
        Some(t.dispatched_at - c.reported_at),
        done.map(|d| d - t.dispatched_at),
        done_and_verified.map(|(d, v)| v - d),
        done_and_verified.map(|(_, v)| v - c.reported_at),
    ]
}

fn category_order(code: &str) -> (usize, String) {
    let i = Category::parse(code)
        .and_then(|c| Category::ALL.iter().position(|x| *x == c))
        .unwrap_or(Category::ALL.len());
    (i, code.to_string())
}

/// The figures of these cases and tasks as of `now_ms`. Tasks of cases not among `cases` are
/// ignored.
pub fn figures(cases: &[CaseRecord], tasks: &[TaskRecord], now_ms: i64, rule: RankRule) -> Figures {
    let by_id: HashMap<i64, &CaseRecord> = cases.iter().map(|c| (c.id, c)).collect();
    let tasks: Vec<(&TaskRecord, &CaseRecord)> = tasks
        .iter()
        .filter_map(|t| by_id.get(&t.case_id).map(|c| (t, *c)))
        .collect();

    // Categories (and the overall row), on the case's clock.
    let category_row = |category: Option<&str>| {
        let mut samples = Samples::default();
        let mut states: Vec<(CaseState, i64)> = CaseState::ALL.iter().map(|s| (*s, 0)).collect();
        let mut n = 0;
        for c in cases
            .iter()
            .filter(|c| category.is_none_or(|k| c.category == k))
        {
            n += 1;
            if let Some(s) = states.iter_mut().find(|(s, _)| *s == c.state) {
                s.1 += 1;
            }
            for (i, v) in case_spans(c).into_iter().enumerate() {
                samples.push(i, v);
            }
        }
        let mut measures = TaskMeasures::default();
        for (t, _) in tasks
            .iter()
            .filter(|(_, c)| category.is_none_or(|k| c.category == k))
        {
            measures.add(t, now_ms);
        }
        CategoryFigures {
            category: category.map(str::to_string),
            cases: n,
            states,
            durations: samples.stats(),
            measures,
        }
    };
    let mut codes: Vec<&str> = cases.iter().map(|c| c.category.as_str()).collect();
    codes.sort_by_key(|c| category_order(c));
    codes.dedup();
    let by_category = codes.into_iter().map(|c| category_row(Some(c))).collect();
    let overall = category_row(None);

    // Departments, on each unit's own clock.
    struct Unit {
        name: String,
        samples: Samples,
        states: Vec<(TaskState, i64)>,
        measures: TaskMeasures,
    }
    let mut units: BTreeMap<i64, Unit> = BTreeMap::new();
    for (t, c) in &tasks {
        let unit = units.entry(t.department_id).or_insert_with(|| Unit {
            name: t.department.clone(),
            samples: Samples::default(),
            states: TaskState::ALL.iter().map(|s| (*s, 0)).collect(),
            measures: TaskMeasures::default(),
        });
        if let Some(s) = unit.states.iter_mut().find(|(s, _)| *s == t.state) {
            s.1 += 1;
        }
        for (i, v) in task_spans(t, c).into_iter().enumerate() {
            unit.samples.push(i, v);
        }
        unit.measures.add(t, now_ms);
    }
    let mut by_department: Vec<DepartmentFigures> = units
        .into_iter()
        .map(|(department_id, u)| DepartmentFigures {
            department_id,
            department: u.name,
            states: u.states,
            durations: u.samples.stats(),
            measures: u.measures,
            rank: None,
        })
        .collect();
    rank(&mut by_department, rule);
    Figures {
        by_department,
        by_category,
        overall,
    }
}

/// `a` before `b` when `a` is present and `b` is not; `cmp` when both are.
fn present_first<T>(a: Option<T>, b: Option<T>, cmp: impl Fn(T, T) -> Ordering) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => cmp(a, b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// num/den as an exact fraction, when den > 0.
fn fraction(num: i64, den: i64) -> Option<(i64, i64)> {
    (den > 0).then_some((num, den))
}

fn fraction_cmp(a: (i64, i64), b: (i64, i64)) -> Ordering {
    (a.0 as i128 * b.1 as i128).cmp(&(b.0 as i128 * a.1 as i128))
}

/// How two ranked units compare: `Less` when `a` ranks better.
pub fn rank_cmp(a: &DepartmentFigures, b: &DepartmentFigures) -> Ordering {
    let (ma, mb) = (&a.measures, &b.measures);
    present_first(
        fraction(ma.on_time, ma.decided),
        fraction(mb.on_time, mb.decided),
        |x, y| fraction_cmp(y, x),
    )
    .then_with(|| {
        present_first(
            fraction(ma.reworked, ma.fixed),
            fraction(mb.reworked, mb.fixed),
            fraction_cmp,
        )
    })
    .then_with(|| {
        present_first(
            a.durations.dispatch_to_rectified.median_ms,
            b.durations.dispatch_to_rectified.median_ms,
            |x, y| x.cmp(&y),
        )
    })
}

/// Orders the units by the ranking rule and gives the ranked ones their place.
pub fn rank(units: &mut [DepartmentFigures], rule: RankRule) {
    let eligible = |u: &DepartmentFigures| u.measures.decided >= rule.min_decided;
    units.sort_by(|a, b| {
        eligible(b)
            .cmp(&eligible(a))
            .then_with(|| {
                if eligible(a) {
                    rank_cmp(a, b)
                } else {
                    Ordering::Equal
                }
            })
            .then_with(|| a.department.cmp(&b.department))
            .then_with(|| a.department_id.cmp(&b.department_id))
    });
    for i in 0..units.len() {
        units[i].rank = if !eligible(&units[i]) {
            None
        } else if i > 0 && rank_cmp(&units[i - 1], &units[i]) == Ordering::Equal {
            units[i - 1].rank
        } else {
            Some(i + 1)
        };
    }
}

#[cfg(test)]
mod tests;
