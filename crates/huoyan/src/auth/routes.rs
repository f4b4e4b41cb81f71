//! Signing in and out: bearer tokens for programs, the login page and cookie session for people.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::sessions::Refused;
use super::{ClientAddr, MaybePrincipal, Principal, SESSION_COOKIE, sessions};
use crate::auth::AuthState;
use crate::check::Text;
use crate::error::{AppError, AppResult};
use crate::http::ApiJson;
use crate::i18n::Locale;
use crate::web::{NextParam, PageCtx, PageError, render, safe_next};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    pub username: Text<64>,
    pub password: Text<1024>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    #[schema(format = DateTime)]
    pub expires_at: String,
}

/// Exchange a username and password for a bearer token (valid 7 days). Wrong passwords slow
/// down the address that sends them, and guessing at one account or many: a 429 says in
/// `Retry-After` how many seconds to wait.
#[utoipa::path(post, path = "/api/v1/auth/token", tag = "auth", operation_id = "issue_token", security(()),
    request_body = TokenRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = crate::error::ErrorBody),
        (status = 422, description = "a field is too long", body = crate::error::ErrorBody),
        (status = 429, body = crate::error::ErrorBody, headers(("Retry-After" = u64, description = "seconds to wait")))))]
async fn token(
    State(state): State<AuthState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<TokenRequest>,
) -> Result<ApiJson<TokenResponse>, Refused> {
    let id = sessions::sign_in(
        &state.db,
        &state.limiter,
        &req.username,
        &req.password,
        addr,
    )
    .await?;
    let issued = sessions::issue(&state.db, id, "api").await?;
    Ok(ApiJson(TokenResponse {
        token: issued.token,
        expires_at: crate::time::rfc3339(issued.expires_at_ms),
    }))
}

/// Sign out: end the token (or page session) this request is sent with. Other tokens of the
/// account stay valid; `DELETE /api/v1/auth/tokens/{id}` ends those.
#[utoipa::path(delete, path = "/api/v1/auth/token", tag = "auth", operation_id = "sign_out",
    responses((status = 204, description = "the token no longer signs anyone in"),
        (status = 401, body = crate::error::ErrorBody),
        (status = 422, description = "a page session's call without its CSRF header", body = crate::error::ErrorBody)))]
async fn sign_out(
    State(state): State<AuthState>,
    _p: Principal,
    headers: axum::http::HeaderMap,
) -> AppResult<axum::http::StatusCode> {
    // The principal proved the presented token valid; it is the one to end.
    let (token, _) = super::presented_token(&headers).ok_or(AppError::Unauthenticated)?;
    sessions::revoke(&state.db, &token).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub account_id: i64,
    pub username: String,
    pub person_id: Option<i64>,
    #[schema(value_type = huoyan_core::auth::Role)]
    pub role: String,
    #[schema(value_type = super::ScopeDoc)]
    pub scope: huoyan_core::auth::Scope,
    /// For a page session (the cookie), the token its writes carry in `X-CSRF-Token`: a page
    /// kept for offline use sends what was queued with the current session's token, not the one
    /// it was kept with. Only the site's own scripts can read it (no cross-origin reads are
    /// allowed), as they can read the pages that carry it. Absent for bearer tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
}

/// The calling account, its role and scope.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", operation_id = "me", responses((status = 200, body = Me)))]
async fn me(p: Principal) -> ApiJson<Me> {
    ApiJson(Me {
        account_id: p.account_id,
        username: p.username,
        person_id: p.person_id,
        role: p.role.code().to_string(),
        scope: p.scope,
        csrf_token: (p.via == super::Via::Cookie).then_some(p.csrf),
    })
}

pub fn api() -> OpenApiRouter<AuthState> {
    OpenApiRouter::new()
        .routes(routes!(token, sign_out))
        .routes(routes!(me))
        .merge(super::tokens::api())
}

const LOGIN_CSRF_COOKIE: &str = "huoyan_login_csrf";

#[derive(askama::Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    ctx: PageCtx,
    csrf: String,
    next: String,
    username: String,
    error: Option<String>,
}

fn login_page(
    locale: Locale,
    jar: CookieJar,
    secure: bool,
    next: &str,
    username: &str,
    error: Option<(StatusCode, String)>,
) -> Response {
    // Login CSRF is stopped by double submit: the form carries the value of a cookie it just set.
    let csrf = sessions::new_token();
    let cookie = Cookie::build((LOGIN_CSRF_COOKIE, csrf.clone()))
        .path("/login")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .build();
    let page = LoginPage {
        ctx: PageCtx::anonymous(locale, "/login"),
        csrf,
        next: next.to_string(),
        username: username.to_string(),
        error: error.as_ref().map(|(_, e)| e.clone()),
    };
    let status = error.map_or(StatusCode::OK, |(s, _)| s);
    (status, jar.add(cookie), render(&page)).into_response()
}

