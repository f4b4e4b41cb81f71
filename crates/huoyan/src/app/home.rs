//! The home page: the role's introduction and a card for each entry of its menu.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use huoyan_core::auth::Role;

use crate::auth::Page;
use crate::web::{Base, MenuItem, PageCtx, PageError, PageResultExt, render};

#[derive(askama::Template)]
#[template(path = "home.html")]
struct HomePage {
    ctx: PageCtx,
    role: Role,
    scope_name: String,
    intro_key: String,
    cards: Vec<MenuItem>,
    /// What waits for the user, queue by queue.
    waiting: Vec<crate::cases::Waiting>,
}

async fn home(State(state): State<Base>, page: Page) -> Result<Response, PageError> {
    let Page {
        user, locale, ctx, ..
    } = page;
    let scope_name = crate::org::regions::scope_label(&state.db, &user, locale)
        .await
        .page(locale)?;
    let cards = ctx.nav().iter().skip(1).copied().collect();
    let waiting = crate::cases::waiting(&state.db, &user, locale)
        .await
        .page(locale)?;
    Ok(render(&HomePage {
        role: user.role,
        scope_name,
        intro_key: format!("role.intro.{}", user.role.code()),
        cards,
        waiting,
        ctx,
    }))
}

pub fn router() -> Router<Base> {
    Router::new().route("/", get(home))
}
