//! The supply pages, on the phone: the batches with their buildings, a volunteer's buildings to
//! mark delivered (`/supply`), and the assistance requests, the red ones first, with the forms
//! that file, assign and close them (`/supply/requests`).

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use huoyan_core::auth::Permission;
use huoyan_core::supply::Condition;
use huoyan_core::supply::assistance::{RequestKind, RequestState};
use serde::Deserialize;
use serde_json::{Value, json};

use super::SupplyState;
use super::batches::{Batch, BatchDetail};
use super::deliveries::{Delivery, DeliveryFilter};
use super::requests::{Request, RequestFilter};
use crate::audit::Change;
use crate::auth::{Page, Principal, perm};
use crate::db::Sql;
use crate::error::AppResult;
use crate::http::{ApiPath, ListPage, Paging, from_fields};
use crate::web::{PageCtx, PageError, PageResultExt, render};

#[derive(askama::Template)]
#[template(path = "supply/index.html")]
struct IndexPage {
    ctx: PageCtx,
    batches: ListPage<Batch>,
    /// The caller's team's buildings, for those who carry.
    mine: Vec<Delivery>,
    can_deliver: bool,
    can_plan: bool,
}

#[derive(askama::Template)]
#[template(path = "supply/batch.html")]
struct BatchPage {
    ctx: PageCtx,
    detail: BatchDetail,
}

/// Someone a request may be given to.
struct Volunteer {
    id: i64,
    label: String,
    /// Where their team works: a request is offered to those of its compound.
    region: i64,
}

#[derive(askama::Template)]
#[template(path = "supply/requests.html")]
struct RequestsPage {
    ctx: PageCtx,
    page: ListPage<Request>,
    me: Option<i64>,
    can_file: bool,
    can_assign: bool,
    compounds: Vec<(i64, String)>,
    volunteers: Vec<Volunteer>,
    kinds: Vec<(&'static str, &'static str)>,
    conditions: Vec<(&'static str, &'static str)>,
}

impl RequestsPage {
    fn at(&self, t: &str) -> String {
        crate::time::beijing_rfc3339(t)
    }

    /// Red: urgent and not closed.
    fn red(&self, r: &Request) -> bool {
        r.urgent.is_some() && r.state != RequestState::Closed
    }

    fn chosen(&self, r: &Request, v: &Volunteer) -> bool {
        r.assignee_id == Some(v.id)
    }

    /// The volunteers working in the request's compound.
    fn volunteers_for(&self, r: &Request) -> Vec<&Volunteer> {
        self.volunteers
            .iter()
            .filter(|v| v.region == r.compound_id)
            .collect()
    }

    fn may_close(&self, r: &Request) -> bool {
        r.state != RequestState::Closed
            && (self.can_assign || (r.assignee_id.is_some() && r.assignee_id == self.me))
    }
}

async fn index(
    State(state): State<SupplyState>,
    Page {
        user, ctx, locale, ..
    }: Page<perm::SupplyRead>,
) -> Result<Response, PageError> {
    let batches = super::batches::list(
        &state.db,
        &user,
        &Paging {
            limit: Some(50),
            offset: None,
        },
    )
    .await
    .page(locale)?;
    let can_deliver = user.role.allows(Permission::SupplyDeliver) && user.scope.team_id.is_some();
    let mine = if can_deliver {
        let current = DeliveryFilter {
            current: Some(true),
            ..Default::default()
        };
        super::deliveries::list(&state.db, &user, &current)
            .await
            .page(locale)?
    } else {
        Vec::new()
    };
    Ok(render(&IndexPage {
        ctx,
        batches,
        mine,
        can_deliver,
        can_plan: user.role.allows(Permission::SupplyPlan),
    }))
}

async fn batch(
    State(state): State<SupplyState>,
    Page {
        user, ctx, locale, ..
    }: Page<perm::SupplyRead>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, PageError> {
    let detail = super::batches::get(&state.db, &user, id)
        .await
        .page(locale)?;
    Ok(render(&BatchPage { ctx, detail }))
}

/// A form's fields, as the API's request: blanks left out, numbers as numbers, so that a bad one
/// is named like the API names it.
fn fields(pairs: &[(&str, &str)], numbers: &[&str]) -> serde_json::Map<String, Value> {
    pairs
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| {
            let v = v.trim();
            let value = if numbers.contains(k) {
                v.parse::<i64>().map_or_else(|_| v.into(), Value::from)
            } else {
                v.into()
            };
            (k.to_string(), value)
        })
        .collect()
}

#[derive(Deserialize)]
struct MarkForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    delivered: String,
    #[serde(default)]
    note: String,
}

async fn mark(
    State(state): State<SupplyState>,
    Page { user, locale, .. }: Page<perm::SupplyDeliver>,
    ApiPath(id): ApiPath<i64>,
    axum::Form(form): axum::Form<MarkForm>,
) -> Result<Response, PageError> {
    user.check_csrf(Some(&form.csrf)).page(locale)?;
    let mut m = fields(
        &[("delivered", &form.delivered), ("note", &form.note)],
        &["delivered"],
    );
    m.entry("delivered").or_insert(Value::Null);
    let m: super::Mark = from_fields(m).page(locale)?;
    Change::run(&state.db, &user.actor(), async |c| {
        super::mark(c, &user, id, &m).await
    })
    .await
    .page(locale)?;
    Ok(Redirect::to(&format!("/supply#d{id}")).into_response())
}

