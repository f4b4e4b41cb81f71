//! Planning: the dispatcher asks for a roster of one to fourteen days; the engine runs beside the
//! server (its progress shown, stoppable) and its roster is kept as a draft with the objective's
//! parts and why each place left empty is empty. Pinned people stay where the dispatcher put
//! them and the rest is re-planned close to the published roster.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use huoyan_core::workforce::roster::{self, Assignment, Control, Solution, SolveOptions};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::WorkforceState;
use super::days::Day;
use super::plans::{self, PlanView};
use super::problem::{self, Horizon, shift_key};
use crate::audit::{Actor, Change};
use crate::auth::{Can, Principal, perm};
use crate::check::Check;
use crate::db::Db;
use crate::error::{AppError, AppResult, FieldError};
use crate::http::{ApiJson, ApiPath};

/// Plans running at once on one server: each takes a core for its budget.
const MAX_RUNNING: usize = 2;
/// Most pins one request names (a city's posts times a day or two).
const MAX_PINS: usize = 2_000;

/// The plans running on this server, each with its control, and how many are being started.
/// Bounded by `MAX_RUNNING`.
#[derive(Clone, Default)]
pub struct Running(Arc<Mutex<Slots>>);

#[derive(Default)]
struct Slots {
    plans: HashMap<i64, Arc<Control>>,
    starting: usize,
}

impl Running {
    pub fn get(&self, id: i64) -> Option<Arc<Control>> {
        self.lock().plans.get(&id).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.0.lock().expect("no holder panics")
    }

    /// Takes a slot for a plan about to start, or refuses when every slot is taken.
    fn reserve(&self) -> AppResult<()> {
        let mut s = self.lock();
        if s.plans.len() + s.starting >= MAX_RUNNING {
            return Err(AppError::Conflict(vec![FieldError::new(
                "plan",
                "other plans are running: wait for them or stop one",
            )]));
        }
        s.starting += 1;
        Ok(())
    }

    /// The reserved slot becomes plan `id`'s (or is given back when the plan was refused).
    fn started(&self, id: Option<i64>, control: Arc<Control>) {
        let mut s = self.lock();
        s.starting -= 1;
        if let Some(id) = id {
            s.plans.insert(id, control);
        }
    }

