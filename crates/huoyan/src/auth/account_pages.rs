//! The administrator's account pages: the list with search, a new account, and one account's
//! role and scope, sign-in (disable, enable) and password. Each form's handler calls what the
//! API's route calls (`accounts::create`, `accounts::update`), so a page and the API check,
//! refuse and audit alike; a refused form comes back with what was typed (never a password) and
//! each bad field named beside its input, in the page's language.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use huoyan_core::auth::{Role, Scope, ScopeKind};
use huoyan_core::org::{RegionPath, TeamKind};
use serde::Deserialize;
use sqlx::Row;

use super::accounts::{self, Account, AccountFilter, AccountUpdate, NewAccount};
use super::{AuthState, Page, Principal, perm};
use crate::check::Text;
use crate::db::Db;
use crate::error::{AppError, AppResult, FieldError};
use crate::http::ListPage;
use crate::i18n::Locale;
use crate::web::{PageCtx, PageError, PageResultExt, messages_for, render};

/// What an account may be confined to, each as its id and a label that tells it apart: regions
/// (down to compounds) by their lineage, departments by name, teams by name and kind.
pub struct Choices {
    pub regions: Vec<(i64, String)>,
    pub departments: Vec<(i64, String)>,
    pub teams: Vec<(i64, String)>,
}

impl Choices {
    async fn load(db: &Db, locale: Locale) -> AppResult<Choices> {
        // Buildings confine no role; every level above one does (a supervisor's is a compound).
        let rows = sqlx::query("SELECT id, name, path FROM regions WHERE level <> 'building'")
            .fetch_all(&db.pool)
            .await?;
        let mut names = HashMap::with_capacity(rows.len());
        let mut paths = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: i64 = r.try_get("id")?;
            names.insert(id, r.try_get::<String, _>("name")?);
            paths.push((
                id,
                RegionPath::from_stored(r.try_get::<String, _>("path")?).ids(),
            ));
        }
        // Each subtree under its root, in the order its regions were made.
        paths.sort_by(|a, b| a.1.cmp(&b.1));
        let regions = paths
            .into_iter()
            .map(|(id, lineage)| {
                // The city is every region's first ancestor: named only for itself.
                let shown = if lineage.len() > 1 {
                    &lineage[1..]
                } else {
                    &lineage[..]
                };
                let label = shown
                    .iter()
                    .filter_map(|i| names.get(i).map(String::as_str))
                    .collect::<Vec<_>>()
                    .join(" › ");
                (id, label)
            })
            .collect();
        let departments = sqlx::query("SELECT id, name FROM departments ORDER BY name")
            .fetch_all(&db.pool)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("name")?)))
            .collect::<Result<_, sqlx::Error>>()?;
        let teams = sqlx::query("SELECT id, name, kind FROM teams ORDER BY kind, name")
            .fetch_all(&db.pool)
            .await?
            .iter()
            .map(|r| {
                let kind: String = r.try_get("kind")?;
                let kind = TeamKind::parse(&kind).map_or("", |k| k.label(locale.is_en()));
                Ok((
                    r.try_get("id")?,
                    format!("{} · {kind}", r.try_get::<String, _>("name")?),
                ))
            })
            .collect::<Result<_, sqlx::Error>>()?;
        Ok(Choices {
            regions,
            departments,
            teams,
        })
    }

    /// What a scope confines to, as the pickers name it; the whole city when nothing.
    fn label(&self, scope: &Scope, locale: Locale) -> String {
        let find = |list: &[(i64, String)], id: i64| {
            list.iter()
                .find(|(i, _)| *i == id)
                .map_or_else(|| format!("#{id}"), |(_, l)| l.clone())
        };
        match (scope.region_id, scope.department_id, scope.team_id) {
            (Some(id), _, _) => find(&self.regions, id),
            (_, Some(id), _) => find(&self.departments, id),
            (_, _, Some(id)) => find(&self.teams, id),
            _ => locale.t("account.whole_city").to_string(),
        }
    }
}

/// Every role with its label and the anchor its scope needs (which picker the page shows).
fn roles(locale: Locale) -> Vec<(&'static str, &'static str, &'static str)> {
    Role::ALL
        .iter()
        .map(|r| (r.code(), r.label(locale.is_en()), kind_name(r.scope_kind())))
        .collect()
}

fn kind_name(kind: ScopeKind) -> &'static str {
    match kind {
        ScopeKind::Global => "global",
        ScopeKind::Region => "region",
        ScopeKind::Department => "department",
        ScopeKind::Team => "team",
    }
}

/// The role and scope pickers as a form sends them, and shows them again.
#[derive(Deserialize, Default, Clone)]
struct ScopeFields {
    #[serde(default)]
    role: String,
    #[serde(default)]
    region_id: String,
    #[serde(default)]
    department_id: String,
    #[serde(default)]
    team_id: String,
}

