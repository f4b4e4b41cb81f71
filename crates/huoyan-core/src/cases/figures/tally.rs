//! The figures as running tallies, kept by the write path so that reading them does not rescan
//! history. Each case adds to the tallies of its day of report and category: once under slot 0
//! (the case's own clock and every unit's tasks) and once under each unit that has a task on it
//! (the cases of that unit, on the case's clock, and that unit's tasks on its own clock). A step
//! takes the case's old contribution out and puts the new one in.
//!
//! What depends on the moment of reading — an open task already past its deadline counts as
//! decided and overdue — is not tallied: the reader counts those open tasks (`OpenOverdue`) and
//! `figures_of` adds them. Counts equal the full computation's (`super::figures`); durations are
//! read from sketches, within `sketch::RELATIVE_ERROR`.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::sketch::Sketch;
use super::{
    CaseRecord, CategoryFigures, DepartmentFigures, Durations, Figures, RankRule, Stat,
    TaskMeasures, TaskRecord, case_spans, category_order, rank, task_spans,
};
use crate::cases::{CaseState, TaskState};

/// The slot of the case's own clock and all its units' tasks.
pub const ALL_UNITS: i64 = 0;

/// One key's running figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    pub cases: i64,
    /// Cases by state, in `CaseState::ALL`'s order.
    pub case_states: Vec<i64>,
    /// The cases' four spans on their own clock.
    pub case_spans: [Sketch; 4],
    /// Tasks by state, in `TaskState::ALL`'s order (a unit's slot only).
    pub task_states: Vec<i64>,
    /// The unit's tasks' four spans on its clock (a unit's slot only).
    pub task_spans: [Sketch; 4],
    /// The measures' counts that do not depend on when they are read: decided and overdue hold
    /// done tasks only.
    pub measures: TaskMeasures,
}

fn bump(v: &mut Vec<i64>, len: usize, i: usize, n: i64) {
    v.resize(len.max(v.len()), 0);
    v[i] += n;
}

impl Tally {
    /// Adds `other` times `sign` (1 or −1).
    pub fn merge(&mut self, other: &Tally, sign: i64) {
        self.cases += other.cases * sign;
        for (i, n) in other.case_states.iter().enumerate() {
            bump(&mut self.case_states, CaseState::ALL.len(), i, n * sign);
        }
        for (i, n) in other.task_states.iter().enumerate() {
            bump(&mut self.task_states, TaskState::ALL.len(), i, n * sign);
        }
        for i in 0..4 {
            self.case_spans[i].merge(&other.case_spans[i], sign);
            self.task_spans[i].merge(&other.task_spans[i], sign);
        }
        self.measures.merge(&other.measures, sign);
    }

    /// Nothing counted (what is left of a key whose cases all moved elsewhere).
    pub fn is_empty(&self) -> bool {
        self.cases == 0
            && self.case_states.iter().all(|n| *n == 0)
            && self.task_states.iter().all(|n| *n == 0)
            && self.case_spans.iter().all(Sketch::is_empty)
            && self.task_spans.iter().all(Sketch::is_empty)
            && self.measures == TaskMeasures::default()
    }

    fn add_case(&mut self, c: &CaseRecord) {
        self.cases += 1;
        if let Some(i) = CaseState::ALL.iter().position(|s| *s == c.state) {
            bump(&mut self.case_states, CaseState::ALL.len(), i, 1);
        }
        for (i, v) in case_spans(c).into_iter().enumerate() {
            if let Some(v) = v {
                self.case_spans[i].add(v, 1);
            }
        }
    }

    fn add_task(&mut self, t: &TaskRecord, c: &CaseRecord, own_clock: bool) {
        self.measures.add_settled(t);
        if own_clock {
            if let Some(i) = TaskState::ALL.iter().position(|s| *s == t.state) {
                bump(&mut self.task_states, TaskState::ALL.len(), i, 1);
            }
            for (i, v) in task_spans(t, c).into_iter().enumerate() {
                if let Some(v) = v {
                    self.task_spans[i].add(v, 1);
                }
            }
        }
    }
}

/// What case `c` with its `tasks` adds, by slot: `ALL_UNITS`, then each unit with a task on it.
pub fn contribution(c: &CaseRecord, tasks: &[TaskRecord]) -> BTreeMap<i64, Tally> {
    let mut out = BTreeMap::new();
    let all: &mut Tally = out.entry(ALL_UNITS).or_default();
    all.add_case(c);
    for t in tasks {
        all.add_task(t, c, false);
    }
    for t in tasks {
        let unit: &mut Tally = out.entry(t.department_id).or_insert_with(|| {
            let mut u = Tally::default();
            u.add_case(c);
            u
        });
        unit.add_task(t, c, true);
    }
    out
}

