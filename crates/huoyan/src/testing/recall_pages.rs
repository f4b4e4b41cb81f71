//! A positive tube's recall as a page: its people to retest at their doors, the cases it set
//! going, and its proposals to raise the buildings' control, which the commander decides here.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use huoyan_core::auth::Permission;
use serde::Deserialize;

use super::TestingState;
use super::proposals::{Decision, decide};
use super::results::{RecallView, get};
use crate::audit::Change;
use crate::auth::{Page, perm};
use crate::error::AppError;
use crate::web::{PageCtx, PageError, PageResultExt, render};

#[derive(askama::Template)]
#[template(path = "testing/recall.html")]
struct RecallPage {
    ctx: PageCtx,
    recall: RecallView,
    can_decide: bool,
}

impl RecallPage {
    fn at(&self, t: &str) -> String {
        crate::time::beijing_rfc3339(t)
    }
}

async fn recall_page(
    State(state): State<TestingState>,
    Page {
        user, ctx, locale, ..
    }: Page<perm::TestingRecall>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let recall = get(&state.db, &user, id).await.page(locale)?;
    Ok(render(&RecallPage {
        can_decide: user.role.allows(Permission::OrdersWrite),
        ctx,
        recall,
    }))
}

#[derive(Deserialize)]
struct DecisionForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    /// `accept` or `decline`: the button pressed.
    decision: String,
    #[serde(default)]
    note: String,
}

async fn decision_submit(
    State(state): State<TestingState>,
    Page { user, locale, .. }: Page<perm::OrdersWrite>,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<DecisionForm>,
) -> Result<Response, PageError> {
    user.check_csrf(Some(&form.csrf)).page(locale)?;
    let accept = match form.decision.as_str() {
        "accept" => true,
        "decline" => false,
        _ => {
            return Err(AppError::invalid("decision", "accept or decline")).page(locale);
        }
    };
    let d = Decision {
        accept,
        note: form.note,
    };
    let recall = Change::run(&state.db, &user.actor(), async |c| {
        decide(c, &user, id, &d).await
    })
    .await
    .page(locale)?;
    Ok(Redirect::to(&format!("/testing/recalls/{recall}")).into_response())
}

pub fn router() -> Router<TestingState> {
    Router::new()
        .route("/testing/recalls/{id}", axum::routing::get(recall_page))
        .route(
            "/testing/proposals/{id}/decision",
            axum::routing::post(decision_submit),
        )
}
