//! What every server-rendered page shares: the locale, the signed-in user, the CSRF token, the
//! navigation for the user's role, and the mapping of errors to pages.

use axum::Router;
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use huoyan_core::auth::{Permission, Role};

use crate::auth::{MaybePrincipal, Principal};
use crate::error::{AppError, FieldError};
use crate::http::AppState;
use crate::i18n::Locale;

pub const LANG_COOKIE: &str = "huoyan_lang";

/// The locale of this request: `?lang=` first, then the cookie, then Chinese.
/// The language a request names with `?lang=`, if any.
pub fn asked_locale(uri: &axum::http::Uri) -> Option<Locale> {
    uri.query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("lang=")))
        .and_then(Locale::parse)
}

impl FromRequestParts<AppState> for Locale {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        let from_query = asked_locale(&parts.uri);
        let from_cookie = || {
            CookieJar::from_headers(&parts.headers)
                .get(LANG_COOKIE)
                .and_then(|c| Locale::parse(c.value()))
        };
        Ok(from_query.or_else(from_cookie).unwrap_or_default())
    }
}

pub struct NavItem {
    pub href: &'static str,
    pub key: &'static str,
}

/// Everything the layout needs.
pub struct PageCtx {
    pub locale: Locale,
    pub user: Option<Principal>,
    pub path: String,
}

impl PageCtx {
    pub fn new(locale: Locale, user: Option<Principal>, path: impl Into<String>) -> Self {
        Self {
            locale,
            user,
            path: path.into(),
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
    pub fn nav(&self) -> Vec<NavItem> {
        let mut items = vec![
            NavItem {
                href: "/",
                key: "nav.home",
            },
            NavItem {
                href: "/regions",
                key: "nav.regions",
            },
        ];
        items.push(NavItem {
            href: "/orders",
            key: "nav.orders",
        });
        if self.can(Permission::PeopleRead) {
            items.push(NavItem {
                href: "/people",
                key: "nav.people",
            });
        }
        if self.can(Permission::TeamsRead) {
            items.push(NavItem {
                href: "/teams",
                key: "nav.teams",
            });
        }
        if let Some(u) = &self.user {
            if u.role.allows(Permission::CasesReport) {
                items.push(NavItem {
                    href: "/cases/new",
                    key: "cases.new",
                });
            }
            for v in crate::cases::pages::views_for(u.role) {
                items.push(NavItem {
                    href: v.href(),
                    key: v.title_key(),
                });
            }
            if u.role.allows(Permission::CasesReport) || u.role.allows(Permission::CheckInsRead) {
                items.push(NavItem {
                    href: "/check-ins",
                    key: "checkins.title",
                });
            }
            if u.role.allows(Permission::CaseFigures) {
                items.push(NavItem {
                    href: "/cases/figures",
                    key: "figures.title",
                });
            }
            items.push(NavItem {
                href: "/notifications",
                key: "nav.notifications",
            });
        }
        items
    }

    /// Chinese time in the city's zone: what every page shows.
    pub fn time(&self, ms: i64) -> String {
        crate::http::pages::beijing(ms)
    }
}

pub fn beijing(ms: i64) -> String {
    use chrono::TimeZone;
    chrono::Utc
        .timestamp_millis_opt(ms)
        .single()
        .map(|t| {
            t.with_timezone(&chrono_tz::Asia::Shanghai)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
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
            ctx: PageCtx::new(self.locale, None, ""),
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

/// A page that needs a signed-in user: the principal or the login redirect.
pub fn signed_in(user: MaybePrincipal, locale: Locale) -> Result<Principal, PageError> {
    user.0.ok_or(PageError {
        error: AppError::Unauthenticated,
        locale,
    })
}

#[derive(askama::Template)]
#[template(path = "home.html")]
struct HomePage {
    ctx: PageCtx,
    role: Role,
    scope_name: String,
    intro_key: String,
    cards: Vec<NavItem>,
}

async fn home(
    axum::extract::State(state): axum::extract::State<AppState>,
    locale: Locale,
    user: MaybePrincipal,
) -> Result<Response, PageError> {
    let user = signed_in(user, locale)?;
    let scope_name = crate::org::regions::scope_label(&state.db, &user, locale)
        .await
        .page(locale)?;
    let ctx = PageCtx::new(locale, Some(user.clone()), "/");
    let cards = ctx.nav().into_iter().skip(1).collect();
    Ok(render(&HomePage {
        role: user.role,
        scope_name,
        intro_key: format!("role.intro.{}", user.role.code()),
        cards,
        ctx,
    }))
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

async fn stylesheet() -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../../static/app.css"),
    )
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/lang/{code}", get(set_lang))
        .route("/static/app.css", get(stylesheet))
        .merge(crate::auth::routes::pages())
        .merge(crate::org::pages::router())
        .merge(crate::cases::pages::router())
        .merge(crate::notifications::pages())
        .merge(crate::cases::figures::pages())
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
