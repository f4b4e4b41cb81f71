//! The scenario's cases: about 300 problems and suggestions reported between the control order
//! (2022-08-20 20:00, Beijing time) and the evening of 2022-09-05, each with its whole history.
//!
//! Each case is *walked* through the real rules of `huoyan_core::cases` — `transition` for the
//! role and order of every step, `dispatch`, `department_step`, `case_state` and `rework` for the
//! units' tasks — in the same way `cases::workflow::act` walks a live request, so the demo holds
//! no history the system would have refused. Time is the scenario's: every step happens at an
//! explicit historical instant, and a case stops where the snapshot does ([`SNAPSHOT`]), so
//! the last days leave a tail of open cases in every state. Escalations are written as the
//! overdue job would have written them (at the first minute tick after a deadline passed, with no
//! actor), with their notices to the group and the commander, read since. A task still open at
//! the snapshot whose deadline had not passed by then is left to the live job: in real time it is
//! long overdue, so a served demo escalates it at its first minute. Deadlines follow the default
//! policy, whatever a served demo's configuration says (they were set in 2022).
//!
//! The scenario's pace shapes the data: the first week's reports come from supervision teams, the
//! hotline and residents, until every cadre became the supervisor of their compound on 08-29;
//! drones fly from 08-31 08:00. Static control and supplies dominate the first days, assistance
//! and vendors the last. Each department has its own speed, so their on-time rates differ.
//!
//! The walk decides every step with `huoyan_core::cases::step` — the same function the API's
//! steps go through — and the history is then written by replaying it, in time order, through
//! the application's own functions: each report filed by the intake (`cases::intake::file_in`),
//! each step taken by `cases::take`, each minute the overdue job would have found something by
//! `cases::overdue::sweep_in`, all at their historical times and by their historical actors, in
//! one change. So the rows, the timelines, the notices and one audit event per step are exactly
//! what the system would have written, and a change to its rules that the demo's history breaks
//! stops the demo from loading. Generated cases (`--cases N`, a million for measuring) are
//! written by `cases::bulk` instead: the same decisions on the cases held in memory, the same
//! rows many to a statement (a test compares the two writers' databases row by row).

pub(super) mod photos;
mod plan;
mod replay;
mod setup;
mod stories;
mod walk;
mod words;

use std::collections::HashMap;

use huoyan_core::auth::{Role, Scope};
use huoyan_core::cases::step::{self as rules, CaseNow, CoUnit, MergeInto, TaskNow};
use huoyan_core::cases::{
    Action, CaseState, Category, DeadlinePolicy, EvidencePolicy, Kind, Priority, Share, Source,
    TaskState,
};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use sqlx::Row;

use self::plan::plan_and_walk;
pub use self::replay::Replay;
use self::replay::replay;
use self::setup::{logins, world};
use self::stories::{Place, STORIES, Story};
use super::Loader;
use crate::audit::{Actor, Change};
use crate::auth::accounts::{self, NewAccount};
use crate::auth::password::{self, DEMO_PASSWORD};
use crate::db::Db;
use crate::org::people;

/// The cases' own generator, so that adding them shifts nothing else the demo makes.
const SEED: u64 = 2022_0905;
pub(super) const MIN: i64 = 60_000;
pub(super) const HOUR: i64 = 60 * MIN;

/// An instant of the scenario, written with its zone.
pub(super) fn bj(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s)
        .expect("scenario times are valid")
        .timestamp_millis()
}

/// Order No. 9 took effect.
fn start() -> i64 {
    bj("2022-08-20T20:00:00+08:00")
}

/// The moment the demo's data shows: whatever would have happened later has not happened yet.
pub const SNAPSHOT: &str = "2022-09-05T20:00:00+08:00";

/// Reports per day from 08-20 (its evening only) to 09-05: a first surge, a lull, and the jump
/// when 280 cadres became compound supervisors on 08-29.
const PER_DAY: [u32; 17] = [
    3, 10, 12, 12, 11, 10, 9, 8, 8, 30, 33, 31, 27, 23, 20, 16, 16,
];

/// Hour-of-day weights (Beijing) of reports.
const HOURS: [u32; 24] = [
    1, 1, 1, 1, 2, 4, 8, 10, 10, 9, 8, 7, 6, 6, 6, 6, 6, 7, 8, 8, 7, 5, 3, 2,
];

fn beijing_hour(ms: i64) -> i64 {
    (ms + 8 * HOUR).div_euclid(HOUR).rem_euclid(24)
}

