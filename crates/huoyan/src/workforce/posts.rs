//! Posts: a site and a job there with its daily shifts, each with a headcount, and the skills
//! everyone on the post needs.

use axum::extract::State;
use axum::http::StatusCode;
use huoyan_core::workforce::posts::{Job, ShiftTime};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::WorkforceState;
use crate::audit::Change;
use crate::auth::{Can, Principal, perm};
use crate::check::{Check, Required, Text};
use crate::db::{Db, Sql};
use crate::error::{AppError, AppResult, FieldError};
use crate::http::{ApiJson, ApiPath, ApiQuery};
use crate::org::scope::Reach;

/// Most shifts a post has a day, skills it names, people a shift takes.
const MAX_SHIFTS: usize = 6;
const MAX_SKILLS: usize = 8;
const MAX_HEADCOUNT: i64 = 200;
/// Most posts one list answers: a city's posts fit (the generated city has 400).
pub const MAX_POSTS: i64 = 5_000;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewShift {
    /// `HH:MM-HH:MM` in the city's time; an end before the start crosses midnight.
    #[schema(value_type = String, example = "04:30-12:30")]
    pub hours: Required<13>,
    pub headcount: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPost {
    pub site_id: i64,
    pub job: Job,
    /// Skills everyone on the post needs (people's skill words), at most 8.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub skills: Vec<Required<30>>,
    #[serde(default)]
    #[schema(value_type = String)]
    pub note: Text<200>,
    /// The post's shifts, 1 to 6, the same every day.
    pub shifts: Vec<NewShift>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ShiftView {
    pub id: i64,
    /// `HH:MM-HH:MM`.
    pub hours: String,
    pub headcount: i64,
    pub crosses_midnight: bool,
    pub minutes: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PostView {
    pub id: i64,
    pub site_id: i64,
    pub site_name: String,
    pub region_id: i64,
    pub region_name: String,
    pub job: Job,
    pub skills: Vec<String>,
    pub note: String,
    pub active: bool,
    pub shifts: Vec<ShiftView>,
}

/// The shift's hours as stored.
pub fn shift_time(start: i64, end: i64) -> AppResult<ShiftTime> {
    ShiftTime::new(start as u32, end as u32)
        .map_err(|e| anyhow::anyhow!("a stored shift {start}-{end}: {e}").into())
}

/// The hours of `shifts` (the request's field `field`), each bad one failing its field; a start
/// also in `taken` (the post's other shifts) or twice in the list fails.
fn check_shifts(
    check: &mut Check,
    field: &str,
    shifts: &[NewShift],
    taken: &[u32],
) -> Vec<ShiftTime> {
    let mut times: Vec<ShiftTime> = Vec::new();
    for (i, s) in shifts.iter().enumerate().take(MAX_SHIFTS) {
        match ShiftTime::parse(&s.hours) {
            Ok(t) if taken.contains(&t.start) || times.iter().any(|o| o.start == t.start) => check
                .fail(
                    &format!("{field}[{i}].hours"),
                    "two shifts start at that time",
                ),
            Ok(t) => times.push(t),
            Err(e) => check.fail(&format!("{field}[{i}].hours"), e.to_string()),
        }
        if !(1..=MAX_HEADCOUNT).contains(&s.headcount) {
            check.fail(
                &format!("{field}[{i}].headcount"),
                format!("1 to {MAX_HEADCOUNT} people"),
            );
        }
    }
    times
}

/// Inserts post `post`'s shifts `times` with the headcounts of `shifts`; their audit lines.
async fn insert_shifts(
    change: &mut Change,
    post: i64,
    times: &[ShiftTime],
    shifts: &[NewShift],
) -> AppResult<Vec<serde_json::Value>> {
    let mut out = Vec::new();
    for (t, s) in times.iter().zip(shifts) {
        sqlx::query(
            "INSERT INTO post_shifts (post_id, start_minute, end_minute, headcount) VALUES ($1, $2, $3, $4)",
        )
        .bind(post)
        .bind(i64::from(t.start))
        .bind(i64::from(t.end))
        .bind(s.headcount)
        .execute(&mut *change.tx)
        .await?;
        out.push(serde_json::json!({"hours": t.to_string(), "headcount": s.headcount}));
    }
    Ok(out)
}

/// Creates `new` inside `change`, every field checked against what the change sees.
pub async fn create(change: &mut Change, p: &Principal, new: &NewPost) -> AppResult<i64> {
    let mut check = Check::default();
    let site: Option<i64> = sqlx::query_scalar("SELECT region_id FROM sites WHERE id = $1")
        .bind(new.site_id)
        .fetch_optional(&mut *change.tx)
        .await?;
    match site {
        None => check.fail("site_id", "no such site"),
        Some(region) => {
            Reach::of(change, p)
                .await?
                .region(change, &mut check, "site_id", region)
                .await?
        }
    }
    if new.skills.len() > MAX_SKILLS {
        check.fail("skills", format!("at most {MAX_SKILLS} skills"));
    }
    if new.shifts.is_empty() || new.shifts.len() > MAX_SHIFTS {
        check.fail("shifts", format!("1 to {MAX_SHIFTS} shifts"));
    }
    let times = check_shifts(&mut check, "shifts", &new.shifts, &[]);
    check.done()?;
    let taken = sqlx::query("SELECT 1 FROM posts WHERE site_id = $1 AND job = $2")
        .bind(new.site_id)
        .bind(new.job.code())
        .fetch_optional(&mut *change.tx)
        .await?;
    if taken.is_some() {
        return Err(AppError::Conflict(vec![FieldError::new(
            "job",
            "the site has a post of this job already",
        )]));
    }
    let skills: Vec<&str> = new.skills.iter().map(|s| s.trimmed()).collect();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO posts (site_id, job, skills, note, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(new.site_id)
    .bind(new.job.code())
    .bind(serde_json::to_string(&skills).map_err(anyhow::Error::from)?)
    .bind(new.note.trimmed())
    .bind(change.at_ms())
    .fetch_one(&mut *change.tx)
    .await?;
    let shifts = insert_shifts(change, id, &times, &new.shifts).await?;
    change
        .record(
            "post",
            id,
            "create",
            &serde_json::json!({
                "site_id": new.site_id, "job": new.job.code(), "skills": skills,
                "note": new.note.trimmed(), "shifts": shifts,
            }),
        )
        .await?;
    Ok(id)
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PostFilter {
    /// Only the posts at sites of this region and below.
    pub region_id: Option<i64>,
    pub site_id: Option<i64>,
    /// Retired posts too.
    pub all: Option<bool>,
}

/// The posts `p` may see (a region-scoped caller: those of their region), by region and site.
pub async fn list(db: &Db, p: &Principal, f: &PostFilter) -> AppResult<Vec<PostView>> {
    let mut sql = Sql::new(
        "SELECT po.id, po.site_id, s.name AS site_name, s.region_id, g.name AS region_name, po.job, \
         po.skills, po.note, po.active FROM posts po JOIN sites s ON s.id = po.site_id \
         JOIN regions g ON g.id = s.region_id WHERE 1 = 1",
    );
    p.scope_region(&mut sql, "g.path");
    if let Some(r) = f.region_id {
        sql.push(" AND g.path LIKE (SELECT path FROM regions WHERE id = ")
            .bind(r)
            .push(") || '%'");
    }
    if let Some(s) = f.site_id {
        sql.push(" AND po.site_id = ").bind(s);
    }
    if f.all != Some(true) {
        sql.push(" AND po.active = 1");
    }
    sql.push(" ORDER BY g.path, s.name, po.job LIMIT ")
        .bind(MAX_POSTS);
    let rows = sql.query().fetch_all(&db.pool).await?;
    let ids: Vec<i64> = rows
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<Result<_, _>>()?;
    let mut shifts = shifts_of(db, &ids).await?;
    rows.iter()
        .map(|r| {
            let id: i64 = r.try_get("id")?;
            let job: String = r.try_get("job")?;
            Ok(PostView {
                id,
                site_id: r.try_get("site_id")?,
                site_name: r.try_get("site_name")?,
                region_id: r.try_get("region_id")?,
                region_name: r.try_get("region_name")?,
                job: Job::parse(&job).ok_or_else(|| anyhow::anyhow!("post {id}: job {job:?}"))?,
                skills: serde_json::from_str(&r.try_get::<String, _>("skills")?)
                    .map_err(anyhow::Error::from)?,
                note: r.try_get("note")?,
                active: r.try_get::<i64, _>("active")? != 0,
                shifts: shifts.remove(&id).unwrap_or_default(),
            })
        })
        .collect()
}

/// The shifts of posts `ids`, by post, earliest first.
async fn shifts_of(
    db: &Db,
    ids: &[i64],
) -> AppResult<std::collections::HashMap<i64, Vec<ShiftView>>> {
    let mut out: std::collections::HashMap<i64, Vec<ShiftView>> = Default::default();
    for chunk in ids.chunks(500) {
        let mut sql = Sql::new(
            "SELECT id, post_id, start_minute, end_minute, headcount FROM post_shifts WHERE post_id IN (",
        );
        for (i, id) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "" } else { ", " }).bind(*id);
        }
        sql.push(") ORDER BY post_id, start_minute");
        for r in sql.query().fetch_all(&db.pool).await? {
            let t = shift_time(r.try_get("start_minute")?, r.try_get("end_minute")?)?;
            out.entry(r.try_get("post_id")?)
                .or_default()
                .push(ShiftView {
                    id: r.try_get("id")?,
                    hours: t.to_string(),
                    headcount: r.try_get("headcount")?,
                    crosses_midnight: t.crosses_midnight(),
                    minutes: i64::from(t.minutes()),
                });
        }
    }
    Ok(out)
}

/// The posts in the caller's reach with their shifts.
#[utoipa::path(get, path = "/api/v1/workforce/posts", tag = "workforce", operation_id = "list_posts",
    params(PostFilter), responses((status = 200, body = Vec<PostView>)))]
