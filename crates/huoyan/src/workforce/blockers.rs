//! Blockers: why a person on duty cannot come on some days, set by the person from the phone, by
//! the dispatcher or by the branch leader; lifted by whoever the reason names (a community office
//! grants or refuses a pass). The dispatcher's board lists the open ones with the places in the
//! published roster they leave short.

use axum::extract::State;
use axum::http::StatusCode;
use huoyan_core::auth::Role;
use huoyan_core::workforce::blockers::{
    self as rules, BlockerReason, BlockerState, Lifter, Standing,
};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::WorkforceState;
use super::days::{Day, span};
use super::plans::PlaceView;
use crate::audit::Change;
use crate::auth::{Can, Principal, perm};
use crate::check::{Check, Text};
use crate::db::{Db, Sql};
use crate::error::{AppError, AppResult};
use crate::http::{ApiJson, ApiPath, ApiQuery, ListPage, Paging};
use crate::org::scope::Reach;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBlocker {
    /// Whose blocker: the caller's own person when left out.
    pub person_id: Option<i64>,
    pub reason: BlockerReason,
    /// The first day blocked, YYYY-MM-DD.
    #[schema(value_type = String)]
    pub first_day: Day,
    /// The last day blocked (the first when left out), at most 14 days on.
    #[schema(value_type = Option<String>)]
    pub last_day: Option<Day>,
    #[serde(default)]
    #[schema(value_type = String)]
    pub note: Text<300>,
}

/// The person `p` acts for: their own, or one they may set blockers for (the dispatcher and the
/// branch leader, within their reach). Fails `person_id`.
async fn whose(change: &mut Change, p: &Principal, asked: Option<i64>) -> AppResult<i64> {
    let mut check = Check::default();
    let person = match (asked, p.person_id) {
        (None, Some(own)) => own,
        (None, None) => {
            check.fail("person_id", "your account names no person: name one");
            return Err(check.done().expect_err("failed"));
        }
        (Some(id), _) => id,
    };
    if Some(person) != p.person_id {
        if matches!(p.role, Role::Dispatcher | Role::Branch) {
            Reach::of(change, p)
                .await?
                .person(change, &mut check, "person_id", person)
                .await?;
        } else {
            check.outside("person_id");
        }
    }
    check.done()?;
    Ok(person)
}

/// Records `new` inside `change` and tells whoever must act; returns its id.
pub async fn open(change: &mut Change, p: &Principal, new: &NewBlocker) -> AppResult<i64> {
    let person = whose(change, p, new.person_id).await?;
    let mut check = Check::default();
    let community: Option<i64> =
        sqlx::query_scalar("SELECT community_id FROM duty_people WHERE person_id = $1")
            .bind(person)
            .fetch_optional(&mut *change.tx)
            .await?;
    if community.is_none() {
        check.fail("person_id", "not on duty: nobody rosters them");
    }
    let last = new.last_day.unwrap_or(new.first_day);
    if let Err(why) = span(new.first_day, last, rules::MAX_DAYS) {
        check.fail("last_day", why);
    }
    check.done()?;
    let community = community.expect("checked");
    let office: Option<i64> = if new.reason.lifter() == Lifter::Community {
        sqlx::query_scalar(
            "SELECT id FROM departments WHERE kind = 'community' AND region_id = $1 ORDER BY id LIMIT 1",
        )
        .bind(community)
        .fetch_optional(&mut *change.tx)
        .await?
    } else {
        None
    };
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO blockers (person_id, first_day, last_day, reason, note, state, department_id, set_by, set_at) \
         VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $8) RETURNING id",
    )
    .bind(person)
    .bind(new.first_day.to_string())
    .bind(last.to_string())
    .bind(new.reason.code())
    .bind(new.note.trimmed())
    .bind(office)
    .bind(p.account_id)
    .bind(change.at_ms())
    .fetch_one(&mut *change.tx)
    .await?;
    change
        .record(
            "blocker",
            id,
            "open",
            &serde_json::json!({
                "person_id": person, "reason": new.reason.code(), "first_day": new.first_day.to_string(),
                "last_day": last.to_string(), "note": new.note.trimmed(), "department_id": office,
            }),
        )
        .await?;
    // Whoever must act next: the community office for what it decides, else the dispatchers
    // whose region holds the community.
    let to: Vec<i64> = match office {
        Some(d) => sqlx::query_scalar(
            "SELECT id FROM accounts WHERE disabled = 0 AND role = 'department' AND scope_department_id = $1",
        )
        .bind(d)
        .fetch_all(&mut *change.tx)
        .await?,
        None => super::dispatchers_of(change, community).await?,
    };
    let name: String = sqlx::query_scalar("SELECT name FROM people WHERE id = $1")
        .bind(person)
        .fetch_one(&mut *change.tx)
        .await?;
    crate::notifications::tell_accounts(
        change,
        &to,
        "blocker_opened",
        &serde_json::json!({"blocker": id, "name": name, "reason": new.reason.code(),
            "first_day": new.first_day.to_string(), "last_day": last.to_string()}),
    )
    .await?;
    Ok(id)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BlockerId {
    pub id: i64,
}

