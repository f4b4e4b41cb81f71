//! Taking workflow steps on a case. A request is parsed at the boundary into a `TransitionRequest`
//! (the action and exactly that action's fields, a `oneOf` in the API document); inside one change
//! the case is read as the caller may see it, the request is resolved against the database (the
//! units exist, the case merged into is open and in scope), `huoyan_core::cases::step` decides,
//! and `store` writes what it decided. Nothing is decided on a copy read before the change.

use huoyan_core::cases::evidence::{self, EntryRef};
use huoyan_core::cases::step::{
    self, Actor, CaseNow, CoUnit, MergeInto, Outcome, Step, StepError, TaskNow,
};
use huoyan_core::cases::{DeadlinePolicy, EvidencePolicy};

use super::CasesState;
use super::files::Upload;
use super::steps::{CoTask, Note, TransitionRequest};
use super::store;
use crate::audit::Change;
use crate::auth::Principal;
use crate::check::Check;
use crate::error::{AppError, AppResult};

/// The core's refusal as the API's.
pub(super) fn step_error(e: StepError) -> AppError {
    match e {
        StepError::Forbidden => AppError::Forbidden,
        StepError::Invalid { field, message } => AppError::invalid(field, message),
    }
}

pub(super) fn actor(p: &Principal) -> Actor {
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
    // A merge is a verdict on the proposals: what was shown is read inside the change, with
    // the proposer's snapshot taken before it.
    let snapshot = match req {
        TransitionRequest::Merge(_) => Some(state.proposer.snapshot(&state.db).await?),
        _ => None,
    };
    Change::run(&state.db, &p.actor(), async |change| {
        let shown = match &snapshot {
            Some(s) => Some(super::duplicates::shown(change, s, p, id).await?),
            None => None,
        };
        take(
            change,
            &state.deadlines,
            &state.evidence,
            p,
            id,
            req,
            evidence,
        )
        .await?;
        match (req, shown) {
            (TransitionRequest::Merge(m), Some(shown)) => {
                super::duplicates::record_merge(change, p, id, m.into_case_id, &shown).await
            }
            _ => Ok(()),
        }
    })
    .await
}

/// Takes one step inside `change`, at the change's time, with its evidence (which belongs to
/// the step's entry of the timeline; a fix in a category of `photos_for` needs a photo): what
/// the API does in a change of its own, and what the demo does for each step of its history.
pub async fn take(
    change: &mut Change,
    deadlines: &DeadlinePolicy,
    photos_for: &EvidencePolicy,
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
    let (outcome, summary) = decide(
        deadlines,
        photos_for,
        p,
        (&case, &tasks),
        &step,
        change.at_ms(),
        evidence,
    )?;
    let entry = store::apply(change, &case, &tasks, &outcome, place, &summary).await?;
    store::attach(change, id, entry, evidence).await?;
    Ok(())
}

/// What the core decides for `step` by `p` on a case and its tasks at `at`, checked against the
/// evidence it comes with, and the audit event's account of it: the pure part of `take`, which
/// the demo's batched replay (`cases::bulk`) shares.
pub(crate) fn decide(
    deadlines: &DeadlinePolicy,
    photos_for: &EvidencePolicy,
    p: &Principal,
    (case, tasks): (&CaseNow, &[TaskNow]),
    step: &Step,
    at: i64,
    evidence: &[Upload],
) -> AppResult<(Outcome, serde_json::Value)> {
    let me = actor(p);
    let outcome = step::decide(case, tasks, &me, step, at, deadlines).map_err(step_error)?;
    let media_types: Vec<&str> = evidence.iter().map(|u| u.media_type).collect();
    evidence::check_step(photos_for, case.category, step.action(), &media_types)
        .map_err(step_error)?;
    if !evidence.is_empty() {
        p.require(huoyan_core::auth::Permission::CasesEvidence)?;
        step::may_attach(case.state, case.reporter, &step::open_units(tasks), &me)
            .map_err(step_error)?;
    }
    let summary = serde_json::json!({
        "from": case.state.code(),
        "to": outcome.case.state.code(),
        "department_id": outcome.entries[0].department_id,
        "note": step.note().trim(),
        "category": outcome.case.category.code(),
        "priority": outcome.case.priority.code(),
    });
    Ok((outcome, summary))
}