impl ScopeFields {
    fn of(a: &Account) -> Self {
        let id = |v: Option<i64>| v.map(|i| i.to_string()).unwrap_or_default();
        ScopeFields {
            role: a.role.clone(),
            region_id: id(a.scope.region_id),
            department_id: id(a.scope.department_id),
            team_id: id(a.scope.team_id),
        }
    }

    /// The scope the form names for its role: only the picker of the anchor the role needs is
    /// read, so one left set for another role never confines the account twice.
    fn scope(&self, errors: &mut Vec<FieldError>) -> Scope {
        let pick = |field: &str, value: &str, errors: &mut Vec<FieldError>| {
            let value = value.trim();
            if value.is_empty() {
                return None;
            }
            value
                .parse()
                .map_err(|_| errors.push(FieldError::new(field, "choose from the list")))
                .ok()
        };
        let mut scope = Scope::default();
        match Role::parse(&self.role).map(Role::scope_kind) {
            Some(ScopeKind::Region) => scope.region_id = pick("region_id", &self.region_id, errors),
            Some(ScopeKind::Department) => {
                scope.department_id = pick("department_id", &self.department_id, errors)
            }
            Some(ScopeKind::Team) => scope.team_id = pick("team_id", &self.team_id, errors),
            Some(ScopeKind::Global) | None => {}
        }
        scope
    }

    /// The form's input that an API error's field stands for: a scope's anchor is its picker,
    /// and a missing anchor is a picker left unchosen.
    fn field(&self, e: FieldError) -> FieldError {
        let picker = Role::parse(&self.role).map(|r| kind_name(r.scope_kind()));
        match (e.field.as_str(), picker) {
            ("scope", Some(kind @ ("region" | "department" | "team"))) => {
                FieldError::new(format!("{kind}_id"), "choose from the list")
            }
            (f, _) => FieldError::new(f.strip_prefix("scope.").unwrap_or(f), e.message),
        }
    }
}

/// The errors of a refused write as its form shows them, or the error to show as a page.
fn refused(e: AppError, fields: &ScopeFields) -> Result<Vec<FieldError>, AppError> {
    match e {
        AppError::Invalid(f) | AppError::Conflict(f) | AppError::OutsideScope(f) => {
            Ok(f.into_iter().map(|e| fields.field(e)).collect())
        }
        e => Err(e),
    }
}

fn status(errors: &[FieldError]) -> StatusCode {
    if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

// ---- The list ---------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct ListQuery {
    q: Option<String>,
    role: Option<String>,
    offset: Option<i64>,
}

#[derive(askama::Template)]
#[template(path = "auth/accounts.html")]
struct AccountsPage {
    ctx: PageCtx,
    page: ListPage<Account>,
    q: String,
    role: String,
    roles: Vec<(&'static str, &'static str, &'static str)>,
    choices: Choices,
}

impl AccountsPage {
    fn role_label(&self, code: &str) -> &'static str {
        Role::parse(code).map_or("", |r| r.label(self.ctx.en()))
    }
    fn scope_label(&self, a: &Account) -> String {
        self.choices.label(&a.scope, self.ctx.locale)
    }
}

async fn list_page(
    State(state): State<AuthState>,
    Page { locale, ctx, .. }: Page<perm::AccountsManage>,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let search =
        q.q.clone()
            .map(Text::parse)
            .transpose()
            .map_err(|why| AppError::invalid("q", why))
            .page(locale)?;
    let f = AccountFilter {
        role: q.role.clone(),
        q: search,
        limit: Some(50),
        offset: q.offset,
    };
    let (page, choices) = async {
        Ok::<_, AppError>((
            accounts::list(&state.db, &f).await?,
            Choices::load(&state.db, locale).await?,
        ))
    }
    .await
    .page(locale)?;
    Ok(render(&AccountsPage {
        roles: roles(locale),
        ctx,
        page,
        q: q.q.unwrap_or_default(),
        role: q.role.unwrap_or_default(),
        choices,
    }))
}

// ---- A new account -----------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct NewForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password2: String,
    #[serde(flatten)]
    scope: ScopeFields,
}

