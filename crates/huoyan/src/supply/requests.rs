//! Assistance requests (近一米温暖服务): a resident's need passed on by a supervisor, the
//! community, the hotline or a volunteer; assigned to a volunteer with a deadline; closed with a
//! note. An urgent medical need is flagged red and told to the community office and the
//! supervision group at once; one past its deadline is escalated to them and the volunteer.

use axum::extract::State;
use axum::http::StatusCode;
use huoyan_core::auth::{Permission, Role};
use huoyan_core::org::{mask_contact, parse_contact_phone};
use huoyan_core::supply::Condition;
use huoyan_core::supply::assistance::{
    RequestKind, RequestSource, RequestState, UrgentReason, default_deadline, overdue, urgency,
};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::SupplyState;
use crate::audit::{Actor, Change};
use crate::auth::{Can, Principal, perm};
use crate::check::{Check, Required, Text};
use crate::db::{Db, Sql};
use crate::error::{AppError, AppResult, FieldError};
use crate::http::{ApiJson, ApiPath, ApiQuery, ListPage, Paging};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRequest {
    /// The compound the resident lives in.
    pub compound_id: i64,
    /// Building, unit and door (3号楼2单元502).
    #[schema(value_type = String, max_length = 40)]
    pub address: Required<40>,
    /// The resident's name.
    #[schema(value_type = String, max_length = 40)]
    pub resident: Required<40>,
    /// A mobile, or a landline with its area code; shown in clear only to the volunteer
    /// assigned (until it is closed) and the community office.
    #[serde(default)]
    #[schema(value_type = String, max_length = 20)]
    pub phone: Text<20>,
    pub kind: RequestKind,
    /// What is needed (降压药两盒；透析，周三上午).
    #[schema(value_type = String, max_length = 500)]
    pub description: Required<500>,
    /// The resident's conditions, as far as known: a medical visit on dialysis or in pregnancy
    /// is urgent.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// When it must be done, within a week (an urgent one within the hour); absent: by its kind
    /// and urgency.
    #[schema(format = DateTime)]
    pub deadline: Option<String>,
}

/// Whom a request goes to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    /// The volunteer: a member of a volunteer group or party branch working in the caller's
    /// reach.
    pub person_id: i64,
    /// A new deadline (an urgent request's within the hour); absent: the request's stays.
    #[schema(format = DateTime)]
    pub deadline: Option<String>,
}

