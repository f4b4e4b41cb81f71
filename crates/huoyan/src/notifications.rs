//! Notifications: what an account should know about without watching a list — a case escalated
//! as overdue, a report merged into another. Written inside the change that causes them, so a
//! notice exists exactly when its cause does; read and acknowledged by the account itself. A
//! notice is stored as its kind with its arguments and worded in the reader's language when read.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit::Change;
use crate::auth::{Page, Principal};
use crate::db::Sql;
use crate::error::{AppError, AppResult};
use crate::http::{ApiJson, ApiLocale, ApiPath, ApiQuery, ListPage, Paging};
use crate::i18n::Locale;
use crate::time::rfc3339;
use crate::web::Base;
use crate::web::{MenuItem, PageCtx, PageError, PageResultExt, render};
use sqlx::FromRow;

/// What a notice is about, as the document shows `Notification.kind`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum NotificationKind {
    /// A unit's task went past its deadline.
    Escalated,
    /// A report was merged into another case.
    Merged,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Notification {
    pub id: i64,
    pub case_id: Option<i64>,
    /// `escalated` (args: case, department_id, department, due_at) or `merged` (args: case, into).
    #[schema(value_type = NotificationKind)]
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

/// Tells each of `accounts` (once, however often it is named) about `case_id`: a notice of
/// `kind` with its `args`, worded when it is read.
pub async fn notify(
    change: &mut Change,
    accounts: &[i64],
    case_id: Option<i64>,
    kind: &str,
    args: &serde_json::Value,
) -> AppResult<()> {
    let mut seen = std::collections::BTreeSet::new();
    let args = args.to_string();
    for &a in accounts.iter().filter(|a| seen.insert(**a)) {
        sqlx::query("INSERT INTO notifications (account_id, case_id, kind, args, at) VALUES ($1, $2, $3, $4, $5)")
            .bind(a)
            .bind(case_id)
            .bind(kind)
            .bind(&args)
            .bind(change.at_ms())
            .execute(&mut *change.tx)
            .await?;
    }
    Ok(())
}

/// A notice of `kind` with `args` in `locale`: the catalogue's `notice.<kind>` with each
/// `{name}` filled from the arguments (times shown in Beijing time).
pub fn wording(kind: &str, args: &serde_json::Value, locale: Locale) -> String {
    let mut text = locale.t(&format!("notice.{kind}")).to_string();
    if let Some(args) = args.as_object() {
        for (name, value) in args {
            let shown = match (name.as_str(), value) {
                ("due_at", v) => v.as_i64().map(crate::time::beijing).unwrap_or_default(),
                (_, serde_json::Value::String(s)) => s.clone(),
                (_, v) => v.to_string(),
            };
            text = text.replace(&format!("{{{name}}}"), &shown);
        }
    }
    text
}

/// Marks notice `id` read at `at` (a loader replaying when people read what they were told).
pub async fn mark_read(change: &mut Change, id: i64, at: i64) -> AppResult<()> {
    sqlx::query("UPDATE notifications SET read_at = $1 WHERE id = $2")
        .bind(at)
        .bind(id)
        .execute(&mut *change.tx)
        .await?;
    Ok(())
}

/// The active accounts holding any of `roles` (escalations go to every group member and
/// commander).
pub async fn accounts_with_roles(change: &mut Change, roles: &[&str]) -> AppResult<Vec<i64>> {
    let mut sql = Sql::new("SELECT id FROM accounts WHERE disabled = 0 AND role IN (");
    for (i, r) in roles.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(r.to_string());
    }
    sql.push(") ORDER BY id");
    sql.query()
        .fetch_all(&mut *change.tx)
        .await?
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<Result<_, _>>()
        .map_err(AppError::from)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationFilter {
    /// Only those not yet read.
    pub unread: Option<bool>,
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

#[derive(askama::Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    ctx: PageCtx,
    page: ListPage<Notification>,
}

impl NotificationsPage {
    fn bj(&self, t: &str) -> String {
        crate::time::beijing_rfc3339(t)
    }
}

/// My notifications, newest first; opening the page marks them read.
async fn page(
    State(state): State<Base>,
    Page {
        user, locale, ctx, ..
    }: Page,
    axum::extract::Query(paging): axum::extract::Query<Paging>,
) -> Result<axum::response::Response, PageError> {
    let all = NotificationFilter {
        unread: None,
        limit: paging.limit,
        offset: paging.offset,
    };
    let page = list(&state.db, user.account_id, &all, locale)
        .await
        .page(locale)?;
    sqlx::query("UPDATE notifications SET read_at = $1 WHERE account_id = $2 AND read_at IS NULL")
        .bind(crate::time::now_ms())
        .bind(user.account_id)
        .execute(&state.db.pool)
        .await
        .map_err(AppError::from)
        .page(locale)?;
    Ok(render(&NotificationsPage { ctx, page }))
}

/// The notifications page is every signed-in account's.
pub fn menu() -> Vec<MenuItem> {
    vec![MenuItem::new("/notifications", "nav.notifications", |_| {
        true
    })]
}

pub fn pages() -> axum::Router<Base> {
    axum::Router::new().route("/notifications", axum::routing::get(page))
}

pub fn api() -> OpenApiRouter<Base> {
    OpenApiRouter::new()
        .routes(routes!(list_route))
        .routes(routes!(read_route))
}
