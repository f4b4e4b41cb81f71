//! Zero reports (零报告): every compound supervisor checks in once a Beijing day, with problems or
//! with "nothing to report", and the office sees which compounds have not been heard from.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit::Change;
use crate::auth::{Can, Page, Principal, perm};
use crate::cases::CasesState;
use crate::check::Check;
use crate::db::Sql;
use crate::error::{AppError, AppResult};
use crate::http::{ApiJson, ApiQuery, ListPage, Paging};
use crate::time::beijing_day;
use crate::web::{JAVASCRIPT, PageCtx, PageError, PageResultExt, asset, render};
use huoyan_core::auth::Permission;
use huoyan_core::cases::{CheckInFor, own_check_in};
use huoyan_core::org::RegionLevel;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCheckIn {
    /// The compound checked in for. When absent: a supervisor's own compound, an inspector's
    /// supervision team, a drone operator themselves; the office must name one.
    pub compound_id: Option<i64>,
    /// True: "nothing to report today"; false: problems were reported.
    pub nothing_to_report: bool,
}

/// One day's answer, and what it speaks for: a compound, a supervision team, or (neither) the
/// account alone.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckIn {
    pub compound_id: Option<i64>,
    pub team_id: Option<i64>,
    #[schema(format = Date)]
    pub day: String,
    pub nothing_to_report: bool,
}

/// Check in for today (Beijing time). Checking in again the same day replaces the answer; the
/// same answer again changes nothing (a phone resending what it queued offline).
#[utoipa::path(post, path = "/api/v1/check-ins", tag = "cases", operation_id = "check_in", request_body = NewCheckIn, responses((status = 201, body = CheckIn), (status = 422, body = crate::error::ErrorBody)))]
async fn check_in(
    State(state): State<CasesState>,
    Can(p, _): Can<perm::CasesReport>,
    ApiJson(c): ApiJson<NewCheckIn>,
) -> AppResult<(StatusCode, ApiJson<CheckIn>)> {
    Ok((StatusCode::CREATED, ApiJson(record(&state, &p, &c).await?)))
}

/// What a check-in naming `compound_id` (or none) is recorded against: a compound in the
/// caller's scope, else the caller's own beat.
async fn subject(
    app: &CasesState,
    p: &Principal,
    compound_id: Option<i64>,
) -> AppResult<CheckInFor> {
    let subject = compound_id
        .map(CheckInFor::Compound)
        .or_else(|| own_check_in(p.role, &p.scope))
        .ok_or_else(|| AppError::invalid("compound_id", "name the compound"))?;
    if let CheckInFor::Compound(id) = subject {
        match app.regions.get(&app.db, id).await? {
            Some((RegionLevel::Compound, path)) => {
                if !p.region_in_scope(&path) {
                    let mut check = Check::default();
                    check.outside("compound_id");
                    check.done()?;
                }
            }
            _ => return Err(AppError::invalid("compound_id", "not a compound")),
        }
    }
    Ok(subject)
}

