//! The page kit: what every server-rendered page shares — the locale, the layout's context (the
//! signed-in user's name, role and CSRF token, the menu for the role), rendering, and the mapping
//! of errors to pages. It imports no context: the composition root gives it the menu, and
//! `auth::Page` fills a `PageCtx` for a signed-in request.

pub mod map;

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRef, FromRequestParts, Path, Query};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use huoyan_core::auth::{Permission, Role};

use crate::db::Db;
use crate::error::{AppError, FieldError};
use crate::i18n::Locale;

pub const LANG_COOKIE: &str = "huoyan_lang";

/// The locale of this request: `?lang=` first, then the cookie, then Chinese.
impl<S: Send + Sync> FromRequestParts<S> for Locale {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let from_cookie = || {
            CookieJar::from_headers(&parts.headers)
                .get(LANG_COOKIE)
                .and_then(|c| Locale::parse(c.value()))
        };
        Ok(Locale::asked(&parts.uri)
            .or_else(from_cookie)
            .unwrap_or_default())
    }
}

/// One entry of the menu: shown to the roles `shown` admits.
#[derive(Clone, Copy)]
pub struct MenuItem {
    pub href: &'static str,
    /// The catalogue key of its label.
    pub key: &'static str,
    pub shown: fn(Role) -> bool,
}

impl MenuItem {
    pub const fn new(href: &'static str, key: &'static str, shown: fn(Role) -> bool) -> Self {
        Self { href, key, shown }
    }
}

/// The whole menu, in order, as the composition root gathers it from every context.
#[derive(Clone, Default)]
pub struct Menu(Arc<[MenuItem]>);

impl Menu {
    pub fn new(items: Vec<MenuItem>) -> Self {
        Self(items.into())
    }

    /// The entries `role` may open.
    pub fn for_role(&self, role: Role) -> Vec<MenuItem> {
        self.0.iter().filter(|i| (i.shown)(role)).copied().collect()
    }
}

/// What every context's pages need from the kernel: the database and the menu. Contexts with
/// more state embed these two and derive `FromRef`.
#[derive(Clone, FromRef)]
pub struct Base {
    pub db: Db,
    pub menu: Menu,
}

/// The signed-in user as the layout shows them.
pub struct PageUser {
    pub username: String,
    pub role: Role,
    pub csrf: String,
}

/// Everything the layout needs.
pub struct PageCtx {
    pub locale: Locale,
    pub user: Option<PageUser>,
    /// The request's path, for marking the current menu entry.
    pub path: String,
    /// Path and query, where a language switch returns to.
    pub here: String,
    nav: Vec<MenuItem>,
}

impl PageCtx {
    /// The context of a page shown to nobody in particular (login, errors).
    pub fn anonymous(locale: Locale, path: impl Into<String>) -> Self {
        let path = path.into();
        Self {
            locale,
            user: None,
            here: path.clone(),
            path,
            nav: Vec::new(),
        }
    }

    /// The context of a signed-in user's page, with the menu for their role.
    pub fn signed_in(locale: Locale, user: PageUser, menu: &Menu, uri: &axum::http::Uri) -> Self {
        Self {
            locale,
            nav: menu.for_role(user.role),
            user: Some(user),
            path: uri.path().to_string(),
            here: uri
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| uri.path().to_string()),
        }
    }

    pub fn t<'a>(&self, key: &'a str) -> &'a str {
        self.locale.t(key)
    }

    pub fn en(&self) -> bool {
        self.locale.is_en()
    }

    /// An error message in the page's language.
    pub fn message(&self, english: &str) -> String {
        self.locale.message(english)
    }

    pub fn lang(&self) -> &'static str {
        self.locale.code()
    }

    pub fn csrf(&self) -> &str {
        self.user.as_ref().map(|u| u.csrf.as_str()).unwrap_or("")
    }

    pub fn role_label(&self) -> &'static str {
        self.user
            .as_ref()
            .map(|u| u.role.label(self.en()))
            .unwrap_or("")
    }

    pub fn username(&self) -> &str {
        self.user
            .as_ref()
            .map(|u| u.username.as_str())
            .unwrap_or("")
    }

    pub fn other_lang(&self) -> &'static str {
        if self.en() { "zh" } else { "en" }
    }

    pub fn can(&self, p: Permission) -> bool {
        self.user.as_ref().is_some_and(|u| u.role.allows(p))
    }

    /// The menu for the user's role: only what the role may open.
    pub fn nav(&self) -> &[MenuItem] {
        &self.nav
    }

    /// Whether `href` is the menu entry of this page: the entry naming exactly this path and
    /// query, else the longest one whose path this page's lies under.
    pub fn is_current(&self, href: &str) -> bool {
        if self.nav.iter().any(|i| i.href == self.here) {
            return href == self.here;
        }
        // Entries with a query (the case views) are current only when named exactly.
        let under = |h: &str| {
            !h.contains('?')
                && (self.path == h || (h != "/" && self.path.starts_with(&format!("{h}/"))))
        };
        let best = self
            .nav
            .iter()
            .filter(|i| under(i.href))
            .max_by_key(|i| i.href.len());
        best.is_some_and(|b| b.href == href)
    }

    /// Chinese time in the city's zone: what every page shows.
    pub fn time(&self, ms: i64) -> String {
        crate::time::beijing(ms)
    }
}

