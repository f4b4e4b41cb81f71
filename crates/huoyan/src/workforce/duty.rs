//! The people on duty: sinking cadres and double-registered volunteers, each serving one
//! community, with the wishes the roster engine weighs (weekly hours, early shifts, days off).

use axum::extract::State;
use huoyan_core::workforce::DutyKind;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::WorkforceState;
use crate::audit::Change;
use crate::auth::{Can, Principal, perm};
use crate::check::{Check, Text};
use crate::db::{Db, Sql};
use crate::error::AppResult;
use crate::http::{ApiJson, ApiPath, ApiQuery, ListPage, Paging};
use crate::org::scope::Reach;

/// Most days off one person asks for at once (the engine plans at most 14 days).
const MAX_DAYS_OFF: usize = 31;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Enrolment {
    /// The community the person serves.
    pub community_id: i64,
    pub kind: DutyKind,
    /// At most this many hours a week (1 to 84).
    pub max_hours_per_week: i64,
    /// Asked to be spared early shifts (health).
    #[serde(default)]
    pub avoid_early: bool,
    /// Days asked off, YYYY-MM-DD.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub days_off: Vec<Text<10>>,
}

/// Puts person `person` on duty (or changes their wishes) inside `change`.
pub async fn enrol(
    change: &mut Change,
    p: &Principal,
    person: i64,
    e: &Enrolment,
) -> AppResult<()> {
    let mut check = Check::default();
    if !change.exists("people", person).await? {
        check.fail("person_id", "no such person");
    } else {
        Reach::of(change, p)
            .await?
            .person(change, &mut check, "person_id", person)
            .await?;
    }
    let level: Option<String> = sqlx::query_scalar("SELECT level FROM regions WHERE id = $1")
        .bind(e.community_id)
        .fetch_optional(&mut *change.tx)
        .await?;
    match level.as_deref() {
        None => check.fail("community_id", "no such region"),
        Some("community") => {
            Reach::of(change, p)
                .await?
                .region(change, &mut check, "community_id", e.community_id)
                .await?
        }
        Some(_) => check.fail("community_id", "a community"),
    }
    if !(1..=84).contains(&e.max_hours_per_week) {
        check.fail("max_hours_per_week", "1 to 84 hours");
    }
    if e.days_off.len() > MAX_DAYS_OFF {
        check.fail("days_off", format!("at most {MAX_DAYS_OFF} days"));
    }
    let mut days: Vec<String> = Vec::new();
    for (i, d) in e.days_off.iter().enumerate().take(MAX_DAYS_OFF) {
        match chrono::NaiveDate::parse_from_str(d.trimmed(), "%Y-%m-%d") {
            Ok(d) => days.push(d.format("%Y-%m-%d").to_string()),
            Err(_) => check.fail(&format!("days_off[{i}]"), "a day as YYYY-MM-DD"),
        }
    }
    check.done()?;
    days.sort();
    days.dedup();
    let days = serde_json::to_string(&days).map_err(anyhow::Error::from)?;
    sqlx::query("DELETE FROM duty_people WHERE person_id = $1")
        .bind(person)
        .execute(&mut *change.tx)
        .await?;
    sqlx::query(
        "INSERT INTO duty_people (person_id, community_id, kind, max_minutes_per_week, avoid_early, days_off, joined_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(person)
    .bind(e.community_id)
    .bind(e.kind.code())
    .bind(e.max_hours_per_week * 60)
    .bind(i64::from(e.avoid_early))
    .bind(&days)
    .bind(change.at_ms())
    .execute(&mut *change.tx)
    .await?;
    change
        .record(
            "duty_person",
            person,
            "enrol",
            &serde_json::json!({
                "community_id": e.community_id, "kind": e.kind.code(),
                "max_hours_per_week": e.max_hours_per_week, "avoid_early": e.avoid_early,
                "days_off": days,
            }),
        )
        .await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DutyPerson {
    pub person_id: i64,
    pub name: String,
    /// Masked: the first three and last four digits.
    pub phone: String,
    pub community_id: i64,
    pub community_name: String,
    pub kind: DutyKind,
    pub skills: Vec<String>,
    pub max_hours_per_week: i64,
    pub avoid_early: bool,
    pub days_off: Vec<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DutyFilter {
    pub community_id: Option<i64>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

async fn list(db: &Db, p: &Principal, f: &DutyFilter) -> AppResult<ListPage<DutyPerson>> {
    let mut filter = Sql::new(" WHERE 1 = 1");
    p.scope_people(&mut filter, "d.person_id", "d.community_id");
    if let Some(c) = f.community_id {
        filter.push(" AND d.community_id = ").bind(c);
    }
    let paging = Paging {
        limit: f.limit,
        offset: f.offset,
    };
    crate::http::fetch_page(
        db,
        "d.person_id, pe.name, pe.phone, pe.skills, d.community_id, g.name AS community_name, d.kind, \
         d.max_minutes_per_week, d.avoid_early, d.days_off",
        "duty_people d JOIN people pe ON pe.id = d.person_id JOIN regions g ON g.id = d.community_id",
        &filter,
        "g.name, pe.name, d.person_id",
        &paging,
        |r| {
            let kind: String = r.try_get("kind")?;
            Ok(DutyPerson {
                person_id: r.try_get("person_id")?,
                name: r.try_get("name")?,
                phone: huoyan_core::org::mask_phone(&r.try_get::<String, _>("phone")?),
                community_id: r.try_get("community_id")?,
                community_name: r.try_get("community_name")?,
                kind: DutyKind::parse(&kind)
                    .ok_or_else(|| sqlx::Error::Decode(format!("a duty kind {kind:?}").into()))?,
                skills: crate::org::people::split_skills(&r.try_get::<String, _>("skills")?),
                max_hours_per_week: r.try_get::<i64, _>("max_minutes_per_week")? / 60,
                avoid_early: r.try_get::<i64, _>("avoid_early")? != 0,
                days_off: serde_json::from_str(&r.try_get::<String, _>("days_off")?)
                    .map_err(|e| sqlx::Error::Decode(e.into()))?,
            })
        },
    )
    .await
}

/// The people on duty in the caller's reach, by community and name.
#[utoipa::path(get, path = "/api/v1/workforce/people", tag = "workforce", operation_id = "list_duty_people",
    params(DutyFilter), responses((status = 200, body = ListPage<DutyPerson>)))]
async fn list_route(
    State(state): State<WorkforceState>,
    Can(p, _): Can<perm::WorkforceRead>,
    ApiQuery(f): ApiQuery<DutyFilter>,
) -> AppResult<ApiJson<ListPage<DutyPerson>>> {
    Ok(ApiJson(list(&state.db, &p, &f).await?))
}

/// Put a person on duty for a community, or change their wishes.
#[utoipa::path(put, path = "/api/v1/workforce/people/{person_id}", tag = "workforce", operation_id = "enrol_duty_person",
    params(("person_id" = i64, Path)), request_body = Enrolment,
    responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn enrol_route(
    State(state): State<WorkforceState>,
    Can(p, _): Can<perm::WorkforceManage>,
    ApiPath(person): ApiPath<i64>,
    ApiJson(e): ApiJson<Enrolment>,
) -> AppResult<axum::http::StatusCode> {
    Change::run(&state.db, &p.actor(), async |c| {
        enrol(c, &p, person, &e).await
    })
    .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

pub fn api() -> OpenApiRouter<WorkforceState> {
    OpenApiRouter::new()
        .routes(routes!(list_route))
        .routes(routes!(enrol_route))
}
