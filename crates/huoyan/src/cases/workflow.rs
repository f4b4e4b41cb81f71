//! Taking workflow steps on a case. A request is parsed at the boundary into a `TransitionRequest`
//! (the action and exactly that action's fields, a `oneOf` in the API document); inside one change
//! the case is read as the caller may see it, the request is resolved against the database (the
//! units exist, the case merged into is open and in scope), `huoyan_core::cases::step` decides,
//! and `store` writes what it decided. Nothing is decided on a copy read before the change.

use huoyan_core::cases::step::{self, Actor, CoUnit, MergeInto, Step, StepError};
use huoyan_core::cases::{Category, DeadlinePolicy, Priority};
use serde::Deserialize;
use utoipa::ToSchema;

use super::CasesState;
use super::files::Upload;
use super::store::{self, Place};
use crate::audit::Change;
use crate::auth::Principal;
use crate::check::{Check, Text};
use crate::error::{AppError, AppResult};
use crate::time::Instant;

/// What a step's note may hold.
pub type Note = Text<4000>;

/// A co-responsible unit (协办) of a dispatch, with its own task and deadline.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CoTask {
    pub department_id: i64,
    /// What this unit is to do.
    #[serde(default)]
    pub instruction: Text<1000>,
    /// The lead's deadline when absent; must lie in the future.
    pub due_at: Option<Instant>,
}

/// One workflow step: the action and exactly the fields it takes. Which role may take which
/// action from which state is the workflow of the README (`huoyan_core::cases::workflow`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum TransitionRequest {
    /// The office classifies and summarises a report (office).
    Triage {
        /// The office's summary.
        note: Note,
        /// A corrected category, when the reporter's was wrong.
        category: Option<Category>,
        priority: Option<Priority>,
    },
    /// Not a problem to handle, with the reason (office).
    Reject { note: Note },
    /// The same problem as another open case: this report joins it (office).
    Merge {
        #[serde(default)]
        note: Note,
        into_case_id: i64,
    },
    /// To the lead unit (主办) and any co-responsible units (协办), with deadlines (group).
    Dispatch {
        /// The lead's instruction.
        #[serde(default)]
        note: Note,
        /// The lead unit.
        department_id: i64,
        /// The lead's deadline; from the city's deadline policy when absent. Must lie in the
        /// future.
        due_at: Option<Instant>,
        #[serde(default)]
        co: Vec<CoTask>,
    },
    /// The unit takes its task on (department).
    Accept {
        #[serde(default)]
        note: Note,
        lon: Option<f64>,
        lat: Option<f64>,
    },
    /// Not this unit's responsibility, with the reason (department).
    SendBack { note: Note },
    /// What was done (department).
    ReportFix {
        note: Note,
        lon: Option<f64>,
        lat: Option<f64>,
    },
    /// The fix holds (the group, or the supervisor who reported it).
    Verify {
        note: Note,
        lon: Option<f64>,
        lat: Option<f64>,
    },
    /// The fix does not hold: the named units (every unit that reported a fix when none is
    /// named) work on (the group, or the supervisor who reported it).
    Rework {
        note: Note,
        #[serde(default)]
        department_ids: Vec<i64>,
        lon: Option<f64>,
        lat: Option<f64>,
    },
    /// Done (group).
    Close {
        #[serde(default)]
        note: Note,
    },
    /// An inspector's finding fixed on the spot, with what was done (inspector).
    FixOnSite {
        note: Note,
        lon: Option<f64>,
        lat: Option<f64>,
    },
    /// A later deadline, asked by the unit (department).
    RequestExtension {
        #[serde(default)]
        note: Note,
        /// Later than the current deadline.
        until: Instant,
    },
    /// The group grants a unit's request (group).
    GrantExtension {
        #[serde(default)]
        note: Note,
        /// Whose request; needed only when several units asked.
        department_id: Option<i64>,
    },
    /// The group refuses a unit's request, with the reason (group).
    RefuseExtension {
        note: Note,
        department_id: Option<i64>,
    },
}