async fn login_form(
    State(state): State<AuthState>,
    locale: Locale,
    jar: CookieJar,
    user: MaybePrincipal,
    Query(q): Query<NextParam>,
) -> Response {
    if user.0.is_some() {
        return Redirect::to(safe_next(q.next.as_deref())).into_response();
    }
    login_page(
        locale,
        jar,
        state.secure_cookies,
        safe_next(q.next.as_deref()),
        "",
        None,
    )
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    #[serde(rename = "_csrf")]
    csrf: String,
    next: Option<String>,
}

async fn login(
    State(state): State<AuthState>,
    locale: Locale,
    jar: CookieJar,
    ClientAddr(addr): ClientAddr,
    axum::Form(form): axum::Form<LoginForm>,
) -> Response {
    let next = safe_next(form.next.as_deref()).to_string();
    // Over-long fields are refused first, and not shown back.
    if let Err(e) = sessions::check_lengths(&form.username, &form.password) {
        let colon = if locale.is_en() { ": " } else { "：" };
        let message = e
            .fields()
            .iter()
            .map(|f| {
                let label = locale.t(&format!("login.{}", f.field)).to_string();
                format!("{label}{colon}{}", locale.message(&f.message))
            })
            .collect::<Vec<_>>()
            .join("; ");
        let error = Some((StatusCode::UNPROCESSABLE_ENTITY, message));
        return login_page(locale, jar, state.secure_cookies, &next, "", error);
    }
    let expected = jar
        .get(LOGIN_CSRF_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    if expected.is_empty() || !sessions::constant_time_eq(expected.as_bytes(), form.csrf.as_bytes())
    {
        let error = Some((StatusCode::UNAUTHORIZED, locale.t("login.expired").into()));
        return login_page(
            locale,
            jar,
            state.secure_cookies,
            &next,
            &form.username,
            error,
        );
    }
    let signed_in = sessions::sign_in(
        &state.db,
        &state.limiter,
        &form.username,
        &form.password,
        addr,
    )
    .await;
    let id = match signed_in {
        Ok(id) => id,
        Err(Refused::Throttled(t)) => {
            let message = locale.message(&format!(
                "too many attempts; try again in {} seconds",
                t.secs()
            ));
            let page = login_page(
                locale,
                jar,
                state.secure_cookies,
                &next,
                &form.username,
                Some((StatusCode::TOO_MANY_REQUESTS, message)),
            );
            return (
                [(axum::http::header::RETRY_AFTER, t.secs().to_string())],
                page,
            )
                .into_response();
        }
        Err(Refused::Error(AppError::Unauthenticated)) => {
            let error = Some((StatusCode::UNAUTHORIZED, locale.t("login.failed").into()));
            return login_page(
                locale,
                jar,
                state.secure_cookies,
                &next,
                &form.username,
                error,
            );
        }
        Err(Refused::Error(error)) => return PageError { error, locale }.into_response(),
    };
    match sessions::issue(&state.db, id, "cookie").await {
        Ok(issued) => {
            let cookie = Cookie::build((SESSION_COOKIE, issued.token))
                .path("/")
                .http_only(true)
                .secure(state.secure_cookies)
                .same_site(SameSite::Lax)
                .build();
            (
                jar.remove(Cookie::from(LOGIN_CSRF_COOKIE)).add(cookie),
                Redirect::to(&next),
            )
                .into_response()
        }
        Err(error) => PageError { error, locale }.into_response(),
    }
}

#[derive(Deserialize)]
struct LogoutForm {
    #[serde(rename = "_csrf")]
    csrf: String,
}

async fn logout(
    State(state): State<AuthState>,
    user: Principal,
    jar: CookieJar,
    axum::Form(form): axum::Form<LogoutForm>,
) -> AppResult<Response> {
    user.check_csrf(Some(&form.csrf))?;
    if let Some(c) = jar.get(SESSION_COOKIE) {
        sessions::revoke(&state.db, c.value()).await?;
    }
    Ok((
        jar.remove(Cookie::build(SESSION_COOKIE).path("/")),
        Redirect::to("/login"),
    )
        .into_response())
}

pub fn pages() -> Router<AuthState> {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .merge(super::account_pages::router())
}
