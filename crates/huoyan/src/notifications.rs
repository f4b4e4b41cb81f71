//! Notifications: what an account should know about without watching a list — a case escalated
//! as overdue, a report merged into another. Written inside the change that causes them, so a
//! notice exists exactly when its cause does; read and acknowledged by the account itself. A
//! notice is stored as its kind with its arguments and worded in the reader's language when read.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit::Change;
use crate::auth::{Page, Principal};
use crate::db::{Arg, Sql};
use crate::error::{AppError, AppResult};
use crate::http::{ApiJson, ApiLocale, ApiPath, ApiQuery, ListPage, Paging};
use crate::i18n::Locale;
use crate::time::rfc3339;
use crate::web::Base;
use crate::web::{MenuItem, PageCtx, PageError, PageResultExt, render};
use huoyan_core::auth::Role;
use huoyan_core::cases::step::{Audience, Notice};
use huoyan_core::cases::{Action, CaseState};
use sqlx::{FromRow, Row};

/// The document's schema of `Notification.kind`: the core's notice kinds.
fn notification_kinds() -> utoipa::openapi::schema::Schema {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(
            Notice::KINDS
                .iter()
                .chain(huoyan_core::workforce::NOTICE_KINDS.iter())
                .chain(huoyan_core::testing::NOTICE_KINDS.iter())
                .chain(huoyan_core::supply::NOTICE_KINDS.iter())
                .copied(),
        ))
        .into()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Notification {
    pub id: i64,
    pub case_id: Option<i64>,
    /// What happened and who must act (`huoyan_core::cases::step::Notice`); the particulars are
    /// in `args`.
    #[schema(schema_with = notification_kinds)]
    pub kind: String,
    /// The notice's particulars, by name.
    #[schema(value_type = Object)]
    pub args: serde_json::Value,
    /// The notice worded in the language the request asks for (`?lang=zh`; English without it).
    pub message: String,
    #[schema(format = DateTime)]
    pub at: String,
    #[schema(format = DateTime)]
    pub read_at: Option<String>,
}

impl Notification {
    /// The page a notice that concerns no case points to, where its context put one in its
    /// particulars (`page`, a path on this server, never another host's `//…`).
    pub fn page(&self) -> Option<&str> {
        self.args["page"]
            .as_str()
            .filter(|p| p.starts_with('/') && !p.starts_with("//"))
    }
}

/// Tells `to` of `notice`, inside the change that causes it: each account once, however often
/// it is named, and never the actor of the step. A role's accounts are those whose scope holds
/// the case's compound; a unit's are its department accounts.
pub async fn tell(change: &mut Change, notice: &Notice, to: &[Audience]) -> AppResult<()> {
    let case = notice.case();
    let mut accounts = BTreeSet::new();
    for audience in to {
        accounts.extend(audience_accounts(change, case, *audience).await?);
    }
    insert(change, accounts, Some(case), notice.kind(), &notice.args()).await
}

/// Tells `accounts` of a notice that concerns no case (a roster, a blocker), inside the change
/// that causes it: each account once, never the actor.
pub async fn tell_accounts(
    change: &mut Change,
    accounts: &[i64],
    kind: &str,
    args: &serde_json::Value,
) -> AppResult<()> {
    insert(change, accounts.iter().copied().collect(), None, kind, args).await
}

/// Writes one notice of `kind` to each of `accounts` but the change's actor, in one statement.
async fn insert(
    change: &mut Change,
    mut accounts: BTreeSet<i64>,
    case: Option<i64>,
    kind: &str,
    args: &serde_json::Value,
) -> AppResult<()> {
    accounts.remove(&change.actor().id.unwrap_or_default());
    if accounts.is_empty() {
        return Ok(());
    }
    let args = args.to_string();
    let rows: Vec<Vec<Arg>> = accounts
        .into_iter()
        .map(|a| {
            vec![
                Arg::from(a),
                Arg::from(case),
                Arg::from(kind),
                Arg::from(args.as_str()),
                Arg::from(change.at_ms()),
            ]
        })
        .collect();
    change
        .insert_rows(
            "notifications",
            &["account_id", "case_id", "kind", "args", "at"],
            &rows,
        )
        .await
}

/// The enabled accounts of `roles` whose region holds region path `path`, or lies in it.
pub async fn acting_on(change: &mut Change, path: &str, roles: &[&str]) -> AppResult<Vec<i64>> {
    let mut sql = Sql::new(
        "SELECT a.id FROM accounts a LEFT JOIN regions s ON s.id = a.scope_region_id WHERE a.disabled = 0 \
         AND (a.scope_region_id IS NULL OR ",
    );
    sql.bind(path);
    sql.push(" LIKE s.path || '%' OR s.path LIKE ");
    sql.bind(path);
    sql.push(" || '%') AND a.role IN (");
    for (i, role) in roles.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(*role);
    }
    sql.push(")");
    sql.query()
        .fetch_all(&mut *change.tx)
        .await?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect()
}