impl TransitionRequest {
    /// Where the step was taken, checked.
    fn place(&self, check: &mut Check) -> Place {
        let (lon, lat) = match self {
            Self::Accept { lon, lat, .. }
            | Self::ReportFix { lon, lat, .. }
            | Self::Verify { lon, lat, .. }
            | Self::Rework { lon, lat, .. }
            | Self::FixOnSite { lon, lat, .. } => (*lon, *lat),
            _ => (None, None),
        };
        crate::geo::check_point(check, lon, lat);
        lon.zip(lat)
    }

    /// The action this step takes.
    pub fn action(&self) -> huoyan_core::cases::Action {
        use huoyan_core::cases::Action as A;
        match self {
            Self::Triage { .. } => A::Triage,
            Self::Reject { .. } => A::Reject,
            Self::Merge { .. } => A::Merge,
            Self::Dispatch { .. } => A::Dispatch,
            Self::Accept { .. } => A::Accept,
            Self::SendBack { .. } => A::SendBack,
            Self::ReportFix { .. } => A::ReportFix,
            Self::Verify { .. } => A::Verify,
            Self::Rework { .. } => A::Rework,
            Self::Close { .. } => A::Close,
            Self::FixOnSite { .. } => A::FixOnSite,
            Self::RequestExtension { .. } => A::RequestExtension,
            Self::GrantExtension { .. } => A::GrantExtension,
            Self::RefuseExtension { .. } => A::RefuseExtension,
        }
    }
}

/// The core's refusal as the API's.
pub(super) fn step_error(e: StepError) -> AppError {
    match e {
        StepError::Forbidden => AppError::Forbidden,
        StepError::Invalid { field, message } => AppError::invalid(field, message),
    }
}

fn actor(p: &Principal) -> Actor {
    Actor {
        account_id: p.account_id,
        role: p.role,
        department_id: p.scope.department_id,
    }
}

/// Takes one step in its own change, attaching `evidence` (checked photos and files) with it.
pub async fn act(
    state: &CasesState,
    p: &Principal,
    id: i64,
    req: &TransitionRequest,
    evidence: &[Upload],
) -> AppResult<()> {
    Change::run(&state.db, &p.actor(), async |change| {
        take(change, &state.deadlines, p, id, req, evidence).await
    })
    .await
}

/// Takes one step inside `change`, at the change's time: what the API does in a change of its
/// own, and what the demo does for each step of its history.
pub async fn take(
    change: &mut Change,
    deadlines: &DeadlinePolicy,
    p: &Principal,
    id: i64,
    req: &TransitionRequest,
    evidence: &[Upload],
) -> AppResult<()> {
    // Scope first: a case outside the caller's view is 404 whatever is asked.
    super::scoped_in(change, p, id).await?;
    let (case, tasks) = store::load(change, id)
        .await?
        .ok_or(AppError::NotFound("case"))?;
    let mut check = Check::default();
    let place = req.place(&mut check);
    let step = resolve(change, p, id, req, &mut check).await?;
    check.done()?;
    let me = actor(p);
    let outcome =
        step::decide(&case, &tasks, &me, &step, change.at_ms(), deadlines).map_err(step_error)?;
    if !evidence.is_empty() {
        p.require(huoyan_core::auth::Permission::CasesEvidence)?;
        step::may_attach(&case, &tasks, &me).map_err(step_error)?;
    }
    let summary = serde_json::json!({
        "from": case.state.code(),
        "to": outcome.case.state.code(),
        "department_id": outcome.entries[0].department_id,
        "note": step.note().trim(),
        "category": outcome.case.category.code(),
        "priority": outcome.case.priority.code(),
    });
    store::apply(change, &case, &tasks, &outcome, place, &summary).await?;
    if !evidence.is_empty() {
        store::attach(change, id, outcome.case.state, evidence).await?;
    }
    Ok(())
}

/// Adds files to case `id` inside `change`, as one `attach` step of its timeline: only while the
/// case is open, and only by its actors (`huoyan_core::cases::step::may_attach`).
pub async fn attach(
    change: &mut Change,
    p: &Principal,
    id: i64,
    uploads: &[Upload],
) -> AppResult<Vec<i64>> {
    super::scoped_in(change, p, id).await?;
    let (case, tasks) = store::load(change, id)
        .await?
        .ok_or(AppError::NotFound("case"))?;
    step::may_attach(&case, &tasks, &actor(p)).map_err(step_error)?;
    store::attach(change, id, case.state, uploads).await
}

