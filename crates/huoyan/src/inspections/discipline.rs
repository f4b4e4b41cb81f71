//! The discipline track (涉嫌违纪): what an inspector saw of a unit's or a person's conduct, kept
//! in tables of its own and served only under `/api/v1/discipline/…` to the commission's
//! discipline officers and the commander. For every other role it does not exist: its routes
//! answer 404 as an unknown route does (`Permission::hidden`), and nothing else reads its tables:
//! no list, figure, search, export or notice of another context counts it. Its audit events are
//! in the chain under entity `discipline_flag`, whose trail only its readers may open.

use axum::extract::State;
use axum::http::StatusCode;
use huoyan_core::auth::Role;
use huoyan_core::inspections::discipline::{self as rules, FlagAction, FlagError, FlagState};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::InspectionsState;
use crate::audit::Change;
use crate::auth::{Can, Principal, perm};
use crate::check::Text;
use crate::db::{Db, Sql};
use crate::error::{AppError, AppResult};
use crate::http::{ApiJson, ApiPath, ApiQuery, ListPage, Paging};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFlag {
    /// The visit where it was seen (an inspector: a stop of their team's rounds).
    pub stop_id: Option<i64>,
    /// The unit or person concerned.
    pub subject: Text<200, true>,
    /// What was seen.
    pub seen: Text<4000, true>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlagStep {
    pub action: FlagAction,
    /// What was found; required.
    pub note: Text<2000, true>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Flag {
    pub id: i64,
    pub stop_id: Option<i64>,
    /// The site and team of the visit, when on a round.
    pub site_name: Option<String>,
    pub team_name: Option<String>,
    pub subject: String,
    pub seen: String,
    pub state: FlagState,
    pub flagged_by: String,
    #[schema(format = DateTime)]
    pub flagged_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StepView {
    pub action: FlagAction,
    pub from_state: FlagState,
    pub to_state: FlagState,
    pub note: String,
    pub by: String,
    #[schema(format = DateTime)]
    pub at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FlagDetail {
    #[serde(flatten)]
    pub flag: Flag,
    pub steps: Vec<StepView>,
}

/// Files a flag as `p` inside `change`; returns its id. An inspector names a stop of their own
/// team's rounds (any other is 404, as if it did not exist).
pub async fn flag(change: &mut Change, p: &Principal, new: &NewFlag) -> AppResult<i64> {
    if let Some(stop) = new.stop_id {
        let team: Option<i64> = sqlx::query_scalar(
            "SELECT r.team_id FROM inspection_stops s JOIN inspection_rounds r ON r.id = s.round_id WHERE s.id = $1",
        )
        .bind(stop)
        .fetch_optional(&mut *change.tx)
        .await?;
        let reachable = match team {
            None => false,
            Some(t) => p.role != Role::Inspector || p.scope.team_id == Some(t),
        };
        if !reachable {
            return Err(AppError::NotFound("stop"));
        }
    }
    let at = change.at_ms();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO discipline_flags (stop_id, subject, seen, state, flagged_by, flagged_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
    )
    .bind(new.stop_id)
    .bind(new.subject.trimmed())
    .bind(new.seen.trimmed())
    .bind(FlagState::Flagged.code())
    .bind(p.account_id)
    .bind(at)
    .fetch_one(&mut *change.tx)
    .await?;
    change
        .record(
            "discipline_flag",
            id,
            "flag",
            &serde_json::json!({"stop_id": new.stop_id, "subject": new.subject.trimmed(), "to": FlagState::Flagged.code()}),
        )
        .await?;
    Ok(id)
}

/// Takes `s` on flag `id` as `p` inside `change`, deciding on the state read there.
pub async fn step(change: &mut Change, p: &Principal, id: i64, s: &FlagStep) -> AppResult<()> {
    let from: String = sqlx::query_scalar("SELECT state FROM discipline_flags WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *change.tx)
        .await?
        .ok_or(AppError::NotFound("discipline record"))?;
    let from = FlagState::parse(&from).ok_or_else(|| anyhow::anyhow!("flag state {from:?}"))?;
    let to = rules::step(from, s.action, p.role, s.note.trimmed()).map_err(|e| match e {
        FlagError::NotAllowed => AppError::NotFound("discipline record"),
        FlagError::NoNote => AppError::invalid("note", e.to_string()),
        FlagError::Wrong(..) => AppError::invalid("action", e.to_string()),
    })?;
    let at = change.at_ms();
    // The state read above is the one moved from: a concurrent step finds it changed.
    let moved = sqlx::query(
        "UPDATE discipline_flags SET state = $1, updated_at = $2 WHERE id = $3 AND state = $4",
    )
    .bind(to.code())
    .bind(at)
    .bind(id)
    .bind(from.code())
    .execute(&mut *change.tx)
    .await?;
    if moved.rows_affected() != 1 {
        return Err(AppError::invalid(
            "action",
            "the record moved meanwhile; reload it",
        ));
    }
    sqlx::query(
        "INSERT INTO discipline_steps (flag_id, action, from_state, to_state, note, account_id, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(s.action.code())
    .bind(from.code())
    .bind(to.code())
    .bind(s.note.trimmed())
    .bind(p.account_id)
    .bind(at)
    .execute(&mut *change.tx)
    .await?;
    change
        .record(
            "discipline_flag",
            id,
            s.action.code(),
            &serde_json::json!({"from": from.code(), "to": to.code()}),
        )
        .await
}

const FLAG_COLUMNS: &str = "f.id, f.stop_id, site.name AS site_name, t.name AS team_name, f.subject, f.seen, \
     f.state, a.username AS flagged_by, f.flagged_at, f.updated_at";
const FLAG_FROM: &str = "discipline_flags f JOIN accounts a ON a.id = f.flagged_by \
     LEFT JOIN inspection_stops s ON s.id = f.stop_id LEFT JOIN sites site ON site.id = s.site_id \
     LEFT JOIN inspection_rounds r ON r.id = s.round_id LEFT JOIN teams t ON t.id = r.team_id";

fn flag_from_row(r: &sqlx::any::AnyRow) -> Result<Flag, sqlx::Error> {
    let state: String = r.try_get("state")?;
    Ok(Flag {
        id: r.try_get("id")?,
        stop_id: r.try_get("stop_id")?,
        site_name: r.try_get("site_name")?,
        team_name: r.try_get("team_name")?,
        subject: r.try_get("subject")?,
        seen: r.try_get("seen")?,
        state: FlagState::parse(&state)
            .ok_or_else(|| sqlx::Error::Decode(format!("flag state {state:?}").into()))?,
        flagged_by: r.try_get("flagged_by")?,
        flagged_at: crate::time::rfc3339(r.try_get("flagged_at")?),
        updated_at: crate::time::rfc3339(r.try_get("updated_at")?),
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FlagFilter {
    #[param(inline)]
    pub state: Option<FlagState>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

pub async fn list(db: &Db, f: &FlagFilter) -> AppResult<ListPage<Flag>> {
    let mut filter = Sql::new(" WHERE 1 = 1");
    if let Some(s) = f.state {
        filter.push(" AND f.state = ").bind(s.code());
    }
    let paging = Paging {
        limit: f.limit,
        offset: f.offset,
    };
    crate::http::fetch_page(
        db,
        FLAG_COLUMNS,
        FLAG_FROM,
        &filter,
        "f.id DESC",
        &paging,
        flag_from_row,
    )
    .await
}

pub async fn detail(db: &Db, id: i64) -> AppResult<FlagDetail> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {FLAG_COLUMNS} FROM {FLAG_FROM} WHERE f.id = $1"
    )))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?
    .ok_or(AppError::NotFound("discipline record"))?;
    let steps = sqlx::query(
        "SELECT d.action, d.from_state, d.to_state, d.note, a.username, d.at FROM discipline_steps d \
         JOIN accounts a ON a.id = d.account_id WHERE d.flag_id = $1 ORDER BY d.id",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| {
        let code = |c: &str| -> Result<String, sqlx::Error> { r.try_get(c) };
        let state = |c: &str| -> AppResult<FlagState> {
            let s = code(c)?;
            FlagState::parse(&s).ok_or_else(|| anyhow::anyhow!("flag state {s:?}").into())
        };
        let action = code("action")?;
        Ok(StepView {
            action: FlagAction::parse(&action).ok_or_else(|| anyhow::anyhow!("flag action {action:?}"))?,
            from_state: state("from_state")?,
            to_state: state("to_state")?,
            note: code("note")?,
            by: code("username")?,
            at: crate::time::rfc3339(r.try_get("at")?),
        })
    })
    .collect::<AppResult<Vec<_>>>()?;
    Ok(FlagDetail {
        flag: flag_from_row(&row)?,
        steps,
    })
}

/// Discipline records by outcome, for the commission's figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlagFigures {
    pub flagged: i64,
    pub verified: i64,
    pub transferred: i64,
    pub dismissed: i64,
}

pub async fn figures(db: &Db) -> AppResult<FlagFigures> {
    let mut f = FlagFigures {
        flagged: 0,
        verified: 0,
        transferred: 0,
        dismissed: 0,
    };
    for r in sqlx::query("SELECT state, COUNT(*) AS n FROM discipline_flags GROUP BY state")
        .fetch_all(&db.pool)
        .await?
    {
        let n: i64 = r.try_get("n")?;
        match FlagState::parse(&r.try_get::<String, _>("state")?) {
            Some(FlagState::Flagged) => f.flagged = n,
            Some(FlagState::Verified) => f.verified = n,
            Some(FlagState::Transferred) => f.transferred = n,
            Some(FlagState::Dismissed) => f.dismissed = n,
            None => {}
        }
    }
    Ok(f)
}

/// Mark what was seen as a suspected breach of discipline. It leaves the ordinary case flow: only
/// the discipline officers and the commander read it.
#[utoipa::path(post, path = "/api/v1/discipline/flags", tag = "discipline", operation_id = "flag_discipline",
    request_body = NewFlag,
    responses((status = 201, body = Flag), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn flag_route(
    State(state): State<InspectionsState>,
    Can(p, _): Can<perm::DisciplineFlag>,
    ApiJson(new): ApiJson<NewFlag>,
) -> AppResult<(StatusCode, ApiJson<Flag>)> {
    let id = Change::run(&state.db, &p.actor(), async |c| flag(c, &p, &new).await).await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(detail(&state.db, id).await?.flag),
    ))
}

/// Discipline records, newest first.
#[utoipa::path(get, path = "/api/v1/discipline/flags", tag = "discipline", operation_id = "list_discipline_flags",
    params(FlagFilter), responses((status = 200, body = ListPage<Flag>), (status = 404, body = crate::error::ErrorBody)))]
async fn list_route(
    State(state): State<InspectionsState>,
    _can: Can<perm::DisciplineRead>,
    ApiQuery(f): ApiQuery<FlagFilter>,
) -> AppResult<ApiJson<ListPage<Flag>>> {
    Ok(ApiJson(list(&state.db, &f).await?))
}

/// One discipline record with its steps.
#[utoipa::path(get, path = "/api/v1/discipline/flags/{id}", tag = "discipline", operation_id = "get_discipline_flag",
    params(("id" = i64, Path)), responses((status = 200, body = FlagDetail), (status = 404, body = crate::error::ErrorBody)))]
