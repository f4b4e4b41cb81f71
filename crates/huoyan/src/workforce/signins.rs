//! Sign-in and sign-out (签到/签退): by scanning the code posted at the post (it names the post
//! and the day under the server's key) or by tapping, from an hour before the shift to its end;
//! late and far flagged, never refused; an open sign-in closed at the shift's end by the job
//! beside the server, marked as automatic. The dispatcher's codes to print, who is on duty now,
//! and hours per person and week.

use axum::extract::State;
use axum::http::StatusCode;
use huoyan_core::workforce::posts::Job;
use huoyan_core::workforce::signin::{self, EARLY_MINUTES, FAR_METRES, LATE_AFTER_MINUTES};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::WorkforceState;
use super::days::Day;
use crate::audit::{Actor, Change};
use crate::auth::{Can, Principal, perm};
use crate::check::{Check, Text};
use crate::db::{Db, Float8, Sql};
use crate::error::{AppError, AppResult, FieldError};
use crate::http::{ApiJson, ApiPath, ApiQuery};

const MINUTE: i64 = 60_000;

/// The key sign-in codes are made with, derived from the audit key the server holds.
fn key(db: &Db) -> AppResult<[u8; 32]> {
    db.audit_key
        .as_ref()
        .map(|k| k.derive(signin::PURPOSE))
        .ok_or_else(|| anyhow::anyhow!("the server holds no key to make sign-in codes with").into())
}

