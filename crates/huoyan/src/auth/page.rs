//! `Page<N>`: what `Can<N>` is for the API, for a server-rendered page — a signed-in caller whose
//! role passes `N`, with the page's locale and layout context ready. A caller not signed in is
//! sent to the login page; a role that may not open the page sees the 403 page.

use std::marker::PhantomData;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;

use super::{Needs, Principal, perm};
use crate::db::Db;
use crate::error::AppError;
use crate::i18n::Locale;
use crate::web::{Menu, PageCtx, PageError, PageUser};

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
                error: AppError::Forbidden,
                locale,
            });
        }
        let shown = PageUser {
            username: user.username.clone(),
            role: user.role,
            csrf: user.csrf.clone(),
        };
        let ctx = PageCtx::signed_in(
            locale,
            shown,
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
