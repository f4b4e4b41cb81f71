//! Moving between cases without knowing their numbers: jump to a case by its number from any
//! page, and, after a step, the next case waiting for the same person.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use huoyan_core::auth::Role;
use serde::Deserialize;

use super::pages::{View, views_for};
use super::{CaseFilter, CasesState};
use crate::auth::{Page, Principal, perm};
use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::i18n::Locale;
use crate::web::{PageError, PageResultExt};

#[derive(Debug, Deserialize)]
pub struct JumpQuery {
    #[serde(default)]
    n: String,
}

/// `/cases/go?n=123` (also `#123`, with spaces): the case, when the caller may see it; else the
/// error page naming the field.
pub async fn jump(
    State(state): State<CasesState>,
    Page { user, locale, .. }: Page<perm::CasesRead>,
    Query(q): Query<JumpQuery>,
) -> Result<Response, PageError> {
    let text = q.n.trim().trim_start_matches(['#', '＃']).trim();
    let id: i64 = text
        .parse()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| AppError::invalid("n", "give a case number, such as 123"))
        .page(locale)?;
    super::get_scoped(&state.db, &user, id).await.page(locale)?;
    Ok(Redirect::to(&format!("/cases/{id}")).into_response())
}

/// The first case other than `after` on the caller's first queue (the board's first lane, the
/// triage queue, the cases to verify), or None when nothing else waits.
pub async fn next_case(db: &Db, p: &Principal, after: i64) -> AppResult<Option<i64>> {
    let Some(&view) = views_for(p.role).first() else {
        return Ok(None);
    };
    if matches!(p.role, Role::Group | Role::Department) {
        let board =
            super::board::board(db, p, &CaseFilter::default(), crate::time::now_ms()).await?;
        return Ok(board
            .lanes
            .iter()
            .flat_map(|l| &l.items)
            .map(|c| c.id)
            .find(|id| *id != after));
    }
    if view == View::All {
        return Ok(None);
    }
    let mut f = CaseFilter {
        limit: Some(2),
        ..CaseFilter::default()
    };
    view.apply(&mut f, p);
    let page = super::list(db, p, &f).await?;
    Ok(page.items.iter().map(|c| c.id).find(|id| *id != after))
}

/// One queue of what waits for someone, as the home page counts it.
pub struct Waiting {
    pub label: String,
    pub count: usize,
    pub href: String,
}

/// What waits for `p`: each lane of their board, or each of their queues, with how many cases it
/// holds (nothing for roles without cases to act on).
pub async fn waiting(db: &Db, p: &Principal, locale: Locale) -> AppResult<Vec<Waiting>> {
    if matches!(p.role, Role::Group | Role::Department) {
        let view = views_for(p.role)[0];
        let board =
            super::board::board(db, p, &CaseFilter::default(), crate::time::now_ms()).await?;
        return Ok(board
            .lanes
            .iter()
            .map(|l| Waiting {
                label: l.lane.label(locale.is_en()).to_string(),
                count: l.total,
                href: format!("{}#lane-{}", view.href(), l.lane.code()),
            })
            .collect());
    }
    let mut out = Vec::new();
    for &view in views_for(p.role).iter().filter(|v| **v != View::All) {
        let mut f = CaseFilter {
            limit: Some(1),
            ..CaseFilter::default()
        };
        view.apply(&mut f, p);
        out.push(Waiting {
            label: locale.t(view.title_key()).to_string(),
            count: super::list(db, p, &f).await?.total as usize,
            href: view.href().to_string(),
        });
    }
    Ok(out)
}