fn pairs(rows: Vec<sqlx::any::AnyRow>) -> AppResult<Vec<(i64, String)>> {
    use sqlx::Row;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// The compounds in `p`'s sight (at most 500), to file a request for or plan a batch in.
pub(super) async fn compounds(state: &SupplyState, p: &Principal) -> AppResult<Vec<(i64, String)>> {
    let mut sql = Sql::new("SELECT g.id, g.name FROM regions g WHERE g.level = 'compound'");
    super::visible(p, &mut sql, "g.path", None);
    sql.push(" ORDER BY g.name, g.id LIMIT 500");
    pairs(sql.query().fetch_all(&state.db.pool).await?)
}

/// The volunteers `p` may assign a request to, with the place their team works (at most 2,000).
async fn volunteers(state: &SupplyState, p: &Principal) -> AppResult<Vec<Volunteer>> {
    use sqlx::Row;
    let mut sql = super::volunteers(p);
    sql.push(" ORDER BY label, x.id LIMIT 2000");
    sql.query()
        .fetch_all(&state.db.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(Volunteer {
                id: r.try_get("id")?,
                label: r.try_get("label")?,
                region: r.try_get("region_id")?,
            })
        })
        .collect()
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    offset: Option<i64>,
}

async fn requests(
    State(state): State<SupplyState>,
    Page {
        user, ctx, locale, ..
    }: Page<perm::AssistanceRead>,
    axum::extract::Query(q): axum::extract::Query<ListQuery>,
) -> Result<Response, PageError> {
    let f = RequestFilter {
        offset: q.offset,
        ..Default::default()
    };
    let page = super::requests::list(&state.db, &user, &f)
        .await
        .page(locale)?;
    let can_file = user.role.allows(Permission::AssistanceFile);
    let can_assign = user.role.allows(Permission::AssistanceAssign);
    let compounds = if can_file {
        compounds(&state, &user).await.page(locale)?
    } else {
        Vec::new()
    };
    let volunteers = if can_assign {
        volunteers(&state, &user).await.page(locale)?
    } else {
        Vec::new()
    };
    Ok(render(&RequestsPage {
        me: user.person_id,
        page,
        can_file,
        can_assign,
        compounds,
        volunteers,
        kinds: RequestKind::choices(ctx.en()),
        conditions: Condition::choices(ctx.en()),
        ctx,
    }))
}

/// The request form's fields; `conditions` repeats, one per box ticked.
#[derive(Deserialize)]
struct RequestForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    compound_id: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    resident: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    conditions: Vec<String>,
}

async fn file(
    State(state): State<SupplyState>,
    Page { user, locale, .. }: Page<perm::AssistanceFile>,
    axum_extra::extract::Form(form): axum_extra::extract::Form<RequestForm>,
) -> Result<Response, PageError> {
    user.check_csrf(Some(&form.csrf)).page(locale)?;
    let mut m = fields(
        &[
            ("compound_id", &form.compound_id),
            ("address", &form.address),
            ("resident", &form.resident),
            ("phone", &form.phone),
            ("kind", &form.kind),
            ("description", &form.description),
        ],
        &["compound_id"],
    );
    for required in ["compound_id", "address", "resident", "kind", "description"] {
        m.entry(required).or_insert(Value::Null);
    }
    m.insert("conditions".into(), json!(form.conditions));
    let new: super::NewRequest = from_fields(m).page(locale)?;
    let id = Change::run(&state.db, &user.actor(), async |c| {
        super::file_request(c, &user, &new).await
    })
    .await
    .page(locale)?;
    Ok(Redirect::to(&format!("/supply/requests#r{id}")).into_response())
}

#[derive(Deserialize)]
struct AssignForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    person_id: String,
}

async fn assign(
    State(state): State<SupplyState>,
    Page { user, locale, .. }: Page<perm::AssistanceAssign>,
    ApiPath(id): ApiPath<i64>,
    axum::Form(form): axum::Form<AssignForm>,
) -> Result<Response, PageError> {
    user.check_csrf(Some(&form.csrf)).page(locale)?;
    let mut m = fields(&[("person_id", &form.person_id)], &["person_id"]);
    m.entry("person_id").or_insert(Value::Null);
    let a: super::Assignment = from_fields(m).page(locale)?;
    Change::run(&state.db, &user.actor(), async |c| {
        super::assign(c, &user, id, &a).await
    })
    .await
    .page(locale)?;
    Ok(Redirect::to(&format!("/supply/requests#r{id}")).into_response())
}

#[derive(Deserialize)]
struct CloseForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    medicines: String,
}

async fn close(
    State(state): State<SupplyState>,
    Page { user, locale, .. }: Page<perm::AssistanceRead>,
    ApiPath(id): ApiPath<i64>,
    axum::Form(form): axum::Form<CloseForm>,
) -> Result<Response, PageError> {
    user.check_csrf(Some(&form.csrf)).page(locale)?;
    let mut m = fields(
        &[("note", &form.note), ("medicines", &form.medicines)],
        &["medicines"],
    );
    m.entry("note").or_insert(Value::Null);
    let c: super::Closing = from_fields(m).page(locale)?;
    Change::run(&state.db, &user.actor(), async |ch| {
        super::close(ch, &user, id, &c).await
    })
    .await
    .page(locale)?;
    Ok(Redirect::to(&format!("/supply/requests#r{id}")).into_response())
}

pub fn router() -> Router<SupplyState> {
    use axum::routing::{get, post};
    Router::new()
        .route("/supply", get(index))
        .route("/supply/batches/{id}", get(batch))
        .route("/supply/deliveries/{id}/mark", post(mark))
        .route("/supply/requests", get(requests).post(file))
        .route("/supply/requests/{id}/assign", post(assign))
        .route("/supply/requests/{id}/close", post(close))
}