/// What a lift or a refusal says.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    #[serde(default)]
    #[schema(value_type = String)]
    pub note: Text<300>,
}

/// How `p` stands to blocker `id`'s person, or `None` when the blocker is out of their sight.
async fn standing(
    change: &mut Change,
    p: &Principal,
    id: i64,
) -> AppResult<Option<(BlockerReason, BlockerState, i64, Standing)>> {
    let mut sql = Sql::new(
        "SELECT b.reason, b.state, b.person_id, b.department_id FROM blockers b \
         JOIN duty_people d ON d.person_id = b.person_id JOIN regions g ON g.id = d.community_id WHERE b.id = ",
    );
    sql.bind(id);
    visible(p, &mut sql);
    let Some(r) = sql.query().fetch_optional(&mut *change.tx).await? else {
        return Ok(None);
    };
    let reason: String = r.try_get("reason")?;
    let state: String = r.try_get("state")?;
    let person: i64 = r.try_get("person_id")?;
    let office: Option<i64> = r.try_get("department_id")?;
    let (Some(reason), Some(state)) = (BlockerReason::parse(&reason), BlockerState::parse(&state))
    else {
        return Err(anyhow::anyhow!("blocker {id}: reason {reason:?}, state {state:?}").into());
    };
    Ok(Some((
        reason,
        state,
        person,
        Standing {
            role: p.role,
            own: p.person_id == Some(person),
            community_office: office.is_some() && office == p.scope.department_id,
        },
    )))
}

/// Confines blockers (`b`, with the duty community's region `g`) to those `p` may see: their
/// own, their region's (dispatcher, commander), their branch's members, their office's requests.
fn visible(p: &Principal, sql: &mut Sql) {
    sql.push(" AND (b.person_id = ")
        .bind(p.person_id.unwrap_or(-1));
    match p.role {
        Role::Admin => {
            sql.push(" OR 1 = 1");
        }
        Role::Dispatcher | Role::Commander => {
            sql.push(" OR g.path LIKE ")
                .bind(format!("{}%", p.scope_path.as_deref().unwrap_or("")));
        }
        Role::Branch => {
            sql.push(
                " OR EXISTS (SELECT 1 FROM team_members sm JOIN teams st ON st.id = sm.team_id \
                 WHERE sm.person_id = b.person_id AND (st.id = ",
            )
            .bind(p.scope.team_id.unwrap_or(-1))
            .push(" OR st.parent_id = ")
            .bind(p.scope.team_id.unwrap_or(-1))
            .push("))");
        }
        Role::Department => {
            sql.push(" OR b.department_id = ")
                .bind(p.scope.department_id.unwrap_or(-1));
        }
        _ => {}
    }
    sql.push(")");
}