/// Post `post`'s code for `day`.
pub fn code(db: &Db, post: i64, day: Day) -> AppResult<String> {
    Ok(signin::make(&key(db)?, post, &day.to_string()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// The code scanned at the post; without it, a tap naming the shift.
    #[schema(value_type = Option<String>)]
    pub code: Option<Text<100>>,
    /// A tap's shift and day.
    pub shift_id: Option<i64>,
    #[schema(value_type = Option<String>)]
    pub day: Option<Day>,
    /// Where the phone was (WGS-84), when it tells.
    pub lon: Option<f64>,
    pub lat: Option<f64>,
}

/// A published shift of the caller's: (shift, day, starts_at, ends_at, site lon, lat).
type Rostered = (i64, String, i64, i64, Option<f64>, Option<f64>);

/// The caller's published shift the request names: by the post's code (its day today, or
/// yesterday for a night shift), or by the tap's shift and day.
async fn rostered(
    change: &mut Change,
    db: &Db,
    person: i64,
    s: &SignIn,
    now: i64,
) -> AppResult<Rostered> {
    let today = Day::parse(&crate::time::beijing_day(now)).map_err(|e| anyhow::anyhow!(e))?;
    let (post, days): (Option<i64>, Vec<String>) = match (&s.code, s.shift_id, s.day) {
        (Some(code), _, _) => {
            let days = [today.to_string(), today.plus(-1).to_string()];
            let (post, day) = signin::check(
                &key(db)?,
                code.trimmed(),
                &[days[0].as_str(), days[1].as_str()],
            )
            .map_err(|e| AppError::invalid("code", e.to_string()))?;
            (Some(post), vec![day])
        }
        (None, Some(_), Some(day)) => (None, vec![day.to_string()]),
        _ => {
            return Err(AppError::invalid(
                "code",
                "the code scanned at the post, or the shift_id and day tapped",
            ));
        }
    };
    let mut sql = Sql::new(
        "SELECT r.shift_id, r.day, r.starts_at, r.ends_at, s.lon, s.lat FROM roster r \
         JOIN post_shifts sh ON sh.id = r.shift_id JOIN posts po ON po.id = sh.post_id \
         JOIN sites s ON s.id = po.site_id WHERE r.person_id = ",
    );
    sql.bind(person).push(" AND r.day = ").bind(days[0].clone());
    match post {
        Some(p) => sql.push(" AND po.id = ").bind(p),
        None => sql
            .push(" AND r.shift_id = ")
            .bind(s.shift_id.unwrap_or(-1)),
    };
    sql.push(" ORDER BY r.starts_at");
    let rows = sql.query().fetch_all(&mut *change.tx).await?;
    let Some(r) = rows.first() else {
        // Yesterday's code serves only a night shift begun yesterday; otherwise it is stale.
        if post.is_some() && days[0] != today.to_string() {
            return Err(AppError::invalid(
                "code",
                signin::CodeError::OtherDay(days[0].clone()).to_string(),
            ));
        }
        return Err(AppError::invalid(
            if post.is_some() { "code" } else { "shift_id" },
            "you have no shift here that day in the published roster",
        ));
    };
    Ok((
        r.try_get("shift_id")?,
        r.try_get("day")?,
        r.try_get("starts_at")?,
        r.try_get("ends_at")?,
        r.try_get("lon")?,
        r.try_get("lat")?,
    ))
}

/// Signs the caller in inside `change`; returns the sign-in's id.
pub async fn sign_in(change: &mut Change, db: &Db, p: &Principal, s: &SignIn) -> AppResult<i64> {
    let person = p
        .person_id
        .ok_or_else(|| AppError::invalid("person", "your account names no person"))?;
    let mut check = Check::default();
    crate::geo::check_point(&mut check, s.lon, s.lat);
    check.done()?;
    let now = change.at_ms();
    let (shift, day, starts, ends, site_lon, site_lat) =
        rostered(change, db, person, s, now).await?;
    if now < starts - EARLY_MINUTES * MINUTE || now >= ends {
        return Err(AppError::invalid(
            "shift_id",
            format!(
                "sign in from an hour before the shift ({}) to its end ({})",
                crate::time::beijing(starts),
                crate::time::beijing(ends)
            ),
        ));
    }
    let distance = match (s.lon, s.lat, site_lon, site_lat) {
        (Some(lon), Some(lat), Some(slon), Some(slat)) => Some(
            huoyan_core::inspections::visits::distance_m([slon, slat], [lon, lat]),
        ),
        _ => None,
    };
    let far = distance.is_some_and(|d| d > FAR_METRES);
    let late = now > starts + LATE_AFTER_MINUTES * MINUTE;
    let method = if s.code.is_some() { "code" } else { "tap" };
    let taken =
        sqlx::query("SELECT 1 FROM sign_ins WHERE person_id = $1 AND day = $2 AND shift_id = $3")
            .bind(person)
            .bind(&day)
            .bind(shift)
            .fetch_optional(&mut *change.tx)
            .await?;
    if taken.is_some() {
        return Err(AppError::Conflict(vec![FieldError::new(
            "shift_id",
            "you signed in for this shift already",
        )]));
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO sign_ins (person_id, day, shift_id, starts_at, ends_at, in_at, method, lon, lat, distance_m, far, late) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
    )
    .bind(person)
    .bind(&day)
    .bind(shift)
    .bind(starts)
    .bind(ends)
    .bind(now)
    .bind(method)
    .bind(Float8(s.lon))
    .bind(Float8(s.lat))
    .bind(distance)
    .bind(i64::from(far))
    .bind(i64::from(late))
    .fetch_one(&mut *change.tx)
    .await?;
    change
        .record(
            "sign_in",
            id,
            "sign_in",
            &serde_json::json!({"person_id": person, "day": day, "shift_id": shift, "method": method,
                "far": far, "late": late, "distance_m": distance.map(f64::round)}),
        )
        .await?;
    Ok(id)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignOut {
    pub shift_id: i64,
    #[schema(value_type = String)]
    pub day: Day,
}

/// Signs the caller out of an open sign-in inside `change`.
pub async fn sign_out(change: &mut Change, p: &Principal, s: &SignOut) -> AppResult<()> {
    let person = p
        .person_id
        .ok_or_else(|| AppError::invalid("person", "your account names no person"))?;
    let id: Option<i64> = sqlx::query_scalar(
        "UPDATE sign_ins SET out_at = $1 WHERE person_id = $2 AND day = $3 AND shift_id = $4 AND out_at IS NULL RETURNING id",
    )
    .bind(change.at_ms())
    .bind(person)
    .bind(s.day.to_string())
    .bind(s.shift_id)
    .fetch_optional(&mut *change.tx)
    .await?;
    let id = id.ok_or_else(|| {
        AppError::Conflict(vec![FieldError::new(
            "shift_id",
            "no open sign-in for this shift",
        )])
    })?;
    change
        .record(
            "sign_in",
            id,
            "sign_out",
            &serde_json::json!({"auto": false}),
        )
        .await
}

/// Closes every sign-in whose shift has ended by `now`, at the shift's end, marked automatic;
/// returns how many.
pub async fn close_ended(db: &Db, now: i64) -> AppResult<usize> {
    // Looked for first on the pool: the writing change takes the writers' lock, and most
    // minutes nothing has ended.
    let due = sqlx::query("SELECT 1 FROM sign_ins WHERE out_at IS NULL AND ends_at <= $1 LIMIT 1")
        .bind(now)
        .fetch_optional(&db.pool)
        .await?;
    if due.is_none() {
        return Ok(0);
    }
    Change::run(
        db,
        &Actor::system("sign-out at the shift's end"),
        async |c| close_ended_in(c, now).await,
    )
    .await
}

/// The same inside `change` (the demo replays it at the shifts' ends).
pub async fn close_ended_in(change: &mut Change, now: i64) -> AppResult<usize> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM sign_ins WHERE out_at IS NULL AND ends_at <= $1 ORDER BY id LIMIT 1000",
    )
    .bind(now)
    .fetch_all(&mut *change.tx)
    .await?;
    for id in &ids {
        sqlx::query(
            "UPDATE sign_ins SET out_at = ends_at, out_auto = 1 WHERE id = $1 AND out_at IS NULL",
        )
        .bind(*id)
        .execute(&mut *change.tx)
        .await?;
        change
            .record(
                "sign_in",
                *id,
                "sign_out",
                &serde_json::json!({"auto": true}),
            )
            .await?;
    }
    Ok(ids.len())
}

/// The job beside the server: every minute, the sign-ins of shifts that ended are closed.
pub async fn run(db: Db) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tick.tick().await;
        match close_ended(&db, crate::time::now_ms()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(signed_out = n, "sign-ins closed at their shifts' end"),
            Err(e) => tracing::warn!(error = %e, "closing sign-ins failed"),
        }
    }
}

