//! The case page: the case with its units' tasks, its timeline with each step's files, and the
//! steps the caller may take now, each a form that comes back as typed when refused; after a step,
//! its confirmation and the next case waiting for the same person.

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use huoyan_core::auth::Role;
use huoyan_core::cases::{Action, CaseState, Category, Priority, Source, TaskState, transition};
use serde::Deserialize;

use super::files::read_form;
use super::forms::FromForm;
use super::labels::{Names, action_label};
use super::pages::{bj, options};
use super::tasks::CaseTask;
use super::{CaseDetail, TimelineEntry, TransitionRequest};
use crate::auth::{Page, Principal, perm};
use crate::cases::CasesState;
use crate::error::{AppError, FieldError};
use crate::web::{JAVASCRIPT, PageCtx, PageError, PagePath, PageResultExt, Typed, asset, render};

#[derive(askama::Template)]
#[template(path = "cases/case.html")]
pub(super) struct CasePage {
    ctx: PageCtx,
    detail: CaseDetail,
    /// The files under their steps, and whether the caller may add more.
    evidence: super::evidence::Evidence,
    names: Names,
    actions: Vec<Action>,
    departments: Vec<(i64, String)>,
    proposals: Vec<super::duplicates::Proposal>,
    errors: Vec<FieldError>,
    failed_action: String,
    /// The step just taken (confirmed once), and the next case waiting for the caller.
    done: Option<Action>,
    next: Option<i64>,
    /// The refused form's fields as typed.
    typed: Typed,
}

impl CasePage {
    fn state_label(&self, s: &CaseState) -> &'static str {
        s.label(self.ctx.en())
    }
    fn category_label(&self, c: &Category) -> &'static str {
        c.label(self.ctx.en())
    }
    fn priority_label(&self, p: &Priority) -> &'static str {
        p.label(self.ctx.en())
    }
    fn source_label(&self, s: &Source) -> &'static str {
        s.label(self.ctx.en())
    }
    fn action_label(&self, c: &str) -> &'static str {
        action_label(c, self.ctx.en())
    }
    fn task_state_label(&self, s: &TaskState) -> &'static str {
        s.label(self.ctx.en())
    }
    fn share_label(&self, s: &huoyan_core::cases::Share) -> &'static str {
        s.label(self.ctx.en())
    }
    fn bj(&self, t: &str) -> String {
        bj(t)
    }
    fn opt_bj(&self, t: &Option<String>) -> String {
        t.as_deref().map(bj).unwrap_or_default()
    }
    fn is_image(&self, media_type: &str) -> bool {
        media_type.starts_with("image/")
    }
    fn done_tasks(&self) -> Vec<&CaseTask> {
        self.detail
            .tasks
            .iter()
            .filter(|t| t.state == TaskState::Done)
            .collect()
    }
    fn pending_extensions(&self) -> Vec<&CaseTask> {
        self.detail
            .tasks
            .iter()
            .filter(|t| t.extension_until.is_some())
            .collect()
    }
    fn error_for(&self, action: &str, field: &str) -> String {
        if self.failed_action != action {
            return String::new();
        }
        crate::web::messages_for(&self.errors, field, self.ctx.locale)
    }
    fn other_errors(&self) -> Vec<&FieldError> {
        let known = [
            "note",
            "category",
            "priority",
            "department_id",
            "due_at",
            "until",
            "into_case_id",
            "department_ids",
            "file",
            "lon",
            "lat",
        ];
        self.errors
            .iter()
            .filter(|e| {
                !known
                    .iter()
                    .any(|k| e.field == *k || e.field.starts_with(&format!("{k}[")))
            })
            .collect()
    }
    /// The units' open tasks, the lead's first (for urging and moving a deadline).
    fn open_tasks(&self) -> Vec<&CaseTask> {
        self.detail
            .tasks
            .iter()
            .filter(|t| t.state.is_open())
            .collect()
    }
    /// What was typed into `name` of `action`'s form when that form was refused, else "".
    fn typed(&self, action: &str, name: &str) -> &str {
        if self.failed_action != action {
            return "";
        }
        self.typed.value(name)
    }
    /// Whether `value` was chosen for `name` in `action`'s refused form; `otherwise` when that
    /// form was not the one sent.
    fn chosen(
        &self,
        action: &str,
        name: &str,
        value: impl std::fmt::Display,
        otherwise: bool,
    ) -> bool {
        if self.failed_action != action {
            return otherwise;
        }
        self.typed.has(name, value)
    }
    fn is_open(&self, a: &Action) -> bool {
        self.failed_action == a.code()
    }
    fn needs_photo(&self, a: &Action) -> bool {
        matches!(
            a,
            Action::ReportFix | Action::Verify | Action::Rework | Action::FixOnSite
        )
    }
    fn categories(&self) -> Vec<(&'static str, &'static str)> {
        Category::choices(self.ctx.en())
    }
    fn priorities(&self) -> Vec<(&'static str, &'static str)> {
        Priority::choices(self.ctx.en())
    }
    /// A proposal's reasons in a line: place, shared words, category, days.
    fn reasons(&self, p: &super::duplicates::Proposal) -> String {
        use huoyan_core::cases::Reason as R;
        let t = |k| self.ctx.t(k);
        let list = |words: &[String]| words.join(if self.ctx.en() { ", " } else { "、" });
        p.reasons
            .iter()
            .map(|r| match r {
                R::SameCompound => t("dup.same_compound").to_string(),
                R::SameCommunity => t("dup.same_community").to_string(),
                R::SharedSite { site } => format!("{}: {site}", t("dup.shared_site")),
                R::SamePlace { places } => format!("{}: {}", t("dup.same_place"), list(places)),
                R::SharedWords { words } => format!("{}: {}", t("dup.shared_words"), list(words)),
                R::SameCategory => t("dup.same_category").to_string(),
                R::OtherCategory => t("dup.other_category").to_string(),
                R::DaysApart { days } => format!("{} {days}", t("dup.days")),
            })
            .collect::<Vec<_>>()
            .join(" · ")
    }
    fn timeline(&self) -> &[TimelineEntry] {
        &self.detail.timeline
    }
}

