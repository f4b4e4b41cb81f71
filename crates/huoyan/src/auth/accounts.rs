//! Accounts: sign-in names bound to people, with a role and the scope it is confined to.

use axum::extract::State;
use huoyan_core::auth::{Role, Scope};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Can, password, perm};
use crate::audit::{Actor, Change};
use crate::auth::AuthState;
use crate::db::{Db, Sql};
use crate::error::{AppError, AppResult, FieldError};
use crate::http::{ApiJson, ApiPath, ApiQuery, ListPage, Paging};
use crate::time::rfc3339;

#[derive(Debug, Serialize, ToSchema)]
pub struct Account {
    pub id: i64,
    pub username: String,
    pub person_id: Option<i64>,
    #[schema(value_type = huoyan_core::auth::Role)]
    pub role: String,
    #[schema(value_type = super::ScopeDoc)]
    pub scope: Scope,
    pub disabled: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    pub username: String,
    pub password: String,
    #[schema(value_type = huoyan_core::auth::Role)]
    pub role: String,
    pub person_id: Option<i64>,
    #[serde(default)]
    #[schema(value_type = super::ScopeDoc)]
    pub scope: Scope,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct AccountUpdate {
    #[schema(value_type = Option<huoyan_core::auth::Role>)]
    pub role: Option<String>,
    #[schema(value_type = Option<super::ScopeDoc>)]
    pub scope: Option<Scope>,
    pub disabled: Option<bool>,
    pub password: Option<String>,
}

const COLUMNS: &str = "id, username, person_id, role, scope_region_id, scope_department_id, scope_team_id, disabled, created_at";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Account, sqlx::Error> {
    Ok(Account {
        id: r.try_get(0)?,
        username: r.try_get(1)?,
        person_id: r.try_get(2)?,
        role: r.try_get(3)?,
        scope: Scope {
            region_id: r.try_get(4)?,
            department_id: r.try_get(5)?,
            team_id: r.try_get(6)?,
        },
        disabled: r.try_get::<i64, _>(7)? != 0,
        created_at: rfc3339(r.try_get(8)?),
    })
}

fn parse_role(code: &str) -> AppResult<Role> {
    Role::parse(code).ok_or_else(|| {
        let all: Vec<_> = Role::ALL.iter().map(|r| r.code()).collect();
        AppError::invalid("role", format!("unknown role; one of {}", all.join(", ")))
    })
}

/// Creates an account. `allow_demo_password` is true only for `huoyan demo`.
pub async fn create(
    db: &Db,
    actor: &Actor,
    new: &NewAccount,
    allow_demo_password: bool,
) -> AppResult<i64> {
    check_new(new, allow_demo_password)?;
    let pw = new.password.clone();
    let hash = tokio::task::spawn_blocking(move || password::hash(&pw))
        .await
        .map_err(anyhow::Error::from)??;
    Change::run(db, actor, async |change| insert(change, new, &hash).await).await
}

/// Checks a new account's name, password strength, role and scope, naming every bad field.
pub fn check_new(new: &NewAccount, allow_demo_password: bool) -> AppResult<()> {
    let mut errors = Vec::new();
    let username = new.username.trim();
    if username.is_empty() || username.len() > 64 || username.chars().any(char::is_whitespace) {
        errors.push(FieldError::new(
            "username",
            "1–64 characters without spaces",
        ));
    }
    if let Err(AppError::Invalid(f)) = password::check_strength(&new.password, allow_demo_password)
    {
        errors.extend(f);
    }
    match Role::parse(&new.role) {
        None => errors.push(FieldError::new("role", "unknown role")),
        Some(role) => {
            if let Err(e) = new.scope.check_for(role) {
                errors.push(FieldError::new("scope", e.to_string()));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Invalid(errors))
    }
}

/// Writes an account checked by `check_new`, with `password_hash` already made of its password,
/// and its audit event, inside `change`. The demo makes many logins with one password: it hashes
/// it once (argon2 is slow on purpose) and writes them all in one change.
pub async fn insert(change: &mut Change, new: &NewAccount, password_hash: &str) -> AppResult<i64> {
    let username = new.username.trim();
    let id: i64 = sqlx::query(
        "INSERT INTO accounts (username, person_id, role, scope_region_id, scope_department_id, scope_team_id, password_hash, disabled, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8) RETURNING id",
    )
    .bind(username)
    .bind(new.person_id)
    .bind(&new.role)
    .bind(new.scope.region_id)
    .bind(new.scope.department_id)
    .bind(new.scope.team_id)
    .bind(password_hash)
    .bind(change.at_ms())
    .fetch_one(&mut *change.tx)
    .await?
    .try_get(0)?;
    change
        .record("account", id, "create", &serde_json::json!({"username": username, "role": new.role, "person_id": new.person_id, "scope": new.scope}))
        .await?;
    Ok(id)
}

pub async fn get(db: &Db, id: i64) -> AppResult<Account> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM accounts WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?
    .ok_or(AppError::NotFound("account"))?;
    Ok(from_row(&row)?)
}

pub async fn id_by_username(db: &Db, username: &str) -> AppResult<i64> {
    let row = sqlx::query("SELECT id FROM accounts WHERE username = $1")
        .bind(username)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(AppError::NotFound("account"))?;
    Ok(row.try_get(0)?)
}

pub async fn update(db: &Db, actor: &Actor, id: i64, u: &AccountUpdate) -> AppResult<Account> {
    let before = get(db, id).await?;
    if actor.id == Some(id) {
        // An administrator who disables or demotes themselves may leave nobody able to undo it.
        if u.disabled == Some(true) {
            return Err(AppError::invalid(
                "disabled",
                "you cannot disable your own account",
            ));
        }
        if u.role.as_deref().is_some_and(|r| r != before.role) {
            return Err(AppError::invalid("role", "you cannot change your own role"));
        }
    }
    let role = match &u.role {
        Some(r) => parse_role(r)?,
        None => parse_role(&before.role)?,
    };
    let scope = u.scope.clone().unwrap_or_else(|| before.scope.clone());
    scope
        .check_for(role)
        .map_err(|e| AppError::invalid("scope", e.to_string()))?;
    let hash = match &u.password {
        Some(p) => {
            password::check_strength(p, false)?;
            let p = p.clone();
            Some(
                tokio::task::spawn_blocking(move || password::hash(&p))
                    .await
                    .map_err(anyhow::Error::from)??,
            )
        }
        None => None,
    };
    let disabled = u.disabled.unwrap_or(before.disabled);
    let mut change = Change::begin(db, actor).await?;
    sqlx::query(
        "UPDATE accounts SET role = $1, scope_region_id = $2, scope_department_id = $3, scope_team_id = $4, disabled = $5, \
         password_hash = COALESCE($6, password_hash) WHERE id = $7",
    )
    .bind(role.code())
    .bind(scope.region_id)
    .bind(scope.department_id)
    .bind(scope.team_id)
    .bind(disabled as i64)
    .bind(hash)
    .bind(id)
    .execute(&mut *change.tx)
    .await?;
    if disabled || u.password.is_some() {
        // A disabled account loses its open sessions at once, and so does one whose password
        // changed: whoever held a token made with the old password is out.
        sqlx::query("DELETE FROM sessions WHERE account_id = $1")
            .bind(id)
            .execute(&mut *change.tx)
            .await?;
    }
    change
        .record(
            "account",
            id,
            "update",
            &serde_json::json!({
                "before": {"role": before.role, "scope": before.scope, "disabled": before.disabled},
                "after": {"role": role.code(), "scope": scope, "disabled": disabled},
                "password_changed": u.password.is_some(),
            }),
        )
        .await?;
    change.commit().await?;
    get(db, id).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccountFilter {
    pub role: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// List accounts (administrators only).
#[utoipa::path(get, path = "/api/v1/accounts", tag = "auth", operation_id = "list_accounts", params(AccountFilter), responses((status = 200, body = ListPage<Account>)))]
async fn list(
    State(state): State<AuthState>,
    Can(_p, _): Can<perm::AccountsManage>,
    ApiQuery(f): ApiQuery<AccountFilter>,
) -> AppResult<ApiJson<ListPage<Account>>> {
    let paging = Paging {
        limit: f.limit,
        offset: f.offset,
    };
    let mut filter = Sql::new(" WHERE 1 = 1");
    if let Some(role) = f.role.filter(|r| !r.is_empty()) {
        filter.push(" AND role = ").bind(role);
    }
    let page = crate::http::fetch_page(
        &state.db, COLUMNS, "accounts", &filter, "id", &paging, from_row,
    )
    .await?;
    Ok(ApiJson(page))
}

/// Create an account bound to a person, with a role and scope.
#[utoipa::path(post, path = "/api/v1/accounts", tag = "auth", operation_id = "create_account", request_body = NewAccount, responses((status = 201, body = Account)))]
async fn create_route(
    State(state): State<AuthState>,
    Can(p, _): Can<perm::AccountsManage>,
    ApiJson(new): ApiJson<NewAccount>,
) -> AppResult<(axum::http::StatusCode, ApiJson<Account>)> {
    let id = create(&state.db, &p.actor(), &new, false).await?;
    Ok((
        axum::http::StatusCode::CREATED,
        ApiJson(get(&state.db, id).await?),
    ))
}

/// One account.
#[utoipa::path(get, path = "/api/v1/accounts/{id}", tag = "auth", operation_id = "get_account", params(("id" = i64, Path)), responses((status = 200, body = Account)))]
async fn get_route(
    State(state): State<AuthState>,
    Can(_p, _): Can<perm::AccountsManage>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<ApiJson<Account>> {
    Ok(ApiJson(get(&state.db, id).await?))
}

/// Change an account's role, scope, password or disable it.
#[utoipa::path(patch, path = "/api/v1/accounts/{id}", tag = "auth", operation_id = "update_account", params(("id" = i64, Path)), request_body = AccountUpdate, responses((status = 200, body = Account)))]
async fn update_route(
    State(state): State<AuthState>,
    Can(p, _): Can<perm::AccountsManage>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(u): ApiJson<AccountUpdate>,
) -> AppResult<ApiJson<Account>> {
    Ok(ApiJson(update(&state.db, &p.actor(), id, &u).await?))
}

pub fn api() -> OpenApiRouter<AuthState> {
    OpenApiRouter::new()
        .routes(routes!(list, create_route))
        .routes(routes!(get_route, update_route))
}
