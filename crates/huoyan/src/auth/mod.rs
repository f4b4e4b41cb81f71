//! Who is calling and what they may see: accounts bound to people, cookie sessions for pages
//! (with CSRF tokens), bearer tokens for programs, and each role's scope.

pub mod account_pages;
pub mod accounts;
mod page;
pub mod password;
mod remembered;
pub mod routes;
pub mod sessions;
pub mod throttle;
pub mod tokens;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use huoyan_core::auth::{Permission, Role, Scope};
use sqlx::{FromRow, Row};

use crate::db::{Db, Sql};
use crate::error::{AppError, AppResult};

pub const SESSION_COOKIE: &str = "huoyan_session";

/// What the sign-in routes and account administration need.
#[derive(Clone, FromRef)]
pub struct AuthState {
    pub db: Db,
    pub menu: crate::web::Menu,
    pub limiter: std::sync::Arc<sessions::LoginLimiter>,
    /// Cookies only over HTTPS (`Secure`): set when the server is reached through TLS.
    pub secure_cookies: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Cookie,
    Bearer,
}

/// The signed-in caller, resolved from a bearer token or the session cookie.
#[derive(Debug, Clone)]
pub struct Principal {
    pub account_id: i64,
    pub username: String,
    pub person_id: Option<i64>,
    pub role: Role,
    pub scope: Scope,
    /// The path of the scope region (`/1/5/`), loaded with the session so scoped queries need no
    /// extra lookup.
    pub scope_path: Option<String>,
    pub csrf: String,
    pub via: Via,
}

impl Principal {
    pub fn require(&self, p: Permission) -> AppResult<()> {
        if self.role.allows(p) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    pub fn actor(&self) -> crate::audit::Actor {
        crate::audit::Actor {
            id: Some(self.account_id),
            name: self.username.clone(),
        }
    }

    /// Appends to `sql` the condition that a person (column `person_col` holding the person's id,
    /// `home_col` their home region) lies within this caller's scope.
    pub fn scope_people(&self, sql: &mut Sql, person_col: &str, home_col: &str) {
        if let Some(path) = &self.scope_path {
            sql.push(&format!(
                " AND EXISTS (SELECT 1 FROM regions sr WHERE sr.id = {home_col} AND sr.path LIKE "
            ))
            .bind(format!("{path}%"))
            .push(")");
        } else if let Some(team) = self.scope.team_id {
            // A team's scope reaches its own members and those of its child teams (a branch's groups).
            sql.push(&format!(
                " AND EXISTS (SELECT 1 FROM team_members sm JOIN teams st ON st.id = sm.team_id \
                 WHERE sm.person_id = {person_col} AND (st.id = "
            ))
            .bind(team)
            .push(" OR st.parent_id = ")
            .bind(team)
            .push("))");
        } else if self.scope.department_id.is_some() {
            sql.push(" AND 1 = 0");
        }
    }

    /// Whether the region at `path` lies in this caller's region subtree (always, for a caller
    /// not confined to a region).
    pub fn region_in_scope(&self, path: &str) -> bool {
        self.scope_path
            .as_deref()
            .is_none_or(|scope| path.starts_with(scope))
    }

    /// The region subtree condition for rows that carry a region path column.
    pub fn scope_region(&self, sql: &mut Sql, path_col: &str) {
        if let Some(path) = &self.scope_path {
            sql.push(&format!(" AND {path_col} LIKE "))
                .bind(format!("{path}%"));
        }
    }

    pub fn check_csrf(&self, token: Option<&str>) -> AppResult<()> {
        if self.via == Via::Bearer {
            return Ok(());
        }
        match token {
            Some(t) if sessions::constant_time_eq(t.as_bytes(), self.csrf.as_bytes()) => Ok(()),
            _ => Err(AppError::invalid(
                "_csrf",
                "the form has expired; reload the page and try again",
            )),
        }
    }
}

pub use page::{Page, error_pages};

/// `auth`'s entry in the menu: the administrator's accounts.
pub fn menu() -> Vec<crate::web::MenuItem> {
    vec![crate::web::MenuItem::new(
        "/accounts",
        "nav.accounts",
        |r: Role| r.allows(Permission::AccountsManage),
    )]
}

impl<S: Send + Sync> FromRequestParts<S> for Principal
where
    Db: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(p) = parts.extensions.get::<Principal>() {
            return Ok(p.clone());
        }
        let (token, via) = presented_token(&parts.headers).ok_or(AppError::Unauthenticated)?;
        let principal = load(&Db::from_ref(state), &token, via)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        // Programs and htmx calls that ride on the page session must prove they come from our pages.
        if via == Via::Cookie && !parts.method.is_safe() && parts.uri.path().starts_with("/api/") {
            let header = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok());
            principal.check_csrf(header)?;
        }
        parts.extensions.insert(principal.clone());
        Ok(principal)
    }
}

