//! Accounts: sign-in names bound to people, with a role and the scope it is confined to.

use axum::extract::State;
use huoyan_core::auth::{Role, Scope};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Can, password, perm};
use crate::audit::{Actor, Change, Columns};
use crate::auth::AuthState;
use crate::check::{Check, Text};
use crate::db::{Arg, Db, Sql};
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
    /// 1–64 characters without spaces.
    #[schema(min_length = 1, max_length = 64)]
    pub username: String,
    #[schema(min_length = 8, max_length = 1024)]
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
    pub role: Option<Text<40>>,
    #[schema(value_type = Option<super::ScopeDoc>)]
    pub scope: Option<Scope>,
    pub disabled: Option<bool>,
    pub password: Option<Text<1024>>,
}

const COLUMNS: &str = "id, username, person_id, role, scope_region_id, scope_department_id, scope_team_id, disabled, created_at";

/// An account as stored: `disabled` 0 or 1, `created_at` in epoch milliseconds.
#[derive(Debug, FromRow)]
struct AccountRow {
    id: i64,
    username: String,
    person_id: Option<i64>,
    role: String,
    scope_region_id: Option<i64>,
    scope_department_id: Option<i64>,
    scope_team_id: Option<i64>,
    disabled: i64,
    created_at: i64,
}

impl From<AccountRow> for Account {
    fn from(r: AccountRow) -> Self {
        Account {
            id: r.id,
            username: r.username,
            person_id: r.person_id,
            role: r.role,
            scope: Scope {
                region_id: r.scope_region_id,
                department_id: r.scope_department_id,
                team_id: r.scope_team_id,
            },
            disabled: r.disabled != 0,
            created_at: rfc3339(r.created_at),
        }
    }
}

fn from_row(r: &sqlx::any::AnyRow) -> Result<Account, sqlx::Error> {
    AccountRow::from_row(r).map(Account::from)
}

/// What an update may change.
#[derive(Debug, Clone, FromRow)]
struct Editable {
    role: String,
    scope_region_id: Option<i64>,
    scope_department_id: Option<i64>,
    scope_team_id: Option<i64>,
    disabled: i64,
    password_hash: String,
}

const EDITABLE: &str = "SELECT role, scope_region_id, scope_department_id, scope_team_id, disabled, password_hash \
     FROM accounts WHERE id = $1";

impl Columns for Editable {
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        vec![
            ("role", self.role.as_str().into()),
            ("scope_region_id", self.scope_region_id.into()),
            ("scope_department_id", self.scope_department_id.into()),
            ("scope_team_id", self.scope_team_id.into()),
            ("disabled", self.disabled.into()),
            ("password_hash", self.password_hash.as_str().into()),
        ]
    }

    /// The trail says that a password changed, never what it is.
    fn shown(&self, column: &str, value: &Arg) -> serde_json::Value {
        match (column, value) {
            ("password_hash", _) => "********".into(),
            ("disabled", Arg::Int(Some(d))) => (*d != 0).into(),
            _ => value.to_json(),
        }
    }

    /// The whole of what `huoyan audit verify` checks (role, scope, disabled) before and after,
    /// as `huoyan_core::audit::facts` reads it, and whether the password changed.
    fn summary(
        before: &Self,
        after: &Self,
        _was: serde_json::Map<String, serde_json::Value>,
        _now: serde_json::Map<String, serde_json::Value>,
    ) -> serde_json::Value {
        serde_json::json!({
            "before": before.vouched(),
            "after": after.vouched(),
            "password_changed": before.password_hash != after.password_hash,
        })
    }
}

impl Editable {
    fn vouched(&self) -> serde_json::Value {
        serde_json::json!({
            "role": self.role,
            "scope": Scope {
                region_id: self.scope_region_id,
                department_id: self.scope_department_id,
                team_id: self.scope_team_id,
            },
            "disabled": self.disabled != 0,
        })
    }
}

