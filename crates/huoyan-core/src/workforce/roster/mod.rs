//! The roster engine: who works which shift at which post over the next 1–14 days.
//!
//! Every evening in Daqing a dispatcher rostered 79 cadres to 13 sampling points by phone, around
//! their blockers. This module does it in a second and re-plans when a blocker comes in at 21:00,
//! moving as few people as possible.
//!
//! # Hard rules (never broken; [`evaluate`] refuses an assignment that breaks one)
//! - a person works only on days without a blocker;
//! - at most one shift per person per day;
//! - at least `rules.min_rest_minutes` between the end of one shift and the start of the next;
//! - at most `person.max_minutes_per_week` per week (days 0–6, 7–13 of the horizon);
//! - the person has every skill the shift requires;
//! - the post is within the person's reach (same community, same subdistrict, or a distance);
//! - no shift gets more people than its headcount.
//!
//! # Objective (minimised, integer, every term linear or a convex square so CP-SAT or a MIP can
//! model exactly the same function; [`Weights`] holds the defaults)
//! | term | cost | default weight |
//! | --- | --- | --- |
//! | `unfilled` | per headcount place left empty | 10 000 |
//! | `early_fairness` | per person, (number of early shifts)² — spreads early shifts over people | 10 |
//! | `consecutive_early` | per person and pair of consecutive days both early — spreads them over days | 30 |
//! | `early_avoid` | per early shift of someone who asked to avoid them (the bad backs) | 200 |
//! | `group_split` | per (branch group, day, post) the group works at: a group together costs 1 a day, each extra post 1 more | 50 |
//! | `day_off` | per shift on a day the person asked off | 300 |
//! | `distance` | per started 100 m from home to post, per shift | 1 |
//! | `changes` | per assignment added or dropped against the previous roster (re-planning) | 1 000 |
//!
//! A shift is early when it starts before `rules.early_before_minute` (06:00) of its day.
//! Coverage dwarfs everything else: no combination of other terms a single extra person can bring
//! outweighs one filled place.
//!
//! # Method
//! Greedy construction (scarcest shifts first, cheapest person by the exact objective delta), then
//! simulated annealing over compound moves (fill, relocate, replace, swap on one day or across
//! two, eject-and-refill, a short ejection chain to fill a vacancy, two branch groups trading
//! posts for a day) with an exact incremental objective; one move in 500 is a
//! large-neighbourhood repair that frees a branch group (or two) for a day, or two or three
//! interchangeable people over three days (or their whole week when small enough), and
//! re-assigns them by exhaustive branch and bound.
//! No flow or MIP crate on crates.io handles the squares, rest and group terms together and
//! builds here without a native solver, so the search is our own. Re-planning starts from the
//! previous roster, keeps the pins fixed and anneals at a low temperature, so it stays close to
//! what people were told.
//! Deterministic for a seed when the options give no time limit.

mod flat;
pub mod generate;
mod model;
mod search;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use flat::{FlatModel, FlatPerson, FlatShift, FlatVar, flatten};

/// Minutes from the start of the horizon (00:00 of day 0, city time).
pub type Minute = u32;

pub const MINUTES_PER_DAY: u32 = 1440;
/// Longest horizon the engine accepts, in days.
pub const MAX_DAYS: u16 = 14;

crate::coded_enum!(
    /// Why a person cannot work a day: the dispatcher's usual list.
    BlockerReason {
        BuildingSealed = "building_sealed", "单元封闭", "Building sealed";
        NoPass = "no_pass", "没有通行证", "No exit pass";
        RoadClosed = "road_closed", "社区封道", "Community road closed";
        Unreachable = "unreachable", "联系不上", "Cannot be reached";
        Sick = "sick", "生病", "Sick";
        Other = "other", "其他", "Other";
    }
);

/// A place on a local plane (metres east and north of a city origin) with its region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    pub x_m: i32,
    pub y_m: i32,
    pub community: String,
    pub subdistrict: String,
}