/// Sign in: with the code scanned at the post, or by tapping the shift. Late (past ten minutes)
/// and far (past 500 m from the site) are flagged, never refused.
#[utoipa::path(post, path = "/api/v1/workforce/sign-ins", tag = "workforce", operation_id = "sign_in_for_shift",
    request_body = SignIn,
    responses((status = 201, body = super::blockers::BlockerId), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn sign_in_route(
    State(state): State<WorkforceState>,
    p: Principal,
    ApiJson(s): ApiJson<SignIn>,
) -> AppResult<(StatusCode, ApiJson<super::blockers::BlockerId>)> {
    let db = state.db.clone();
    let id = Change::run(&state.db, &p.actor(), async |c| {
        sign_in(c, &db, &p, &s).await
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(super::blockers::BlockerId { id }),
    ))
}

/// Sign out of a shift signed in for.
#[utoipa::path(post, path = "/api/v1/workforce/sign-outs", tag = "workforce", operation_id = "sign_out_of_shift",
    request_body = SignOut,
    responses((status = 204), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn sign_out_route(
    State(state): State<WorkforceState>,
    p: Principal,
    ApiJson(s): ApiJson<SignOut>,
) -> AppResult<StatusCode> {
    Change::run(&state.db, &p.actor(), async |c| sign_out(c, &p, &s).await).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CodeQuery {
    /// The day the code is for (today by default; tomorrow's can be printed the evening before).
    #[serde(default, deserialize_with = "super::days::blank_is_none")]
    #[param(schema_with = crate::time::day_or_blank)]
    pub day: Option<Day>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PostCode {
    pub post_id: i64,
    pub day: String,
    /// What the QR code holds; the phone signs in with it.
    pub code: String,
}

/// A post's sign-in code for a day, to print and post at the post.
#[utoipa::path(get, path = "/api/v1/workforce/posts/{id}/code", tag = "workforce", operation_id = "post_code",
    params(("id" = i64, Path), CodeQuery),
    responses((status = 200, body = PostCode), (status = 404, body = crate::error::ErrorBody)))]
async fn code_route(
    State(state): State<WorkforceState>,
    Can(p, _): Can<perm::WorkforceManage>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<CodeQuery>,
) -> AppResult<ApiJson<PostCode>> {
    super::posts::get(&state.db, &p, id).await?;
    let day = q.day.unwrap_or_else(Day::today);
    Ok(ApiJson(PostCode {
        post_id: id,
        day: day.to_string(),
        code: code(&state.db, id, day)?,
    }))
}

/// Who is on a shift running now.
#[derive(Debug, Serialize, ToSchema)]
pub struct OnDuty {
    pub person_id: i64,
    pub person_name: String,
    pub site_name: String,
    pub job: Job,
    pub shift_id: i64,
    pub hours: String,
    /// `signed_in`, `signed_out`, `due` (not yet late), or `missing` (late and not signed in).
    pub status: String,
    pub late: bool,
    pub far: bool,
    #[schema(format = DateTime)]
    pub signed_in_at: Option<String>,
}

/// The shifts running at `now` in `p`'s region with each person's sign-in state.
pub async fn on_duty(db: &Db, p: &Principal, now: i64) -> AppResult<Vec<OnDuty>> {
    let mut sql = Sql::new(
        "SELECT r.person_id, pe.name AS person_name, s.name AS site_name, po.job, r.shift_id, r.starts_at, \
         sh.start_minute, sh.end_minute, si.in_at, si.out_at, si.late, si.far FROM roster r \
         JOIN people pe ON pe.id = r.person_id JOIN post_shifts sh ON sh.id = r.shift_id \
         JOIN posts po ON po.id = sh.post_id JOIN sites s ON s.id = po.site_id JOIN regions g ON g.id = s.region_id \
         LEFT JOIN sign_ins si ON si.person_id = r.person_id AND si.day = r.day AND si.shift_id = r.shift_id \
         WHERE r.starts_at <= ",
    );
    sql.bind(now).push(" AND r.ends_at > ").bind(now);
    p.scope_region(&mut sql, "g.path");
    sql.push(" ORDER BY s.name, po.job, pe.name LIMIT 5000");
    sql.query()
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| {
            let job: String = r.try_get("job")?;
            let in_at: Option<i64> = r.try_get("in_at")?;
            let out_at: Option<i64> = r.try_get("out_at")?;
            let starts: i64 = r.try_get("starts_at")?;
            let status = match (in_at, out_at) {
                (Some(_), Some(_)) => "signed_out",
                (Some(_), None) => "signed_in",
                (None, _) if now > starts + LATE_AFTER_MINUTES * MINUTE => "missing",
                (None, _) => "due",
            };
            Ok(OnDuty {
                person_id: r.try_get("person_id")?,
                person_name: r.try_get("person_name")?,
                site_name: r.try_get("site_name")?,
                job: Job::parse(&job).ok_or_else(|| anyhow::anyhow!("a post's job {job:?}"))?,
                shift_id: r.try_get("shift_id")?,
                hours: super::posts::shift_time(
                    r.try_get("start_minute")?,
                    r.try_get("end_minute")?,
                )?
                .to_string(),
                status: status.into(),
                late: r.try_get::<Option<i64>, _>("late")?.unwrap_or(0) != 0,
                far: r.try_get::<Option<i64>, _>("far")?.unwrap_or(0) != 0,
                signed_in_at: in_at.map(crate::time::rfc3339),
            })
        })
        .collect()
}

/// Who is on duty now, per post: signed in, due, or missing.
#[utoipa::path(get, path = "/api/v1/workforce/on-duty", tag = "workforce", operation_id = "on_duty",
    responses((status = 200, body = Vec<OnDuty>)))]