/// A deadline as people write it: 9月1日14:00.
fn deadline_text(ms: i64) -> String {
    use chrono::TimeZone;
    chrono::FixedOffset::east_opt(8 * 3600)
        .expect("valid offset")
        .timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%-m月%-d日%H:%M").to_string())
        .unwrap_or_default()
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn one(rng: &mut StdRng, texts: &[&'static str]) -> &'static str {
    texts[rng.random_range(0..texts.len())]
}

fn weighted(rng: &mut StdRng, weights: &[u32]) -> usize {
    let total: u32 = weights.iter().sum();
    let mut x = rng.random_range(0..total.max(1));
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

/// A log-normal draw around `median` (most durations people take are skewed so).
fn lognormal(rng: &mut StdRng, median: f64, sigma: f64) -> f64 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random_range(0.0..1.0);
    let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    median * (sigma * z).exp()
}

/// How long a person takes to get to something, in ms: longer in the small hours.
fn delay(rng: &mut StdRng, at: i64, median_min: f64, sigma: f64) -> i64 {
    let night = if (0..6).contains(&beijing_hour(at)) {
        2.5
    } else {
        1.0
    };
    ((lognormal(rng, median_min, sigma) * night).max(2.0) * MIN as f64) as i64
}

/// How a department works: minutes to accept, the share of the deadline its fix takes, the chance
/// its fix fails re-inspection and the chance it asks for more time when it runs late.
#[derive(Debug, Clone, Copy)]
struct Pace {
    accept_min: f64,
    share: f64,
    rework: f64,
    extension: f64,
}

fn pace(name: &str) -> Pace {
    let p = |accept_min, share, rework, extension| Pace {
        accept_min,
        share,
        rework,
        extension,
    };
    match name {
        "格林社区居委会" => p(15.0, 0.25, 0.05, 0.3),
        "香逸社区居委会" => p(30.0, 0.4, 0.08, 0.4),
        "唯美社区居委会" => p(20.0, 0.3, 0.05, 0.3),
        "米兰社区居委会" => p(60.0, 0.7, 0.15, 0.5),
        "兰德社区居委会" => p(25.0, 0.35, 0.08, 0.4),
        "月亮湾社区居委会" => p(45.0, 0.5, 0.1, 0.4),
        // The high-risk compound's community carried the heaviest load.
        "景程社区居委会" => p(40.0, 0.7, 0.15, 0.6),
        "毅腾商都社区" => p(30.0, 0.4, 0.1, 0.3),
        "大庆市公安局萨尔图分局" => p(10.0, 0.15, 0.03, 0.2),
        "大庆市公安局高新区分局" => p(12.0, 0.18, 0.04, 0.2),
        "大庆市市场监督管理局" => p(50.0, 0.5, 0.1, 0.6),
        "景程小区物业服务中心" => p(60.0, 0.8, 0.25, 0.3),
        "大庆市卫生健康委员会" => p(40.0, 0.45, 0.08, 0.5),
        "萨尔图区疾病预防控制中心" => p(15.0, 0.2, 0.05, 0.3),
        "大庆市商务局" => p(45.0, 0.6, 0.1, 0.7),
        _ => p(30.0, 0.4, 0.08, 0.4),
    }
}

struct Dept {
    id: i64,
    name: String,
    kind: String,
    account: i64,
    pace: Pace,
}

struct Compound {
    id: i64,
    name: String,
    /// The community office (a department), where the demo has one.
    office: Option<usize>,
    /// In the High-tech Zone (its police is the High-tech branch).
    gaoxin: bool,
    /// In Sartu (its testing is the Sartu CDC's).
    sartu: bool,
    outline: geojson::Geometry,
    supervisor: i64,
    sampling: Vec<String>,
    gates: &'static [&'static str],
    buildings: u32,
}

/// The accounts that act on cases.
struct Cast {
    office: i64,
    group: i64,
    pilot: i64,
    inspectors: Vec<i64>,
}

/// A note that names cases by their index among the generated ones; ids are known only once
/// written, so `⟦n⟧` stands for case n's id until then.
fn case_ref(i: usize) -> String {
    format!("#⟦{i}⟧")
}

fn resolve(note: &str, ids: &[i64]) -> String {
    let mut out = String::with_capacity(note.len());
    let mut rest = note;
    while let Some(open) = rest.find('⟦') {
        out.push_str(&rest[..open]);
        let after = &rest[open + '⟦'.len_utf8()..];
        let close = after.find('⟧').expect("references are closed");
        let i: usize = after[..close].parse().expect("references are indices");
        out.push_str(&ids[i].to_string());
        rest = &after[close + '⟧'.len_utf8()..];
    }
    out.push_str(rest);
    out
}

struct Event {
    at: i64,
    to: CaseState,
}

/// What one step needs beyond its action.
#[derive(Clone)]
enum Step {
    Plain,
    Dispatch {
        lead: i64,
        due: i64,
        co: Vec<(i64, String, i64)>,
    },
    Unit(i64),
    Extension {
        unit: i64,
        until: i64,
    },
    Answer(i64),
    Rework(Vec<i64>),
    /// Into the case of that index, which is open in that state and reported by that account.
    Merge(usize, CaseState, i64),
}

/// A step as walked, to be replayed through the application.
struct Planned {
    at: i64,
    actor: i64,
    action: Action,
    note: String,
    step: Step,
}

struct Sim {
    kind: Kind,
    source: Source,
    category: Category,
    priority: Priority,
    compound: usize,
    lon: f64,
    lat: f64,
    address: String,
    description: String,
    reporter: i64,
    reporter_role: Role,
    reported_at: i64,
    /// The case as the steps so far left it.
    case: CaseNow,
    tasks: Vec<TaskNow>,
    state: CaseState,
    department_id: Option<i64>,
    /// The log of what happened, for planning what happens next.
    events: Vec<Event>,
    planned: Vec<Planned>,
    /// The minutes at which the overdue job escalated one of its tasks.
    ticks: Vec<i64>,
}

impl Sim {
    fn has_open(&self, unit: i64) -> bool {
        self.tasks
            .iter()
            .any(|t| t.task.department_id == unit && t.task.state.is_open())
    }

    /// Takes one step as the API would (`huoyan_core::cases::step::decide`), or says why the
    /// rules refuse it; the step is kept for the replay.
    fn act(
        &mut self,
        at: i64,
        actor: i64,
        role: Role,
        action: Action,
        note: String,
        step: Step,
    ) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.events.last().is_none_or(|e| e.at <= at),
            "steps go forward in time"
        );
        let unit = match step {
            Step::Unit(u) | Step::Extension { unit: u, .. } => Some(u),
            _ => None,
        };
        let who = rules::Actor {
            account_id: actor,
            role,
            department_id: unit.filter(|_| role == Role::Department),
        };
        let core = match (&step, action) {
            (Step::Dispatch { lead, due, co }, _) => rules::Step::Dispatch {
                note: note.clone(),
                lead: *lead,
                due_at: Some(*due),
                co: co
                    .iter()
                    .map(|(d, instruction, due)| CoUnit {
                        department_id: *d,
                        instruction: instruction.clone(),
                        due_at: Some(*due),
                    })
                    .collect(),
            },
            (Step::Extension { until, .. }, _) => rules::Step::RequestExtension {
                note: note.clone(),
                until: *until,
            },
            (Step::Answer(unit), Action::GrantExtension) => rules::Step::GrantExtension {
                note: note.clone(),
                department_id: Some(*unit),
            },
            (Step::Answer(unit), _) => rules::Step::RefuseExtension {
                note: note.clone(),
                department_id: Some(*unit),
            },
            (Step::Rework(units), _) => rules::Step::Rework {
                note: note.clone(),
                departments: units.clone(),
            },
            (Step::Merge(target, state, reporter), _) => rules::Step::Merge {
                note: note.clone(),
                into: MergeInto {
                    id: *target as i64 + 1_000_000,
                    state: *state,
                    reporter: *reporter,
                    absorbed: Vec::new(),
                },
            },
            (_, Action::Triage) => rules::Step::Triage {
                note: note.clone(),
                category: None,
                priority: None,
            },
            (_, Action::Reject) => rules::Step::Reject { note: note.clone() },
            (_, Action::Accept) => rules::Step::Accept { note: note.clone() },
            (_, Action::SendBack) => rules::Step::SendBack { note: note.clone() },
            (_, Action::ReportFix) => rules::Step::ReportFix { note: note.clone() },
            (_, Action::Verify) => rules::Step::Verify { note: note.clone() },
            (_, Action::Close) => rules::Step::Close { note: note.clone() },
            (_, Action::FixOnSite) => rules::Step::FixOnSite { note: note.clone() },
            (_, other) => anyhow::bail!("the demo takes no {other:?} step without its inputs"),
        };
        let o = rules::decide(
            &self.case,
            &self.tasks,
            &who,
            &core,
            at,
            &DeadlinePolicy::default(),
        )
        .map_err(|e| anyhow::anyhow!("{action:?} by {role:?} from {:?}: {e}", self.state))?;
        self.adopt(o.case, o.tasks);
        self.events.push(Event { at, to: self.state });
        self.planned.push(Planned {
            at,
            actor,
            action,
            note,
            step,
        });
        Ok(())
    }

    /// The case and tasks as a step left them; the tasks a step made get ids in dispatch order,
    /// as the database gives them.
    fn adopt(&mut self, case: CaseNow, tasks: Vec<TaskNow>) {
        self.tasks = tasks
            .into_iter()
            .enumerate()
            .map(|(k, t)| TaskNow {
                id: Some(k as i64),
                ..t
            })
            .collect();
        self.state = case.state;
        self.department_id = case.department_id;
        self.case = case;
    }

    /// Escalates, as the overdue job would at its minute ticks, every open task whose deadline
    /// passed before `upto` and that was not escalated since its deadline was last set.
    fn escalate_before(&mut self, upto: i64, names: &HashMap<i64, String>) {
        loop {
            let due = self
                .tasks
                .iter()
                .filter(|t| t.task.state.is_open() && t.escalated_at.is_none())
                .map(|t| t.due_at)
                .min();
            let Some(due) = due else { return };
            // The job ticks once a minute (17 s past it here) and finds the task at its first tick
            // after the deadline passed — or after the task reopened past it (rework).
            let since = due.max(self.events.last().map_or(due, |e| e.at));
            let tick = (since - 17_000).div_euclid(MIN) * MIN + MIN + 17_000;
            if tick >= upto {
                return;
            }
            if let Some(o) = rules::escalate(&self.case, &self.tasks, tick, names) {
                self.adopt(o.case, o.tasks);
                self.events.push(Event {
                    at: tick,
                    to: self.state,
                });
                self.ticks.push(tick);
            }
        }
    }

    /// The case's state just after `at` (for the surviving case of a merge).
    fn state_at(&self, at: i64) -> CaseState {
        self.events
            .iter()
            .take_while(|e| e.at <= at)
            .last()
            .map_or(CaseState::Reported, |e| e.to)
    }

    /// When the case stopped being open, or the snapshot if it still is.
    fn open_until(&self, snapshot: i64) -> i64 {
        self.events
            .iter()
            .find(|e| e.to.is_terminal())
            .map_or(snapshot, |e| e.at)
    }
}