/// The enabled accounts of person `person` (a volunteer told of a task).
pub async fn accounts_of_person(change: &mut Change, person: i64) -> AppResult<Vec<i64>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM accounts WHERE person_id = $1 AND disabled = 0")
            .bind(person)
            .fetch_all(&mut *change.tx)
            .await?,
    )
}

/// The enabled accounts of the community offices (departments of kind community) whose
/// community holds region path `path`.
pub async fn community_offices(change: &mut Change, path: &str) -> AppResult<Vec<i64>> {
    let mut sql = Sql::new(
        "SELECT a.id FROM accounts a JOIN departments d ON d.id = a.scope_department_id \
         JOIN regions r ON r.id = d.region_id WHERE a.disabled = 0 AND a.role = 'department' \
         AND d.kind = 'community' AND ",
    );
    sql.bind(path).push(" LIKE r.path || '%'");
    sql.query()
        .fetch_all(&mut *change.tx)
        .await?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect()
}

/// Tells the office of new reports `cases` (the `reported` notice), each to the office accounts
/// whose scope holds its compound, but not to its reporter: one statement for a whole batch of
/// the intake.
pub async fn tell_new_reports(change: &mut Change, cases: &[i64]) -> AppResult<()> {
    if cases.is_empty() {
        return Ok(());
    }
    let mut sql = Sql::new(
        "INSERT INTO notifications (account_id, case_id, kind, args, at) \
         SELECT a.id, k.id, 'reported', '{\"case\":' || k.id || '}', ",
    );
    sql.bind(change.at_ms()).push(
        " FROM cases k JOIN accounts a ON a.role = 'office' AND a.disabled = 0 AND a.id <> k.reporter_account_id \
         AND (a.scope_region_id IS NULL OR EXISTS (SELECT 1 FROM regions c JOIN regions s ON s.id = a.scope_region_id \
         WHERE c.id = k.compound_id AND c.path LIKE s.path || '%')) WHERE k.id IN (",
    );
    for (i, id) in cases.iter().enumerate() {
        sql.push(if i == 0 { "" } else { ", " }).bind(*id);
    }
    sql.push(")");
    sql.query().execute(&mut *change.tx).await?;
    Ok(())
}

/// The active accounts `audience` names for case `case`.
async fn audience_accounts(
    change: &mut Change,
    case: i64,
    audience: Audience,
) -> AppResult<Vec<i64>> {
    let role = match audience {
        Audience::Account(a) => return Ok(vec![a]),
        Audience::Unit(d) => {
            return Ok(sqlx::query_scalar(
                "SELECT id FROM accounts WHERE disabled = 0 AND role = 'department' AND scope_department_id = $1",
            )
            .bind(d)
            .fetch_all(&mut *change.tx)
            .await?);
        }
        Audience::Verifier { reporter } => {
            let role: Option<String> =
                sqlx::query_scalar("SELECT role FROM accounts WHERE id = $1")
                    .bind(reporter)
                    .fetch_optional(&mut *change.tx)
                    .await?;
            let may = role
                .and_then(|r| Role::parse(&r))
                .is_some_and(|r| Action::Verify.allowed_roles().contains(&r));
            if may {
                return Ok(vec![reporter]);
            }
            Role::Group
        }
        Audience::Role(r) => r,
    };
    Ok(sqlx::query_scalar(
        "SELECT a.id FROM accounts a WHERE a.disabled = 0 AND a.role = $1 AND (a.scope_region_id IS NULL OR EXISTS ( \
         SELECT 1 FROM cases k JOIN regions c ON c.id = k.compound_id JOIN regions s ON s.id = a.scope_region_id \
         WHERE k.id = $2 AND c.path LIKE s.path || '%'))",
    )
    .bind(role.code())
    .bind(case)
    .fetch_all(&mut *change.tx)
    .await?)
}