#[derive(askama::Template)]
#[template(path = "auth/account_new.html")]
struct NewAccountPage {
    ctx: PageCtx,
    username: String,
    form: ScopeFields,
    roles: Vec<(&'static str, &'static str, &'static str)>,
    choices: Choices,
    errors: Vec<FieldError>,
}

impl NewAccountPage {
    fn error_for(&self, field: &str) -> String {
        messages_for(&self.errors, field, self.ctx.locale)
    }
}

async fn new_account_page(
    db: &Db,
    ctx: PageCtx,
    username: String,
    form: ScopeFields,
    errors: Vec<FieldError>,
) -> Result<Response, PageError> {
    let locale = ctx.locale;
    let choices = Choices::load(db, locale).await.page(locale)?;
    let page = NewAccountPage {
        roles: roles(locale),
        ctx,
        username,
        form,
        choices,
        errors,
    };
    Ok((status(&page.errors), render(&page)).into_response())
}

async fn new_form(
    State(state): State<AuthState>,
    Page { ctx, .. }: Page<perm::AccountsManage>,
) -> Result<Response, PageError> {
    new_account_page(
        &state.db,
        ctx,
        String::new(),
        ScopeFields::default(),
        vec![],
    )
    .await
}

/// Two password fields: a typing mistake in a password nobody sees is found before it is set.
fn same_passwords(password: &str, again: &str, errors: &mut Vec<FieldError>) {
    if password != again {
        errors.push(FieldError::new("password2", "the two passwords differ"));
    }
}

async fn create(
    State(state): State<AuthState>,
    Page {
        user, locale, ctx, ..
    }: Page<perm::AccountsManage>,
    axum::Form(form): axum::Form<NewForm>,
) -> Result<Response, PageError> {
    let mut errors = Vec::new();
    if let Err(e) = user.check_csrf(Some(&form.csrf)) {
        errors.extend(e.fields().iter().cloned());
    }
    let scope = form.scope.scope(&mut errors);
    same_passwords(&form.password, &form.password2, &mut errors);
    let new = NewAccount {
        username: form.username.clone(),
        password: form.password.clone(),
        role: form.scope.role.clone(),
        person_id: None,
        scope,
    };
    let outcome = if errors.is_empty() {
        accounts::create(&state.db, &user.actor(), &new, false).await
    } else {
        // Every other mistake is named too, though nothing is written.
        accounts::check_new(&new, false).map(|()| 0)
    };
    match outcome {
        Ok(id) if errors.is_empty() => {
            return Ok(Redirect::to(&format!("/accounts/{id}?done=created")).into_response());
        }
        Ok(_) => {}
        Err(e) => errors.extend(refused(e, &form.scope).page(locale)?),
    }
    new_account_page(&state.db, ctx, form.username, form.scope, errors).await
}

// ---- One account -------------------------------------------------------------------------------

#[derive(askama::Template)]
#[template(path = "auth/account.html")]
struct AccountPage {
    ctx: PageCtx,
    account: Account,
    scope_label: String,
    /// The role and scope form: the account's own, or what was typed when it was refused.
    form: ScopeFields,
    roles: Vec<(&'static str, &'static str, &'static str)>,
    choices: Choices,
    errors: Vec<FieldError>,
    /// The confirmation of what was just done (its catalogue key), if anything was.
    done: Option<&'static str>,
    trail: Option<Vec<crate::audit::steps::Step>>,
}

impl AccountPage {
    fn error_for(&self, field: &str) -> String {
        messages_for(&self.errors, field, self.ctx.locale)
    }
    fn role_label(&self) -> &'static str {
        Role::parse(&self.account.role).map_or("", |r| r.label(self.ctx.en()))
    }
}

/// An account's recorded values as people read them: a role by its label.
struct AccountWords {
    en: bool,
}

impl crate::audit::steps::Words for AccountWords {
    fn value(&self, _: &str, field: &str, value: &serde_json::Value) -> Option<String> {
        let role = Role::parse(value.as_str()?).filter(|_| field == "role")?;
        Some(role.label(self.en).to_string())
    }
}

#[derive(Deserialize, Default)]
struct DoneQuery {
    done: Option<String>,
}

/// The account page; `form` is the role form as typed when a write was refused.
async fn account_page(
    state: &AuthState,
    ctx: PageCtx,
    id: i64,
    form: Option<ScopeFields>,
    errors: Vec<FieldError>,
    done: &str,
) -> Result<Response, PageError> {
    let locale = ctx.locale;
    let (account, choices, events) = async {
        let account = accounts::get(&state.db, id).await?;
        let choices = Choices::load(&state.db, locale).await?;
        let events = crate::audit::trail(&state.db, "account", &id.to_string(), 50, 0).await?;
        Ok::<_, AppError>((account, choices, events))
    }
    .await
    .page(locale)?;
    // Only the confirmations the page knows are shown; anything else in the address is not.
    let done = match done {
        "created" => Some("account.done.created"),
        "role" => Some("account.done.role"),
        "disabled" => Some("account.done.disabled"),
        "enabled" => Some("account.done.enabled"),
        "password" => Some("account.done.password"),
        _ => None,
    };
    let page = AccountPage {
        scope_label: choices.label(&account.scope, locale),
        form: form.unwrap_or_else(|| ScopeFields::of(&account)),
        roles: roles(locale),
        ctx,
        account,
        choices,
        errors,
        done,
        trail: Some(crate::audit::steps::steps(
            &events,
            locale,
            &AccountWords { en: locale.is_en() },
        )),
    };
    Ok((status(&page.errors), render(&page)).into_response())
}

async fn show(
    State(state): State<AuthState>,
    Page { ctx, .. }: Page<perm::AccountsManage>,
    Path(id): Path<i64>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    account_page(
        &state,
        ctx,
        id,
        None,
        vec![],
        q.done.as_deref().unwrap_or(""),
    )
    .await
}

/// One of the account page's forms, read: the change it asks for (or why it cannot be made),
/// what it confirms when made, and the role form as typed (for that form only).
struct Write<'a> {
    csrf: &'a str,
    update: Result<AccountUpdate, Vec<FieldError>>,
    typed: Option<ScopeFields>,
    done: &'static str,
}