/// Notices of the operation were read soon after (the demo leaves none unread).
fn read_time(rng: &mut StdRng, at: i64) -> i64 {
    at + rng.random_range(3..240) * MIN
}

/// The per-case parts its texts name.
struct Parts {
    values: HashMap<&'static str, String>,
}

impl Parts {
    fn new(rng: &mut StdRng, compound: &Compound) -> Self {
        let mut v: HashMap<&'static str, String> = HashMap::new();
        let b = rng.random_range(1..=compound.buildings);
        let floors = if rng.random_bool(0.5) { 6 } else { 18 };
        let room = |rng: &mut StdRng| {
            format!(
                "{}{:02}",
                rng.random_range(1..=floors),
                rng.random_range(1..=4)
            )
        };
        let r = room(rng);
        let mut r2 = room(rng);
        while r2 == r {
            r2 = room(rng);
        }
        v.insert("b", b.to_string());
        v.insert("u", rng.random_range(1..=6).to_string());
        v.insert("r", r);
        v.insert("r2", r2);
        v.insert("g", pick(rng, compound.gates).to_string());
        v.insert("p", pick(rng, &compound.sampling).clone());
        v.insert("n", rng.random_range(12..=60).to_string());
        v.insert("k", rng.random_range(2..=5).to_string());
        v.insert("h", rng.random_range(2..=4).to_string());
        v.insert("hh", ["36", "48", "60"][rng.random_range(0..3)].to_string());
        v.insert("mm", (rng.random_range(2..=6) * 10).to_string());
        v.insert("t", pick(rng, words::TIMES).to_string());
        v.insert("d", pick(rng, words::DIRECTIONS).to_string());
        let spot = if rng.random_bool(0.3) {
            format!("{b}号楼下")
        } else {
            pick(rng, words::SPOTS).to_string()
        };
        v.insert("spot", spot);
        v.insert("i", pick(rng, words::GOODS).to_string());
        v.insert("v", pick(rng, words::VENDORS).to_string());
        v.insert("a", rng.random_range(68..=93).to_string());
        v.insert("m", pick(rng, words::MEDICINES).to_string());
        v.insert("road", pick(rng, words::ROADS).to_string());
        Parts { values: v }
    }

