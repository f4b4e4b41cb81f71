//! Control orders (管控通告): number, issue and validity times, level, covered regions, text.

use axum::extract::State;
use huoyan_core::org::{ControlLevel, ControlOrder};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit::{Change, Columns};
use crate::auth::{Can, Principal, perm};
use crate::check::{Check, Text};
use crate::db::{Arg, Db, Sql};
use crate::error::{AppError, AppResult, FieldError};
use crate::http::{ApiJson, ApiPath, ApiQuery, ListPage, Paging};
use crate::org::OrgState;
use crate::org::scope::Reach;
use crate::time::parse_time;
use crate::time::rfc3339;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Order {
    pub id: i64,
    /// As printed, e.g. 2022年第9号.
    pub number: String,
    #[schema(format = DateTime)]
    pub issued_at: String,
    #[schema(format = DateTime)]
    pub effective_from: String,
    #[schema(format = DateTime)]
    pub effective_until: Option<String>,
    #[schema(value_type = huoyan_core::org::ControlLevel)]
    pub level: String,
    pub region_ids: Vec<i64>,
    pub body: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrder {
    /// As printed, e.g. 2022年第9号.
    #[schema(min_length = 1, max_length = 100)]
    pub number: String,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub issued_at: String,
    #[schema(format = DateTime)]
    pub effective_from: String,
    #[schema(format = DateTime)]
    pub effective_until: Option<String>,
    #[schema(value_type = huoyan_core::org::ControlLevel)]
    pub level: String,
    pub region_ids: Vec<i64>,
    #[serde(default)]
    #[schema(max_length = 20000)]
    pub body: String,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct OrderUpdate {
    /// Ends the order (e.g. when it is lifted early). RFC 3339.
    #[schema(value_type = Option<String>, format = DateTime, max_length = 40)]
    pub effective_until: Option<Text<40>>,
    pub body: Option<Text<20000>>,
}

/// An order as stored; times in epoch milliseconds.
#[derive(Debug, FromRow)]
struct OrderRow {
    id: i64,
    number: String,
    issued_at: i64,
    effective_from: i64,
    effective_until: Option<i64>,
    level: String,
}

#[derive(Debug, FromRow)]
struct OrderRegion {
    order_id: i64,
    region_id: i64,
}

/// Every order as the level rules need them. Orders number in the tens over a lockdown, so all
/// are loaded whenever levels are derived.
pub async fn rules(db: &Db) -> AppResult<Vec<ControlOrder>> {
    rules_on(&mut *db.pool.acquire().await?).await
}

/// The same read on `conn`: inside a change whose write the levels decide.
pub async fn rules_on(conn: &mut sqlx::AnyConnection) -> AppResult<Vec<ControlOrder>> {
    let rows: Vec<OrderRow> = sqlx::query_as("SELECT id, number, issued_at, effective_from, effective_until, level FROM control_orders ORDER BY id")
        .fetch_all(&mut *conn)
        .await?;
    let links: Vec<OrderRegion> =
        sqlx::query_as("SELECT order_id, region_id FROM control_order_regions")
            .fetch_all(&mut *conn)
            .await?;
    let ts = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(ControlOrder {
            id: r.id,
            level: ControlLevel::parse(&r.level)
                .ok_or_else(|| anyhow::anyhow!("order {} has unknown level {}", r.id, r.level))?,
            number: r.number,
            issued_at: ts(r.issued_at),
            effective_from: ts(r.effective_from),
            effective_until: r.effective_until.map(ts),
            region_ids: links
                .iter()
                .filter(|l| l.order_id == r.id)
                .map(|l| l.region_id)
                .collect(),
        });
    }
    Ok(out)
}

fn to_api(o: &ControlOrder, body: String) -> Order {
    Order {
        id: o.id,
        number: o.number.clone(),
        issued_at: rfc3339(o.issued_at.timestamp_millis()),
        effective_from: rfc3339(o.effective_from.timestamp_millis()),
        effective_until: o.effective_until.map(|u| rfc3339(u.timestamp_millis())),
        level: o.level.code().to_string(),
        region_ids: o.region_ids.clone(),
        body,
    }
}

pub async fn get(db: &Db, id: i64) -> AppResult<Order> {
    let body: String = sqlx::query_scalar("SELECT body FROM control_orders WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(AppError::NotFound("control order"))?;
    let all = rules(db).await?;
    let o = all
        .iter()
        .find(|o| o.id == id)
        .ok_or(AppError::NotFound("control order"))?;
    Ok(to_api(o, body))
}

pub async fn insert(change: &mut Change, new: &NewOrder) -> AppResult<i64> {
    let mut errors: Vec<FieldError> = Vec::new();
    let mut check = Check::default();
    check.optional("number", &new.number, 100);
    check.optional("body", &new.body, 20000);
    if let Err(AppError::Invalid(bad)) = check.done() {
        errors.extend(bad);
    }
    let mut time = |field: &str, v: &str| match parse_time(field, v) {
        Ok(t) => Some(t),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let issued = time("issued_at", &new.issued_at);
    let from = time("effective_from", &new.effective_from);
    let until = new
        .effective_until
        .as_deref()
        .filter(|u| !u.is_empty())
        .map(|u| time("effective_until", u));
    let level = ControlLevel::parse(&new.level);
    if level.is_none() {
        errors.push(FieldError::new(
            "level",
            "one of static_management, temporary_control, high_risk, medium_risk, low_risk, lifted",
        ));
    }
    for (i, rid) in new.region_ids.iter().enumerate() {
        if !change.exists("regions", *rid).await? {
            errors.push(FieldError::new(
                format!("region_ids[{i}]"),
                "no such region",
            ));
        }
    }
    if let (Some(issued), Some(from), Some(level), Some(until)) =
        (issued, from, level, until.unwrap_or(Some(i64::MAX)))
    {
        let ts = |ms| chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
        let rule = ControlOrder {
            id: 0,
            number: new.number.clone(),
            issued_at: ts(issued),
            effective_from: ts(from),
            effective_until: (until != i64::MAX).then(|| ts(until)),
            level,
            region_ids: new.region_ids.clone(),
        };
        if let Err(errs) = rule.validate() {
            errors.extend(errs.iter().map(|e| {
                FieldError::new(
                    e.field(),
                    e.to_string().split(": ").nth(1).unwrap_or_default(),
                )
            }));
        }
    } else if new.number.trim().is_empty() {
        errors.push(FieldError::new(
            "number",
            "the order number must not be empty",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO control_orders (number, issued_at, effective_from, effective_until, level, body, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(new.number.trim())
    .bind(issued)
    .bind(from)
    .bind(until.flatten())
    .bind(&new.level)
    .bind(&new.body)
    .bind(change.at_ms())
    .fetch_one(&mut *change.tx)
    .await?;
    for rid in &new.region_ids {
        sqlx::query("INSERT INTO control_order_regions (order_id, region_id) VALUES ($1, $2)")
            .bind(id)
            .bind(rid)
            .execute(&mut *change.tx)
            .await?;
    }
    change
        .record("control_order", id, "create", &serde_json::json!({
            "number": new.number.trim(), "level": new.level, "effective_from": new.effective_from,
            "effective_until": new.effective_until, "region_ids": new.region_ids,
        }))
        .await?;
    Ok(id)
}

/// Issues an order over regions in the caller's reach.
pub async fn create(db: &Db, p: &Principal, new: &NewOrder) -> AppResult<i64> {
    Change::run(db, &p.actor(), async |change| {
        let reach = Reach::of(change, p).await?;
        let mut check = Check::default();
        for (i, rid) in new.region_ids.iter().enumerate() {
            reach
                .region(change, &mut check, &format!("region_ids[{i}]"), *rid)
                .await?;
        }
        check.done()?;
        insert(change, new).await
    })
    .await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderFilter {
    pub level: Option<String>,
    /// Orders covering this region directly.
    pub region_id: Option<i64>,
    /// Part of the number.
    #[param(inline)]
    pub q: Option<Text<100>>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

pub async fn list(db: &Db, f: &OrderFilter) -> AppResult<ListPage<Order>> {
    let mut filter = Sql::new(" WHERE 1 = 1");
    if let Some(l) = f.level.as_deref().filter(|l| !l.is_empty()) {
        filter.push(" AND level = ").bind(l);
    }
    if let Some(r) = f.region_id {
        filter
            .push(" AND id IN (SELECT order_id FROM control_order_regions WHERE region_id = ")
            .bind(r)
            .push(")");
    }
    if let Some(q) = f.q.as_deref().filter(|q| !q.is_empty()) {
        filter.push(" AND number").like("%", q, "%");
    }
    let paging = Paging {
        limit: f.limit,
        offset: f.offset,
    };
    let page = crate::http::fetch_page(
        db,
        "id, body",
        "control_orders",
        &filter,
        "effective_from DESC, id DESC",
        &paging,
        |r| {
            use sqlx::Row;
            Ok((r.try_get::<i64, _>("id")?, r.try_get::<String, _>("body")?))
        },
    )
    .await?;
    let all = rules(db).await?;
    let items = page
        .items
        .into_iter()
        .filter_map(|(id, body)| all.iter().find(|o| o.id == id).map(|o| to_api(o, body)))
        .collect();
    Ok(ListPage {
        items,
        total: page.total,
        total_capped: page.total_capped,
        limit: page.limit,
        offset: page.offset,
    })
}

/// List control orders, newest first.
#[utoipa::path(get, path = "/api/v1/control-orders", tag = "org", operation_id = "list_control_orders", params(OrderFilter), responses((status = 200, body = ListPage<Order>)))]
async fn list_route(
    State(state): State<OrgState>,
    Can(_p, _): Can<perm::OrdersRead>,
    ApiQuery(f): ApiQuery<OrderFilter>,
) -> AppResult<ApiJson<ListPage<Order>>> {
    Ok(ApiJson(list(&state.db, &f).await?))
}

/// Issue a control order.
#[utoipa::path(post, path = "/api/v1/control-orders", tag = "org", operation_id = "create_control_order", request_body = NewOrder, responses((status = 201, body = Order), (status = 422, body = crate::error::ErrorBody)))]
async fn create_route(
    State(state): State<OrgState>,
    Can(p, _): Can<perm::OrdersWrite>,
    ApiJson(new): ApiJson<NewOrder>,
) -> AppResult<(axum::http::StatusCode, ApiJson<Order>)> {
    let id = create(&state.db, &p, &new).await?;
    Ok((
        axum::http::StatusCode::CREATED,
        ApiJson(get(&state.db, id).await?),
    ))
}

/// One control order.
#[utoipa::path(get, path = "/api/v1/control-orders/{id}", tag = "org", operation_id = "get_control_order", params(("id" = i64, Path)), responses((status = 200, body = Order)))]
async fn get_route(
    State(state): State<OrgState>,
    Can(_p, _): Can<perm::OrdersRead>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<ApiJson<Order>> {
    Ok(ApiJson(get(&state.db, id).await?))
}

/// What an update may change, with the start it must end after.
#[derive(Debug, Clone, FromRow)]
struct Editable {
    effective_from: i64,
    effective_until: Option<i64>,
    body: String,
}

const EDITABLE: &str =
    "SELECT effective_from, effective_until, body FROM control_orders WHERE id = $1";

impl Columns for Editable {
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        vec![
            ("effective_until", self.effective_until.into()),
            ("body", self.body.as_str().into()),
        ]
    }

    /// Times read as the API writes them.
    fn shown(&self, column: &str, value: &Arg) -> serde_json::Value {
        match (column, value) {
            ("effective_until", Arg::Int(Some(ms))) => rfc3339(*ms).into(),
            _ => value.to_json(),
        }
    }
}

/// Ends an order or amends its text, deciding on the row as the change reads it. Every region
/// the order covers must lie in the caller's reach: one district's commander does not end a
/// city's order.
pub async fn update(db: &Db, p: &Principal, id: i64, u: &OrderUpdate) -> AppResult<()> {
    Change::run(db, &p.actor(), async |change| {
        let before: Editable = change
            .fetch(EDITABLE, id)
            .await?
            .ok_or(AppError::NotFound("control order"))?;
        let covered: Vec<i64> = sqlx::query_scalar(
            "SELECT region_id FROM control_order_regions WHERE order_id = $1 ORDER BY region_id",
        )
        .bind(id)
        .fetch_all(&mut *change.tx)
        .await?;
        let reach = Reach::of(change, p).await?;
        let mut check = Check::default();
        for rid in covered {
            if !check.failed("region_ids") {
                reach.region(change, &mut check, "region_ids", rid).await?;
            }
        }
        let mut after = before.clone();
        if let Some(until) = u.effective_until.as_deref() {
            match parse_time("effective_until", until) {
                Ok(until) if until <= before.effective_from => {
                    check.fail("effective_until", "an order must end after it takes effect")
                }
                Ok(until) => after.effective_until = Some(until),
                Err(e) => check.fail(&e.field, e.message),
            }
        }
        if let Some(b) = &u.body {
            after.body = b.to_string();
        }
        check.done()?;
        change
            .update("control_order", "control_orders", id, &before, &after)
            .await?;
        Ok(())
    })
    .await
}

/// End an order or amend its text. Number, level and regions are fixed once issued: issue a new
/// order instead, so the history stays true.
#[utoipa::path(patch, path = "/api/v1/control-orders/{id}", tag = "org", operation_id = "update_control_order", params(("id" = i64, Path)), request_body = OrderUpdate, responses((status = 200, body = Order)))]
async fn update_route(
    State(state): State<OrgState>,
    Can(p, _): Can<perm::OrdersWrite>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(u): ApiJson<OrderUpdate>,
) -> AppResult<ApiJson<Order>> {
    update(&state.db, &p, id, &u).await?;
    Ok(ApiJson(get(&state.db, id).await?))
}

pub fn api() -> OpenApiRouter<OrgState> {
    OpenApiRouter::new()
        .routes(routes!(list_route, create_route))
        .routes(routes!(get_route, update_route))
}
