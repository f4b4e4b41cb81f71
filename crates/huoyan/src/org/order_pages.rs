//! The control orders' pages: the list and each order on a map of the regions' levels, and the
//! form to issue one, whose regions are picked in a searchable tree or on the map.

use std::collections::HashMap;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use huoyan_core::org::ControlLevel;
use serde::Deserialize;

use super::OrgState;
use super::history::steps_for;
use super::orders::{NewOrder, Order, OrderFilter};
use super::picker::Pick;
use crate::audit::steps::Step;
use crate::auth::{Page, Principal, perm};
use crate::db::Db;
use crate::error::{AppError, AppResult, FieldError};
use crate::time::beijing_rfc3339;
use crate::web::map::MapView;
use crate::web::{JAVASCRIPT, PageCtx, PageError, PagePath, PageResultExt, asset, render};

#[derive(askama::Template)]
#[template(path = "org/orders.html")]
struct OrdersPage {
    ctx: PageCtx,
    orders: Vec<Order>,
    region_names: HashMap<i64, String>,
    map: MapView,
}

impl OrdersPage {
    fn level_label(&self, l: &str) -> &'static str {
        ControlLevel::parse(l)
            .map(|l| l.label(self.ctx.en()))
            .unwrap_or("")
    }
    fn regions(&self, ids: &[i64]) -> String {
        ids.iter()
            .map(|i| {
                self.region_names
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| i.to_string())
            })
            .collect::<Vec<_>>()
            .join("、")
    }
    fn time(&self, t: &str) -> String {
        beijing_rfc3339(t)
    }
}

async fn region_names(db: &Db, orders: &[Order]) -> AppResult<HashMap<i64, String>> {
    let mut names = HashMap::new();
    for id in orders.iter().flat_map(|o| o.region_ids.iter()) {
        if !names.contains_key(id) {
            let name: String = sqlx::query_scalar("SELECT name FROM regions WHERE id = $1")
                .bind(id)
                .fetch_one(&db.pool)
                .await?;
            names.insert(*id, name);
        }
    }
    Ok(names)
}

async fn orders_page(
    State(state): State<OrgState>,
    Page { locale, ctx, .. }: Page,
) -> Result<Response, PageError> {
    let page = async {
        let f = OrderFilter {
            level: None,
            region_id: None,
            q: None,
            limit: Some(200),
            offset: None,
        };
        let orders = super::orders::list(&state.db, &f).await?.items;
        let region_names = region_names(&state.db, &orders).await?;
        Ok::<_, AppError>(OrdersPage {
            ctx,
            orders,
            region_names,
            map: MapView::outlines(locale),
        })
    }
    .await
    .page(locale)?;
    Ok(render(&page))
}

#[derive(askama::Template)]
#[template(path = "org/order.html")]
struct OrderPage {
    ctx: PageCtx,
    order: Order,
    region_names: HashMap<i64, String>,
    trail: Option<Vec<Step>>,
    map: MapView,
}

impl OrderPage {
    fn level_label(&self) -> &'static str {
        ControlLevel::parse(&self.order.level)
            .map(|l| l.label(self.ctx.en()))
            .unwrap_or("")
    }
    fn time(&self, t: &str) -> String {
        beijing_rfc3339(t)
    }
}

async fn order_page(
    State(state): State<OrgState>,
    Page {
        user, locale, ctx, ..
    }: Page,
    PagePath(id): PagePath<i64>,
) -> Result<Response, PageError> {
    let page = async {
        let order = super::orders::get(&state.db, id).await?;
        let region_names = region_names(&state.db, std::slice::from_ref(&order)).await?;
        let trail = steps_for(&state.db, &user, "control_order", id, locale).await?;
        let map = MapView::outlines(locale).selecting(order.region_ids.clone());
        Ok::<_, AppError>(OrderPage {
            ctx,
            order,
            region_names,
            trail,
            map,
        })
    }
    .await
    .page(locale)?;
    Ok(render(&page))
}

#[derive(Deserialize, Default, Clone)]
struct OrderForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    effective_from: String,
    #[serde(default)]
    effective_until: String,
    /// The regions ticked in the tree or on the map.
    #[serde(default)]
    region_ids: Vec<String>,
    #[serde(default)]
    body: String,
}

impl OrderForm {
    /// The ticked regions' ids, each once; a value that is no id fails its field.
    fn picked(&self, errors: &mut Vec<FieldError>) -> Vec<i64> {
        let mut ids = Vec::new();
        for (i, v) in self.region_ids.iter().enumerate() {
            match v.trim().parse::<i64>() {
                Ok(id) if !ids.contains(&id) => ids.push(id),
                Ok(_) => {}
                Err(_) => errors.push(FieldError::new(
                    format!("region_ids[{i}]"),
                    "no such region",
                )),
            }
        }
        ids
    }
}