/// A page handler's error: sign-in problems redirect to the login page, everything else renders
/// the error page in the user's language with the status `AppError` chose.
pub struct PageError {
    pub error: AppError,
    pub locale: Locale,
}

pub trait PageResultExt<T> {
    fn page(self, locale: Locale) -> Result<T, PageError>;
}

impl<T> PageResultExt<T> for Result<T, AppError> {
    fn page(self, locale: Locale) -> Result<T, PageError> {
        self.map_err(|error| PageError { error, locale })
    }
}

#[derive(askama::Template)]
#[template(path = "error.html")]
struct ErrorPage {
    ctx: PageCtx,
    status: u16,
    message: String,
    fields: Vec<FieldError>,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if matches!(self.error, AppError::Unauthenticated) {
            return Redirect::to("/login").into_response();
        }
        let status = self.error.status();
        let message = match &self.error {
            AppError::Forbidden => self.locale.t("error.forbidden").to_string(),
            AppError::NotFound(_) => self.locale.t("error.not_found").to_string(),
            e => self.locale.message(&e.public_message()),
        };
        let page = ErrorPage {
            ctx: PageCtx::anonymous(self.locale, ""),
            status: status.as_u16(),
            message,
            fields: self.error.fields().to_vec(),
        };
        (status, render(&page)).into_response()
    }
}

/// The messages a form's errors give for `field` (and its elements, `field[3]`), in the page's
/// language, joined for showing beside the input.
pub fn messages_for(errors: &[FieldError], field: &str, locale: Locale) -> String {
    errors
        .iter()
        .filter(|e| e.field == field || e.field.starts_with(&format!("{field}[")))
        .map(|e| locale.message(&e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

pub fn render(t: &impl askama::Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

/// What no route answers: the JSON error under the API prefixes, the error page elsewhere.
pub async fn not_found(locale: Locale, uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") || uri.path().starts_with("/open311/") {
        return AppError::NotFound("route").into_response();
    }
    PageError {
        error: AppError::NotFound("page"),
        locale,
    }
    .into_response()
}

async fn set_lang(
    Path(code): Path<String>,
    Query(q): Query<NextParam>,
    jar: CookieJar,
) -> Response {
    let locale = Locale::parse(&code).unwrap_or_default();
    let cookie = Cookie::build((LANG_COOKIE, locale.code().to_string()))
        .path("/")
        .same_site(SameSite::Lax)
        .http_only(true)
        .build();
    (jar.add(cookie), Redirect::to(safe_next(q.next.as_deref()))).into_response()
}

#[derive(serde::Deserialize)]
pub struct NextParam {
    pub next: Option<String>,
}

/// Only local paths are followed after login or a language switch (no open redirect): a path
/// that starts with one `/`, with no backslash (browsers read `/\host` as `//host`) and no
/// control character (they drop tabs and newlines, so `/\t/host` becomes `//host`). Anything
/// else, a scheme or a host included, goes to `/`.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n[1..].starts_with('/')
                && !n.contains('\\')
                && !n.chars().any(char::is_control) =>
        {
            n
        }
        _ => "/",
    }
}

/// A file built into the binary. Browsers may keep it five minutes: everything else the server
/// answers is `no-store` (see `app::router`).
pub fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (axum::http::header::CONTENT_TYPE, content_type),
            (axum::http::header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response()
}

pub const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

async fn stylesheet() -> Response {
    asset(
        "text/css; charset=utf-8",
        include_str!("../../static/app.css"),
    )
}

/// The kit's own routes: the language switch and the stylesheet.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/lang/{code}", get(set_lang))
        .route("/static/app.css", get(stylesheet))
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed() {
        for local in ["/", "/cases?view=mine", "/regions/3", "/search?q=食品"] {
            assert_eq!(safe_next(Some(local)), local);
        }
        for hostile in [
            "//evil.example",
            "/\\evil.example",
            "/\\/evil.example",
            "\\\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\nSet-Cookie: a=b",
            "/\u{85}x",
            "https://evil.example",
            "javascript:alert(1)",
            "evil.example",
            "",
        ] {
            assert_eq!(safe_next(Some(hostile)), "/", "{hostile:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