/// The token a request presents: a bearer token, else the page session's cookie.
pub fn presented_token(headers: &HeaderMap) -> Option<(String, Via)> {
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|s| s.trim().to_string());
    match bearer {
        Some(t) => Some((t, Via::Bearer)),
        None => CookieJar::from_headers(headers)
            .get(SESSION_COOKIE)
            .map(|c| (c.value().to_string(), Via::Cookie)),
    }
}

/// The network address of the caller, when the server knows it (login throttling).
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let info = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>();
        Ok(ClientAddr(info.map(|i| i.0.ip())))
    }
}

/// How a scope reads in the API (`huoyan_core::auth::Scope`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ScopeDoc {
    /// A region and its subtree.
    region_id: Option<i64>,
    department_id: Option<i64>,
    team_id: Option<i64>,
}

/// Names at the type level what a caller's role must hold, so a handler can demand it as an
/// extractor (`Can` for the API, `Page` for pages).
pub trait Needs {
    fn allows(role: Role) -> bool;

    /// A refused role is answered as if the route did not exist (`Permission::hidden`).
    fn hidden() -> bool {
        false
    }
}

/// Permission markers, one per `Permission`, and `Anyone` for what every signed-in role may open.
pub mod perm {
    use huoyan_core::auth::Role;

    pub struct Anyone;
    impl super::Needs for Anyone {
        fn allows(_: Role) -> bool {
            true
        }
    }

    macro_rules! markers {
        ($($name:ident),*) => {$(
            pub struct $name;
            impl super::Needs for $name {
                fn allows(role: Role) -> bool {
                    role.allows(huoyan_core::auth::Permission::$name)
                }
                fn hidden() -> bool {
                    huoyan_core::auth::Permission::$name.hidden()
                }
            }
        )*};
    }
    markers!(
        RegionsRead,
        RegionsWrite,
        OrdersRead,
        OrdersWrite,
        SitesRead,
        SitesWrite,
        DepartmentsRead,
        DepartmentsWrite,
        PeopleRead,
        PeopleWrite,
        TeamsRead,
        TeamsWrite,
        AccountsManage,
        AuditRead,
        AuditVerify,
        Import,
        Export,
        CasesRead,
        CasesReport,
        CheckInsRead,
        CasesEvidence,
        CaseFigures,
        InspectionsRead,
        InspectionsRun,
        InspectionsManage,
        DisciplineFlag,
        DisciplineRead,
        WorkforceRead,
        WorkforceManage,
        WorkforcePlan,
        BlockersRead,
        TestingRead,
        TestingManage,
        TestingSample,
        TestingRegister,
        TestingLab,
        TestingRecall,
        DronesRead,
        DronesManage,
        DronesPlan,
        DronesFly,
        SupplyRead,
        SupplyPlan,
        SupplyDeliver,
        AssistanceRead,
        AssistanceFile,
        AssistanceAssign,
        HouseholdsRead,
        HouseholdsWrite
    );
}

/// A signed-in caller whose role holds permission `N`. As an extractor it runs before the body
/// is read, so a role without the permission gets 403 whatever it sent.
pub struct Can<N>(pub Principal, pub std::marker::PhantomData<N>);

impl<N: Needs + Send + Sync, S: Send + Sync> FromRequestParts<S> for Can<N>
where
    Db: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let p = Principal::from_request_parts(parts, state).await?;
        if !N::allows(p.role) {
            return Err(if N::hidden() {
                AppError::NotFound("route")
            } else {
                AppError::Forbidden
            });
        }
        Ok(Can(p, std::marker::PhantomData))
    }
}

