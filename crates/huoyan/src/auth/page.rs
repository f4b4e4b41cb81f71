//! `Page<N>`: what `Can<N>` is for the API, for a server-rendered page — a signed-in caller whose
//! role passes `N`, with the page's locale and layout context ready. A caller not signed in is
//! sent to the login page; a role that may not open the page sees the 403 page.
//!
//! `error_pages`: the layer that makes every error a page route answers the error page with the
//! caller's layout — menu, name, language — whatever raised it (a handler, an extractor, a route
//! that does not exist).

use std::marker::PhantomData;

use axum::extract::{FromRef, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::{Needs, Principal, perm};
use crate::db::Db;
use crate::error::{AppError, ErrorBody};
use crate::i18n::Locale;
use crate::web::{Base, Menu, PageCtx, PageError, PageUser};

pub struct Page<N = perm::Anyone> {
    pub user: Principal,
    pub locale: Locale,
    /// The layout's context, for the page's template.
    pub ctx: PageCtx,
    need: PhantomData<N>,
}

impl<N: Needs + Send + Sync, S: Send + Sync> FromRequestParts<S> for Page<N>
where
    Db: FromRef<S>,
    Menu: FromRef<S>,
{
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Ok(locale) = Locale::from_request_parts(parts, state).await;
        let user = Principal::from_request_parts(parts, state)
            .await
            .map_err(|error| PageError { error, locale })?;
        if !N::allows(user.role) {
            return Err(PageError {
                error: if N::hidden() {
                    AppError::NotFound("page")
                } else {
                    AppError::Forbidden
                },
                locale,
            });
        }
        let ctx = PageCtx::signed_in(
            locale,
            shown(&user),
            &Menu::from_ref(state),
            &parts.uri,
            &Db::from_ref(state),
            user.account_id,
        )
        .await
        .map_err(|error| PageError { error, locale })?;
        Ok(Page {
            user,
            locale,
            ctx,
            need: PhantomData,
        })
    }
}

/// The caller as the layout shows them.
fn shown(p: &Principal) -> PageUser {
    PageUser {
        username: p.username.clone(),
        role: p.role,
        csrf: p.csrf.clone(),
    }
}

/// Renders the errors of page routes as the error page, in the request's language and with the
/// caller's menu and name: an `AppError` (carried on the answer as its `ErrorBody`) by what it
/// says, anything else that is not already a page (axum's plain-text refusals, a 405) by its
/// status. A page that shows its own errors (a form sent back with them) passes untouched, as do
/// the API's answers; a caller who is not signed in goes to the login page. The session is read
/// again only here, on the error path, so no handler has to carry its context into its errors.
pub async fn error_pages(
    State(base): State<Base>,
    locale: Locale,
    req: Request,
    next: Next,
) -> Response {
    if crate::web::is_api(req.uri().path()) {
        return next.run(req).await;
    }
    let uri = req.uri().clone();
    let token = super::presented_token(req.headers());
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let error = res.extensions().get::<ErrorBody>().cloned();
    let is_page = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if error.is_none() && is_page {
        return res;
    }
    if status == StatusCode::UNAUTHORIZED {
        return Redirect::to("/login").into_response();
    }
    let locale = res.extensions().get::<Locale>().copied().unwrap_or(locale);
    let user = match token {
        Some((token, via)) => super::load(&base.db, &token, via)
            .await
            .unwrap_or_else(|e| {
                // The error page is still shown, to nobody in particular.
                tracing::warn!(error = %e, "error page: cannot read the session");
                None
            }),
        None => None,
    };
    let signed_in = match &user {
        Some(p) => PageCtx::signed_in(locale, shown(p), &base.menu, &uri, &base.db, p.account_id)
            .await
            .map_err(|e| tracing::warn!(error = %e, "error page: cannot count the menu's entries"))
            .ok(),
        None => None,
    };
    let ctx = signed_in.unwrap_or_else(|| PageCtx::anonymous(locale, uri.path()));
    let page = crate::web::error_page(ctx, status, error.as_ref());
    // The refusal's own headers (`Allow`, `Retry-After`, cookies) stay; the body is the page's.
    let (mut parts, _) = res.into_parts();
    let (page_parts, body) = page.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.extend(page_parts.headers);
    Response::from_parts(parts, body)
}