/// A notice of `kind` with `args` in `locale`: the catalogue's `notice.<kind>` with each
/// `{name}` filled from the arguments (times shown in Beijing time).
pub fn wording(kind: &str, args: &serde_json::Value, locale: Locale) -> String {
    let mut text = locale.t(&format!("notice.{kind}")).to_string();
    if let Some(args) = args.as_object() {
        for (name, value) in args {
            let shown = match (name.as_str(), value) {
                ("due_at" | "until", v) => v.as_i64().map(crate::time::beijing).unwrap_or_default(),
                ("state", serde_json::Value::String(s)) => CaseState::parse(s)
                    .map(|s| s.label(locale.is_en()).to_string())
                    .unwrap_or_default(),
                ("reason", serde_json::Value::String(s)) => {
                    huoyan_core::workforce::blockers::BlockerReason::parse(s)
                        .map(|r| r.label(locale.is_en()).to_string())
                        .unwrap_or_default()
                }
                (_, serde_json::Value::String(s)) => s.clone(),
                (_, v) => v.to_string(),
            };
            text = text.replace(&format!("{{{name}}}"), &shown);
        }
    }
    text
}

/// Marks each notice `(id, at)` read at `at`, many to a statement (a loader replaying when people
/// read what they were told).
pub async fn mark_read(change: &mut Change, read: &[(i64, i64)]) -> AppResult<()> {
    let rows: Vec<Vec<Arg>> = read
        .iter()
        .map(|&(id, at)| vec![Arg::from(id), Arg::from(at)])
        .collect();
    change
        .update_rows("notifications", &["id", "read_at"], &rows)
        .await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationFilter {
    /// Only those not yet read.
    pub unread: Option<bool>,
    /// Only those already read.
    pub read: Option<bool>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct NotificationRow {
    id: i64,
    case_id: Option<i64>,
    kind: String,
    args: String,
    at: i64,
    read_at: Option<i64>,
}

impl NotificationRow {
    fn shown(self, locale: Locale) -> Notification {
        let args = serde_json::from_str(&self.args).unwrap_or_default();
        Notification {
            id: self.id,
            case_id: self.case_id,
            message: wording(&self.kind, &args, locale),
            kind: self.kind,
            args,
            at: rfc3339(self.at),
            read_at: self.read_at.map(rfc3339),
        }
    }
}

/// How many of an account's notices are unread (the menu's badge).
pub async fn unread(db: &crate::db::Db, account_id: i64) -> AppResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM notifications WHERE account_id = $1 AND read_at IS NULL",
    )
    .bind(account_id)
    .fetch_one(&db.pool)
    .await?)
}

/// An account's notifications, newest first.
async fn list(
    db: &crate::db::Db,
    account_id: i64,
    f: &NotificationFilter,
    locale: Locale,
) -> AppResult<ListPage<Notification>> {
    let mut filter = Sql::new(" WHERE account_id = ");
    filter.bind(account_id);
    if f.unread == Some(true) {
        filter.push(" AND read_at IS NULL");
    }
    if f.read == Some(true) {
        filter.push(" AND read_at IS NOT NULL");
    }
    let paging = Paging {
        limit: f.limit,
        offset: f.offset,
    };
    crate::http::fetch_page(
        db,
        "id, case_id, kind, args, at, read_at",
        "notifications",
        &filter,
        "id DESC",
        &paging,
        |r| Ok(NotificationRow::from_row(r)?.shown(locale)),
    )
    .await
}

/// My notifications, newest first.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", operation_id = "list_notifications", params(NotificationFilter), responses((status = 200, body = ListPage<Notification>)))]
async fn list_route(
    State(state): State<Base>,
    p: Principal,
    ApiLocale(locale): ApiLocale,
    ApiQuery(f): ApiQuery<NotificationFilter>,
) -> AppResult<ApiJson<ListPage<Notification>>> {
    Ok(ApiJson(list(&state.db, p.account_id, &f, locale).await?))
}

/// Mark one of my notifications read.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "notifications", operation_id = "read_notification", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
async fn read_route(
    State(state): State<Base>,
    p: Principal,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<axum::http::StatusCode> {
    let done = sqlx::query("UPDATE notifications SET read_at = COALESCE(read_at, $1) WHERE id = $2 AND account_id = $3")
        .bind(crate::time::now_ms())
        .bind(id)
        .bind(p.account_id)
        .execute(&state.db.pool)
        .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::NotFound("notification"));
    }
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Most unread notices the page reads at once; more are read as these are.
const UNREAD_SHOWN: i64 = 200;
/// Unread notices of one kind past this many are shown as one digest line.
const DIGEST_AT: usize = 5;

/// The unread notices of one kind: each shown, or a digest with the newest few.
struct Group {
    kind: String,
    total: usize,
    items: Vec<Notification>,
}

impl Group {
    fn digest(&self) -> bool {
        self.total > DIGEST_AT
    }
}