async fn get_route(
    State(state): State<InspectionsState>,
    _can: Can<perm::DisciplineRead>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<ApiJson<FlagDetail>> {
    Ok(ApiJson(detail(&state.db, id).await?))
}

/// Verify on site, transfer for case handling, or dismiss, with a note.
#[utoipa::path(post, path = "/api/v1/discipline/flags/{id}/steps", tag = "discipline", operation_id = "step_discipline_flag",
    params(("id" = i64, Path)), request_body = FlagStep,
    responses((status = 200, body = FlagDetail), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn step_route(
    State(state): State<InspectionsState>,
    Can(p, _): Can<perm::DisciplineRead>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(s): ApiJson<FlagStep>,
) -> AppResult<ApiJson<FlagDetail>> {
    Change::run(&state.db, &p.actor(), async |c| step(c, &p, id, &s).await).await?;
    Ok(ApiJson(detail(&state.db, id).await?))
}

/// Discipline records by outcome.
#[utoipa::path(get, path = "/api/v1/discipline/figures", tag = "discipline", operation_id = "discipline_figures",
    responses((status = 200, body = FlagFigures), (status = 404, body = crate::error::ErrorBody)))]
async fn figures_route(
    State(state): State<InspectionsState>,
    _can: Can<perm::DisciplineRead>,
) -> AppResult<ApiJson<FlagFigures>> {
    Ok(ApiJson(figures(&state.db).await?))
}

pub fn api() -> OpenApiRouter<InspectionsState> {
    OpenApiRouter::new()
        .routes(routes!(flag_route, list_route))
        .routes(routes!(get_route))
        .routes(routes!(step_route))
        .routes(routes!(figures_route))
}
