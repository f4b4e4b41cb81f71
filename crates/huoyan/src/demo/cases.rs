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
//! stops the demo from loading.

mod stories;

use std::collections::HashMap;

use huoyan_core::auth::{Role, Scope};
use huoyan_core::cases::step::{self as rules, CaseNow, CoUnit, MergeInto, TaskNow};
use huoyan_core::cases::{
    Action, CaseState, Category, DeadlinePolicy, Kind, Priority, Share, Source, TaskState,
};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use sqlx::Row;

use self::stories::{Place, STORIES, Story};
use super::Loader;
use crate::audit::{Actor, Change};
use crate::auth::accounts::{self, NewAccount};
use crate::auth::password::{self, DEMO_PASSWORD};
use crate::db::Db;
use crate::org::people;

/// The cases' own generator, so that adding them shifts nothing else the demo makes.
const SEED: u64 = 2022_0905;
const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;

fn bj(s: &str) -> i64 {
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
            if let Some(o) = rules::escalate(&self.case, &self.tasks, tick, &[], names) {
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
        v.insert("t", pick(rng, stories::TIMES).to_string());
        v.insert("d", pick(rng, stories::DIRECTIONS).to_string());
        let spot = if rng.random_bool(0.3) {
            format!("{b}号楼下")
        } else {
            pick(rng, stories::SPOTS).to_string()
        };
        v.insert("spot", spot);
        v.insert("i", pick(rng, stories::GOODS).to_string());
        v.insert("v", pick(rng, stories::VENDORS).to_string());
        v.insert("a", rng.random_range(68..=93).to_string());
        v.insert("m", pick(rng, stories::MEDICINES).to_string());
        v.insert("road", pick(rng, stories::ROADS).to_string());
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

impl World {
    fn dept(&self, name: &str) -> usize {
        self.depts
            .iter()
            .position(|d| d.name == name)
            .unwrap_or_else(|| panic!("the demo has the department {name}"))
    }

    fn police(&self, c: &Compound) -> usize {
        self.dept(if c.gaoxin {
            "大庆市公安局高新区分局"
        } else {
            "大庆市公安局萨尔图分局"
        })
    }

    fn testing_unit(&self, c: &Compound) -> usize {
        self.dept(if c.sartu {
            "萨尔图区疾病预防控制中心"
        } else {
            "大庆市卫生健康委员会"
        })
    }

    /// The unit responsible for a story in a compound (主办), if the demo has one.
    fn lead(&self, story: &Story, c: usize) -> Option<usize> {
        let compound = &self.compounds[c];
        let office = compound.office;
        let commerce = self.dept("大庆市商务局");
        Some(match story.category {
            Category::StaticControl | Category::Assistance | Category::Other => office?,
            Category::Testing => self.testing_unit(compound),
            Category::Supplies => match story.place {
                Place::Building | Place::Gate => office.unwrap_or(commerce),
                _ => commerce,
            },
            Category::SupplyVendors => self.dept("大庆市市场监督管理局"),
            Category::OutsideWorkers | Category::SpillOver => self.police(compound),
            Category::Disinfection if c == 0 => self.dept("景程小区物业服务中心"),
            Category::Disinfection => office.unwrap_or(self.dept("萨尔图区疾病预防控制中心")),
        })
    }

    /// A unit a hurried dispatcher might wrongly send a story to, which sends it back.
    fn wrong_lead(&self, story: &Story, c: usize, right: usize) -> Option<usize> {
        let compound = &self.compounds[c];
        let candidates = match story.category {
            Category::StaticControl | Category::Other if c == 0 => {
                vec![self.dept("景程小区物业服务中心")]
            }
            Category::StaticControl | Category::Other => vec![self.police(compound)],
            Category::Testing | Category::Disinfection | Category::Supplies => compound
                .office
                .into_iter()
                .chain([self.dept("大庆市卫生健康委员会")])
                .collect(),
            Category::SupplyVendors => vec![self.dept("大庆市商务局")],
            Category::OutsideWorkers | Category::SpillOver => compound.office.into_iter().collect(),
            Category::Assistance => vec![self.dept("大庆市卫生健康委员会")],
        };
        candidates.into_iter().find(|d| *d != right)
    }

    /// Co-responsible units (协办) for a story in compound `c` led by `lead`.
    fn co_units(&mut self, story: &Story, c: usize, lead: usize) -> Vec<usize> {
        let office = self.compounds[c].office;
        let police = self.police(&self.compounds[c]);
        let property = self.dept("景程小区物业服务中心");
        let commerce = self.dept("大庆市商务局");
        let market = self.dept("大庆市市场监督管理局");
        let health = self.dept("大庆市卫生健康委员会");
        let cdc = self.dept("萨尔图区疾病预防控制中心");
        let mut wanted: Vec<(Option<usize>, f64)> = Vec::new();
        match story.category {
            Category::StaticControl => {
                wanted.push((Some(police), 0.2));
                if c == 0 {
                    wanted.push((Some(property), 0.3));
                }
            }
            Category::Testing => wanted.push((office, 0.3)),
            Category::Supplies => {
                wanted.push((Some(commerce), 0.4));
                if story.short.contains("价格") {
                    wanted.push((Some(market), 0.5));
                }
            }
            Category::SupplyVendors => {
                wanted.push((office, 0.25));
                wanted.push((Some(commerce), 0.15));
            }
            Category::OutsideWorkers | Category::SpillOver => wanted.push((office, 0.4)),
            Category::Disinfection => {
                wanted.push((Some(cdc), 0.25));
                if c == 0 {
                    wanted.push((office, 0.2));
                }
            }
            Category::Assistance => {
                if ["药", "透析", "孕妇", "发热"]
                    .iter()
                    .any(|w| story.short.contains(w))
                {
                    wanted.push((Some(health), 0.35));
                }
            }
            Category::Other => {}
        }
        let mut co = Vec::new();
        for (unit, p) in wanted {
            if let Some(u) = unit
                && u != lead
                && !co.contains(&u)
                && self.rng.random_bool(p)
            {
                co.push(u);
            }
        }
        co
    }

    fn co_instruction(&self, unit: usize, lead: usize) -> String {
        let what = match self.depts[unit].kind.as_str() {
            "police" => "配合做好劝导和秩序维护，必要时依法处置",
            "community" => "配合入户核查和政策宣传",
            "health" => "配合做好医疗保障和消杀指导",
            "supply" => "配合做好物资调配",
            "market_regulator" => "配合核查经营和价格行为",
            "property_manager" => "配合做好现场整改",
            _ => "配合办理",
        };
        format!(
            "请{}{}，与{}同步反馈。",
            self.depts[unit].name, what, self.depts[lead].name
        )
    }

    /// How many hours a unit's fix of a story takes (its pace against the deadline).
    fn fix_hours(&mut self, unit: usize, category: Category, priority: Priority, at: i64) -> f64 {
        let policy = DeadlinePolicy::default();
        let allowed = (policy.due(0, priority, category.code()) / HOUR) as f64;
        let kind = match category {
            Category::StaticControl | Category::SpillOver => 0.6,
            Category::Testing | Category::Assistance => 0.8,
            Category::OutsideWorkers | Category::Disinfection => 0.9,
            _ => 1.0,
        };
        let low = if priority == Priority::Low { 0.6 } else { 1.0 };
        // Supplies were short in the first week: the commerce bureau ran late then.
        let early = if self.depts[unit].name == "大庆市商务局"
            && at < bj("2022-08-27T00:00:00+08:00")
        {
            1.4
        } else {
            1.0
        };
        let share = self.depts[unit].pace.share * kind * low * early;
        (allowed * share * lognormal(&mut self.rng, 1.0, 0.8)).max(0.15)
    }

    /// Walks case `me` from its report until it ends or the snapshot cuts it.
    fn walk(
        &mut self,
        sim: &mut Sim,
        story: &Story,
        parts: &Parts,
        outcome: Outcome,
        hold: Hold,
    ) -> anyhow::Result<()> {
        let result = self.walk_steps(sim, story, parts, outcome, hold);
        sim.escalate_before(self.snapshot, &self.dept_names);
        result
    }

    fn walk_steps(
        &mut self,
        sim: &mut Sim,
        story: &Story,
        parts: &Parts,
        outcome: Outcome,
        hold: Hold,
    ) -> anyhow::Result<()> {
        let now = self.snapshot;
        let urgent = if sim.priority == Priority::Urgent {
            0.4
        } else {
            1.0
        };
        let mut t = sim.reported_at;
        if outcome == Outcome::FixOnSite {
            t += self.rng.random_range(5..45) * MIN;
            if t >= now {
                return Ok(());
            }
            let note = format!(
                "现场督促整改：{}。",
                parts.fill(one(&mut self.rng, story.fixes))
            );
            return sim.act(
                t,
                sim.reporter,
                Role::Inspector,
                Action::FixOnSite,
                note,
                Step::Plain,
            );
        }
        let office_stall = stall(&mut self.rng, 0.06);
        t += delay(&mut self.rng, t, 20.0 * urgent * office_stall, 0.9);
        if t >= now || hold == Hold::Office {
            return Ok(());
        }
        let office = self.cast.office;
        if outcome == Outcome::Reject {
            let note = pick(&mut self.rng, stories::REJECTIONS).to_string();
            return sim.act(t, office, Role::Office, Action::Reject, note, Step::Plain);
        }
        let c = sim.compound;
        let right = self
            .lead(story, c)
            .expect("stories are chosen where a unit answers");
        let summary = self.summary(sim, story, parts, right);
        sim.act(
            t,
            office,
            Role::Office,
            Action::Triage,
            summary,
            Step::Plain,
        )?;

        let mut lead = match outcome {
            Outcome::SendBack => self.wrong_lead(story, c, right).unwrap_or(right),
            _ => right,
        };
        let mut first = true;
        let policy = DeadlinePolicy::default();
        let group = self.cast.group;
        loop {
            let group_stall = stall(&mut self.rng, 0.06);
            t += delay(&mut self.rng, t, 25.0 * urgent * group_stall, 0.9);
            if t >= now || (first && hold == Hold::Group) {
                return Ok(());
            }
            let due = policy.due(t, sim.priority, sim.category.code());
            let sends_back = lead != right;
            // A unit sent the wrong case is asked alone; a re-routed case sometimes keeps helpers.
            let co: Vec<usize> = if sends_back || !(first || self.rng.random_bool(0.3)) {
                Vec::new()
            } else {
                self.co_units(story, c, lead)
            };
            let mut co_tasks: Vec<(i64, String, i64)> = Vec::new();
            for u in co {
                let due = if self.rng.random_bool(0.7) {
                    due
                } else {
                    due + 12 * HOUR
                };
                co_tasks.push((self.depts[u].id, self.co_instruction(u, lead), due));
            }
            let verb = ["整改到位", "处置完毕", "落实到位"][self.rng.random_range(0..3)];
            let mut instruction = format!(
                "请{}于{}前{}，整改情况附照片反馈。",
                self.depts[lead].name,
                deadline_text(due),
                verb
            );
            if !first {
                instruction = format!("改派：{instruction}");
            }
            sim.act(
                t,
                group,
                Role::Group,
                Action::Dispatch,
                instruction,
                Step::Dispatch {
                    lead: self.depts[lead].id,
                    due,
                    co: co_tasks,
                },
            )?;
            let mut steps = self.unit_steps(sim, t, story, parts, sends_back, right, hold);
            steps.sort_by_key(|s| s.0);
            let mut sent_back = false;
            for (at, action, unit, note, step) in steps {
                if at >= now {
                    return Ok(());
                }
                sim.escalate_before(at, &self.dept_names);
                // A co-responsible unit's later steps lapse once the lead sent the case back.
                let open = sim.has_open(self.depts[unit].id);
                let answering = matches!(action, Action::GrantExtension | Action::RefuseExtension);
                if !open {
                    continue;
                }
                let (actor, role) = if answering {
                    (group, Role::Group)
                } else {
                    (self.depts[unit].account, Role::Department)
                };
                sim.act(at, actor, role, action, note, step)?;
                t = at;
                if action == Action::SendBack && sim.state == CaseState::Triaged {
                    sent_back = true;
                    break;
                }
            }
            if !sent_back {
                break;
            }
            lead = right;
            first = false;
        }
        anyhow::ensure!(
            sim.state == CaseState::Rectified,
            "every unit reported its fix"
        );

        // Re-inspection: by the reporting supervisor or by the group; a failed one is rework.
        let mut reworks = 0;
        loop {
            let supervisor = sim.reporter_role == Role::Supervisor && self.rng.random_bool(0.75);
            let (actor, role, median) = if supervisor {
                (sim.reporter, Role::Supervisor, 120.0)
            } else {
                (group, Role::Group, 60.0)
            };
            let late = stall(&mut self.rng, if supervisor { 0.1 } else { 0.04 });
            t += delay(&mut self.rng, t, median * late, 0.8);
            if supervisor && (0..6).contains(&beijing_hour(t)) {
                t += (7 - beijing_hour(t)) * HOUR + self.rng.random_range(0..90) * MIN;
            }
            if t >= now || hold == Hold::Verify {
                return Ok(());
            }
            let lead_unit = sim.department_id.expect("a dispatched case has a lead");
            let lead_idx = self
                .depts
                .iter()
                .position(|d| d.id == lead_unit)
                .expect("known unit");
            let p = self.depts[lead_idx].pace.rework / if reworks == 0 { 1.0 } else { 6.0 };
            let who = if supervisor {
                "本人现场复查"
            } else {
                "督导组复核"
            };
            if reworks < 2 && self.rng.random_bool(p) {
                let done: Vec<i64> = sim
                    .tasks
                    .iter()
                    .filter(|t| t.task.state == TaskState::Done)
                    .map(|t| t.task.department_id)
                    .collect();
                let failing = if done.contains(&lead_unit) && self.rng.random_bool(0.8) {
                    lead_unit
                } else {
                    *pick(&mut self.rng, &done)
                };
                let note = format!("{who}未通过：{}，请返工。", parts.fill(story.redo));
                sim.act(
                    t,
                    actor,
                    role,
                    Action::Rework,
                    note,
                    Step::Rework(vec![failing]),
                )?;
                reworks += 1;
                let unit = self
                    .depts
                    .iter()
                    .position(|d| d.id == failing)
                    .expect("known unit");
                let hours = self.fix_hours(unit, sim.category, sim.priority, t) * 0.4;
                t += ((hours * HOUR as f64) as i64).max(15 * MIN);
                if t >= now {
                    return Ok(());
                }
                sim.escalate_before(t, &self.dept_names);
                let note = format!(
                    "返工完成：{}。",
                    parts.fill(one(&mut self.rng, story.fixes))
                );
                sim.act(
                    t,
                    self.depts[unit].account,
                    Role::Department,
                    Action::ReportFix,
                    note,
                    Step::Unit(failing),
                )?;
                continue;
            }
            let note = format!("{who}：{}。", parts.fill(one(&mut self.rng, story.checks)));
            sim.act(t, actor, role, Action::Verify, note, Step::Plain)?;
            break;
        }
        t = if self.rng.random_bool(0.45) {
            evening_round(&mut self.rng, t)
        } else {
            t + delay(&mut self.rng, t, 40.0, 1.0)
        };
        if t >= now || hold == Hold::Close {
            return Ok(());
        }
        let note = [
            "问题已整改到位，经核实办结。",
            "整改到位，同意办结。",
            "已办结，纳入日常巡查。",
            "办结。",
        ][self.rng.random_range(0..4)]
        .to_string();
        sim.act(t, group, Role::Group, Action::Close, note, Step::Plain)
    }

    /// The office's summary when it triages.
    fn summary(&mut self, sim: &Sim, story: &Story, parts: &Parts, lead: usize) -> String {
        let compound = &self.compounds[sim.compound].name;
        let short = parts.fill(story.short);
        let (source, category, unit) = (sim.source.zh(), sim.category.zh(), &self.depts[lead].name);
        match self.rng.random_range(0..3) {
            0 => format!(
                "{compound}：{short}。{source}反映，经梳理属{category}问题，建议交{unit}办理。"
            ),
            1 => format!("【{category}】{compound}{short}，{source}反映属实，转督导组交办。"),
            _ => format!("{compound}{short}（{source}）。已电话核实，请督导组交{unit}。"),
        }
    }

    /// The units' steps after a dispatch at `at`: accept, perhaps ask for more time and get an
    /// answer, report the fix — or, for a wrongly chosen lead, send the case back.
    #[allow(clippy::type_complexity, clippy::too_many_arguments)]
    fn unit_steps(
        &mut self,
        sim: &Sim,
        at: i64,
        story: &Story,
        parts: &Parts,
        sends_back: bool,
        right: usize,
        hold: Hold,
    ) -> Vec<(i64, Action, usize, String, Step)> {
        let mut steps = Vec::new();
        let fresh: Vec<(i64, Share, i64)> = sim
            .tasks
            .iter()
            .filter(|t| t.dispatched_at == at)
            .map(|t| (t.task.department_id, t.task.share, t.due_at))
            .collect();
        for (unit_id, share, due) in fresh {
            let unit = self
                .depts
                .iter()
                .position(|d| d.id == unit_id)
                .expect("known unit");
            let pace = self.depts[unit].pace;
            let slow = stall(&mut self.rng, 0.04);
            let mut accept_at = at + delay(&mut self.rng, at, pace.accept_min * slow, 0.8);
            if share == Share::Lead && hold == Hold::Accept {
                accept_at = accept_at.max(self.snapshot + HOUR);
            }
            let accepts = [
                "",
                "已接收，马上安排。",
                "收到，已安排网格员前往。",
                "已接收，立即处置。",
            ];
            let accept_note = accepts[self.rng.random_range(0..accepts.len())].to_string();
            if share == Share::Lead && sends_back {
                let why = match sim.category {
                    Category::StaticControl => "属小区日常管控",
                    Category::Testing => "属采样点组织管理",
                    Category::Supplies => "属物资调配",
                    Category::SupplyVendors => "属商户经营和防疫监管",
                    Category::OutsideWorkers => "涉及外来人员核查处置",
                    Category::SpillOver => "涉及违规外出人员查处",
                    Category::Disinfection => "属小区环境消杀",
                    Category::Assistance => "属居民生活帮扶",
                    Category::Other => "属小区物业服务",
                };
                let note = format!(
                    "经核实，该问题{why}，不属本单位职责，应由{}负责，请督导组改派。",
                    self.depts[right].name
                );
                let mut back_at = accept_at;
                if self.rng.random_bool(0.3) {
                    steps.push((
                        accept_at,
                        Action::Accept,
                        unit,
                        accept_note,
                        Step::Unit(unit_id),
                    ));
                    back_at += self.rng.random_range(20..120) * MIN;
                }
                steps.push((back_at, Action::SendBack, unit, note, Step::Unit(unit_id)));
                continue;
            }
            if share == Share::Co && self.rng.random_bool(0.04) {
                let note =
                    "经核实，本单位无需参与处置，主办单位可独立办结，退回协办任务。".to_string();
                steps.push((accept_at, Action::SendBack, unit, note, Step::Unit(unit_id)));
                continue;
            }
            steps.push((
                accept_at,
                Action::Accept,
                unit,
                accept_note,
                Step::Unit(unit_id),
            ));
            let hours = self.fix_hours(unit, sim.category, sim.priority, accept_at);
            let mut fix_at = accept_at + ((hours * HOUR as f64) as i64).max(8 * MIN);
            if share == Share::Lead && hold == Hold::Fix {
                fix_at = fix_at.max(self.snapshot + HOUR);
            }
            if fix_at > due && due > accept_at + 10 * MIN && self.rng.random_bool(pace.extension) {
                let span = (due - accept_at) as f64;
                let ask_at = accept_at + (span * self.rng.random_range(0.4..0.95)) as i64;
                let until =
                    (fix_at + self.rng.random_range(1..6) * HOUR).div_euclid(HOUR) * HOUR + HOUR;
                let reasons = [
                    "涉及多个部门协调",
                    "需采购材料",
                    "人员不足，正在调配",
                    "当事人暂未联系上",
                    "需等待检测机构排期",
                ];
                let reason = *pick(&mut self.rng, &reasons);
                let note = format!("因{reason}，申请延期至{}。", deadline_text(until));
                steps.push((
                    ask_at,
                    Action::RequestExtension,
                    unit,
                    note,
                    Step::Extension {
                        unit: unit_id,
                        until,
                    },
                ));
                let answer_at = ask_at + self.rng.random_range(10..90) * MIN;
                // A deadline asked for that has passed by the answer can only be refused.
                if self.rng.random_bool(0.65) && answer_at < until {
                    let note = format!("同意延期至{}，请务必按期办结。", deadline_text(until));
                    steps.push((
                        answer_at,
                        Action::GrantExtension,
                        unit,
                        note,
                        Step::Answer(unit_id),
                    ));
                } else {
                    let why = [
                        "此类问题须当日解决",
                        "群众急需，不能拖",
                        "已有同类问题按时办结",
                    ];
                    let note = format!(
                        "不同意延期：{}，请按原时限整改。",
                        pick(&mut self.rng, &why)
                    );
                    steps.push((
                        answer_at,
                        Action::RefuseExtension,
                        unit,
                        note,
                        Step::Answer(unit_id),
                    ));
                    // Refused, the unit hurries.
                    fix_at = answer_at
                        + ((fix_at - answer_at) as f64 * self.rng.random_range(0.4..0.8)) as i64;
                }
                fix_at = fix_at.max(answer_at + 5 * MIN);
            }
            let fix = parts.fill(one(&mut self.rng, story.fixes));
            let note = if share == Share::Lead {
                format!("{fix}（附整改照片）。")
            } else {
                format!("已配合{}完成：{fix}。", self.depts[right].name)
            };
            steps.push((fix_at, Action::ReportFix, unit, note, Step::Unit(unit_id)));
        }
        steps
    }
}

/// Logins the cases need beyond the demo's one per role: a supervisor for every compound, an
/// inspector for every supervision team and one login for every department. They share one hash
/// of the demo password: argon2 is slow on purpose, and hashing it 160 times would make the demo
/// take seconds to load for a password everyone knows.
async fn logins(db: &Db, actor: &Actor, l: &mut Loader, rng: &mut StdRng) -> anyhow::Result<()> {
    let e = |e: crate::error::AppError| anyhow::anyhow!("{e}: {:?}", e.fields());
    let hash = tokio::task::spawn_blocking(|| password::hash(DEMO_PASSWORD)).await??;
    let mut change = Change::begin(db, actor).await.map_err(e)?;
    let mut news = Vec::new();
    let supervisors = sqlx::query(
        "SELECT r.id, r.code, MIN(p.id) FROM regions r JOIN people p ON p.home_region_id = r.id AND p.skills = '监督' \
         WHERE r.level = 'compound' AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.role = 'supervisor' AND a.scope_region_id = r.id) \
         GROUP BY r.id, r.code ORDER BY r.id",
    )
    .fetch_all(&mut *change.tx)
    .await?;
    for r in &supervisors {
        let (id, code, person): (i64, String, i64) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
        news.push(NewAccount {
            username: format!("supervisor-{}", code.trim_start_matches("DQ-C")),
            password: DEMO_PASSWORD.into(),
            role: Role::Supervisor.code().into(),
            person_id: Some(person),
            scope: Scope {
                region_id: Some(id),
                ..Default::default()
            },
        });
    }
    let teams = sqlx::query(
        "SELECT t.id, (SELECT m.person_id FROM team_members m WHERE m.team_id = t.id AND m.role = 'member' ORDER BY m.person_id LIMIT 1) \
         FROM teams t WHERE t.kind = 'supervision_team' AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.scope_team_id = t.id) ORDER BY t.id",
    )
    .fetch_all(&mut *change.tx)
    .await?;
    for (k, r) in teams.iter().enumerate() {
        let (id, person): (i64, Option<i64>) = (r.try_get(0)?, r.try_get(1)?);
        news.push(NewAccount {
            username: format!("inspector-{:02}", k + 2),
            password: DEMO_PASSWORD.into(),
            role: Role::Inspector.code().into(),
            person_id: person,
            scope: Scope {
                team_id: Some(id),
                ..Default::default()
            },
        });
    }
    let depts = sqlx::query(
        "SELECT d.id, d.name FROM departments d WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.scope_department_id = d.id) ORDER BY d.id",
    )
    .fetch_all(&mut *change.tx)
    .await?;
    let homes: Vec<i64> =
        sqlx::query("SELECT id FROM regions WHERE level = 'compound' ORDER BY id")
            .fetch_all(&mut *change.tx)
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
    for r in &depts {
        let (id, name): (i64, String) = (r.try_get(0)?, r.try_get(1)?);
        l.phones += 1;
        let (person_name, gender) = l.names.next(rng);
        let person = people::insert(
            &mut change,
            &people::NewPerson {
                name: person_name,
                phone: super::names::phone(l.phones),
                gender: gender.to_string(),
                birth_year: rng.random_range(1963..=1999),
                party_member: true,
                employer: name.clone(),
                home_region_id: Some(*pick(rng, &homes)),
                skills: Vec::new(),
            },
            "",
        )
        .await
        .map_err(e)?;
        news.push(NewAccount {
            username: dept_login(&name),
            password: DEMO_PASSWORD.into(),
            role: Role::Department.code().into(),
            person_id: Some(person),
            scope: Scope {
                department_id: Some(id),
                ..Default::default()
            },
        });
    }
    for new in &news {
        accounts::check_new(new, true).map_err(e)?;
        accounts::insert(&mut change, new, &hash).await.map_err(e)?;
    }
    change.commit().await.map_err(e)?;
    Ok(())
}

/// A department's login name.
fn dept_login(name: &str) -> String {
    let known = [
        ("格林社区", "gelin"),
        ("香逸社区", "xiangyi"),
        ("唯美社区", "weimei"),
        ("米兰社区", "milan"),
        ("兰德社区", "lande"),
        ("月亮湾社区", "yueliangwan"),
        ("毅腾商都社区", "yiteng"),
        ("萨尔图分局", "police-sartu"),
        ("高新区分局", "police-gaoxin"),
        ("市场监督管理局", "market"),
        ("物业服务中心", "property"),
        ("卫生健康委员会", "health"),
        ("疾病预防控制中心", "cdc-sartu"),
        ("商务局", "commerce"),
    ];
    let short = known
        .iter()
        .find(|(k, _)| name.contains(k))
        .map_or("unit", |(_, v)| v);
    format!("dept-{short}")
}

/// Loads the cases; returns how many.
pub(super) async fn load(db: &Db, actor: &Actor, l: &mut Loader) -> anyhow::Result<usize> {
    let mut rng = StdRng::seed_from_u64(SEED);
    logins(db, actor, l, &mut rng).await?;
    let mut world = world(db, rng).await?;
    let sims = plan_and_walk(&mut world)?;
    replay(db, &mut world, &sims).await?;
    Ok(sims.len())
}

async fn world(db: &Db, rng: StdRng) -> anyhow::Result<World> {
    let account = |username: &'static str| async move {
        let id: i64 = sqlx::query("SELECT id FROM accounts WHERE username = $1")
            .bind(username)
            .fetch_one(&db.pool)
            .await?
            .try_get(0)?;
        Ok::<_, anyhow::Error>(id)
    };
    let ids = |sql: &'static str| async move {
        let rows = sqlx::query(sql).fetch_all(&db.pool).await?;
        rows.iter()
            .map(|r| r.try_get::<i64, _>(0))
            .collect::<Result<Vec<i64>, _>>()
            .map_err(anyhow::Error::from)
    };
    let cast = Cast {
        office: account("office").await?,
        group: account("group").await?,
        pilot: account("pilot").await?,
        inspectors: ids("SELECT id FROM accounts WHERE role = 'inspector' ORDER BY scope_team_id")
            .await?,
    };
    let mut depts = Vec::new();
    for r in sqlx::query(
        "SELECT d.id, d.name, d.kind, d.region_id, (SELECT MIN(a.id) FROM accounts a WHERE a.scope_department_id = d.id) \
         FROM departments d ORDER BY d.id",
    )
    .fetch_all(&db.pool)
    .await?
    {
        let name: String = r.try_get(1)?;
        let account: Option<i64> = r.try_get(4)?;
        depts.push((
            r.try_get::<Option<i64>, _>(3)?,
            Dept {
                id: r.try_get(0)?,
                pace: pace(&name),
                kind: r.try_get(2)?,
                account: account.ok_or_else(|| anyhow::anyhow!("{name} has a login"))?,
                name,
            },
        ));
    }
    let office_of: HashMap<i64, usize> = depts
        .iter()
        .enumerate()
        .filter(|(_, (_, d))| d.kind == "community")
        .filter_map(|(i, (region, _))| region.map(|r| (r, i)))
        .collect();
    let depts: Vec<Dept> = depts.into_iter().map(|(_, d)| d).collect();
    let mut sampling: HashMap<i64, Vec<String>> = HashMap::new();
    for r in
        sqlx::query("SELECT region_id, name FROM sites WHERE kind = 'sampling_point' ORDER BY id")
            .fetch_all(&db.pool)
            .await?
    {
        sampling
            .entry(r.try_get(0)?)
            .or_default()
            .push(r.try_get(1)?);
    }
    let district = |code: &'static str| async move {
        let id: Option<i64> = sqlx::query("SELECT id FROM regions WHERE code = $1")
            .bind(code)
            .fetch_optional(&db.pool)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
        Ok::<_, anyhow::Error>(id)
    };
    let (gaoxin_id, sartu_id) = (district("230671").await?, district("230602").await?);
    let mut compounds = Vec::new();
    for (i, r) in sqlx::query(
        "SELECT c.id, c.name, c.parent_id, c.geometry, c.path, \
         (SELECT MIN(a.id) FROM accounts a WHERE a.role = 'supervisor' AND a.scope_region_id = c.id) \
         FROM regions c WHERE c.level = 'compound' ORDER BY c.id",
    )
    .fetch_all(&db.pool)
    .await?
    .iter()
    .enumerate()
    {
        let (id, name, community): (i64, String, i64) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
        let geometry: String = r.try_get(3)?;
        let path: String = r.try_get(4)?;
        let supervisor: Option<i64> = r.try_get(5)?;
        let within = |district: Option<i64>| {
            district.is_some_and(|d| path.split('/').any(|p| p == d.to_string()))
        };
        let (gaoxin, sartu) = (within(gaoxin_id), within(sartu_id));
        let points = sampling
            .get(&id)
            .or_else(|| sampling.get(&community))
            .cloned()
            .unwrap_or_else(|| vec![format!("{name}核酸采样点")]);
        compounds.push(Compound {
            id,
            office: office_of.get(&community).copied(),
            gaoxin,
            sartu,
            outline: serde_json::from_str(&geometry)?,
            supervisor: supervisor.ok_or_else(|| anyhow::anyhow!("{name} has a supervisor login"))?,
            sampling: points,
            gates: if i == 0 {
                &["南门", "北门"]
            } else {
                &["东门", "西门", "南门", "北门", "1号门", "2号门"]
            },
            buildings: if i == 0 { 18 } else { 6 + (i as u32 * 7) % 20 },
            name,
        });
    }
    let dept_names = depts.iter().map(|d| (d.id, d.name.clone())).collect();
    Ok(World {
        rng,
        depts,
        dept_names,
        compounds,
        cast,
        snapshot: bj(SNAPSHOT),
    })
}