/// Fails the fields of a scope's anchors, and the person, that do not exist.
async fn check_refs(
    change: &mut Change,
    check: &mut Check,
    scope: &Scope,
    person_id: Option<i64>,
) -> AppResult<()> {
    let refs = [
        (
            "scope.region_id",
            "regions",
            scope.region_id,
            "no such region",
        ),
        (
            "scope.department_id",
            "departments",
            scope.department_id,
            "no such department",
        ),
        ("scope.team_id", "teams", scope.team_id, "no such team"),
        ("person_id", "people", person_id, "no such person"),
    ];
    for (field, table, id, missing) in refs {
        if let Some(id) = id
            && !change.exists(table, id).await?
        {
            check.fail(field, missing);
        }
    }
    Ok(())
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
    let mut check = Check::default();
    check_refs(change, &mut check, &new.scope, new.person_id).await?;
    check.done()?;
    let username = new.username.trim();
    let id: i64 = sqlx::query_scalar(
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
    .await?;
    change
        .record("account", id, "create", &serde_json::json!({"username": username, "role": new.role, "person_id": new.person_id, "scope": new.scope}))
        .await?;
    Ok(id)
}

pub async fn get(db: &Db, id: i64) -> AppResult<Account> {
    let row: AccountRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM accounts WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?
    .ok_or(AppError::NotFound("account"))?;
    Ok(Account::from(row))
}

pub async fn id_by_username(db: &Db, username: &str) -> AppResult<i64> {
    sqlx::query_scalar("SELECT id FROM accounts WHERE username = $1")
        .bind(username)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(AppError::NotFound("account"))
}

/// Changes an account's role, scope, password or whether it is disabled, deciding on the row as
/// the change reads it: a password change and a disable sent together both hold, whatever their
/// order.
pub async fn update(db: &Db, actor: &Actor, id: i64, u: &AccountUpdate) -> AppResult<Account> {
    // argon2 is slow on purpose: hash before the change begins, never between its read and write.
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
    Change::run(db, actor, async |change| {
        let before: Editable = change
            .fetch(EDITABLE, id)
            .await?
            .ok_or(AppError::NotFound("account"))?;
        let mut check = Check::default();
        if actor.id == Some(id) {
            // An administrator who disables or demotes themselves may leave nobody able to undo it.
            if u.disabled == Some(true) {
                check.fail("disabled", "you cannot disable your own account");
            }
            if u.role.as_deref().is_some_and(|r| r != before.role) {
                check.fail("role", "you cannot change your own role");
            }
        }
        let role = match parse_role(u.role.as_deref().unwrap_or(&before.role)) {
            Ok(role) => Some(role),
            Err(e) => {
                check.fail(
                    "role",
                    e.fields().first().map_or("", |f| f.message.as_str()),
                );
                None
            }
        };
        let scope = u.scope.clone().unwrap_or(Scope {
            region_id: before.scope_region_id,
            department_id: before.scope_department_id,
            team_id: before.scope_team_id,
        });
        if let Some(role) = role
            && let Err(e) = scope.check_for(role)
        {
            check.fail("scope", e.to_string());
        }
        if u.scope.is_some() {
            check_refs(change, &mut check, &scope, None).await?;
        }
        check.done()?;
        let after = Editable {
            role: role.map_or(before.role.clone(), |r| r.code().to_string()),
            scope_region_id: scope.region_id,
            scope_department_id: scope.department_id,
            scope_team_id: scope.team_id,
            disabled: u.disabled.map_or(before.disabled, i64::from),
            password_hash: hash.clone().unwrap_or_else(|| before.password_hash.clone()),
        };
        change
            .update("account", "accounts", id, &before, &after)
            .await?;
        end_sessions(change, id, &before, &after).await
    })
    .await?;
    // Its role, scope or sessions may have changed: no server remembers it as it was.
    super::remembered::forget_all();
    get(db, id).await
}

/// The one place an update signs an account out, in the change that makes it: a disabled account
/// loses its sessions and API tokens at once, and so does one whose password changed: whoever
/// held a token made with the old password is out.
async fn end_sessions(
    change: &mut Change,
    id: i64,
    before: &Editable,
    after: &Editable,
) -> AppResult<()> {
    if after.disabled != 0 || after.password_hash != before.password_hash {
        sqlx::query("DELETE FROM sessions WHERE account_id = $1")
            .bind(id)
            .execute(&mut *change.tx)
            .await?;
    }
    Ok(())
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccountFilter {
    pub role: Option<String>,
    /// Part of the sign-in name.
    #[param(inline)]
    pub q: Option<Text<100>>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// One page of the accounts matching `f`, in the order they were made: what the API's list and
/// the administrator's page show.
pub async fn list(db: &Db, f: &AccountFilter) -> AppResult<ListPage<Account>> {
    let paging = Paging {
        limit: f.limit,
        offset: f.offset,
    };
    let mut filter = Sql::new(" WHERE 1 = 1");
    if let Some(role) = f.role.as_deref().filter(|r| !r.is_empty()) {
        filter.push(" AND role = ").bind(role);
    }
    if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        filter.push(" AND username").like("%", q, "%");
    }
    crate::http::fetch_page(db, COLUMNS, "accounts", &filter, "id", &paging, from_row).await
}

/// List accounts (administrators only).
#[utoipa::path(get, path = "/api/v1/accounts", tag = "auth", operation_id = "list_accounts", params(AccountFilter), responses((status = 200, body = ListPage<Account>)))]
async fn list_route(
    State(state): State<AuthState>,
    Can(_p, _): Can<perm::AccountsManage>,
    ApiQuery(f): ApiQuery<AccountFilter>,
) -> AppResult<ApiJson<ListPage<Account>>> {
    Ok(ApiJson(list(&state.db, &f).await?))
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
        .routes(routes!(list_route, create_route))
        .routes(routes!(get_route, update_route))
}