/// What the volunteer did.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Closing {
    #[schema(value_type = String, max_length = 300)]
    pub note: Required<300>,
    /// Medicines bought (packs), 0 to 100.
    #[serde(default)]
    pub medicines: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Request {
    pub id: i64,
    pub compound_id: i64,
    pub compound: String,
    pub address: String,
    pub resident: String,
    /// Masked, but for the volunteer assigned (until it is closed) and the community office.
    pub phone: String,
    pub kind: RequestKind,
    /// Who passed it on, by the filer's role: a supervisor, the community office, the hotline
    /// (the office), a volunteer.
    pub source: RequestSource,
    pub description: String,
    /// Why it is red, if it is.
    pub urgent: Option<UrgentReason>,
    pub state: RequestState,
    #[schema(format = DateTime)]
    pub deadline: String,
    /// Not closed and past its deadline.
    pub overdue: bool,
    pub assignee_id: Option<i64>,
    pub assignee: Option<String>,
    #[schema(format = DateTime)]
    pub assigned_at: Option<String>,
    #[schema(format = DateTime)]
    pub closed_at: Option<String>,
    pub close_note: String,
    pub medicines: i64,
    #[schema(format = DateTime)]
    pub created_at: String,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestFilter {
    pub state: Option<RequestState>,
    /// Only the red ones.
    pub urgent: Option<bool>,
    /// Only those assigned to the caller.
    pub mine: Option<bool>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

fn source_for(role: Role) -> RequestSource {
    match role {
        Role::Supervisor => RequestSource::Supervisor,
        Role::Office => RequestSource::Hotline,
        Role::Volunteer | Role::Branch => RequestSource::Volunteer,
        _ => RequestSource::Community,
    }
}

/// The path and name of compound `id` when it is a compound in `p`'s sight, read inside
/// `change`.
async fn compound_in_sight(
    change: &mut Change,
    p: &Principal,
    check: &mut Check,
    id: i64,
) -> AppResult<Option<(String, String)>> {
    let mut sql = Sql::new("SELECT g.path, g.level, g.name FROM regions g WHERE g.id = ");
    sql.bind(id);
    let Some(row) = sql.query().fetch_optional(&mut *change.tx).await? else {
        check.fail("compound_id", "no such compound");
        return Ok(None);
    };
    if row.try_get::<String, _>("level")? != "compound" {
        check.fail("compound_id", "not a compound");
        return Ok(None);
    }
    sql.push(" ");
    super::visible(p, &mut sql, "g.path", None);
    if sql.query().fetch_optional(&mut *change.tx).await?.is_none() {
        check.outside("compound_id");
        return Ok(None);
    }
    Ok(Some((row.try_get("path")?, row.try_get("name")?)))
}

/// The latest deadline a request filed or assigned at `now` may have.
fn latest(urgent: bool, now: i64) -> i64 {
    if urgent {
        default_deadline(RequestKind::MedicalVisit, true, now)
    } else {
        now + super::LONGEST
    }
}

/// Those who act on an urgent or overdue request in compound `path`: the community office and
/// the supervision group.
async fn responders(change: &mut Change, path: &str) -> AppResult<Vec<i64>> {
    let mut to = crate::notifications::community_offices(change, path).await?;
    to.extend(crate::notifications::acting_on(change, path, &["group"]).await?);
    Ok(to)
}

/// Files `new` as `p` inside `change`; an urgent one is told to the community office and the
/// group at once. Returns its id.
pub async fn file(change: &mut Change, p: &Principal, new: &NewRequest) -> AppResult<i64> {
    let mut check = Check::default();
    let place = compound_in_sight(change, p, &mut check, new.compound_id).await?;
    for (i, c) in new.conditions.iter().enumerate() {
        if new.conditions[..i].contains(c) {
            check.fail(&format!("conditions[{i}]"), "named twice");
        }
    }
    let phone = match new.phone.trimmed() {
        "" => Some(String::new()),
        raw => parse_contact_phone(raw)
            .map_err(|e| check.fail("phone", e))
            .ok(),
    };
    let urgent = urgency(new.kind, &new.conditions, new.description.trimmed());
    let now = change.at_ms();
    let deadline = match &new.deadline {
        Some(d) => super::deadline(&mut check, d, now, latest(urgent.is_some(), now)),
        None => Some(default_deadline(new.kind, urgent.is_some(), now)),
    };
    check.done()?;
    let ((path, compound), deadline) = (place.expect("checked"), deadline.expect("checked"));
    let source = source_for(p.role);
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO assistance_requests (compound_id, address, resident, phone, kind, source, description, \
         urgent, state, deadline, filed_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         RETURNING id",
    )
    .bind(new.compound_id)
    .bind(new.address.trimmed())
    .bind(new.resident.trimmed())
    .bind(phone.expect("checked"))
    .bind(new.kind.code())
    .bind(source.code())
    .bind(new.description.trimmed())
    .bind(urgent.map(|u| u.code()))
    .bind(RequestState::Open.code())
    .bind(deadline)
    .bind(p.account_id)
    .bind(now)
    .fetch_one(&mut *change.tx)
    .await?;
    // The audit trail keeps no phone: it outlives the request.
    change
        .record(
            "assistance_request",
            id,
            "file",
            &serde_json::json!({"compound_id": new.compound_id, "kind": new.kind, "source": source,
                "urgent": urgent, "deadline": deadline, "conditions": new.conditions}),
        )
        .await?;
    if let Some(reason) = urgent {
        let to = responders(change, &path).await?;
        crate::notifications::tell_accounts(
            change,
            &to,
            "assistance_urgent",
            &serde_json::json!({"request": id, "need": reason.zh(), "kind": new.kind.zh(),
                "place": format!("{compound}{}", new.address.trimmed()),
                "page": format!("/supply/requests#r{id}")}),
        )
        .await?;
    }
    Ok(id)
}

/// How a caller stands to a request.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sight {
    /// Where it lies is in their sight: they may assign and close it.
    Place,
    /// Where it lies, or it is assigned to them: they may close their own.
    PlaceOrOwn,
}

/// The request's urgency and assignee when `p` sees it as `sight` says, read inside `change`;
/// a closed one is a conflict.
async fn standing(
    change: &mut Change,
    p: &Principal,
    id: i64,
    sight: Sight,
) -> AppResult<(bool, Option<i64>)> {
    let mut sql = Sql::new(
        "SELECT r.state, r.urgent, r.assignee_id FROM assistance_requests r \
         JOIN regions g ON g.id = r.compound_id WHERE r.id = ",
    );
    sql.bind(id);
    match sight {
        Sight::Place => super::visible(p, &mut sql, "g.path", None),
        Sight::PlaceOrOwn => in_sight(p, &mut sql),
    }
    let row = sql
        .query()
        .fetch_optional(&mut *change.tx)
        .await?
        .ok_or(AppError::NotFound("request"))?;
    if row.try_get::<String, _>("state")? == RequestState::Closed.code() {
        return Err(AppError::Conflict(vec![FieldError::new(
            "id",
            "the request is closed already",
        )]));
    }
    Ok((
        row.try_get::<Option<String>, _>("urgent")?.is_some(),
        row.try_get("assignee_id")?,
    ))
}

/// Fails `person_id` unless the person carries for a volunteer group or party branch working in
/// `p`'s sight: the same people the page offers.
async fn check_person(
    change: &mut Change,
    p: &Principal,
    check: &mut Check,
    id: i64,
) -> AppResult<()> {
    if !change.exists("people", id).await? {
        check.fail("person_id", "no such person");
        return Ok(());
    }
    let mut sql = super::volunteers(p);
    sql.push(" AND x.id = ").bind(id);
    if sql.query().fetch_optional(&mut *change.tx).await?.is_none() {
        check.outside("person_id");
    }
    Ok(())
}

/// Assigns request `id` to a volunteer as `p` inside `change`, and tells them.
pub async fn assign(change: &mut Change, p: &Principal, id: i64, a: &Assignment) -> AppResult<()> {
    let (urgent, _) = standing(change, p, id, Sight::Place).await?;
    let mut check = Check::default();
    check_person(change, p, &mut check, a.person_id).await?;
    let now = change.at_ms();
    let deadline = match &a.deadline {
        Some(d) => super::deadline(&mut check, d, now, latest(urgent, now)),
        None => None,
    };
    check.done()?;
    sqlx::query(
        "UPDATE assistance_requests SET state = $1, assignee_id = $2, assigned_at = $3, \
         deadline = COALESCE($4, deadline), escalated_at = CASE WHEN $4 IS NULL THEN escalated_at END WHERE id = $5",
    )
    .bind(RequestState::Assigned.code())
    .bind(a.person_id)
    .bind(now)
    .bind(deadline)
    .bind(id)
    .execute(&mut *change.tx)
    .await?;
    change
        .record(
            "assistance_request",
            id,
            "assign",
            &serde_json::json!({"person_id": a.person_id, "deadline": deadline}),
        )
        .await?;
    let (kind, place, due) = told_of(change, id).await?;
    let to = crate::notifications::accounts_of_person(change, a.person_id).await?;
    crate::notifications::tell_accounts(
        change,
        &to,
        "assistance_assigned",
        &serde_json::json!({"request": id, "kind": kind, "place": place, "due_at": due,
            "page": format!("/supply/requests#r{id}")}),
    )
    .await
}

/// A request's kind (in Chinese), compound and address, and deadline, as notices name them.
async fn told_of(change: &mut Change, id: i64) -> AppResult<(String, String, i64)> {
    let (kind, compound, address, due): (String, String, String, i64) = sqlx::query_as(
        "SELECT r.kind, g.name, r.address, r.deadline FROM assistance_requests r \
         JOIN regions g ON g.id = r.compound_id WHERE r.id = $1",
    )
    .bind(id)
    .fetch_one(&mut *change.tx)
    .await?;
    let kind = RequestKind::parse(&kind).map_or("", |k| k.zh()).to_string();
    Ok((kind, format!("{compound}{address}"), due))
}

/// Closes request `id` as `p` inside `change`: the volunteer assigned, or whoever assigns
/// requests where it lies.
pub async fn close(change: &mut Change, p: &Principal, id: i64, c: &Closing) -> AppResult<()> {
    let (_, assignee) = standing(change, p, id, Sight::PlaceOrOwn).await?;
    let own = assignee.is_some() && assignee == p.person_id;
    if !own {
        if !p.role.allows(Permission::AssistanceAssign) {
            return Err(AppError::Forbidden);
        }
        standing(change, p, id, Sight::Place).await?;
    }
    if !(0..=100).contains(&c.medicines) {
        return Err(AppError::invalid("medicines", "0 to 100"));
    }
    sqlx::query(
        "UPDATE assistance_requests SET state = $1, closed_at = $2, closed_by = $3, close_note = $4, \
         medicines = $5 WHERE id = $6",
    )
    .bind(RequestState::Closed.code())
    .bind(change.at_ms())
    .bind(p.account_id)
    .bind(c.note.trimmed())
    .bind(c.medicines)
    .bind(id)
    .execute(&mut *change.tx)
    .await?;
    change
        .record(
            "assistance_request",
            id,
            "close",
            &serde_json::json!({"note": c.note.trimmed(), "medicines": c.medicines}),
        )
        .await
}

/// Confines requests (`r`, its compound `g`) to those `p` sees: in their sight, or assigned to
/// them.
pub(super) fn in_sight(p: &Principal, sql: &mut Sql) {
    sql.push(" AND (r.assignee_id = ")
        .bind(p.person_id.unwrap_or(-1))
        .push(" OR (1 = 1");
    super::visible(p, sql, "g.path", None);
    sql.push("))");
}

/// The SELECT of requests with `clear`: whether `p` sees the phone in clear (the volunteer
/// assigned, until it is closed; the community office whose community holds it).
fn select(p: &Principal) -> Sql {
    let mut sql = Sql::new("SELECT CASE WHEN (r.assignee_id = ");
    sql.bind(p.person_id.unwrap_or(-1)).push(
        " AND r.state <> 'closed') OR EXISTS (SELECT 1 FROM departments sd JOIN regions sr ON sr.id = sd.region_id \
         WHERE sd.kind = 'community' AND sd.id = ",
    );
    sql.bind(p.scope.department_id.unwrap_or(-1)).push(&format!(
        " AND g.path LIKE sr.path || '%') THEN 1 ELSE 0 END AS clear, {COLUMNS} \
         FROM assistance_requests r JOIN regions g ON g.id = r.compound_id \
         LEFT JOIN people x ON x.id = r.assignee_id WHERE 1 = 1"
    ));
    sql
}

const COLUMNS: &str = "r.id, r.compound_id, g.name AS compound, r.address, r.resident, r.phone, r.kind, \
    r.source, r.description, r.urgent, r.state, r.deadline, r.assignee_id, x.name AS assignee, r.assigned_at, \
    r.closed_at, r.close_note, r.medicines, r.created_at";

fn request_of(r: &sqlx::any::AnyRow, now: i64) -> AppResult<Request> {
    let code = |col: &str| -> AppResult<String> { Ok(r.try_get::<String, _>(col)?) };
    let bad = |what: &str, v: &str| anyhow::anyhow!("request {what} {v:?}");
    let (kind, source, state) = (code("kind")?, code("source")?, code("state")?);
    let urgent: Option<String> = r.try_get("urgent")?;
    let state = RequestState::parse(&state).ok_or_else(|| bad("state", &state))?;
    let deadline: i64 = r.try_get("deadline")?;
    let assignee_id: Option<i64> = r.try_get("assignee_id")?;
    let phone: String = r.try_get("phone")?;
    let clear = r.try_get::<i64, _>("clear")? == 1;
    Ok(Request {
        id: r.try_get("id")?,
        compound_id: r.try_get("compound_id")?,
        compound: r.try_get("compound")?,
        address: r.try_get("address")?,
        resident: r.try_get("resident")?,
        phone: if clear { phone } else { mask_contact(&phone) },
        kind: RequestKind::parse(&kind).ok_or_else(|| bad("kind", &kind))?,
        source: RequestSource::parse(&source).ok_or_else(|| bad("source", &source))?,
        description: r.try_get("description")?,
        urgent: urgent.as_deref().and_then(UrgentReason::parse),
        state,
        deadline: crate::time::rfc3339(deadline),
        overdue: overdue(state, deadline, now),
        assignee_id,
        assignee: r.try_get("assignee")?,
        assigned_at: r
            .try_get::<Option<i64>, _>("assigned_at")?
            .map(crate::time::rfc3339),
        closed_at: r
            .try_get::<Option<i64>, _>("closed_at")?
            .map(crate::time::rfc3339),
        close_note: r.try_get("close_note")?,
        medicines: r.try_get("medicines")?,
        created_at: crate::time::rfc3339(r.try_get("created_at")?),
    })
}

/// The requests `p` sees: the red ones not closed first, then by deadline, the closed last.
pub async fn list(db: &Db, p: &Principal, f: &RequestFilter) -> AppResult<ListPage<Request>> {
    let paging = Paging {
        limit: f.limit,
        offset: f.offset,
    };
    let mut sql = select(p);
    if let Some(s) = f.state {
        sql.push(" AND r.state = ").bind(s.code());
    }
    if f.urgent == Some(true) {
        sql.push(" AND r.urgent IS NOT NULL");
    }
    if f.mine == Some(true) {
        sql.push(" AND r.assignee_id = ")
            .bind(p.person_id.unwrap_or(-1));
    }
    in_sight(p, &mut sql);
    sql.push(
        " ORDER BY CASE WHEN r.state = 'closed' THEN 2 WHEN r.urgent IS NOT NULL THEN 0 ELSE 1 END, \
         r.deadline, r.id",
    );
    paging.push_page(&mut sql);
    let now = crate::time::now_ms();
    let rows = sql.query().fetch_all(&db.pool).await?;
    let items = rows
        .iter()
        .map(|r| request_of(r, now))
        .collect::<AppResult<Vec<_>>>()?;
    Ok(paging.page(items))
}

pub async fn get(db: &Db, p: &Principal, id: i64) -> AppResult<Request> {
    let mut sql = select(p);
    sql.push(" AND r.id = ").bind(id);
    in_sight(p, &mut sql);
    let r = sql
        .query()
        .fetch_optional(&db.pool)
        .await?
        .ok_or(AppError::NotFound("request"))?;
    request_of(&r, crate::time::now_ms())
}

/// Most requests one sweep escalates, each in its own change.
const SWEEP_BATCH: i64 = 200;

/// Escalates, once, every request not closed at its deadline: the community office, the group
/// and the volunteer assigned are told. Returns how many.
pub async fn sweep(db: &Db, now: i64) -> AppResult<usize> {
    let due: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM assistance_requests WHERE state <> 'closed' AND escalated_at IS NULL \
         AND deadline < $1 ORDER BY deadline, id LIMIT $2",
    )
    .bind(now)
    .bind(SWEEP_BATCH)
    .fetch_all(&db.pool)
    .await?;
    let mut done = 0;
    for id in due {
        let acted = Change::run(db, &Actor::system("assistance-deadline"), async |c| {
            let n = sqlx::query(
                "UPDATE assistance_requests SET escalated_at = $1 WHERE id = $2 AND state <> 'closed' \
                 AND escalated_at IS NULL AND deadline < $1",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *c.tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Ok(false);
            }
            c.record(
                "assistance_request",
                id,
                "escalate",
                &serde_json::json!({"at": now}),
            )
            .await?;
            let (assignee, path): (Option<i64>, String) = sqlx::query_as(
                "SELECT r.assignee_id, g.path FROM assistance_requests r \
                 JOIN regions g ON g.id = r.compound_id WHERE r.id = $1",
            )
            .bind(id)
            .fetch_one(&mut *c.tx)
            .await?;
            let mut to = responders(c, &path).await?;
            if let Some(person) = assignee {
                to.extend(crate::notifications::accounts_of_person(c, person).await?);
            }
            let (kind, place, _) = told_of(c, id).await?;
            crate::notifications::tell_accounts(
                c,
                &to,
                "assistance_overdue",
                &serde_json::json!({"request": id, "kind": kind, "place": place,
                    "page": format!("/supply/requests#r{id}")}),
            )
            .await?;
            Ok(true)
        })
        .await;
        done += super::tally("an overdue request", id, acted);
    }
    Ok(done)
}