/// Unread notices grouped by kind, in the order of each kind's newest notice.
fn grouped(unread: Vec<Notification>) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for n in unread {
        match groups.iter_mut().find(|g| g.kind == n.kind) {
            Some(g) => {
                g.total += 1;
                g.items.push(n);
            }
            None => groups.push(Group {
                kind: n.kind.clone(),
                total: 1,
                items: vec![n],
            }),
        }
    }
    for g in groups.iter_mut().filter(|g| g.total > DIGEST_AT) {
        g.items.truncate(3);
    }
    groups
}

#[derive(askama::Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    ctx: PageCtx,
    unread: Vec<Group>,
    unread_total: i64,
    read: ListPage<Notification>,
}

impl NotificationsPage {
    fn bj(&self, t: &str) -> String {
        crate::time::beijing_rfc3339(t)
    }
    fn kind_label(&self, kind: &str) -> String {
        self.ctx.t(&format!("notice.kind.{kind}")).to_string()
    }
}

/// My notices: the unread ones first, by kind (a digest when many of a kind), then those read.
/// A notice is marked read when it is opened or dismissed, not by showing the page.
async fn page(
    State(state): State<Base>,
    Page {
        user, locale, ctx, ..
    }: Page,
    axum::extract::Query(paging): axum::extract::Query<Paging>,
) -> Result<axum::response::Response, PageError> {
    let unread = NotificationFilter {
        unread: Some(true),
        read: None,
        limit: Some(UNREAD_SHOWN),
        offset: None,
    };
    let unread = list(&state.db, user.account_id, &unread, locale)
        .await
        .page(locale)?;
    let read = NotificationFilter {
        unread: None,
        read: Some(true),
        limit: paging.limit,
        offset: paging.offset,
    };
    let read = list(&state.db, user.account_id, &read, locale)
        .await
        .page(locale)?;
    Ok(render(&NotificationsPage {
        ctx,
        unread_total: unread.total,
        unread: grouped(unread.items),
        read,
    }))
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    /// With `read-all`: only notices of this kind.
    kind: Option<String>,
}

/// Opens a notice: marks it read and goes to its case.
async fn open(
    State(state): State<Base>,
    Page { user, locale, .. }: Page,
    axum::extract::Path(id): axum::extract::Path<i64>,
    axum::Form(form): axum::Form<CsrfForm>,
) -> Result<axum::response::Response, PageError> {
    user.check_csrf(Some(&form.csrf)).page(locale)?;
    let case: Option<Option<i64>> = sqlx::query_scalar(
        "UPDATE notifications SET read_at = COALESCE(read_at, $1) WHERE id = $2 AND account_id = $3 RETURNING case_id",
    )
    .bind(crate::time::now_ms())
    .bind(id)
    .bind(user.account_id)
    .fetch_optional(&state.db.pool)
    .await
    .map_err(AppError::from)
    .page(locale)?;
    let to = match case {
        None => return Err(AppError::NotFound("notification")).page(locale),
        Some(Some(c)) => format!("/cases/{c}"),
        Some(None) => "/notifications".to_string(),
    };
    Ok(axum::response::Redirect::to(&to).into_response())
}

/// Marks all my unread notices read (or those of one kind: a digest dismissed).
async fn read_all(
    State(state): State<Base>,
    Page { user, locale, .. }: Page,
    axum::Form(form): axum::Form<CsrfForm>,
) -> Result<axum::response::Response, PageError> {
    user.check_csrf(Some(&form.csrf)).page(locale)?;
    let mut sql = Sql::new("UPDATE notifications SET read_at = ");
    sql.bind(crate::time::now_ms())
        .push(" WHERE read_at IS NULL AND account_id = ")
        .bind(user.account_id);
    if let Some(kind) = form.kind.as_deref().filter(|k| !k.is_empty()) {
        if !Notice::KINDS.contains(&kind) {
            return Err(AppError::invalid("kind", "unknown kind")).page(locale);
        }
        sql.push(" AND kind = ").bind(kind);
    }
    sql.query()
        .execute(&state.db.pool)
        .await
        .map_err(AppError::from)
        .page(locale)?;
    Ok(axum::response::Redirect::to("/notifications").into_response())
}

/// The notifications page is every signed-in account's.
pub fn menu() -> Vec<MenuItem> {
    vec![
        MenuItem::new("/notifications", "nav.notifications", |_| true)
            .counted(|db, account| Box::pin(async move { unread(&db, account).await })),
    ]
}

pub fn pages() -> axum::Router<Base> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/notifications", get(page))
        .route("/notifications/read-all", post(read_all))
        .route("/notifications/{id}/open", post(open))
}

pub fn api() -> OpenApiRouter<Base> {
    OpenApiRouter::new()
        .routes(routes!(list_route))
        .routes(routes!(read_route))
}