/// Lifts (`grant`) or refuses blocker `id` as `p`; returns the person it concerned.
pub async fn decide(
    change: &mut Change,
    p: &Principal,
    id: i64,
    lift: bool,
    d: &Decision,
) -> AppResult<i64> {
    let (reason, state, person, who) = standing(change, p, id)
        .await?
        .ok_or(AppError::NotFound("blocker"))?;
    if state != BlockerState::Open {
        return Err(AppError::Conflict(vec![crate::error::FieldError::new(
            "id",
            format!("the blocker is {} already", state.en().to_lowercase()),
        )]));
    }
    let may = if lift {
        rules::may_lift(reason, who)
    } else {
        rules::may_refuse(reason, who)
    };
    if !may {
        return Err(AppError::invalid(
            "id",
            match reason.lifter() {
                Lifter::Community => {
                    "the community office decides this (or the dispatcher lifts it)"
                }
                Lifter::Dispatcher => "the dispatcher or the person lifts this",
                Lifter::Person => "the person or the dispatcher lifts this",
            },
        ));
    }
    let next = if lift {
        BlockerState::Lifted
    } else {
        BlockerState::Refused
    };
    sqlx::query(
        "UPDATE blockers SET state = $1, closed_by = $2, closed_at = $3, closing_note = $4 WHERE id = $5 AND state = 'open'",
    )
    .bind(next.code())
    .bind(p.account_id)
    .bind(change.at_ms())
    .bind(d.note.trimmed())
    .bind(id)
    .execute(&mut *change.tx)
    .await?;
    change
        .record(
            "blocker",
            id,
            if lift { "lift" } else { "refuse" },
            &serde_json::json!({"note": d.note.trimmed()}),
        )
        .await?;
    let mut to = super::accounts_of(change, &[person])
        .await?
        .remove(&person)
        .unwrap_or_default();
    if !lift {
        let community: i64 =
            sqlx::query_scalar("SELECT community_id FROM duty_people WHERE person_id = $1")
                .bind(person)
                .fetch_one(&mut *change.tx)
                .await?;
        to.extend(super::dispatchers_of(change, community).await?);
    }
    crate::notifications::tell_accounts(
        change,
        &to,
        if lift {
            "blocker_lifted"
        } else {
            "blocker_refused"
        },
        &serde_json::json!({"blocker": id, "reason": reason.code(), "note": d.note.trimmed()}),
    )
    .await?;
    Ok(person)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BlockerView {
    pub id: i64,
    pub person_id: i64,
    pub person_name: String,
    pub community_name: String,
    pub reason: BlockerReason,
    /// Who can remove the cause.
    pub lifter: Lifter,
    pub first_day: String,
    pub last_day: String,
    pub state: BlockerState,
    pub note: String,
    /// The community office deciding the request, when it is one.
    pub department_name: Option<String>,
    #[schema(format = DateTime)]
    pub set_at: String,
    pub closing_note: String,
    /// The person's places in the published roster on the blocked days, short until re-planned.
    pub short: Vec<PlaceView>,
}

/// Which blockers a list holds: those in one state, those that still hold (open, or a request
/// refused), or all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StateFilter {
    Open,
    Lifted,
    Refused,
    Holding,
    All,
}

impl StateFilter {
    /// The filter a page's `state` names (open when it names none).
    pub fn parse(s: &str) -> StateFilter {
        match s.trim() {
            "lifted" => StateFilter::Lifted,
            "refused" => StateFilter::Refused,
            "holding" => StateFilter::Holding,
            "all" => StateFilter::All,
            _ => StateFilter::Open,
        }
    }

