//! Evidence by step on the case page: each step of the timeline shows the files that belong to
//! it, labelled by what they show (the report's photos before, a fix's after, a verification's),
//! and those who may add files to the open case get a form that says which step they will join
//! (a reporter's photo found later joins the report).

use std::collections::HashMap;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use huoyan_core::auth::Permission;
use huoyan_core::cases::evidence::{EntryRef, later_files_join};
use huoyan_core::cases::step::may_attach;
use huoyan_core::cases::{Action, EvidenceKind, EvidencePolicy};

use super::files::{CaseFile, read_form};
use super::{CaseDetail, CasesState};
use crate::audit::Change;
use crate::auth::{Page, Principal, perm};
use crate::error::AppError;
use crate::web::{PageError, PageResultExt, render};

/// A case's files by the step they belong to, and where the caller's added files would go.
pub struct Evidence {
    by_entry: HashMap<i64, Vec<CaseFile>>,
    /// Set when the caller may add files now.
    pub adds: Option<AddsTo>,
    /// The case's category asks a photo of each fix.
    fix_needs_photo: bool,
}

/// The step that files added now would join.
pub struct AddsTo {
    /// What they will show; `Other` when they are a step of their own.
    pub kind: EvidenceKind,
    /// When that step was taken (RFC 3339), when they join one.
    pub at: Option<String>,
}

impl Evidence {
    pub fn of(detail: &CaseDetail, p: &Principal, policy: &EvidencePolicy) -> Evidence {
        let mut by_entry: HashMap<i64, Vec<CaseFile>> = HashMap::new();
        for f in &detail.files {
            by_entry.entry(f.entry_id).or_default().push(f.clone());
        }
        let open_units: Vec<i64> = detail
            .tasks
            .iter()
            .filter(|t| t.state.is_open())
            .map(|t| t.department_id)
            .collect();
        let may = p.role.allows(Permission::CasesEvidence)
            && may_attach(
                detail.case.state,
                detail.case.reporter_account_id,
                &open_units,
                &super::workflow::actor(p),
            )
            .is_ok();
        let adds = may.then(|| {
            let refs: Vec<EntryRef> = detail
                .timeline
                .iter()
                .map(|e| EntryRef {
                    id: e.id,
                    action: &e.action,
                    actor: e.actor_account_id,
                })
                .collect();
            let joins = later_files_join(&refs, p.account_id)
                .and_then(|id| detail.timeline.iter().find(|e| e.id == id));
            AddsTo {
                kind: joins.map_or(EvidenceKind::Other, |e| EvidenceKind::of(&e.action)),
                at: joins.map(|e| e.at.clone()),
            }
        });
        Evidence {
            by_entry,
            adds,
            fix_needs_photo: policy.needs_fix_photo(detail.case.category),
        }
    }

    /// Whether the form of `action` must carry a photo (the page asks for it before sending).
    pub fn photo_required(&self, action: &Action) -> bool {
        self.fix_needs_photo && EvidenceKind::of(action.code()) == EvidenceKind::Fix
    }

    /// The files of timeline entry `entry`.
    pub fn files_of(&self, entry: &i64) -> &[CaseFile] {
        self.by_entry.get(entry).map_or(&[], Vec::as_slice)
    }

    /// What the files of an entry of `action` show, as the page labels them.
    pub fn kind(&self, action: &str) -> EvidenceKind {
        EvidenceKind::of(action)
    }
}

/// Adds files to an open case from its page, as the upload API does; a refused file shows the
/// page again naming it, with nothing added.
pub(super) async fn attach_submit(
    State(state): State<CasesState>,
    Page {
        user, locale, ctx, ..
    }: Page<perm::CasesEvidence>,
    crate::web::PagePath(id): crate::web::PagePath<i64>,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    let mut parts = read_form(form).await.page(locale)?;
    user.check_csrf(Some(&parts.take("_csrf"))).page(locale)?;
    let outcome = async {
        let uploads = parts.into_uploads()?;
        Change::run(&state.db, &user.actor(), async |change| {
            super::workflow::attach(change, &user, id, &uploads).await
        })
        .await
    }
    .await;
    match outcome {
        Ok(_) => Ok(Redirect::to(&format!("/cases/{id}")).into_response()),
        Err(AppError::Invalid(errors)) => {
            let page = super::case_page::case_page_with(
                &state,
                ctx,
                &user,
                id,
                errors,
                "attach".into(),
                crate::web::Typed::default(),
            )
            .await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(e).page(locale),
    }
}