impl Place {
    pub fn distance_m(&self, other: &Place) -> u32 {
        let dx = f64::from(self.x_m) - f64::from(other.x_m);
        let dy = f64::from(self.y_m) - f64::from(other.y_m);
        // Rounded so the same pair always gives the same integer on every platform.
        dx.hypot(dy).round() as u32
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocker {
    pub day: u16,
    pub reason: BlockerReason,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub id: String,
    #[serde(default)]
    pub skills: Vec<String>,
    pub home: Place,
    /// Days the person cannot work, with the reason.
    #[serde(default)]
    pub blockers: Vec<Blocker>,
    /// Days the person asked off (soft).
    #[serde(default)]
    pub off_requests: Vec<u16>,
    pub max_minutes_per_week: u32,
    /// Branch group (temporary party branch or volunteer group) the person belongs to.
    #[serde(default)]
    pub group: Option<String>,
    /// Asked to avoid early shifts (health); soft.
    #[serde(default)]
    pub avoid_early: bool,
}

/// A post: a place and a job there (e.g. code scanning at sampling point 3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    pub id: String,
    pub name: String,
    pub place: Place,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shift {
    pub id: String,
    pub post: String,
    pub day: u16,
    pub start: Minute,
    pub end: Minute,
    pub headcount: u16,
    #[serde(default)]
    pub skills: Vec<String>,
}

/// How far a person may be sent from home.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Reach {
    SameCommunity,
    SameSubdistrict,
    WithinMetres { metres: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rules {
    /// Horizon length in days (1–14).
    pub days: u16,
    pub min_rest_minutes: u32,
    pub reach: Reach,
    /// Minute of the day before which a shift start counts as early (360 = 06:00).
    pub early_before_minute: u32,
}

/// Weights of the objective's terms; see the module header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Weights {
    pub unfilled: i64,
    pub early_square: i64,
    pub consecutive_early: i64,
    pub early_avoid: i64,
    pub group_split: i64,
    pub day_off: i64,
    pub distance_per_100m: i64,
    pub change: i64,
}

impl Default for Weights {
    fn default() -> Self {
        Self {
            unfilled: 10_000,
            early_square: 10,
            consecutive_early: 30,
            early_avoid: 200,
            group_split: 50,
            day_off: 300,
            distance_per_100m: 1,
            change: 1_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Assignment {
    pub person: String,
    pub shift: String,
}

impl Assignment {
    pub fn new(person: impl Into<String>, shift: impl Into<String>) -> Self {
        Self {
            person: person.into(),
            shift: shift.into(),
        }
    }
}

/// An assignment the re-plan must keep (already worked, or fixed by the dispatcher).
pub type Pin = Assignment;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterProblem {
    pub rules: Rules,
    #[serde(default)]
    pub weights: Weights,
    pub people: Vec<Person>,
    pub posts: Vec<Post>,
    pub shifts: Vec<Shift>,
    /// The previous roster when re-planning: the `changes` term counts against it. `None` for
    /// a fresh plan, which has nothing to change.
    #[serde(default)]
    pub baseline: Option<Vec<Assignment>>,
}

/// The objective split by term (weighted costs); `total` is their sum.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breakdown {
    pub unfilled_places: u32,
    pub unfilled: i64,
    pub early_fairness: i64,
    pub consecutive_early: i64,
    pub early_avoid: i64,
    pub group_split: i64,
    pub day_off: i64,
    pub distance: i64,
    pub changes: i64,
    pub total: i64,
}

impl Breakdown {
    pub fn terms_sum(&self) -> i64 {
        self.unfilled
            + self.early_fairness
            + self.consecutive_early
            + self.early_avoid
            + self.group_split
            + self.day_off
            + self.distance
            + self.changes
    }
}

crate::coded_enum!(
    /// The first rule, in this order, that leaves an unfilled place short.
    ShortReason {
        NobodyAvailable = "nobody_available", "无人可用", "Nobody available that day";
        NobodyWithSkill = "nobody_with_skill", "无人具备技能", "Nobody available has the skill";
        NobodyInReach = "nobody_in_reach", "无人在范围内", "Nobody able is within reach";
        HoursSpent = "hours_spent", "工时已满", "Everyone able has spent their weekly hours";
        AllBusy = "all_busy", "均已排班", "Everyone able is on another shift or needs rest";
    }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shortfall {
    pub shift: String,
    pub missing: u16,
    pub reason: ShortReason,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Solution {
    pub assignments: Vec<Assignment>,
    pub breakdown: Breakdown,
    pub shortfalls: Vec<Shortfall>,
    pub iterations: u64,
}

#[derive(Debug, Clone)]
pub struct SolveOptions {
    pub seed: u64,
    /// Wall-clock budget; `None` makes the run deterministic (only `max_iterations` stops it).
    pub time_limit: Option<Duration>,
    pub max_iterations: u64,
    /// Shared with whoever watches the run: its progress, and a way to stop it early.
    pub control: Option<Arc<Control>>,
}

impl Default for SolveOptions {
    fn default() -> Self {
        Self {
            seed: 1,
            time_limit: Some(Duration::from_secs(2)),
            max_iterations: u64::MAX,
            control: None,
        }
    }
}

/// A running plan seen from another thread: how far its budget is spent, and a stop switch.
/// A stopped run still returns the best roster found so far; the caller decides whether to keep it.
#[derive(Debug, Default)]
pub struct Control {
    stopped: AtomicBool,
    permille: AtomicU32,
}

impl Control {
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Relaxed);
    }

    pub fn stopped(&self) -> bool {
        self.stopped.load(Ordering::Relaxed)
    }

    /// Share of the budget spent, 0 to 1000.
    pub fn permille(&self) -> u32 {
        self.permille.load(Ordering::Relaxed)
    }

    pub(crate) fn report(&self, fraction: f64) {
        self.permille.store(
            (fraction.clamp(0.0, 1.0) * 1000.0) as u32,
            Ordering::Relaxed,
        );
    }
}

/// Bad input, named by field and item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RosterError {
    #[error("rules.days: must be between 1 and {MAX_DAYS}, got {0}")]
    BadHorizon(u16),
    #[error("rules.early_before_minute: must be below 1440, got {0}")]
    BadEarlyMinute(u32),
    #[error("rules.min_rest_minutes: must be at most 2880, got {0}")]
    BadRest(u32),
    #[error("weights.{0}: must not be negative")]
    NegativeWeight(&'static str),
    #[error("people[{0}].id: duplicate id")]
    DuplicatePerson(String),
    #[error("posts[{0}].id: duplicate id")]
    DuplicatePost(String),
    #[error("shifts[{0}].id: duplicate id")]
    DuplicateShift(String),
    #[error("shifts[{shift}].post: no post {post}")]
    UnknownPost { shift: String, post: String },
    #[error("shifts[{0}].end: the shift ends before or when it starts")]
    ShiftEndsBeforeStart(String),
    #[error("shifts[{0}].end: a shift may last at most 24 hours")]
    ShiftTooLong(String),
    #[error("shifts[{0}].day: outside the horizon")]
    ShiftDayOutsideHorizon(String),
    #[error("shifts[{0}].start: does not fall on the shift's day")]
    ShiftStartNotOnDay(String),
    #[error("shifts[{0}].headcount: must be at least 1")]
    ZeroHeadcount(String),
    #[error("people[{person}].blockers: day {day} is outside the horizon")]
    BlockerOutsideHorizon { person: String, day: u16 },
    #[error("people[{person}].off_requests: day {day} is outside the horizon")]
    OffRequestOutsideHorizon { person: String, day: u16 },
    #[error("people[{0}].max_minutes_per_week: must be at most 10080")]
    BadMaxMinutes(String),
    #[error("{field}: no person {id}")]
    UnknownPerson { field: &'static str, id: String },
    #[error("{field}: no shift {id}")]
    UnknownShift { field: &'static str, id: String },
    #[error("pins: {0}")]
    PinBreaksRule(Violation),
}

/// A roster that breaks a hard rule, naming the person and shift.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    #[error("assignment: no person {0}")]
    UnknownPerson(String),
    #[error("assignment: no shift {0}")]
    UnknownShift(String),
    #[error("{person} on {shift}: assigned twice")]
    Duplicate { person: String, shift: String },
    #[error("{person} on {shift}: blocked that day")]
    Blocked { person: String, shift: String },
    #[error("{person} on {shift}: lacks skill {skill}")]
    MissingSkill {
        person: String,
        shift: String,
        skill: String,
    },
    #[error("{person} on {shift}: post out of reach")]
    OutOfReach { person: String, shift: String },
    #[error("{person} on {shift}: already on {other} that day")]
    TwoShiftsOneDay {
        person: String,
        shift: String,
        other: String,
    },
    #[error("{person} on {shift}: less than the minimum rest after or before {other}")]
    RestTooShort {
        person: String,
        shift: String,
        other: String,
    },
    #[error("{person}: more than the weekly maximum in week {week}")]
    WeeklyHoursExceeded { person: String, week: u16 },
    #[error("{shift}: more people than its headcount")]
    OverHeadcount { shift: String },
    #[error("problem: {0}")]
    BadProblem(Box<RosterError>),
}

/// Scores a roster with the one evaluator the solver, the tests and the benchmark share.
pub fn evaluate(
    problem: &RosterProblem,
    assignments: &[Assignment],
) -> Result<Breakdown, Violation> {
    let m = model::Model::new(problem).map_err(|e| Violation::BadProblem(Box::new(e)))?;
    let pairs = m.resolve(assignments)?;
    m.check(&pairs)?;
    Ok(m.score(&pairs))
}

/// Checks the problem and returns the first error naming the bad field, or `Ok`.
pub fn validate(problem: &RosterProblem) -> Result<(), RosterError> {
    model::Model::new(problem).map(|_| ())
}

/// Plans the whole horizon from scratch.
pub fn solve(problem: &RosterProblem, opts: &SolveOptions) -> Result<Solution, RosterError> {
    let m = model::Model::new(problem)?;
    Ok(search::run(&m, &[], &[], opts))
}

/// Re-plans after a change: `pins` are kept, the rest of `previous` is kept where the new input
/// still allows it, and every assignment added or dropped against `previous` costs
/// `weights.change`. Assignments of `previous` naming people or shifts that no longer exist are
/// dropped (and counted as changes).
pub fn replan(
    problem: &RosterProblem,
    previous: &[Assignment],
    pins: &[Pin],
    opts: &SolveOptions,
) -> Result<Solution, RosterError> {
    let mut p = problem.clone();
    // Nothing published yet: nothing to change, and no place counted as a change.
    p.baseline = (!previous.is_empty()).then(|| previous.to_vec());
    let m = model::Model::new(&p)?;
    let pins = m.resolve_named(pins, "pins")?;
    m.check(&pins).map_err(RosterError::PinBreaksRule)?;
    let warm: Vec<(u32, u32)> = m.baseline_pairs().collect();
    Ok(search::run(&m, &pins, &warm, opts))
}