    fn remove(&self, id: i64) {
        self.lock().plans.remove(&id);
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PinRequest {
    pub person_id: i64,
    pub shift_id: i64,
    /// YYYY-MM-DD, inside the plan's days.
    #[schema(value_type = String)]
    pub day: Day,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanRequest {
    /// The first day planned, YYYY-MM-DD (tomorrow, usually).
    #[schema(value_type = String)]
    pub first_day: Day,
    /// 1 to 14.
    pub days: i64,
    /// People the dispatcher fixed on a shift (kept, or moved there); the rest is re-planned.
    #[serde(default)]
    pub pins: Vec<PinRequest>,
    /// Seconds the engine may search, 0.2 to 60 (by default 1 s and half a second a day).
    pub seconds: Option<f64>,
}

/// The engine's budget for `days` days unless the request names one.
fn budget(days: u16, asked: Option<f64>) -> Duration {
    Duration::from_secs_f64(asked.unwrap_or(1.0 + 0.5 * f64::from(days)))
}

/// Checks `req` and records the plan as planning; returns its id and horizon.
async fn start(
    change: &mut Change,
    p: &Principal,
    req: &PlanRequest,
) -> AppResult<(i64, Horizon, String)> {
    let mut check = Check::default();
    if !(1..=i64::from(roster::MAX_DAYS)).contains(&req.days) {
        check.fail("days", format!("1 to {} days", roster::MAX_DAYS));
    }
    if req.seconds.is_some_and(|s| !(0.2..=60.0).contains(&s)) {
        check.fail("seconds", "0.2 to 60 seconds");
    }
    if req.pins.len() > MAX_PINS {
        check.fail("pins", format!("at most {MAX_PINS}"));
    }
    let (Some(region), Some(path)) = (p.scope.region_id, p.scope_path.clone()) else {
        return Err(AppError::invalid(
            "region",
            "a dispatcher plans their region",
        ));
    };
    let h = Horizon {
        first: req.first_day,
        days: req.days.clamp(1, i64::from(roster::MAX_DAYS)) as u16,
    };
    for (i, pin) in req.pins.iter().enumerate().take(MAX_PINS) {
        if h.index(pin.day).is_none() {
            check.fail(&format!("pins[{i}].day"), "outside the plan's days");
        }
    }
    check.done()?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO roster_plans (region_id, first_day, days, state, planned_by, planned_at) \
         VALUES ($1, $2, $3, 'planning', $4, $5) RETURNING id",
    )
    .bind(region)
    .bind(h.first.to_string())
    .bind(i64::from(h.days))
    .bind(p.account_id)
    .bind(change.at_ms())
    .fetch_one(&mut *change.tx)
    .await?;
    let pins: Vec<serde_json::Value> = req
        .pins
        .iter()
        .map(
            |x| serde_json::json!({"person_id": x.person_id, "shift_id": x.shift_id, "day": x.day}),
        )
        .collect();
    change
        .record(
            "roster_plan",
            id,
            "plan",
            &serde_json::json!({"region_id": region, "first_day": h.first, "days": h.days, "pins": pins}),
        )
        .await?;
    Ok((id, h, path))
}

/// What a run of the engine came to: its roster (or why the input was refused), the pins it
/// kept, and whether it was stopped.
pub struct Ran {
    solution: Result<Solution, roster::RosterError>,
    pins: Vec<Assignment>,
    stopped: bool,
    horizon: Horizon,
}

impl Ran {
    pub fn outcome(&self) -> Outcome<'_> {
        match (&self.solution, self.stopped) {
            (_, true) => Outcome::Cancelled,
            (Ok(s), false) => Outcome::Draft {
                solution: s,
                pins: &self.pins,
                horizon: self.horizon,
            },
            (Err(error), false) => Outcome::Failed {
                error,
                horizon: self.horizon,
            },
        }
    }
}

/// Reads the problem of the region at `path` over `h` and runs the engine on it beside the
/// server's threads.
async fn compute(
    db: &Db,
    path: &str,
    h: Horizon,
    pins: &[PinRequest],
    opts: SolveOptions,
) -> AppResult<Ran> {
    let problem = problem::for_region(db, path, h).await?;
    let pins: Vec<Assignment> = pins
        .iter()
        .filter_map(|p| {
            h.index(p.day)
                .map(|d| Assignment::new(p.person_id.to_string(), shift_key(p.shift_id, d)))
        })
        .collect();
    let baseline = problem.baseline.clone().unwrap_or_default();
    let control = opts.control.clone();
    let kept = pins.clone();
    let solution = tokio::task::spawn_blocking(move || {
        if baseline.is_empty() && pins.is_empty() {
            roster::solve(&problem, &opts)
        } else {
            roster::replan(&problem, &baseline, &pins, &opts)
        }
    })
    .await
    .map_err(anyhow::Error::from)?;
    Ok(Ran {
        solution,
        pins: kept,
        stopped: control.is_some_and(|c| c.stopped()),
        horizon: h,
    })
}

/// Runs the engine for plan `id` and stores its draft; what the request would wait for.
pub async fn run(
    db: &Db,
    actor: &Actor,
    id: i64,
    path: &str,
    h: Horizon,
    pins: &[PinRequest],
    opts: SolveOptions,
) -> AppResult<()> {
    let ran = compute(db, path, h, pins, opts).await?;
    Change::run(db, actor, async |c| {
        plans::finish(c, id, &ran.outcome()).await
    })
    .await
}

/// How a run ended.
pub enum Outcome<'a> {
    Cancelled,
    /// The engine refused the input (a pin that breaks a rule), saying why.
    Failed {
        error: &'a roster::RosterError,
        horizon: Horizon,
    },
    Draft {
        solution: &'a Solution,
        pins: &'a [Assignment],
        horizon: Horizon,
    },
}