#[derive(askama::Template)]
#[template(path = "org/order_new.html")]
struct NewOrderPage {
    ctx: PageCtx,
    form: OrderForm,
    errors: Vec<FieldError>,
    levels: Vec<(&'static str, &'static str)>,
    picks: Vec<Pick>,
    map: MapView,
}

impl NewOrderPage {
    fn error_for(&self, field: &str) -> String {
        crate::web::messages_for(&self.errors, field, self.ctx.locale)
    }
    /// The ticked regions' names, for the line above the tree.
    fn picked_names(&self) -> String {
        let names: Vec<&str> = self
            .picks
            .iter()
            .filter(|p| p.checked)
            .map(|p| p.name.as_str())
            .collect();
        names.join("、")
    }
}

/// The form, blank or as sent with what was wrong, its ticked regions kept.
async fn new_order_page(
    db: &Db,
    user: &Principal,
    ctx: PageCtx,
    form: OrderForm,
    picked: &[i64],
    (status, errors): (StatusCode, Vec<FieldError>),
) -> Result<Response, PageError> {
    let locale = ctx.locale;
    let picks = super::picker::tree(db, user, picked, locale)
        .await
        .page(locale)?;
    let levels = ControlLevel::ALL
        .iter()
        .map(|l| (l.code(), l.label(ctx.en())))
        .collect();
    let map = MapView::outlines(locale)
        .selecting(picked.to_vec())
        .picking();
    let page = NewOrderPage {
        ctx,
        form,
        errors,
        levels,
        picks,
        map,
    };
    Ok((status, render(&page)).into_response())
}

async fn order_form(
    State(state): State<OrgState>,
    Page { user, ctx, .. }: Page<perm::OrdersWrite>,
) -> Result<Response, PageError> {
    let ok = (StatusCode::OK, Vec::new());
    new_order_page(&state.db, &user, ctx, OrderForm::default(), &[], ok).await
}

/// `datetime-local` inputs carry Beijing wall time without a zone.
fn beijing_input(field: &str, s: &str) -> Result<String, FieldError> {
    crate::time::beijing_local(s).ok_or_else(|| FieldError::new(field, "expected a date and time"))
}

async fn order_create(
    State(state): State<OrgState>,
    Page {
        user, locale, ctx, ..
    }: Page<perm::OrdersWrite>,
    axum_extra::extract::Form(form): axum_extra::extract::Form<OrderForm>,
) -> Result<Response, PageError> {
    user.check_csrf(Some(&form.csrf)).page(locale)?;
    let mut errors = Vec::new();
    let from = beijing_input("effective_from", &form.effective_from)
        .map_err(|e| errors.push(e))
        .unwrap_or_default();
    let until = if form.effective_until.is_empty() {
        None
    } else {
        beijing_input("effective_until", &form.effective_until)
            .map_err(|e| errors.push(e))
            .ok()
    };
    let region_ids = form.picked(&mut errors);
    if region_ids.is_empty() && errors.iter().all(|e| !e.field.starts_with("region_ids")) {
        errors.push(FieldError::new(
            "region_ids",
            "an order must cover at least one region",
        ));
    }
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    if errors.is_empty() {
        let new = NewOrder {
            number: form.number.clone(),
            issued_at: crate::time::rfc3339(crate::time::now_ms()),
            effective_from: from,
            effective_until: until,
            level: form.level.clone(),
            region_ids: region_ids.clone(),
            body: form.body.clone(),
        };
        match super::orders::create(&state.db, &user, &new).await {
            Ok(id) => return Ok(Redirect::to(&format!("/orders/{id}")).into_response()),
            Err(e @ (AppError::Invalid(_) | AppError::Conflict(_) | AppError::OutsideScope(_))) => {
                status = e.status();
                errors.extend(e.fields().iter().cloned());
            }
            Err(e) => return Err(PageError { error: e, locale }),
        }
    }
    new_order_page(&state.db, &user, ctx, form, &region_ids, (status, errors)).await
}

pub fn router() -> Router<OrgState> {
    Router::new()
        .route("/orders", get(orders_page).post(order_create))
        .route("/orders/new", get(order_form))
        .route("/orders/{id}", get(order_page))
        .route("/static/region-tree.js", get(region_tree_script))
}

async fn region_tree_script() -> Response {
    asset(JAVASCRIPT, include_str!("../../static/region-tree.js"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticked_regions_are_read_once_each_and_a_bad_one_is_named() {
        let form = OrderForm {
            region_ids: vec!["3".into(), "x".into(), "3".into(), " 5".into()],
            ..Default::default()
        };
        let mut errors = Vec::new();
        assert_eq!(form.picked(&mut errors), [3, 5]);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "region_ids[1]");
    }
}