    /// The states it takes; none for all.
    fn states(self) -> &'static [BlockerState] {
        match self {
            StateFilter::Open => &[BlockerState::Open],
            StateFilter::Lifted => &[BlockerState::Lifted],
            StateFilter::Refused => &[BlockerState::Refused],
            StateFilter::Holding => &[BlockerState::Open, BlockerState::Refused],
            StateFilter::All => &[],
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BlockerFilter {
    /// `open` (the default), `lifted`, `refused`, `holding` (open or refused), or `all`.
    #[param(inline)]
    pub state: Option<StateFilter>,
    /// Only those blocking this day (YYYY-MM-DD).
    #[serde(default, deserialize_with = "super::days::blank_is_none")]
    #[param(schema_with = crate::time::day_or_blank)]
    pub day: Option<Day>,
    pub person_id: Option<i64>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

pub async fn list(db: &Db, p: &Principal, f: &BlockerFilter) -> AppResult<ListPage<BlockerView>> {
    let mut filter = Sql::new(" WHERE 1 = 1");
    visible(p, &mut filter);
    let states = f.state.unwrap_or(StateFilter::Open).states();
    for (i, s) in states.iter().enumerate() {
        filter
            .push(if i == 0 { " AND b.state IN (" } else { ", " })
            .bind(s.code());
    }
    if !states.is_empty() {
        filter.push(")");
    }
    if let Some(d) = f.day {
        filter
            .push(" AND b.first_day <= ")
            .bind(d.to_string())
            .push(" AND b.last_day >= ")
            .bind(d.to_string());
    }
    if let Some(person) = f.person_id {
        filter.push(" AND b.person_id = ").bind(person);
    }
    let paging = Paging {
        limit: f.limit,
        offset: f.offset,
    };
    let mut page = crate::http::fetch_page(
        db,
        "b.id, b.person_id, pe.name AS person_name, g.name AS community_name, b.reason, b.first_day, \
         b.last_day, b.state, b.note, dep.name AS department_name, b.set_at, b.closing_note",
        "blockers b JOIN people pe ON pe.id = b.person_id JOIN duty_people d ON d.person_id = b.person_id \
         JOIN regions g ON g.id = d.community_id LEFT JOIN departments dep ON dep.id = b.department_id",
        &filter,
        "b.first_day, b.id",
        &paging,
        |r| {
            let reason: String = r.try_get("reason")?;
            let state: String = r.try_get("state")?;
            let reason = BlockerReason::parse(&reason)
                .ok_or_else(|| sqlx::Error::Decode(format!("a blocker's reason {reason:?}").into()))?;
            Ok(BlockerView {
                id: r.try_get("id")?,
                person_id: r.try_get("person_id")?,
                person_name: r.try_get("person_name")?,
                community_name: r.try_get("community_name")?,
                lifter: reason.lifter(),
                reason,
                first_day: r.try_get("first_day")?,
                last_day: r.try_get("last_day")?,
                state: BlockerState::parse(&state)
                    .ok_or_else(|| sqlx::Error::Decode(format!("a blocker's state {state:?}").into()))?,
                note: r.try_get("note")?,
                department_name: r.try_get("department_name")?,
                set_at: crate::time::rfc3339(r.try_get("set_at")?),
                closing_note: r.try_get("closing_note")?,
                short: Vec::new(),
            })
        },
    )
    .await?;
    short_places(db, &mut page.items).await?;
    Ok(page)
}

/// Fills each blocker that still holds with its person's published shifts on its days: one
/// read of the roster for the whole page, one of the shifts' places.
async fn short_places(db: &Db, blockers: &mut [BlockerView]) -> AppResult<()> {
    let holding: Vec<&BlockerView> = blockers
        .iter()
        .filter(|b| b.state != BlockerState::Lifted)
        .collect();
    let (Some(first), Some(last)) = (
        holding.iter().map(|b| b.first_day.clone()).min(),
        holding.iter().map(|b| b.last_day.clone()).max(),
    ) else {
        return Ok(());
    };
    let mut sql = Sql::new("SELECT person_id, day, shift_id FROM roster WHERE day >= ");
    sql.bind(first)
        .push(" AND day <= ")
        .bind(last)
        .push(" AND person_id IN (");
    for (i, b) in holding.iter().enumerate() {
        sql.push(if i == 0 { "" } else { ", " }).bind(b.person_id);
    }
    sql.push(") ORDER BY day");
    let mut conn = db.pool.acquire().await?;
    let rostered: Vec<(i64, String, i64)> = sql
        .query()
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get("person_id")?,
                r.try_get("day")?,
                r.try_get("shift_id")?,
            ))
        })
        .collect::<Result<_, sqlx::Error>>()?;
    let known = super::plans::places(&mut conn, &rostered.iter().map(|r| r.2).collect()).await?;
    for b in blockers
        .iter_mut()
        .filter(|b| b.state != BlockerState::Lifted)
    {
        b.short = rostered
            .iter()
            .filter(|(p, d, _)| *p == b.person_id && *d >= b.first_day && *d <= b.last_day)
            .map(|(_, d, s)| super::plans::place(&known, *s, d.clone()))
            .collect::<AppResult<_>>()?;
    }
    Ok(())
}