/// The request as the core takes it: the units named exist, and the case merged into is one the
/// caller may see, with the reports already merged into this one.
async fn resolve(
    change: &mut Change,
    p: &Principal,
    id: i64,
    req: &TransitionRequest,
    check: &mut Check,
) -> AppResult<Step> {
    let note = |n: &Note| n.trimmed().to_string();
    Ok(match req {
        TransitionRequest::Triage {
            note: n,
            category,
            priority,
        } => Step::Triage {
            note: note(n),
            category: *category,
            priority: *priority,
        },
        TransitionRequest::Reject { note: n } => Step::Reject { note: note(n) },
        TransitionRequest::Merge {
            note: n,
            into_case_id,
        } => {
            let into = merge_target(change, p, id, *into_case_id).await?;
            match into {
                Some(into) => Step::Merge {
                    note: note(n),
                    into,
                },
                None => {
                    return Err(AppError::invalid("into_case_id", "no such case"));
                }
            }
        }
        TransitionRequest::Dispatch {
            note: n,
            department_id,
            due_at,
            co,
        } => {
            if co.len() > 20 {
                check.fail("co", "at most 20 co-responsible units");
            }
            let named = std::iter::once(("department_id".to_string(), *department_id)).chain(
                co.iter()
                    .enumerate()
                    .map(|(i, c)| (format!("co[{i}].department_id"), c.department_id)),
            );
            for (field, d) in named {
                if !change.exists("departments", d).await? {
                    check.fail(&field, "no such department");
                }
            }
            Step::Dispatch {
                note: note(n),
                lead: *department_id,
                due_at: due_at.map(|t| t.0),
                co: co
                    .iter()
                    .map(|c| CoUnit {
                        department_id: c.department_id,
                        instruction: c.instruction.trimmed().to_string(),
                        due_at: c.due_at.map(|t| t.0),
                    })
                    .collect(),
            }
        }
        TransitionRequest::Accept { note: n, .. } => Step::Accept { note: note(n) },
        TransitionRequest::SendBack { note: n } => Step::SendBack { note: note(n) },
        TransitionRequest::ReportFix { note: n, .. } => Step::ReportFix { note: note(n) },
        TransitionRequest::Verify { note: n, .. } => Step::Verify { note: note(n) },
        TransitionRequest::Rework {
            note: n,
            department_ids,
            ..
        } => Step::Rework {
            note: note(n),
            departments: department_ids.clone(),
        },
        TransitionRequest::Close { note: n } => Step::Close { note: note(n) },
        TransitionRequest::FixOnSite { note: n, .. } => Step::FixOnSite { note: note(n) },
        TransitionRequest::RequestExtension { note: n, until } => Step::RequestExtension {
            note: note(n),
            until: until.0,
        },
        TransitionRequest::GrantExtension {
            note: n,
            department_id,
        } => Step::GrantExtension {
            note: note(n),
            department_id: *department_id,
        },
        TransitionRequest::RefuseExtension {
            note: n,
            department_id,
        } => Step::RefuseExtension {
            note: note(n),
            department_id: *department_id,
        },
    })
}

/// The case `target` that case `id` is to merge into, as the caller may see it, with the reports
/// already merged into `id` (they follow it) and their reporters.
async fn merge_target(
    change: &mut Change,
    p: &Principal,
    id: i64,
    target: i64,
) -> AppResult<Option<MergeInto>> {
    if super::scoped_in(change, p, target).await.is_err() {
        return Ok(None);
    }
    let Some((case, _)) = store::load(change, target).await? else {
        return Ok(None);
    };
    let absorbed = sqlx::query_as::<_, (i64, i64)>(
        "SELECT id, reporter_account_id FROM cases WHERE merged_into = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&mut *change.tx)
    .await?;
    Ok(Some(MergeInto {
        id: case.id,
        state: case.state,
        reporter: case.reporter,
        absorbed,
    }))
}