    fn fill(&self, template: &str) -> String {
        let mut out = String::with_capacity(template.len() + 16);
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let close = rest[open..].find('}').expect("placeholders are closed") + open;
            let key = &rest[open + 1..close];
            out.push_str(
                self.values
                    .get(key)
                    .unwrap_or_else(|| panic!("no part {key}")),
            );
            rest = &rest[close + 1..];
        }
        out.push_str(rest);
        out
    }

    fn address(&self, place: Place, text: &str) -> String {
        let v = |k: &str| self.values[k].clone();
        match place {
            Place::Building if text.contains("单元") => format!("{}号楼{}单元", v("b"), v("u")),
            Place::Building => format!("{}号楼", v("b")),
            Place::Gate => format!("{}卡口", v("g")),
            Place::SamplingPoint => v("p"),
            Place::Station => "物资保供点".into(),
            Place::Vendor => v("v"),
            Place::Compound => String::new(),
        }
    }
}

/// Where a case of the snapshot's last days is still waiting: the tail of open cases. Each is a
/// step its actor had not taken yet when the snapshot was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hold {
    None,
    /// The office has not triaged the report.
    Office,
    /// The group has not dispatched it.
    Group,
    /// The lead unit has not accepted it.
    Accept,
    /// The lead unit has not reported its fix.
    Fix,
    /// Nobody has re-inspected the fix.
    Verify,
    /// The group has not closed it.
    Close,
}