/// Records today's check-in of the caller (the API and the phone page). It is seen in the trail
/// of what it speaks for: the compound's check-ins, the team's or the account's trail.
pub async fn record(app: &CasesState, p: &Principal, c: &NewCheckIn) -> AppResult<CheckIn> {
    let subject = subject(app, p, c.compound_id).await?;
    let (compound_id, team_id, (entity, entity_id)) = match subject {
        CheckInFor::Compound(id) => (Some(id), None, ("check_in", id)),
        CheckInFor::Team(id) => (None, Some(id), ("team", id)),
        CheckInFor::Myself => (None, None, ("account", p.account_id)),
    };
    let day = Change::run(&app.db, &p.actor(), async |change| {
        let day = beijing_day(change.at_ms());
        // The expressions of the unique index `check_ins_once`.
        let before = sqlx::query(
            "SELECT id, nothing_to_report FROM check_ins WHERE account_id = $1 AND day = $2 \
             AND COALESCE(compound_id, 0) = $3 AND COALESCE(team_id, 0) = $4",
        )
        .bind(p.account_id)
        .bind(&day)
        .bind(compound_id.unwrap_or(0))
        .bind(team_id.unwrap_or(0))
        .fetch_optional(&mut *change.tx)
        .await?;
        let answer = c.nothing_to_report as i64;
        match before {
            Some(row) if row.try_get::<i64, _>("nothing_to_report")? == answer => return Ok(day),
            Some(row) => {
                sqlx::query("UPDATE check_ins SET nothing_to_report = $1, at = $2 WHERE id = $3")
                    .bind(answer)
                    .bind(change.at_ms())
                    .bind(row.try_get::<i64, _>("id")?)
                    .execute(&mut *change.tx)
                    .await?;
            }
            None => {
                sqlx::query("INSERT INTO check_ins (compound_id, team_id, account_id, day, nothing_to_report, at) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(compound_id)
                    .bind(team_id)
                    .bind(p.account_id)
                    .bind(&day)
                    .bind(answer)
                    .bind(change.at_ms())
                    .execute(&mut *change.tx)
                    .await?;
            }
        }
        let summary = serde_json::json!({"day": day, "nothing_to_report": c.nothing_to_report});
        change.record(entity, entity_id, "check_in", &summary).await?;
        Ok(day)
    })
    .await?;
    Ok(CheckIn {
        compound_id,
        team_id,
        day,
        nothing_to_report: c.nothing_to_report,
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MissingQuery {
    /// YYYY-MM-DD in Beijing time; today when absent or blank.
    #[param(schema_with = crate::time::day_or_blank)]
    pub day: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SilentCompound {
    pub compound_id: i64,
    pub name: String,
}

/// Compounds in your scope not heard from on the day: no check-in and no case reported.
#[utoipa::path(get, path = "/api/v1/check-ins/missing", tag = "cases", operation_id = "list_missing_check_ins", params(MissingQuery), responses((status = 200, body = ListPage<SilentCompound>)))]
async fn missing(
    State(state): State<CasesState>,
    Can(p, _): Can<perm::CheckInsRead>,
    ApiQuery(q): ApiQuery<MissingQuery>,
) -> AppResult<ApiJson<ListPage<SilentCompound>>> {
    Ok(ApiJson(silent(&state.db, &p, &q).await?.1))
}

/// The day asked for (today by default) and the compounds in scope not heard from on it.
pub async fn silent(
    db: &crate::db::Db,
    p: &Principal,
    q: &MissingQuery,
) -> AppResult<(String, ListPage<SilentCompound>)> {
    let day = match q.day.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| AppError::invalid("day", "expected YYYY-MM-DD"))?
            .to_string(),
        None => beijing_day(crate::time::now_ms()),
    };
    // The Beijing day as a UTC millisecond range, for cases reported on it.
    let start = chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d")
        .expect("formatted above")
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists");
    let start_ms = start.and_utc().timestamp_millis() - 8 * 3_600_000;
    let mut filter = Sql::new(" WHERE regions.level = 'compound'");
    p.scope_region(&mut filter, "regions.path");
    filter.push(" AND NOT EXISTS (SELECT 1 FROM check_ins c WHERE c.compound_id = regions.id AND c.day = ").bind(day.clone()).push(")");
    filter
        .push(" AND NOT EXISTS (SELECT 1 FROM cases k WHERE k.compound_id = regions.id AND k.reported_at >= ")
        .bind(start_ms)
        .push(" AND k.reported_at < ")
        .bind(start_ms + 86_400_000)
        .push(")");
    let paging = Paging {
        limit: q.limit,
        offset: q.offset,
    };
    let page = crate::http::fetch_page(
        db,
        "regions.id, regions.name",
        "regions",
        &filter,
        "regions.id",
        &paging,
        |r| {
            Ok(SilentCompound {
                compound_id: r.try_get("id")?,
                name: r.try_get("name")?,
            })
        },
    )
    .await?;
    Ok((day, page))
}

#[derive(askama::Template)]
#[template(path = "cases/check_ins.html")]
struct CheckInsPage {
    ctx: PageCtx,
    day: String,
    page: ListPage<SilentCompound>,
    done: Option<CheckIn>,
    /// What the caller's own check-in speaks for; the buttons show only when there is one.
    beat: Option<CheckInFor>,
    can_read: bool,
}

impl CheckInsPage {
    /// The catalogue key naming what the buttons check in for.
    fn beat_key(&self) -> &'static str {
        match self.beat {
            Some(CheckInFor::Compound(_)) => "checkins.for_compound",
            Some(CheckInFor::Team(_)) => "checkins.for_team",
            Some(CheckInFor::Myself) | None => "checkins.for_self",
        }
    }
}

#[derive(Debug, Deserialize)]
struct CheckInForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    nothing_to_report: Option<String>,
}

async fn render_page(
    app: &CasesState,
    ctx: PageCtx,
    user: &Principal,
    q: MissingQuery,
    done: Option<CheckIn>,
) -> Result<axum::response::Response, PageError> {
    let locale = ctx.locale;
    let can_read = user.role.allows(Permission::CheckInsRead);
    if !can_read && !user.role.allows(Permission::CasesReport) {
        return Err(AppError::Forbidden).page(locale);
    }
    // A reporter without a beat of their own (the office) gets no button that would answer 422.
    let beat = match subject(app, user, None).await {
        Ok(beat) => Some(beat),
        Err(AppError::Invalid(_)) => None,
        Err(e) => return Err(e).page(locale),
    };
    let (day, page) = if can_read {
        silent(&app.db, user, &q).await.page(locale)?
    } else {
        (beijing_day(crate::time::now_ms()), ListPage::empty())
    };
    Ok(render(&CheckInsPage {
        ctx,
        day,
        page,
        done,
        beat,
        can_read,
    }))
}

/// The daily zero report (零报告) for supervisors, inspectors and drone operators, and for the
/// office the compounds not heard from on a day.
async fn page(
    State(state): State<CasesState>,
    Page { user, ctx, .. }: Page,
    axum::extract::Query(q): axum::extract::Query<MissingQuery>,
) -> Result<axum::response::Response, PageError> {
    render_page(&state, ctx, &user, q, None).await
}

async fn submit(
    State(state): State<CasesState>,
    Page {
        user, locale, ctx, ..
    }: Page<perm::CasesReport>,
    axum::Form(form): axum::Form<CheckInForm>,
) -> Result<axum::response::Response, PageError> {
    user.check_csrf(Some(&form.csrf)).page(locale)?;
    let done = record(
        &state,
        &user,
        &NewCheckIn {
            compound_id: None,
            nothing_to_report: form.nothing_to_report.is_some(),
        },
    )
    .await
    .page(locale)?;
    let q = MissingQuery {
        day: None,
        limit: None,
        offset: None,
    };
    render_page(&state, ctx, &user, q, Some(done)).await
}

async fn script() -> axum::response::Response {
    asset(JAVASCRIPT, include_str!("../../static/check_ins.js"))
}

pub fn pages() -> axum::Router<CasesState> {
    axum::Router::new()
        .route("/check-ins", axum::routing::get(page).post(submit))
        .route("/static/check_ins.js", axum::routing::get(script))
}

pub fn api() -> OpenApiRouter<CasesState> {
    OpenApiRouter::new()
        .routes(routes!(check_in))
        .routes(routes!(missing))
}