/// Pass on a resident's request for help; an urgent one is told to the community and the group.
#[utoipa::path(post, path = "/api/v1/supply/requests", tag = "supply", operation_id = "file_assistance_request",
    request_body = NewRequest,
    responses((status = 201, body = Request), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn file_route(
    State(state): State<SupplyState>,
    Can(p, _): Can<perm::AssistanceFile>,
    ApiJson(new): ApiJson<NewRequest>,
) -> AppResult<(StatusCode, ApiJson<Request>)> {
    let id = Change::run(&state.db, &p.actor(), async |c| file(c, &p, &new).await).await?;
    Ok((StatusCode::CREATED, ApiJson(get(&state.db, &p, id).await?)))
}

/// The assistance requests in scope, the red ones first.
#[utoipa::path(get, path = "/api/v1/supply/requests", tag = "supply", operation_id = "list_assistance_requests",
    params(RequestFilter), responses((status = 200, body = ListPage<Request>)))]
async fn list_route(
    State(state): State<SupplyState>,
    Can(p, _): Can<perm::AssistanceRead>,
    ApiQuery(f): ApiQuery<RequestFilter>,
) -> AppResult<ApiJson<ListPage<Request>>> {
    Ok(ApiJson(list(&state.db, &p, &f).await?))
}

/// One assistance request.
#[utoipa::path(get, path = "/api/v1/supply/requests/{id}", tag = "supply", operation_id = "get_assistance_request",
    params(("id" = i64, Path)),
    responses((status = 200, body = Request), (status = 404, body = crate::error::ErrorBody)))]