/// The steps `p` may take on this case now: allowed by the state machine for the role, and by
/// the facts the step depends on (the unit's own open task, a pending extension, the reporter).
fn available(p: &Principal, detail: &CaseDetail) -> Vec<Action> {
    let state = detail.case.state;
    let my_open_task = || {
        detail
            .tasks
            .iter()
            .any(|t| Some(t.department_id) == p.scope.department_id && t.state.is_open())
    };
    let my_task_in = |s: TaskState| {
        detail
            .tasks
            .iter()
            .any(|t| Some(t.department_id) == p.scope.department_id && t.state == s)
    };
    Action::ALL
        .iter()
        .copied()
        .filter(|a| transition(state, *a, p.role).is_ok())
        .filter(|a| match a {
            Action::Accept => my_task_in(TaskState::Dispatched),
            Action::ReportFix => my_task_in(TaskState::Rectifying),
            Action::SendBack | Action::RequestExtension => my_open_task(),
            Action::GrantExtension | Action::RefuseExtension => {
                detail.tasks.iter().any(|t| t.extension_until.is_some())
            }
            Action::Verify | Action::Rework => {
                p.role != Role::Supervisor || detail.case.reporter_account_id == p.account_id
            }
            _ => true,
        })
        .collect()
}

pub(super) async fn case_page_with(
    state: &CasesState,
    ctx: PageCtx,
    user: &Principal,
    id: i64,
    errors: Vec<FieldError>,
    failed_action: String,
    typed: Typed,
) -> Result<CasePage, PageError> {
    let locale = ctx.locale;
    let detail = super::detail(&state.db, user, id).await.page(locale)?;
    let actions = available(user, &detail);
    let proposals = if actions.contains(&Action::Merge) {
        super::duplicates::proposals(state, user, id)
            .await
            .page(locale)?
    } else {
        Vec::new()
    };
    let names = Names::of(
        &state.db,
        [detail.case.compound_id],
        detail.timeline.iter().map(|e| e.department_id),
        detail
            .timeline
            .iter()
            .map(|e| e.actor_account_id)
            .chain([Some(detail.case.reporter_account_id)]),
    )
    .await
    .page(locale)?;
    Ok(CasePage {
        ctx,
        evidence: super::evidence::Evidence::of(&detail, user, &state.evidence),
        detail,
        names,
        actions,
        departments: options(&state.db, "SELECT id, name FROM departments ORDER BY name")
            .await
            .page(locale)?,
        proposals,
        errors,
        failed_action,
        done: None,
        next: None,
        typed,
    })
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct DoneQuery {
    /// The step just taken, confirmed once with the next case to act on.
    done: Option<String>,
}

pub(super) async fn case_page(
    State(state): State<CasesState>,
    Page {
        user, ctx, locale, ..
    }: Page<perm::CasesRead>,
    PagePath(id): PagePath<i64>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    let mut page = case_page_with(
        &state,
        ctx,
        &user,
        id,
        Vec::new(),
        String::new(),
        Typed::default(),
    )
    .await?;
    page.done = q.done.as_deref().and_then(Action::parse);
    if page.done.is_some() {
        page.next = super::navigate::next_case(&state.db, &user, id)
            .await
            .page(locale)?;
    }
    Ok(render(&page))
}

/// One step from the case page's forms (multipart: the step's fields and any photos).
pub(super) async fn act_submit(
    State(state): State<CasesState>,
    Page {
        user, locale, ctx, ..
    }: Page<perm::CasesRead>,
    PagePath(id): PagePath<i64>,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    let mut parts = read_form(form).await.page(locale)?;
    user.check_csrf(Some(&parts.take("_csrf"))).page(locale)?;
    let action = parts.one("action");
    let typed = Typed(parts.fields.clone());
    let outcome = async {
        let (req, evidence) = TransitionRequest::from_form(parts)?;
        super::act(&state, &user, id, &req, &evidence).await
    }
    .await;
    match outcome {
        Ok(()) => Ok(Redirect::to(&format!("/cases/{id}?done={action}")).into_response()),
        Err(AppError::Invalid(errors) | AppError::Conflict(errors)) => {
            let page = case_page_with(&state, ctx, &user, id, errors, action, typed).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(e).page(locale),
    }
}

pub(super) async fn case_script() -> Response {
    asset(JAVASCRIPT, include_str!("../../static/case.js"))
}