/// Applies a form's change to account `id` as the API's PATCH does, then shows the page
/// confirming it, or the page with the form's errors.
async fn apply(
    state: &AuthState,
    user: &Principal,
    ctx: PageCtx,
    id: i64,
    w: Write<'_>,
) -> Result<Response, PageError> {
    let locale = ctx.locale;
    let mut errors = match user.check_csrf(Some(w.csrf)) {
        Ok(()) => vec![],
        Err(e) => e.fields().to_vec(),
    };
    match w.update {
        Ok(u) if errors.is_empty() => {
            match accounts::update(&state.db, &user.actor(), id, &u).await {
                Ok(_) => {
                    let done = format!("/accounts/{id}?done={}", w.done);
                    return Ok(Redirect::to(&done).into_response());
                }
                Err(e) => {
                    let fields = w.typed.clone().unwrap_or_default();
                    errors.extend(refused(e, &fields).page(locale)?);
                }
            }
        }
        Ok(_) => {}
        Err(e) => errors.extend(e),
    }
    account_page(state, ctx, id, w.typed, errors, "").await
}

#[derive(Deserialize)]
struct RoleForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(flatten)]
    scope: ScopeFields,
}

async fn change_role(
    State(state): State<AuthState>,
    Page { user, ctx, .. }: Page<perm::AccountsManage>,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<RoleForm>,
) -> Result<Response, PageError> {
    let mut errors = Vec::new();
    let scope = form.scope.scope(&mut errors);
    let role = Text::parse(form.scope.role.clone());
    let u = match role {
        Ok(role) if errors.is_empty() => Ok(AccountUpdate {
            role: Some(role),
            scope: Some(scope),
            ..Default::default()
        }),
        Ok(_) => Err(errors),
        Err(why) => {
            errors.push(FieldError::new("role", why));
            Err(errors)
        }
    };
    let w = Write {
        csrf: &form.csrf,
        update: u,
        typed: Some(form.scope),
        done: "role",
    };
    apply(&state, &user, ctx, id, w).await
}

#[derive(Deserialize)]
struct DisableForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    disabled: bool,
}

async fn set_disabled(
    State(state): State<AuthState>,
    Page { user, ctx, .. }: Page<perm::AccountsManage>,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<DisableForm>,
) -> Result<Response, PageError> {
    let u = AccountUpdate {
        disabled: Some(form.disabled),
        ..Default::default()
    };
    let w = Write {
        csrf: &form.csrf,
        update: Ok(u),
        typed: None,
        done: if form.disabled { "disabled" } else { "enabled" },
    };
    apply(&state, &user, ctx, id, w).await
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password2: String,
}

async fn set_password(
    State(state): State<AuthState>,
    Page { user, ctx, .. }: Page<perm::AccountsManage>,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<PasswordForm>,
) -> Result<Response, PageError> {
    let mut errors = Vec::new();
    same_passwords(&form.password, &form.password2, &mut errors);
    let u = match Text::parse(form.password) {
        Ok(p) if errors.is_empty() => Ok(AccountUpdate {
            password: Some(p),
            ..Default::default()
        }),
        Ok(_) => Err(errors),
        Err(why) => {
            errors.insert(0, FieldError::new("password", why));
            Err(errors)
        }
    };
    let w = Write {
        csrf: &form.csrf,
        update: u,
        typed: None,
        done: "password",
    };
    apply(&state, &user, ctx, id, w).await
}

pub fn router() -> Router<AuthState> {
    Router::new()
        .route("/accounts", get(list_page).post(create))
        .route("/accounts/new", get(new_form))
        .route("/accounts/{id}", get(show))
        .route("/accounts/{id}/role", post(change_role))
        .route("/accounts/{id}/disabled", post(set_disabled))
        .route("/accounts/{id}/password", post(set_password))
}