/// A case as planned before it is walked.
struct Plan {
    at: i64,
    source: Source,
    compound: usize,
    story: usize,
}

/// Plans the reports day by day, walks each, then adds the duplicate reports the office merged.
fn plan_and_walk(w: &mut World) -> anyhow::Result<Vec<Sim>> {
    let day0 = bj("2022-08-20T00:00:00+08:00");
    let supervisors_from = bj("2022-08-29T08:00:00+08:00");
    let drones_from = bj("2022-08-31T08:00:00+08:00");
    // 景程小区 (high-risk) most, then Gelin's compounds where the cadres sank, then the rest.
    let compound_weights: Vec<u32> = (0..w.compounds.len())
        .map(|i| match i {
            0 => 400,
            1 | 2 => 100,
            3..=27 => 60,
            _ => 6,
        })
        .collect();
    let mut plans = Vec::new();
    for (d, &n) in PER_DAY.iter().enumerate() {
        let d = d as i64;
        for _ in 0..n {
            let hours: Vec<u32> = (0..24)
                .map(|h| match d {
                    0 if h < 20 => 0,
                    16 if h >= 19 => 0,
                    _ => HOURS[h as usize],
                })
                .collect();
            let mut at = day0 + d * 24 * HOUR + weighted(&mut w.rng, &hours) as i64 * HOUR;
            at += w.rng.random_range(0..60) * MIN + w.rng.random_range(0..60) * 1000;
            let source = {
                let weights: [u32; 5] = if at < supervisors_from {
                    [0, 45, 0, 20, 35]
                } else {
                    [62, 14, if at >= drones_from { 12 } else { 0 }, 5, 7]
                };
                Source::ALL[weighted(&mut w.rng, &weights)]
            };
            let phase: [u32; 9] = match d {
                0..=5 => [30, 20, 25, 3, 3, 5, 4, 10, 1],
                6..=10 => [20, 22, 18, 5, 8, 5, 6, 15, 3],
                _ => [15, 18, 12, 8, 12, 7, 8, 18, 4],
            };
            let (compound, story) = loop {
                let category = Category::ALL[weighted(&mut w.rng, &phase)];
                let compound = weighted(&mut w.rng, &compound_weights);
                let fits: Vec<usize> = (0..STORIES.len())
                    .filter(|&s| {
                        let st = &STORIES[s];
                        st.category == category
                            && (source != Source::Drone || st.aerial)
                            && (!st.suggestion
                                || matches!(
                                    source,
                                    Source::Supervisor | Source::Resident | Source::Hotline
                                ))
                            && w.lead(st, compound).is_some()
                    })
                    .collect();
                if !fits.is_empty() {
                    break (compound, *pick(&mut w.rng, &fits));
                }
            };
            plans.push(Plan {
                at,
                source,
                compound,
                story,
            });
        }
    }
    plans.sort_by_key(|p| p.at);
    anyhow::ensure!(
        plans.iter().all(|p| p.at >= start() && p.at < w.snapshot),
        "reports fall between the order and the snapshot"
    );

    // The tail: of 09-05's reports the last ones wait for the office and the group, earlier ones
    // at later steps; a few of 09-03's and 09-04's still wait for a fix or a re-inspection.
    let day_of = |at: i64| (at - day0).div_euclid(24 * HOUR);
    let mut holds = vec![Hold::None; plans.len()];
    let last: Vec<usize> = (0..plans.len())
        .filter(|&i| day_of(plans[i].at) == 16)
        .collect();
    let early = [Hold::Close, Hold::Verify, Hold::Fix, Hold::Accept];
    for (k, &i) in last.iter().enumerate() {
        holds[i] = match last.len() - 1 - k {
            0 | 1 => Hold::Office,
            2 | 3 => Hold::Group,
            _ if k < 2 * early.len() => early[k % early.len()],
            _ => Hold::None,
        };
    }
    for (day, tail) in [
        (14, &[Hold::Fix][..]),
        (15, &[Hold::Verify, Hold::Fix, Hold::Close]),
    ] {
        let firsts = (0..plans.len()).filter(|&i| day_of(plans[i].at) == day);
        for (i, h) in firsts.zip(tail) {
            holds[i] = *h;
        }
    }

    let mut sims = Vec::new();
    let mut stories_of = Vec::new();
    let mut parts_of = Vec::new();
    let mut outcomes = Vec::new();
    for (me, plan) in plans.iter().enumerate() {
        let story = &STORIES[plan.story];
        let parts = Parts::new(&mut w.rng, &w.compounds[plan.compound]);
        let text = parts.fill(one(&mut w.rng, story.texts));
        let mut sim = w.report(plan.at, plan.source, plan.compound, story, &parts, &text);
        let right = w
            .lead(story, plan.compound)
            .expect("planned where a unit answers");
        let outcome = if holds[me] != Hold::None {
            Outcome::Normal
        } else if plan.source == Source::Inspection && !story.suggestion && w.rng.random_bool(0.35)
        {
            Outcome::FixOnSite
        } else if plan.source != Source::Inspection
            && plan.source != Source::Drone
            && w.rng.random_bool(0.045)
        {
            Outcome::Reject
        } else if w.rng.random_bool(0.07) && w.wrong_lead(story, plan.compound, right).is_some() {
            Outcome::SendBack
        } else {
            Outcome::Normal
        };
        w.walk(&mut sim, story, &parts, outcome, holds[me])?;
        sims.push(sim);
        stories_of.push(plan.story);
        parts_of.push(parts);
        outcomes.push(outcome);
    }

    // Duplicates: the same problem reported again, by another channel, while the first report was
    // still open; the office merged them into it.
    let snapshot = w.snapshot;
    let office = w.cast.office;
    for target in 0..sims.len() {
        if outcomes[target] != Outcome::Normal {
            continue;
        }
        let copies = match w.rng.random_range(0..1000) {
            0..15 => 2,
            15..85 => 1,
            _ => 0,
        };
        for _ in 0..copies {
            let (from, until) = (
                sims[target].reported_at + 30 * MIN,
                sims[target].open_until(snapshot) - MIN,
            );
            if until - from < 20 * MIN {
                break;
            }
            let merge_at = w.rng.random_range(from..until);
            let reported_at = (merge_at - w.rng.random_range(5..90) * MIN)
                .max(sims[target].reported_at + 5 * MIN);
            let source =
                if sims[target].source == Source::Supervisor || reported_at < supervisors_from {
                    *pick(
                        &mut w.rng,
                        &[Source::Hotline, Source::Resident, Source::Inspection],
                    )
                } else {
                    Source::Supervisor
                };
            let story = &STORIES[stories_of[target]];
            let text = parts_of[target].fill(one(&mut w.rng, story.texts));
            let compound = sims[target].compound;
            let mut dup = w.report(
                reported_at,
                source,
                compound,
                story,
                &parts_of[target],
                &text,
            );
            let note = format!("与案件 {} 反映同一问题，合并办理。", case_ref(target));
            let state = sims[target].state_at(merge_at);
            anyhow::ensure!(!state.is_terminal(), "a report merges into an open case");
            let into = Step::Merge(target, state, sims[target].reporter);
            dup.act(merge_at, office, Role::Office, Action::Merge, note, into)?;
            sims.push(dup);
            stories_of.push(stories_of[target]);
        }
    }
    Ok(sims)
}

