//! The page kit: what every server-rendered page shares — the locale, the layout's context (the
//! signed-in user's name, role and CSRF token, the menu for the role), rendering, and the mapping
//! of errors to pages. It imports no context: the composition root gives it the menu, and
//! `auth::Page` fills a `PageCtx` for a signed-in request.

pub mod field;
pub mod map;
pub mod scan;
mod upload;

pub use upload::{Upload, upload};

use std::sync::Arc;

use std::collections::HashMap;

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRef, FromRequestParts, Path, Query};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use huoyan_core::auth::{Permission, Role};

use crate::db::Db;
use crate::error::{AppError, AppResult, ErrorBody, FieldError};
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

/// How many things an entry holds for an account (its unread notices), shown beside it on every
/// page. The context that owns the entry supplies it; the kit knows nothing of what it counts.
pub type Counter =
    fn(Db, i64) -> std::pin::Pin<Box<dyn std::future::Future<Output = AppResult<i64>> + Send>>;

/// One entry of the menu: shown to the roles `shown` admits.
#[derive(Clone, Copy)]
pub struct MenuItem {
    pub href: &'static str,
    /// The catalogue key of its label.
    pub key: &'static str,
    pub shown: fn(Role) -> bool,
    pub counter: Option<Counter>,
}

impl MenuItem {
    pub const fn new(href: &'static str, key: &'static str, shown: fn(Role) -> bool) -> Self {
        Self {
            href,
            key,
            shown,
            counter: None,
        }
    }

    /// The same entry with a count beside it.
    pub const fn counted(self, counter: Counter) -> Self {
        Self {
            counter: Some(counter),
            ..self
        }
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
    /// The counts of the counted entries, by href.
    counts: Vec<(&'static str, i64)>,
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
            counts: Vec::new(),
        }
    }

    /// The context of a signed-in user's page, with the menu for their role and its counts for
    /// account `account_id`.
    pub async fn signed_in(
        locale: Locale,
        user: PageUser,
        menu: &Menu,
        uri: &axum::http::Uri,
        db: &Db,
        account_id: i64,
    ) -> AppResult<Self> {
        let nav = menu.for_role(user.role);
        let mut counts = Vec::new();
        for item in &nav {
            if let Some(count) = item.counter {
                counts.push((item.href, count(db.clone(), account_id).await?));
            }
        }
        Ok(Self {
            locale,
            nav,
            counts,
            user: Some(user),
            path: uri.path().to_string(),
            here: uri
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| uri.path().to_string()),
        })
    }

    /// The count beside menu entry `href`, when it holds anything.
    pub fn count(&self, href: &str) -> Option<i64> {
        self.counts
            .iter()
            .find(|(h, n)| *h == href && *n > 0)
            .map(|(_, n)| *n)
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

    /// A form field's name in the page's language (`note`, `co[2].department_id` → the label of
    /// `note`, `co`); a field without a label shows as sent.
    pub fn field<'a>(&self, name: &'a str) -> &'a str {
        let base = name.split(['[', '.']).next().unwrap_or(name);
        self.locale.lookup(&format!("field.{base}")).unwrap_or(name)
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

    /// The catalogue key of this page's menu entry, which the folded phone menu shows.
    pub fn current_key(&self) -> &'static str {
        self.nav
            .iter()
            .find(|i| self.is_current(i.href))
            .map(|i| i.key)
            .unwrap_or("nav.menu")
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

/// A page handler's error. It answers as `AppError` does, in the language the handler chose; the
/// kernel's layer for page routes (`auth::error_pages`) turns it into the error page with the
/// caller's layout, or sends a caller who is not signed in to the login page.
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

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let mut res = self.error.into_response();
        res.extensions_mut().insert(self.locale);
        res
    }
}

/// Whether `path` is the JSON API's (or a program's, like the health check) rather than a page:
/// there, errors answer in JSON; everywhere else, as the error page.
pub fn is_api(path: &str) -> bool {
    ["/api/", "/open311/"]
        .iter()
        .any(|prefix| path.starts_with(prefix))
        || path == "/healthz"
}

#[derive(askama::Template)]
#[template(path = "error.html")]
struct ErrorPage {
    ctx: PageCtx,
    status: u16,
    message: String,
    fields: Vec<FieldError>,
}

/// The error page for an answer of `status`: what `error` says when the answer came from an
/// `AppError`, else what the status means (an extractor's own refusal, a method not allowed).
pub fn error_page(ctx: PageCtx, status: StatusCode, error: Option<&ErrorBody>) -> Response {
    let by_status = || match status.as_u16() {
        404 => "error.not_found",
        405 => "error.method",
        413 => "error.too_large",
        s if s >= 500 => "error.internal",
        _ => "error.bad_request",
    };
    let (message, fields) = match error {
        Some(e) if e.error == "not_found" => (ctx.t("error.not_found").to_string(), vec![]),
        Some(e) if e.error == "forbidden" && e.fields.is_empty() => {
            (ctx.t("error.forbidden").to_string(), vec![])
        }
        Some(e) => (ctx.message(&e.message), e.fields.clone()),
        None => (ctx.t(by_status()).to_string(), vec![]),
    };
    let page = ErrorPage {
        ctx,
        status: status.as_u16(),
        message,
        fields,
    };
    (status, render(&page)).into_response()
}

/// Path extractor for pages. A segment that does not parse (`/cases/abc`, `/orders/1e9`) names no
/// page, so it answers the 404 page; the API's `ApiPath` names the segment in a 422 instead.
#[derive(FromRequestParts)]
#[from_request(via(Path), rejection(NoSuchPage))]
pub struct PagePath<T>(pub T);

/// A page address whose parameters do not parse.
pub struct NoSuchPage(PathRejection);

impl From<PathRejection> for NoSuchPage {
    fn from(r: PathRejection) -> Self {
        Self(r)
    }
}

impl IntoResponse for NoSuchPage {
    fn into_response(self) -> Response {
        match self.0 {
            PathRejection::FailedToDeserializePathParams(_) => AppError::NotFound("page"),
            // A route whose pattern lacks what its handler reads: ours to fix.
            other => AppError::Internal(anyhow::anyhow!("page path: {}", other.body_text())),
        }
        .into_response()
    }
}

/// A form's fields as typed, to show them back when the form is refused.
#[derive(Debug, Default, Clone)]
pub struct Typed(pub HashMap<String, Vec<String>>);

impl Typed {
    /// The first value sent for `name`, or "".
    pub fn value(&self, name: &str) -> &str {
        self.0
            .get(name)
            .and_then(|v| v.first())
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// Whether `value` was among those sent for `name` (a checked box, a chosen option).
    pub fn has(&self, name: &str, value: impl std::fmt::Display) -> bool {
        let value = value.to_string();
        self.0.get(name).is_some_and(|v| v.contains(&value))
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
pub async fn not_found(uri: axum::http::Uri) -> AppError {
    AppError::NotFound(if is_api(uri.path()) { "route" } else { "page" })
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
pub fn asset(content_type: &'static str, body: impl Into<axum::body::Body>) -> Response {
    (
        [
            (axum::http::header::CONTENT_TYPE, content_type),
            (axum::http::header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body.into(),
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

/// The layout's script: long pickers search as you type.
async fn picker_script() -> Response {
    asset(JAVASCRIPT, include_str!("../../static/picker.js"))
}

/// The kit's own routes: the language switch, the stylesheet and the layout's script.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/lang/{code}", get(set_lang))
        .route("/static/app.css", get(stylesheet))
        .route("/static/picker.js", get(picker_script))
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