/// The caller if signed in: pages use it to show the login link instead of failing.
pub struct MaybePrincipal(pub Option<Principal>);

impl<S: Send + Sync> FromRequestParts<S> for MaybePrincipal
where
    Db: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Principal::from_request_parts(parts, state).await {
            Ok(p) => Ok(MaybePrincipal(Some(p))),
            Err(AppError::Unauthenticated) => Ok(MaybePrincipal(None)),
            Err(e) => Err(e),
        }
    }
}

/// Account `account_id` as a caller (with no session): what a loader acts as when it replays
/// what that account did.
pub async fn principal_of(db: &Db, account_id: i64) -> AppResult<Principal> {
    let r = sqlx::query(
        "SELECT a.id, a.username, a.person_id, a.role, a.scope_region_id, a.scope_department_id, a.scope_team_id, r.path \
         FROM accounts a LEFT JOIN regions r ON r.id = a.scope_region_id WHERE a.id = $1",
    )
    .bind(account_id)
    .fetch_optional(&db.pool)
    .await?
    .ok_or(AppError::NotFound("account"))?;
    let role: String = r.try_get("role")?;
    Ok(Principal {
        account_id: r.try_get("id")?,
        username: r.try_get("username")?,
        person_id: r.try_get("person_id")?,
        role: Role::parse(&role)
            .ok_or_else(|| anyhow::anyhow!("account has unknown role {role}"))?,
        scope: Scope {
            region_id: r.try_get("scope_region_id")?,
            department_id: r.try_get("scope_department_id")?,
            team_id: r.try_get("scope_team_id")?,
        },
        scope_path: r.try_get("path")?,
        csrf: String::new(),
        via: Via::Bearer,
    })
}

/// A session's account as `load` reads it.
#[derive(FromRow)]
struct SessionRow {
    account_id: i64,
    username: String,
    person_id: Option<i64>,
    role: String,
    scope_region_id: Option<i64>,
    scope_department_id: Option<i64>,
    scope_team_id: Option<i64>,
    scope_path: Option<String>,
    csrf: String,
    expires_at: i64,
}

/// The caller behind a session or API token (Open311's `api_key` is one), if it is valid.
pub(crate) async fn load(db: &Db, token: &str, via: Via) -> AppResult<Option<Principal>> {
    let kind = match via {
        Via::Cookie => "cookie",
        Via::Bearer => "api",
    };
    let hash = sessions::token_hash(token);
    let key = format!("{kind}:{hash}");
    let now = crate::time::now_ms();
    remembered::recall_or_load(key, now, || read_session(db, hash, kind, now, via)).await
}

/// The caller of a session or API token by the token's hash, with the session's expiry.
async fn read_session(
    db: &Db,
    hash: String,
    kind: &str,
    now: i64,
    via: Via,
) -> AppResult<Option<(Principal, i64)>> {
    let row: Option<SessionRow> = sqlx::query_as(
        "SELECT a.id AS account_id, a.username AS username, a.person_id AS person_id, a.role AS role, \
                a.scope_region_id AS scope_region_id, a.scope_department_id AS scope_department_id, \
                a.scope_team_id AS scope_team_id, r.path AS scope_path, s.csrf AS csrf, s.expires_at AS expires_at \
         FROM sessions s JOIN accounts a ON a.id = s.account_id LEFT JOIN regions r ON r.id = a.scope_region_id \
         WHERE s.token_hash = $1 AND s.kind = $2 AND s.expires_at > $3 AND a.disabled = 0",
    )
    .bind(&hash)
    .bind(kind)
    .bind(now)
    .fetch_optional(&db.pool)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let role = Role::parse(&r.role)
        .ok_or_else(|| anyhow::anyhow!("account has unknown role {}", r.role))?;
    let principal = Principal {
        account_id: r.account_id,
        username: r.username,
        person_id: r.person_id,
        role,
        scope: Scope {
            region_id: r.scope_region_id,
            department_id: r.scope_department_id,
            team_id: r.scope_team_id,
        },
        scope_path: r.scope_path,
        csrf: r.csrf,
        via,
    };
    Ok(Some((principal, r.expires_at)))
}