async fn list_route(
    State(state): State<WorkforceState>,
    Can(p, _): Can<perm::WorkforceRead>,
    ApiQuery(f): ApiQuery<PostFilter>,
) -> AppResult<ApiJson<Vec<PostView>>> {
    Ok(ApiJson(list(&state.db, &p, &f).await?))
}

/// A post at a site in the caller's region: its job, skills and daily shifts.
#[utoipa::path(post, path = "/api/v1/workforce/posts", tag = "workforce", operation_id = "create_post",
    request_body = NewPost,
    responses((status = 201, body = PostView), (status = 403, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn create_route(
    State(state): State<WorkforceState>,
    Can(p, _): Can<perm::WorkforceManage>,
    ApiJson(new): ApiJson<NewPost>,
) -> AppResult<(StatusCode, ApiJson<PostView>)> {
    let id = Change::run(&state.db, &p.actor(), async |c| create(c, &p, &new).await).await?;
    Ok((StatusCode::CREATED, ApiJson(get(&state.db, &p, id).await?)))
}

/// Post `id` as `p` may see it.
pub async fn get(db: &Db, p: &Principal, id: i64) -> AppResult<PostView> {
    let site: Option<i64> = sqlx::query_scalar("SELECT site_id FROM posts WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    let f = PostFilter {
        region_id: None,
        site_id: Some(site.ok_or(AppError::NotFound("post"))?),
        all: Some(true),
    };
    list(db, p, &f)
        .await?
        .into_iter()
        .find(|x| x.id == id)
        .ok_or(AppError::NotFound("post"))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostUpdate {
    #[schema(value_type = Option<Vec<String>>)]
    pub skills: Option<Vec<Required<30>>>,
    #[schema(value_type = Option<String>)]
    pub note: Option<Text<200>>,
    /// A retired post is planned no more; its past rosters stay.
    pub active: Option<bool>,
    /// New headcounts by shift id.
    #[serde(default)]
    pub headcounts: Vec<Headcount>,
    /// Shifts added to the post.
    #[serde(default)]
    pub add_shifts: Vec<NewShift>,
    /// Shifts taken off the post: only those no roster, plan or sign-in names (set a headcount
    /// or retire the post instead).
    #[serde(default)]
    pub remove_shift_ids: Vec<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Headcount {
    pub shift_id: i64,
    pub headcount: i64,
}

async fn update(change: &mut Change, p: &Principal, id: i64, u: &PostUpdate) -> AppResult<()> {
    let region: Option<i64> = sqlx::query_scalar(
        "SELECT s.region_id FROM posts po JOIN sites s ON s.id = po.site_id WHERE po.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *change.tx)
    .await?;
    let region = region.ok_or(AppError::NotFound("post"))?;
    let mut check = Check::default();
    Reach::of(change, p)
        .await?
        .region(change, &mut check, "id", region)
        .await?;
    if u.skills.as_ref().is_some_and(|s| s.len() > MAX_SKILLS) {
        check.fail("skills", format!("at most {MAX_SKILLS} skills"));
    }
    for (i, h) in u.headcounts.iter().enumerate().take(MAX_SHIFTS + 1) {
        let field = format!("headcounts[{i}]");
        if !(1..=MAX_HEADCOUNT).contains(&h.headcount) {
            check.fail(
                &format!("{field}.headcount"),
                format!("1 to {MAX_HEADCOUNT} people"),
            );
        }
        let own = sqlx::query("SELECT 1 FROM post_shifts WHERE id = $1 AND post_id = $2")
            .bind(h.shift_id)
            .bind(id)
            .fetch_optional(&mut *change.tx)
            .await?;
        if own.is_none() {
            check.fail(&format!("{field}.shift_id"), "no such shift of this post");
        }
    }
    if u.headcounts.len() > MAX_SHIFTS {
        check.fail("headcounts", format!("at most {MAX_SHIFTS}"));
    }
    let existing: Vec<(i64, i64)> =
        sqlx::query_as("SELECT id, start_minute FROM post_shifts WHERE post_id = $1")
            .bind(id)
            .fetch_all(&mut *change.tx)
            .await?;
    for (i, shift) in u.remove_shift_ids.iter().enumerate().take(MAX_SHIFTS + 1) {
        let field = format!("remove_shift_ids[{i}]");
        if !existing.iter().any(|e| e.0 == *shift) {
            check.fail(&field, "no such shift of this post");
            continue;
        }
        let used = sqlx::query(
            "SELECT 1 FROM roster WHERE shift_id = $1 UNION ALL SELECT 1 FROM roster_plan_rows WHERE shift_id = $1 \
             UNION ALL SELECT 1 FROM sign_ins WHERE shift_id = $1 LIMIT 1",
        )
        .bind(*shift)
        .fetch_optional(&mut *change.tx)
        .await?;
        if used.is_some() {
            check.fail(
                &field,
                "the shift is in a roster or a plan: set its headcount or retire the post instead",
            );
        }
    }
    let kept: Vec<u32> = existing
        .iter()
        .filter(|e| !u.remove_shift_ids.contains(&e.0))
        .map(|e| e.1 as u32)
        .collect();
    let times = check_shifts(&mut check, "add_shifts", &u.add_shifts, &kept);
    let after = kept.len() + u.add_shifts.len();
    if after == 0 || after > MAX_SHIFTS {
        check.fail("add_shifts", format!("1 to {MAX_SHIFTS} shifts in all"));
    }
    check.done()?;
    let mut sql = Sql::new("UPDATE posts SET id = id");
    if let Some(s) = &u.skills {
        let s: Vec<&str> = s.iter().map(|x| x.trimmed()).collect();
        sql.push(", skills = ")
            .bind(serde_json::to_string(&s).map_err(anyhow::Error::from)?);
    }
    if let Some(n) = &u.note {
        sql.push(", note = ").bind(n.trimmed());
    }
    if let Some(a) = u.active {
        sql.push(", active = ").bind(i64::from(a));
    }
    sql.push(" WHERE id = ").bind(id);
    sql.query().execute(&mut *change.tx).await?;
    for h in &u.headcounts {
        sqlx::query("UPDATE post_shifts SET headcount = $1 WHERE id = $2")
            .bind(h.headcount)
            .bind(h.shift_id)
            .execute(&mut *change.tx)
            .await?;
    }
    for shift in &u.remove_shift_ids {
        sqlx::query("DELETE FROM post_shifts WHERE id = $1 AND post_id = $2")
            .bind(*shift)
            .bind(id)
            .execute(&mut *change.tx)
            .await?;
    }
    let added = insert_shifts(change, id, &times, &u.add_shifts).await?;
    let headcounts: Vec<serde_json::Value> = u
        .headcounts
        .iter()
        .map(|h| serde_json::json!({"shift_id": h.shift_id, "headcount": h.headcount}))
        .collect();
    change
        .record(
            "post",
            id,
            "update",
            &serde_json::json!({
                "skills": u.skills.as_ref().map(|s| s.iter().map(|x| x.trimmed()).collect::<Vec<_>>()),
                "note": u.note.as_ref().map(|n| n.trimmed()), "active": u.active,
                "headcounts": headcounts, "add_shifts": added, "remove_shift_ids": u.remove_shift_ids,
            }),
        )
        .await
}

/// Change a post's skills, note, headcounts or shifts, or retire it.
#[utoipa::path(patch, path = "/api/v1/workforce/posts/{id}", tag = "workforce", operation_id = "update_post",
    params(("id" = i64, Path)), request_body = PostUpdate,
    responses((status = 200, body = PostView), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn update_route(
    State(state): State<WorkforceState>,
    Can(p, _): Can<perm::WorkforceManage>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(u): ApiJson<PostUpdate>,
) -> AppResult<ApiJson<PostView>> {
    Change::run(&state.db, &p.actor(), async |c| update(c, &p, id, &u).await).await?;
    Ok(ApiJson(get(&state.db, &p, id).await?))
}

pub fn api() -> OpenApiRouter<WorkforceState> {
    OpenApiRouter::new()
        .routes(routes!(list_route, create_route))
        .routes(routes!(update_route))
}