impl World {
    /// A case as filed: who reports it through which channel, where, in whose words.
    fn report(
        &mut self,
        at: i64,
        source: Source,
        c: usize,
        story: &Story,
        parts: &Parts,
        text: &str,
    ) -> Sim {
        let compound = &self.compounds[c];
        let (reporter, role) = match source {
            Source::Supervisor => (compound.supervisor, Role::Supervisor),
            Source::Inspection => (
                self.cast.inspectors[c % self.cast.inspectors.len()],
                Role::Inspector,
            ),
            Source::Drone => (self.cast.pilot, Role::Pilot),
            Source::Resident | Source::Hotline => (self.cast.office, Role::Office),
        };
        let description = match source {
            Source::Supervisor => format!("{text}。"),
            Source::Inspection => format!("督查发现：{text}。"),
            Source::Drone => format!("空中督导发现：{text}（视频截图已存档）。"),
            Source::Hotline => format!("市民来电反映：{text}，请尽快处理。"),
            Source::Resident => format!("居民留言反映：{text}。"),
        };
        let (lon, lat) = super::random_point_in(&mut self.rng, &compound.outline, None);
        let priority = Priority::ALL[weighted(&mut self.rng, &story.priority)];
        Sim {
            kind: if story.suggestion {
                Kind::Suggestion
            } else {
                Kind::Problem
            },
            source,
            category: story.category,
            priority,
            compound: c,
            lon: (lon * 1e6).round() / 1e6,
            lat: (lat * 1e6).round() / 1e6,
            address: parts.address(story.place, text),
            events: vec![Event {
                at,
                to: CaseState::Reported,
            }],
            description,
            reporter,
            reporter_role: role,
            reported_at: at,
            case: CaseNow {
                id: 0,
                state: CaseState::Reported,
                category: story.category,
                priority,
                reporter,
                department_id: None,
                due_at: None,
                merged_into: None,
                updated_at: at,
            },
            state: CaseState::Reported,
            department_id: None,
            tasks: Vec::new(),
            planned: Vec::new(),
            ticks: Vec::new(),
        }
    }
}