/// Open tasks past their deadline when the figures are read: by the category of their case and
/// their unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenOverdue {
    pub category: String,
    pub department_id: i64,
    pub tasks: i64,
}

fn stat(s: &Sketch) -> Stat {
    Stat {
        n: s.count().max(0) as usize,
        median_ms: s.quantile(0.5),
        p90_ms: s.quantile(0.9),
    }
}

fn durations(spans: &[Sketch; 4]) -> Durations {
    Durations {
        report_to_dispatch: stat(&spans[0]),
        dispatch_to_rectified: stat(&spans[1]),
        rectified_to_verified: stat(&spans[2]),
        report_to_verified: stat(&spans[3]),
    }
}

/// The figures of summed tallies: `categories` holds, per category, the tally of the slot the
/// reader's filter selects (`ALL_UNITS`, or the one unit it is confined to); `units` each unit's
/// own slot summed over categories; `open` the open overdue tasks the filter selects; `names`
/// the units' names. The same rows, in the same order, as `super::figures` over the same cases.
pub fn figures_of(
    categories: &BTreeMap<String, Tally>,
    units: &BTreeMap<i64, Tally>,
    open: &[OpenOverdue],
    names: &HashMap<i64, String>,
    rule: RankRule,
) -> Figures {
    let states = |v: &[i64]| -> Vec<(CaseState, i64)> {
        CaseState::ALL
            .iter()
            .enumerate()
            .map(|(i, s)| (*s, v.get(i).copied().unwrap_or(0)))
            .collect()
    };
    let row = |category: Option<String>, t: &Tally, extra: i64| {
        let mut measures = t.measures;
        measures.add_late(extra);
        CategoryFigures {
            category,
            cases: t.cases,
            states: states(&t.case_states),
            durations: durations(&t.case_spans),
            measures,
        }
    };
    let mut codes: Vec<&String> = categories
        .iter()
        .filter(|(_, t)| t.cases > 0)
        .map(|(c, _)| c)
        .collect();
    codes.sort_by_key(|c| category_order(c));
    let late_in = |category: Option<&str>| -> i64 {
        open.iter()
            .filter(|o| category.is_none_or(|c| o.category == c))
            .map(|o| o.tasks)
            .sum()
    };
    let by_category = codes
        .iter()
        .map(|c| row(Some((*c).clone()), &categories[*c], late_in(Some(c))))
        .collect();
    let mut total = Tally::default();
    for t in categories.values() {
        total.merge(t, 1);
    }
    let overall = row(None, &total, late_in(None));
    let mut by_department: Vec<DepartmentFigures> = units
        .iter()
        .filter(|(_, t)| t.measures.tasks > 0)
        .map(|(&id, t)| {
            let mut measures = t.measures;
            measures.add_late(
                open.iter()
                    .filter(|o| o.department_id == id)
                    .map(|o| o.tasks)
                    .sum(),
            );
            DepartmentFigures {
                department_id: id,
                department: names.get(&id).cloned().unwrap_or_default(),
                states: TaskState::ALL
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (*s, t.task_states.get(i).copied().unwrap_or(0)))
                    .collect(),
                durations: durations(&t.task_spans),
                measures,
                rank: None,
            }
        })
        .collect();
    rank(&mut by_department, rule);
    Figures {
        by_department,
        by_category,
        overall,
    }
}

#[cfg(test)]
mod tests {
    use super::super::figures;
    use super::*;
    use proptest::prelude::*;

    const H: i64 = 3_600_000;

    fn arb_case(id: i64) -> impl Strategy<Value = (CaseRecord, Vec<TaskRecord>)> {
        (
            0usize..CaseState::ALL.len(),
            prop::sample::select(vec!["supplies", "testing", "zone"]),
            0i64..100 * H,
            proptest::option::of(1i64..10 * H),
            proptest::option::of(1i64..30 * H),
            proptest::option::of(1i64..10 * H),
            proptest::collection::vec(
                (
                    1i64..4,
                    0usize..TaskState::ALL.len(),
                    0i64..5 * H,
                    1i64..40 * H,
                    proptest::option::of(1i64..40 * H),
                    0i64..3,
                    0i64..3,
                    0i64..3,
                ),
                0..4,
            ),
        )
            .prop_map(move |(s, cat, at, d, r, v, tasks)| {
                let dispatched = d.map(|d| at + d);
                let rectified = dispatched.zip(r).map(|(d, r)| d + r);
                let c = CaseRecord {
                    id,
                    category: cat.into(),
                    state: CaseState::ALL[s],
                    reported_at: at,
                    first_dispatched_at: dispatched,
                    last_rectified_at: rectified,
                    verified_at: rectified.zip(v).map(|(r, v)| r + v),
                };
                let tasks = tasks
                    .into_iter()
                    .map(|(dept, st, after, due, done, ext, rw, urges)| {
                        let from = dispatched.unwrap_or(at) + after;
                        TaskRecord {
                            case_id: id,
                            department_id: dept,
                            department: format!("unit {dept}"),
                            state: TaskState::ALL[st],
                            dispatched_at: from,
                            due_at: from + due,
                            done_at: done.map(|d| from + d),
                            extensions: ext,
                            reworks: rw,
                            urges,
                        }
                    })
                    .collect();
                (c, tasks)
            })
    }