/// The solution's rows, for storing: (person, shift, day index).
pub fn rows(s: &Solution) -> Vec<(i64, i64, u16)> {
    s.assignments
        .iter()
        .filter_map(|a| {
            let (shift, day) = problem::parse_shift_key(&a.shift)?;
            Some((a.person.parse().ok()?, shift, day))
        })
        .collect()
}

/// Plan a roster: answered at once (202) with the plan planning; read it back for its progress
/// and, when done, its draft.
#[utoipa::path(post, path = "/api/v1/workforce/plans", tag = "workforce", operation_id = "plan_roster",
    request_body = PlanRequest,
    responses((status = 202, body = PlanView), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn plan_route(
    State(state): State<WorkforceState>,
    Can(p, _): Can<perm::WorkforcePlan>,
    ApiJson(req): ApiJson<PlanRequest>,
) -> AppResult<(StatusCode, ApiJson<PlanView>)> {
    let id = launch(&state, &p, req).await?;
    Ok((
        StatusCode::ACCEPTED,
        ApiJson(plans::get(&state.db, &state.running, &p, id).await?),
    ))
}

/// Starts plan `req` beside the server; returns its id.
pub async fn launch(state: &WorkforceState, p: &Principal, req: PlanRequest) -> AppResult<i64> {
    let control = Arc::new(Control::default());
    state.running.reserve()?;
    let started = Change::run(&state.db, &p.actor(), async |c| start(c, p, &req).await).await;
    state
        .running
        .started(started.as_ref().ok().map(|s| s.0), control.clone());
    let (id, h, path) = started?;
    let opts = SolveOptions {
        seed: id as u64,
        time_limit: Some(budget(h.days, req.seconds)),
        max_iterations: u64::MAX,
        control: Some(control),
    };
    let (db, actor, running) = (state.db.clone(), p.actor(), state.running.clone());
    tokio::spawn(async move {
        if let Err(e) = run(&db, &actor, id, &path, h, &req.pins, opts).await {
            tracing::info!("plan {id}: {e}");
        }
        running.remove(id);
    });
    Ok(id)
}

/// Plans `req` as `p` at `at` (epoch milliseconds: the demo replays history) and waits for the
/// draft, written a minute later; returns the plan's id.
pub async fn plan_now(
    db: &Db,
    p: &Principal,
    req: &PlanRequest,
    opts: SolveOptions,
    at: i64,
) -> AppResult<i64> {
    let mut c = Change::begin(db, &p.actor()).await?;
    c.act_as(&p.actor(), at);
    let (id, h, path) = start(&mut c, p, req).await?;
    c.commit().await?;
    let ran = compute(db, &path, h, &req.pins, opts).await?;
    let mut c = Change::begin(db, &p.actor()).await?;
    c.act_as(&p.actor(), at + 60_000);
    plans::finish(&mut c, id, &ran.outcome()).await?;
    c.commit().await?;
    Ok(id)
}

/// Stops plan `id` if it is running (409 otherwise); returns it as it stands.
pub async fn cancel(state: &WorkforceState, p: &Principal, id: i64) -> AppResult<PlanView> {
    let view = plans::get(&state.db, &state.running, p, id).await?;
    match state.running.get(id) {
        Some(c) => {
            c.stop();
            Ok(view)
        }
        None => Err(AppError::Conflict(vec![FieldError::new(
            "id",
            format!("the plan is not running (it is {})", view.state.code()),
        )])),
    }
}

/// Stop a plan that is running: nothing of it is kept.
#[utoipa::path(post, path = "/api/v1/workforce/plans/{id}/cancel", tag = "workforce", operation_id = "cancel_plan",
    params(("id" = i64, Path)),
    responses((status = 202, body = PlanView), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody)))]
async fn cancel_route(
    State(state): State<WorkforceState>,
    Can(p, _): Can<perm::WorkforcePlan>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<(StatusCode, ApiJson<PlanView>)> {
    Ok((StatusCode::ACCEPTED, ApiJson(cancel(&state, &p, id).await?)))
}

pub fn api() -> OpenApiRouter<WorkforceState> {
    OpenApiRouter::new()
        .routes(routes!(plan_route))
        .routes(routes!(cancel_route))
}