/// An instant as RFC 3339 with its milliseconds, so a replayed deadline is the walked one.
fn exact(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .expect("scenario times are valid")
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A walked step as the API takes it, with the ids the replay has given the cases so far.
fn request(p: &Planned, ids: &[i64]) -> anyhow::Result<crate::cases::TransitionRequest> {
    let note = resolve(&p.note, ids);
    let mut body = serde_json::json!({"action": p.action.code(), "note": note});
    let fields = match &p.step {
        Step::Plain | Step::Unit(_) => serde_json::json!({}),
        Step::Dispatch { lead, due, co } => serde_json::json!({
            "department_id": lead,
            "due_at": exact(*due),
            "co": co.iter().map(|(d, instruction, due)| serde_json::json!({
                "department_id": d, "instruction": instruction, "due_at": exact(*due),
            })).collect::<Vec<_>>(),
        }),
        Step::Extension { until, .. } => serde_json::json!({"until": exact(*until)}),
        Step::Answer(unit) => serde_json::json!({"department_id": unit}),
        Step::Rework(units) => serde_json::json!({"department_ids": units}),
        Step::Merge(target, ..) => serde_json::json!({"into_case_id": ids[*target]}),
    };
    body.as_object_mut()
        .expect("an object")
        .extend(fields.as_object().expect("an object").clone());
    Ok(serde_json::from_value(body)?)
}

/// Writes the history by replaying it, in time order, through the application's own functions:
/// reports through the intake, steps through `cases::take`, the overdue job at each minute it
/// escalated something, each at its time and by its actor, all in one change. Then the notices
/// are read, as they were soon after.
async fn replay(db: &Db, w: &mut World, sims: &[Sim]) -> anyhow::Result<()> {
    use crate::cases::intake::{Filing, file_in};
    enum Item<'a> {
        Report(usize),
        Step(usize, &'a Planned),
        Tick,
    }
    let mut items: Vec<(i64, Item)> = Vec::new();
    for (i, s) in sims.iter().enumerate() {
        items.push((s.reported_at, Item::Report(i)));
        items.extend(s.planned.iter().map(|p| (p.at, Item::Step(i, p))));
        items.extend(s.ticks.iter().map(|&t| (t, Item::Tick)));
    }
    // Stable: a case's report and steps keep their order when two fall in one millisecond.
    items.sort_by_key(|(at, _)| *at);
    items.dedup_by(|a, b| matches!((&a.1, &b.1), (Item::Tick, Item::Tick)) && a.0 == b.0);

    let fail = |err: crate::error::AppError| anyhow::anyhow!("{err}: {:?}", err.fields());
    let policy = DeadlinePolicy::default();
    let mut people: HashMap<i64, crate::auth::Principal> = HashMap::new();
    let mut ids = vec![0i64; sims.len()];
    let mut change = Change::begin(db, &Actor::system("demo"))
        .await
        .map_err(fail)?;
    for (at, item) in items {
        let actor = match item {
            Item::Report(i) => Some(sims[i].reporter),
            Item::Step(_, p) => Some(p.actor),
            Item::Tick => None,
        };
        let p = match actor {
            Some(a) => {
                let p = match people.entry(a) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert(crate::auth::principal_of(db, a).await.map_err(fail)?)
                    }
                };
                change.act_as(&p.actor(), at);
                Some(&*p)
            }
            None => {
                change.act_as(&Actor::system("overdue"), at);
                None
            }
        };
        match (item, p) {
            (Item::Report(i), Some(p)) => {
                let s = &sims[i];
                let filing = Filing {
                    actor: p.actor(),
                    account_id: p.account_id,
                    key: None,
                    kind: s.kind,
                    source: s.source,
                    category: s.category,
                    priority: s.priority,
                    compound_id: w.compounds[s.compound].id,
                    lon: Some(s.lon),
                    lat: Some(s.lat),
                    address: s.address.clone(),
                    description: s.description.clone(),
                };
                ids[i] = file_in(&mut change, &filing).await.map_err(fail)?;
            }
            (Item::Step(i, planned), Some(p)) => {
                let req = request(planned, &ids)?;
                crate::cases::take(&mut change, &policy, p, ids[i], &req, &[])
                    .await
                    .map_err(|err| {
                        anyhow::anyhow!("case {}, {:?}: {}", ids[i], planned.action, fail(err))
                    })?;
            }
            (_, _) => {
                crate::cases::overdue::sweep_in(&mut change, at)
                    .await
                    .map_err(fail)?;
            }
        }
    }
    let told: Vec<(i64, i64)> = sqlx::query_as("SELECT id, at FROM notifications ORDER BY id")
        .fetch_all(&mut *change.tx)
        .await?;
    change.act_as(&Actor::system("demo"), w.snapshot);
    for (id, at) in told {
        let read = read_time(&mut w.rng, at).min(w.snapshot).max(at);
        crate::notifications::mark_read(&mut change, id, read)
            .await
            .map_err(fail)?;
    }
    change.commit().await.map_err(fail)?;
    Ok(())
}
