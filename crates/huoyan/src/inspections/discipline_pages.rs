//! The discipline track's pages, for the commission's roles alone: every other role gets the
//! unknown page's 404 (`Permission::hidden`). An inspector's flag is sent from the round page and
//! answered there, without a page to read it back.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use huoyan_core::inspections::discipline::{FlagAction, open_actions};
use serde::Deserialize;

use super::InspectionsState;
use super::discipline::{self, Flag, FlagDetail, FlagFilter, FlagStep, NewFlag};
use crate::audit::Change;
use crate::auth::{Page, perm};
use crate::check::Text;
use crate::http::ListPage;
use crate::web::{PageCtx, PageError, PageResultExt, render};

#[derive(askama::Template)]
#[template(path = "inspections/discipline.html")]
struct ListPageView {
    ctx: PageCtx,
    page: ListPage<Flag>,
}

#[derive(Deserialize)]
struct Offset {
    offset: Option<i64>,
}

async fn list_page(
    State(state): State<InspectionsState>,
    Page { ctx, locale, .. }: Page<perm::DisciplineRead>,
    Query(q): Query<Offset>,
) -> Result<Response, PageError> {
    let f = FlagFilter {
        state: None,
        limit: Some(50),
        offset: q.offset,
    };
    let page = discipline::list(&state.db, &f).await.page(locale)?;
    Ok(render(&ListPageView { ctx, page }))
}

#[derive(askama::Template)]
#[template(path = "inspections/flag.html")]
struct FlagPage {
    ctx: PageCtx,
    d: FlagDetail,
    actions: &'static [FlagAction],
}

async fn flag_page(
    State(state): State<InspectionsState>,
    Page { ctx, locale, .. }: Page<perm::DisciplineRead>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let d = discipline::detail(&state.db, id).await.page(locale)?;
    let actions = open_actions(d.flag.state);
    Ok(render(&FlagPage { ctx, d, actions }))
}

#[derive(Deserialize)]
struct StepForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    note: String,
}

async fn step_submit(
    State(state): State<InspectionsState>,
    Page { user, locale, .. }: Page<perm::DisciplineRead>,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<StepForm>,
) -> Result<Response, PageError> {
    user.check_csrf(Some(&form.csrf)).page(locale)?;
    let step = FlagStep {
        action: FlagAction::parse(&form.action)
            .ok_or_else(|| crate::error::AppError::invalid("action", "verify, transfer or dismiss"))
            .page(locale)?,
        note: Text::field("note", form.note).page(locale)?,
    };
    Change::run(&state.db, &user.actor(), async |c| {
        discipline::step(c, &user, id, &step).await
    })
    .await
    .page(locale)?;
    Ok(Redirect::to(&format!("/discipline/{id}")).into_response())
}

#[derive(Deserialize)]
struct FlagForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    stop_id: Option<i64>,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    seen: String,
}

/// From the round page: back to it, saying the record was sent.
async fn flag_submit(
    State(state): State<InspectionsState>,
    Page { user, locale, .. }: Page<perm::DisciplineFlag>,
    axum::Form(form): axum::Form<FlagForm>,
) -> Result<Response, PageError> {
    user.check_csrf(Some(&form.csrf)).page(locale)?;
    let new = NewFlag {
        stop_id: form.stop_id,
        subject: Text::field("subject", form.subject).page(locale)?,
        seen: Text::field("seen", form.seen).page(locale)?,
    };
    let id = Change::run(&state.db, &user.actor(), async |c| {
        discipline::flag(c, &user, &new).await
    })
    .await
    .page(locale)?;
    let round: Option<i64> = match form.stop_id {
        Some(stop) => sqlx::query_scalar("SELECT round_id FROM inspection_stops WHERE id = $1")
            .bind(stop)
            .fetch_optional(&state.db.pool)
            .await
            .map_err(crate::error::AppError::from)
            .page(locale)?,
        None => None,
    };
    Ok(match round {
        Some(r) => Redirect::to(&format!("/inspections/rounds/{r}?flagged=1")),
        None if user
            .role
            .allows(huoyan_core::auth::Permission::DisciplineRead) =>
        {
            Redirect::to(&format!("/discipline/{id}"))
        }
        None => Redirect::to("/inspections?flagged=1"),
    }
    .into_response())
}

pub fn router() -> Router<InspectionsState> {
    Router::new()
        .route("/discipline", axum::routing::get(list_page))
        .route("/discipline/flags", axum::routing::post(flag_submit))
        .route(
            "/discipline/{id}",
            axum::routing::get(flag_page).post(step_submit),
        )
}