    fn within(a: Option<i64>, b: Option<i64>) -> bool {
        match (a, b) {
            (Some(a), Some(b)) => {
                (a - b).abs() as f64 <= super::super::sketch::RELATIVE_ERROR * b.abs() as f64 + 1.0
            }
            (a, b) => a == b,
        }
    }

    fn close(a: &Durations, b: &Durations) -> bool {
        [
            (a.report_to_dispatch, b.report_to_dispatch),
            (a.dispatch_to_rectified, b.dispatch_to_rectified),
            (a.rectified_to_verified, b.rectified_to_verified),
            (a.report_to_verified, b.report_to_verified),
        ]
        .iter()
        .all(|(x, y)| x.n == y.n && within(x.median_ms, y.median_ms) && within(x.p90_ms, y.p90_ms))
    }

    proptest! {
        #[test]
        fn tallies_read_what_the_full_computation_reads(
            cases in proptest::collection::vec(arb_case(0), 0..40),
            now in 0i64..200 * H,
        ) {
            let cases: Vec<(CaseRecord, Vec<TaskRecord>)> = cases
                .into_iter()
                .enumerate()
                .map(|(i, (mut c, mut ts))| {
                    c.id = i as i64 + 1;
                    for t in &mut ts {
                        t.case_id = c.id;
                    }
                    (c, ts)
                })
                .collect();
            let records: Vec<CaseRecord> = cases.iter().map(|(c, _)| c.clone()).collect();
            let tasks: Vec<TaskRecord> = cases.iter().flat_map(|(_, t)| t.clone()).collect();
            let full = figures(&records, &tasks, now, RankRule::default());

            let (mut categories, mut units) = (BTreeMap::<String, Tally>::new(), BTreeMap::<i64, Tally>::new());
            for (c, ts) in &cases {
                for (slot, t) in contribution(c, ts) {
                    if slot == ALL_UNITS {
                        categories.entry(c.category.clone()).or_default().merge(&t, 1);
                    } else {
                        units.entry(slot).or_default().merge(&t, 1);
                    }
                }
            }
            let open: Vec<OpenOverdue> = tasks
                .iter()
                .filter(|t| t.state.is_open() && now > t.due_at)
                .map(|t| OpenOverdue {
                    category: records.iter().find(|c| c.id == t.case_id).unwrap().category.clone(),
                    department_id: t.department_id,
                    tasks: 1,
                })
                .collect();
            let names = (1..4).map(|d| (d, format!("unit {d}"))).collect();
            let read = figures_of(&categories, &units, &open, &names, RankRule::default());

            prop_assert_eq!(read.by_category.len(), full.by_category.len());
            for (a, b) in read.by_category.iter().chain([&read.overall]).zip(full.by_category.iter().chain([&full.overall])) {
                prop_assert_eq!(&a.category, &b.category);
                prop_assert_eq!(a.cases, b.cases);
                prop_assert_eq!(&a.states, &b.states);
                prop_assert_eq!(a.measures, b.measures);
                prop_assert!(close(&a.durations, &b.durations));
            }
            let key = |f: &Figures| -> BTreeMap<i64, (Vec<(TaskState, i64)>, TaskMeasures)> {
                f.by_department.iter().map(|u| (u.department_id, (u.states.clone(), u.measures))).collect()
            };
            prop_assert_eq!(key(&read), key(&full));
            for u in &read.by_department {
                let f = full.by_department.iter().find(|x| x.department_id == u.department_id).unwrap();
                prop_assert!(close(&u.durations, &f.durations));
            }
            // Taking every case out again leaves nothing.
            for (c, ts) in &cases {
                for (slot, t) in contribution(c, ts) {
                    if slot == ALL_UNITS {
                        categories.get_mut(&c.category).unwrap().merge(&t, -1);
                    } else {
                        units.get_mut(&slot).unwrap().merge(&t, -1);
                    }
                }
            }
            prop_assert!(categories.values().chain(units.values()).all(Tally::is_empty));
        }
    }
}
