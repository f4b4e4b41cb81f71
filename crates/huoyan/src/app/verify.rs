//! The audit trail's verification page. The composition root serves it because the page needs
//! a signed-in administrator (`auth`) while the verification itself lies below `auth`, in
//! `audit` (`audit::Verifications` runs it and renders the page).

use axum::Router;
use axum::extract::{FromRef, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use huoyan_core::auth::{Permission, Role};
use serde::Deserialize;

use crate::audit::Verifications;
use crate::auth::{Page, perm};
use crate::db::Db;
use crate::web::{Menu, MenuItem};

/// What the verification page needs: the database it verifies and the server's runs.
#[derive(Clone, FromRef)]
pub struct VerifyState {
    pub db: Db,
    pub menu: Menu,
    pub runs: Verifications,
}

fn key_id(db: &Db) -> Option<String> {
    db.audit_key.as_ref().map(|k| k.id())
}

async fn show(
    State(state): State<VerifyState>,
    Page { ctx, .. }: Page<perm::AuditVerify>,
) -> Response {
    state.runs.page(ctx, key_id(&state.db), None)
}

#[derive(Deserialize)]
struct StartForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
}

/// Starts a verification (or finds the one running) and shows its progress.
async fn start(
    State(state): State<VerifyState>,
    Page { user, ctx, .. }: Page<perm::AuditVerify>,
    axum::Form(form): axum::Form<StartForm>,
) -> Response {
    if let Err(e) = user.check_csrf(Some(&form.csrf)) {
        let why = e
            .fields()
            .first()
            .map(|f| ctx.message(&f.message))
            .unwrap_or_default();
        return state.runs.page(ctx, key_id(&state.db), Some(why));
    }
    state.runs.start(state.db.clone(), &user.username);
    Redirect::to("/audit/verify").into_response()
}

pub fn router() -> Router<VerifyState> {
    Router::new().route("/audit/verify", get(show).post(start))
}

pub fn menu() -> Vec<MenuItem> {
    vec![MenuItem::new("/audit/verify", "nav.verify", |r: Role| {
        r.allows(Permission::AuditVerify)
    })]
}