async fn get_route(
    State(state): State<SupplyState>,
    Can(p, _): Can<perm::AssistanceRead>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<ApiJson<Request>> {
    Ok(ApiJson(get(&state.db, &p, id).await?))
}

/// Assign a request to a volunteer, with a new deadline if need be.
#[utoipa::path(post, path = "/api/v1/supply/requests/{id}/assign", tag = "supply", operation_id = "assign_assistance_request",
    params(("id" = i64, Path)), request_body = Assignment,
    responses((status = 200, body = Request), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn assign_route(
    State(state): State<SupplyState>,
    Can(p, _): Can<perm::AssistanceAssign>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(a): ApiJson<Assignment>,
) -> AppResult<ApiJson<Request>> {
    Change::run(&state.db, &p.actor(), async |c| assign(c, &p, id, &a).await).await?;
    Ok(ApiJson(get(&state.db, &p, id).await?))
}

/// Close a request with what was done: the volunteer assigned, or whoever assigns requests.
#[utoipa::path(post, path = "/api/v1/supply/requests/{id}/close", tag = "supply", operation_id = "close_assistance_request",
    params(("id" = i64, Path)), request_body = Closing,
    responses((status = 200, body = Request), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn close_route(
    State(state): State<SupplyState>,
    Can(p, _): Can<perm::AssistanceRead>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(c): ApiJson<Closing>,
) -> AppResult<ApiJson<Request>> {
    Change::run(&state.db, &p.actor(), async |ch| {
        close(ch, &p, id, &c).await
    })
    .await?;
    Ok(ApiJson(get(&state.db, &p, id).await?))
}

pub fn api() -> OpenApiRouter<SupplyState> {
    OpenApiRouter::new()
        .routes(routes!(list_route, file_route))
        .routes(routes!(get_route))
        .routes(routes!(assign_route))
        .routes(routes!(close_route))
}