/// Blockers in the caller's sight, open ones by default, each with the published places it
/// leaves short.
#[utoipa::path(get, path = "/api/v1/workforce/blockers", tag = "workforce", operation_id = "list_blockers",
    params(BlockerFilter), responses((status = 200, body = ListPage<BlockerView>)))]
async fn list_route(
    State(state): State<WorkforceState>,
    Can(p, _): Can<perm::BlockersRead>,
    ApiQuery(f): ApiQuery<BlockerFilter>,
) -> AppResult<ApiJson<ListPage<BlockerView>>> {
    Ok(ApiJson(list(&state.db, &p, &f).await?))
}

/// Record a blocker: one's own from the phone, or a person's by the dispatcher or branch leader.
/// The community office is told of what it decides (an exit pass), the dispatcher of the rest.
#[utoipa::path(post, path = "/api/v1/workforce/blockers", tag = "workforce", operation_id = "open_blocker",
    request_body = NewBlocker,
    responses((status = 201, body = BlockerId), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn open_route(
    State(state): State<WorkforceState>,
    p: Principal,
    ApiJson(new): ApiJson<NewBlocker>,
) -> AppResult<(StatusCode, ApiJson<BlockerId>)> {
    let id = Change::run(&state.db, &p.actor(), async |c| open(c, &p, &new).await).await?;
    Ok((StatusCode::CREATED, ApiJson(BlockerId { id })))
}

/// Lift a blocker: the community office grants what it decides; the dispatcher lifts any; the
/// person clears their own illness or silence.
#[utoipa::path(post, path = "/api/v1/workforce/blockers/{id}/lift", tag = "workforce", operation_id = "lift_blocker",
    params(("id" = i64, Path)), request_body = Decision,
    responses((status = 204), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn lift_route(
    State(state): State<WorkforceState>,
    p: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiJson(d): ApiJson<Decision>,
) -> AppResult<StatusCode> {
    Change::run(&state.db, &p.actor(), async |c| {
        decide(c, &p, id, true, &d).await
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Refuse a request the community office decides (an exit pass): the person stays blocked and
/// the dispatcher is told.
#[utoipa::path(post, path = "/api/v1/workforce/blockers/{id}/refuse", tag = "workforce", operation_id = "refuse_blocker",
    params(("id" = i64, Path)), request_body = Decision,
    responses((status = 204), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn refuse_route(
    State(state): State<WorkforceState>,
    Can(p, _): Can<perm::BlockersRead>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(d): ApiJson<Decision>,
) -> AppResult<StatusCode> {
    Change::run(&state.db, &p.actor(), async |c| {
        decide(c, &p, id, false, &d).await
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn api() -> OpenApiRouter<WorkforceState> {
    OpenApiRouter::new()
        .routes(routes!(list_route, open_route))
        .routes(routes!(lift_route))
        .routes(routes!(refuse_route))
}