/// Now and then a step waits much longer than usual: a clerk off sick, a supervisor on a shift
/// at the sampling point, a unit short of hands. Returns the factor on the usual delay.
fn stall(rng: &mut StdRng, p: f64) -> f64 {
    if rng.random_bool(p) {
        rng.random_range(6.0..30.0)
    } else {
        1.0
    }
}

/// The group's evening round (20:00–22:30), when it closes the day's verified cases.
fn evening_round(rng: &mut StdRng, t: i64) -> i64 {
    let day = t - (t + 8 * HOUR).rem_euclid(24 * HOUR);
    let round = match beijing_hour(t) {
        h if h < 20 => day + 20 * HOUR,
        h if h < 22 => return t + rng.random_range(10..40) * MIN,
        _ => day + 44 * HOUR,
    };
    round + rng.random_range(0..150) * MIN
}

/// How a case ends, planned before it is walked (where the snapshot does not cut it first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Normal,
    FixOnSite,
    Reject,
    SendBack,
}

struct World {
    rng: StdRng,
    depts: Vec<Dept>,
    dept_names: HashMap<i64, String>,
    compounds: Vec<Compound>,
    cast: Cast,
    snapshot: i64,
}

/// Loads the scenario's cases, or with `wanted` about that many over the same days and compounds
/// in the same proportions (`huoyan demo --cases N`, for measuring at a city's scale). Generated
/// cases are planned, walked and replayed one day of reports at a time, so that a million never
/// sit in memory at once and ids still follow the time of report; returns how many.
pub(super) async fn load(
    db: &Db,
    actor: &Actor,
    l: &mut Loader,
    wanted: Option<usize>,
    how: Replay,
    report: &mut dyn FnMut(&str),
) -> anyhow::Result<usize> {
    let mut rng = StdRng::seed_from_u64(SEED);
    logins(db, actor, l, &mut rng).await?;
    let mut world = world(db, rng).await?;
    let Some(wanted) = wanted else {
        let sims = plan_and_walk(&mut world, 1.0, 0..PER_DAY.len())?;
        replay(db, &mut world, &sims, Replay::Steps).await?;
        return Ok(sims.len());
    };
    // The scenario's own volume, duplicates included, to scale each day by.
    const SCENARIO: f64 = 305.0;
    let started = std::time::Instant::now();
    let mut made = 0;
    for day in 0..PER_DAY.len() {
        let sims = plan_and_walk(&mut world, wanted as f64 / SCENARIO, day..day + 1)?;
        replay(db, &mut world, &sims, how).await?;
        made += sims.len();
        report(&format!(
            "{made} of about {wanted} cases, to day {} of {} ({:.0} s)",
            day + 1,
            PER_DAY.len(),
            started.elapsed().as_secs_f64()
        ));
    }
    Ok(made)
}