/// Adds files to case `id` on their own inside `change`, as one `attach` entry of its timeline:
/// only while the case is open, and only by its actors (`huoyan_core::cases::step::may_attach`).
/// They join the caller's latest report, fix or verification on the case, else that `attach`
/// entry (`huoyan_core::cases::evidence::later_files_join`).
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
    let open = step::open_units(&tasks);
    step::may_attach(case.state, case.reporter, &open, &actor(p)).map_err(step_error)?;
    let entries = store::entries(change, id).await?;
    let refs: Vec<EntryRef> = entries
        .iter()
        .map(|(id, action, actor)| EntryRef {
            id: *id,
            action,
            actor: *actor,
        })
        .collect();
    let joins = evidence::later_files_join(&refs, p.account_id);
    store::attach_later(change, id, case.state, joins, uploads).await
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
    use TransitionRequest as R;
    let into = match req {
        R::Merge(s) => match merge_target(change, p, id, s.into_case_id).await? {
            Some(into) => Some(into),
            None => return Err(AppError::invalid("into_case_id", "no such case")),
        },
        R::Dispatch(s) => {
            units(change, s.department_id, &s.co, check).await?;
            None
        }
        R::Reroute(s) => {
            units(change, s.department_id, &s.co, check).await?;
            None
        }
        _ => None,
    };
    Ok(step_of(req, into))
}

/// The core's step for a request whose units and merge target (`into`, for a merge) are
/// resolved: notes trimmed, times as instants.
pub(crate) fn step_of(req: &TransitionRequest, into: Option<MergeInto>) -> Step {
    use TransitionRequest as R;
    let note = |n: &dyn Note| n.text().trim().to_string();
    let co = |co: &[CoTask]| -> Vec<CoUnit> {
        co.iter()
            .map(|c| CoUnit {
                department_id: c.department_id,
                instruction: c.instruction.trimmed().to_string(),
                due_at: c.due_at.map(|t| t.0),
            })
            .collect()
    };
    match req {
        R::Triage(s) => Step::Triage {
            note: note(&s.note),
            category: s.category,
            priority: s.priority,
        },
        R::Reject(s) => Step::Reject {
            note: note(&s.note),
        },
        R::Merge(s) => Step::Merge {
            note: note(&s.note),
            into: into.expect("a merge's target is resolved before its step"),
        },
        R::Dispatch(s) => Step::Dispatch {
            note: note(&s.note),
            lead: s.department_id,
            due_at: s.due_at.map(|t| t.0),
            co: co(&s.co),
        },
        R::Reroute(s) => Step::Reroute {
            note: note(&s.note),
            lead: s.department_id,
            due_at: s.due_at.map(|t| t.0),
            co: co(&s.co),
        },
        R::Urge(s) => Step::Urge {
            note: note(&s.note),
            department_id: s.department_id,
        },
        R::ChangeDeadline(s) => Step::ChangeDeadline {
            note: note(&s.note),
            department_id: s.department_id,
            due_at: s.due_at.0,
        },
        R::Accept(s) => Step::Accept {
            note: note(&s.note),
        },
        R::SendBack(s) => Step::SendBack {
            note: note(&s.note),
        },
        R::ReportFix(s) => Step::ReportFix {
            note: note(&s.note),
        },
        R::Verify(s) => Step::Verify {
            note: note(&s.note),
        },
        R::Rework(s) => Step::Rework {
            note: note(&s.note),
            departments: s.department_ids.clone(),
        },
        R::Close(s) => Step::Close {
            note: note(&s.note),
        },
        R::FixOnSite(s) => Step::FixOnSite {
            note: note(&s.note),
        },
        R::RequestExtension(s) => Step::RequestExtension {
            note: note(&s.note),
            until: s.until.0,
        },
        R::GrantExtension(s) => Step::GrantExtension {
            note: note(&s.note),
            department_id: s.department_id,
        },
        R::RefuseExtension(s) => Step::RefuseExtension {
            note: note(&s.note),
            department_id: s.department_id,
        },
    }
}

/// A dispatch's lead and co-responsible units each exist (the fields at fault named).
async fn units(change: &mut Change, lead: i64, co: &[CoTask], check: &mut Check) -> AppResult<()> {
    if co.len() > 20 {
        check.fail("co", "at most 20 co-responsible units");
    }
    let named = std::iter::once(("department_id".to_string(), lead)).chain(
        co.iter()
            .enumerate()
            .map(|(i, c)| (format!("co[{i}].department_id"), c.department_id)),
    );
    for (field, d) in named {
        if !change.exists("departments", d).await? {
            check.fail(&field, "no such department");
        }
    }
    Ok(())
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