async fn on_duty_route(
    State(state): State<WorkforceState>,
    Can(p, _): Can<perm::WorkforceRead>,
) -> AppResult<ApiJson<Vec<OnDuty>>> {
    Ok(ApiJson(
        on_duty(&state.db, &p, crate::time::now_ms()).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WeekQuery {
    /// Any day of the week wanted (Monday to Sunday); this week by default.
    #[serde(default, deserialize_with = "super::days::blank_is_none")]
    #[param(schema_with = crate::time::day_or_blank)]
    pub day: Option<Day>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Hours {
    pub person_id: i64,
    pub person_name: String,
    pub shifts: i64,
    /// Minutes from sign-in to sign-out (an automatic sign-out counts to the shift's end).
    pub minutes: i64,
    pub late: i64,
}

/// Hours signed per person over the week holding `day`, in `p`'s scope.
pub async fn hours(db: &Db, p: &Principal, day: Day) -> AppResult<(Day, Vec<Hours>)> {
    use chrono::Datelike;
    let monday = day.plus(-i64::from(day.0.weekday().num_days_from_monday()));
    let mut sql = Sql::new(
        "SELECT si.person_id, pe.name AS person_name, COUNT(*) AS shifts, \
         CAST(SUM(COALESCE(si.out_at, si.in_at) - si.in_at) AS BIGINT) AS ms, CAST(SUM(si.late) AS BIGINT) AS late FROM sign_ins si \
         JOIN people pe ON pe.id = si.person_id JOIN duty_people d ON d.person_id = si.person_id \
         WHERE si.day >= ",
    );
    sql.bind(monday.to_string())
        .push(" AND si.day <= ")
        .bind(monday.plus(6).to_string());
    p.scope_people(&mut sql, "si.person_id", "d.community_id");
    sql.push(" GROUP BY si.person_id, pe.name ORDER BY pe.name, si.person_id LIMIT 10000");
    let rows = sql
        .query()
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(Hours {
                person_id: r.try_get("person_id")?,
                person_name: r.try_get("person_name")?,
                shifts: r.try_get("shifts")?,
                minutes: r.try_get::<i64, _>("ms")? / MINUTE,
                late: r.try_get("late")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok((monday, rows))
}

/// Hours signed per person over a week (Monday to Sunday).
#[utoipa::path(get, path = "/api/v1/workforce/hours", tag = "workforce", operation_id = "hours",
    params(WeekQuery), responses((status = 200, body = Vec<Hours>)))]
async fn hours_route(
    State(state): State<WorkforceState>,
    Can(p, _): Can<perm::WorkforceRead>,
    ApiQuery(q): ApiQuery<WeekQuery>,
) -> AppResult<ApiJson<Vec<Hours>>> {
    let day = q.day.unwrap_or_else(Day::today);
    Ok(ApiJson(hours(&state.db, &p, day).await?.1))
}

pub fn api() -> OpenApiRouter<WorkforceState> {
    OpenApiRouter::new()
        .routes(routes!(sign_in_route))
        .routes(routes!(sign_out_route))
        .routes(routes!(code_route))
        .routes(routes!(on_duty_route))
        .routes(routes!(hours_route))
}

#[derive(askama::Template)]
#[template(path = "workforce/code.html")]
struct CodePage {
    ctx: crate::web::PageCtx,
    post: super::posts::PostView,
    day: String,
    code: String,
    /// The QR code as SVG, made here from the code's address.
    svg: String,
}

/// The printable page of a post's code for a day: a QR code the phone's camera opens as the
/// sign-in page, with the code written out for a keyboard-wedge scanner.
async fn code_page(
    State(state): State<WorkforceState>,
    crate::auth::Page {
        user, ctx, locale, ..
    }: crate::auth::Page<perm::WorkforceManage>,
    axum::extract::Path(id): axum::extract::Path<i64>,
    headers: axum::http::HeaderMap,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<axum::response::Response, crate::web::PageError> {
    use crate::web::PageResultExt;
    let post = super::posts::get(&state.db, &user, id).await.page(locale)?;
    let day = super::days::from_query("day", q.get("day").map(String::as_str))
        .page(locale)?
        .unwrap_or_else(Day::today);
    let code = code(&state.db, id, day).page(locale)?;
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|p| *p == "https")
        .unwrap_or("http");
    let url = format!("{scheme}://{host}/duty/sign-in?code={code}");
    let svg = qrcode::QrCode::new(url.as_bytes())
        .map_err(|e| AppError::from(anyhow::anyhow!("QR code: {e}")))
        .page(locale)?
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(240, 240)
        .build();
    Ok(crate::web::render(&CodePage {
        ctx,
        post,
        day: day.to_string(),
        code,
        svg,
    }))
}

#[derive(askama::Template)]
#[template(path = "workforce/hours.html")]
struct HoursPage {
    ctx: crate::web::PageCtx,
    monday: String,
    sunday: String,
    rows: Vec<Hours>,
}

impl HoursPage {
    fn hours(&self, minutes: &i64) -> String {
        format!("{:.1}", *minutes as f64 / 60.0)
    }
}

/// Hours signed per person over a week, on a page.
async fn hours_page(
    State(state): State<WorkforceState>,
    crate::auth::Page {
        user, ctx, locale, ..
    }: crate::auth::Page<perm::WorkforceRead>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<axum::response::Response, crate::web::PageError> {
    use crate::web::PageResultExt;
    let day = super::days::from_query("day", q.get("day").map(String::as_str))
        .page(locale)?
        .unwrap_or_else(Day::today);
    let (monday, rows) = hours(&state.db, &user, day).await.page(locale)?;
    Ok(crate::web::render(&HoursPage {
        ctx,
        monday: monday.to_string(),
        sunday: monday.plus(6).to_string(),
        rows,
    }))
}

pub fn router() -> axum::Router<WorkforceState> {
    axum::Router::new()
        .route("/workforce/posts/{id}/code", axum::routing::get(code_page))
        .route("/workforce/hours", axum::routing::get(hours_page))
}
