//! Plans as stored: a draft's rows with the objective's parts and its empty places, read back
//! with what changed against the published roster; and publishing, which checks the draft again
//! against every rule as the database stands now, replaces the roster of its days and tells each
//! person whose shifts changed.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use axum::extract::State;
use huoyan_core::workforce::PlanState;
use huoyan_core::workforce::posts::Job;
use huoyan_core::workforce::roster::{self, Assignment, Breakdown, ShortReason};
use serde::Serialize;
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::WorkforceState;
use super::days::Day;
use super::planning::{Outcome, Running, rows};
use super::problem::{self, Horizon, shift_key};
use crate::audit::Change;
use crate::auth::{Can, Principal, perm};
use crate::db::{Db, Sql};
use crate::error::{AppError, AppResult, FieldError};
use crate::http::{ApiJson, ApiPath, ApiQuery, ListPage, Paging};

/// Stores how plan `id`'s run ended (only a plan still planning: a stopped server's or a
/// cancelled one's is not overwritten).
pub async fn finish(change: &mut Change, id: i64, outcome: &Outcome<'_>) -> AppResult<()> {
    let (state, breakdown, shortfalls, message) = match outcome {
        Outcome::Cancelled => (PlanState::Cancelled, None, Vec::new(), String::new()),
        Outcome::Failed { error, horizon } => (
            PlanState::Failed,
            None,
            Vec::new(),
            super::refusals::roster_error(&mut change.tx, error, *horizon).await?,
        ),
        Outcome::Draft { solution, .. } => (
            PlanState::Draft,
            Some(solution.breakdown),
            solution.shortfalls.clone(),
            String::new(),
        ),
    };
    let done = sqlx::query(
        "UPDATE roster_plans SET state = $1, breakdown = $2, shortfalls = $3, message = $4, finished_at = $5 \
         WHERE id = $6 AND state = 'planning'",
    )
    .bind(state.code())
    .bind(serde_json::to_string(&breakdown).map_err(anyhow::Error::from)?)
    .bind(serde_json::to_string(&shortfalls).map_err(anyhow::Error::from)?)
    .bind(&message)
    .bind(change.at_ms())
    .bind(id)
    .execute(&mut *change.tx)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(());
    }
    let mut count = 0;
    if let Outcome::Draft {
        solution,
        pins,
        horizon,
        ..
    } = outcome
    {
        let pinned: BTreeSet<(&str, &str)> = pins
            .iter()
            .map(|a| (a.person.as_str(), a.shift.as_str()))
            .collect();
        let mut batch = Vec::new();
        for (person, shift, day) in rows(solution) {
            let is_pin =
                pinned.contains(&(person.to_string().as_str(), shift_key(shift, day).as_str()));
            batch.push(vec![
                crate::db::Arg::from(id),
                crate::db::Arg::from(person),
                crate::db::Arg::from(horizon.first.plus(i64::from(day)).to_string()),
                crate::db::Arg::from(shift),
                crate::db::Arg::from(i64::from(is_pin)),
            ]);
        }
        count = batch.len();
        for chunk in batch.chunks(500) {
            change
                .insert_rows(
                    "roster_plan_rows",
                    &["plan_id", "person_id", "day", "shift_id", "pinned"],
                    chunk,
                )
                .await?;
        }
    }
    change
        .record(
            "roster_plan",
            id,
            "finish",
            &serde_json::json!({"state": state.code(), "rows": count, "total": breakdown.map(|b| b.total), "message": message}),
        )
        .await
}

/// A place of the plan.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlaceView {
    pub day: String,
    pub shift_id: i64,
    pub post_id: i64,
    pub site_name: String,
    pub job: Job,
    pub hours: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RowView {
    pub person_id: i64,
    pub person_name: String,
    #[serde(flatten)]
    pub place: PlaceView,
    pub pinned: bool,
    /// Not on this shift in the published roster: the person is told when it is published.
    pub new: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShortfallView {
    #[serde(flatten)]
    pub place: PlaceView,
    pub missing: i64,
    /// Why nobody could take the place (the first rule, in the engine's order, that stops
    /// everyone).
    pub reason: ShortReason,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlanView {
    pub id: i64,
    pub first_day: String,
    pub days: i64,
    /// `interrupted` when the server stopped while it planned.
    pub state: PlanState,
    /// Share of the engine's budget spent, 0 to 1000, while planning.
    pub progress_permille: i64,
    pub message: String,
    /// The objective by term (weighted costs; `unfilled_places` counts the empty places).
    #[schema(value_type = Option<Object>)]
    pub breakdown: Option<Breakdown>,
    pub shortfalls: Vec<ShortfallView>,
    pub rows: Vec<RowView>,
    /// Published places of the plan's days this draft drops (their people are told).
    pub dropped: Vec<RowView>,
    #[schema(format = DateTime)]
    pub planned_at: String,
    #[schema(format = DateTime)]
    pub published_at: Option<String>,
}

/// Every shift's place (post, site, job, hours), by shift id, of the shifts named.
pub(super) async fn places(
    conn: &mut sqlx::AnyConnection,
    shifts: &BTreeSet<i64>,
) -> AppResult<HashMap<i64, (i64, String, Job, String)>> {
    let mut out = HashMap::new();
    let ids: Vec<i64> = shifts.iter().copied().collect();
    for chunk in ids.chunks(500) {
        let mut sql = Sql::new(
            "SELECT sh.id, po.id AS post_id, s.name AS site_name, po.job, sh.start_minute, sh.end_minute \
             FROM post_shifts sh JOIN posts po ON po.id = sh.post_id JOIN sites s ON s.id = po.site_id WHERE sh.id IN (",
        );
        for (i, id) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "" } else { ", " }).bind(*id);
        }
        sql.push(")");
        for r in sql.query().fetch_all(&mut *conn).await? {
            let job: String = r.try_get("job")?;
            out.insert(
                r.try_get("id")?,
                (
                    r.try_get("post_id")?,
                    r.try_get("site_name")?,
                    Job::parse(&job).ok_or_else(|| anyhow::anyhow!("a post's job {job:?}"))?,
                    super::posts::shift_time(r.try_get("start_minute")?, r.try_get("end_minute")?)?
                        .to_string(),
                ),
            );
        }
    }
    Ok(out)
}

/// Shift `shift` on `day` as a place, from what `places` read.
pub(super) fn place(
    known: &HashMap<i64, (i64, String, Job, String)>,
    shift: i64,
    day: String,
) -> AppResult<PlaceView> {
    let (post_id, site_name, job, hours) = known
        .get(&shift)
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("shift {shift} is gone"))?;
    Ok(PlaceView {
        day,
        shift_id: shift,
        post_id,
        site_name,
        job,
        hours,
    })
}

/// (person, day, shift) rows of plan `id`, with pins.
async fn plan_rows(
    conn: &mut sqlx::AnyConnection,
    id: i64,
) -> AppResult<Vec<(i64, String, i64, bool)>> {
    Ok(sqlx::query(
        "SELECT person_id, day, shift_id, pinned FROM roster_plan_rows WHERE plan_id = $1 ORDER BY day, shift_id, person_id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| {
        Ok((
            r.try_get("person_id")?,
            r.try_get("day")?,
            r.try_get("shift_id")?,
            r.try_get::<i64, _>("pinned")? != 0,
        ))
    })
    .collect::<Result<_, sqlx::Error>>()?)
}

/// The published (person, day, shift) rows of the region at `path` over `h`.
async fn published_rows(
    conn: &mut sqlx::AnyConnection,
    path: &str,
    h: Horizon,
) -> AppResult<Vec<(i64, String, i64)>> {
    Ok(sqlx::query(
        "SELECT r.person_id, r.day, r.shift_id FROM roster r JOIN duty_people d ON d.person_id = r.person_id \
         JOIN regions g ON g.id = d.community_id WHERE g.path LIKE $1 AND r.day >= $2 AND r.day <= $3 \
         ORDER BY r.day, r.shift_id, r.person_id",
    )
    .bind(format!("{path}%"))
    .bind(h.first.to_string())
    .bind(h.last().to_string())
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("person_id")?, r.try_get("day")?, r.try_get("shift_id")?)))
    .collect::<Result<_, sqlx::Error>>()?)
}

struct PlanHead {
    state: String,
    path: String,
    horizon: Horizon,
}

/// Plan `id`'s state, region and days as `p` may see them (404 outside their region).
async fn head(
    conn: &mut sqlx::AnyConnection,
    p: &Principal,
    id: i64,
) -> AppResult<(PlanHead, sqlx::any::AnyRow)> {
    let mut sql = Sql::new(
        "SELECT rp.*, g.path FROM roster_plans rp JOIN regions g ON g.id = rp.region_id WHERE rp.id = ",
    );
    sql.bind(id);
    p.scope_region(&mut sql, "g.path");
    let r = sql
        .query()
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(AppError::NotFound("plan"))?;
    let first = Day::parse(&r.try_get::<String, _>("first_day")?)
        .map_err(|e| anyhow::anyhow!("plan {id}: {e}"))?;
    let head = PlanHead {
        state: r.try_get("state")?,
        path: r.try_get("path")?,
        horizon: Horizon {
            first,
            days: r.try_get::<i64, _>("days")?.clamp(1, 14) as u16,
        },
    };
    Ok((head, r))
}

/// Plan `id` as `p` may see it, with its rows and what it changes against the published roster.
pub async fn get(db: &Db, running: &Running, p: &Principal, id: i64) -> AppResult<PlanView> {
    let mut conn = db.pool.acquire().await?;
    let (h, r) = head(&mut conn, p, id).await?;
    let control = running.get(id);
    let state = match (PlanState::parse(&h.state), &control) {
        (Some(PlanState::Planning), None) => PlanState::Interrupted,
        (Some(s), _) => s,
        (None, _) => return Err(anyhow::anyhow!("plan {id} in state {:?}", h.state).into()),
    };
    let rows = plan_rows(&mut conn, id).await?;
    let published = if state == PlanState::Draft {
        published_rows(&mut conn, &h.path, h.horizon).await?
    } else {
        Vec::new()
    };
    let shortfalls: Vec<roster::Shortfall> =
        serde_json::from_str(&r.try_get::<String, _>("shortfalls")?)
            .map_err(anyhow::Error::from)?;
    let mut shifts: BTreeSet<i64> = rows.iter().map(|x| x.2).collect();
    shifts.extend(published.iter().map(|x| x.2));
    let short: Vec<(i64, u16, roster::Shortfall)> = shortfalls
        .into_iter()
        .filter_map(|s| {
            let (shift, day) = problem::parse_shift_key(&s.shift)?;
            Some((shift, day, s))
        })
        .collect();
    shifts.extend(short.iter().map(|x| x.0));
    let known = places(&mut conn, &shifts).await?;
    let mut names: HashMap<i64, String> = HashMap::new();
    let people: BTreeSet<i64> = rows
        .iter()
        .map(|x| x.0)
        .chain(published.iter().map(|x| x.0))
        .collect();
    for chunk in people.iter().copied().collect::<Vec<_>>().chunks(500) {
        let mut sql = Sql::new("SELECT id, name FROM people WHERE id IN (");
        for (i, id) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "" } else { ", " }).bind(*id);
        }
        sql.push(")");
        for n in sql.query().fetch_all(&mut *conn).await? {
            names.insert(n.try_get("id")?, n.try_get("name")?);
        }
    }
    let before: BTreeSet<(i64, &str, i64)> = published
        .iter()
        .map(|(p, d, s)| (*p, d.as_str(), *s))
        .collect();
    let after: BTreeSet<(i64, &str, i64)> = rows
        .iter()
        .map(|(p, d, s, _)| (*p, d.as_str(), *s))
        .collect();
    let row_view = |person: i64, day: &str, shift: i64, pinned: bool, new: bool| {
        Ok::<_, AppError>(RowView {
            person_id: person,
            person_name: names.get(&person).cloned().unwrap_or_default(),
            place: place(&known, shift, day.to_string())?,
            pinned,
            new,
        })
    };
    let views = rows
        .iter()
        .map(|(person, day, shift, pinned)| {
            row_view(
                *person,
                day,
                *shift,
                *pinned,
                state == PlanState::Draft && !before.contains(&(*person, day.as_str(), *shift)),
            )
        })
        .collect::<AppResult<Vec<_>>>()?;
    let dropped = published
        .iter()
        .filter(|(p, d, s)| !after.contains(&(*p, d.as_str(), *s)))
        .map(|(person, day, shift)| row_view(*person, day, *shift, false, false))
        .collect::<AppResult<Vec<_>>>()?;
    let shortfalls = short
        .into_iter()
        .map(|(shift, day, s)| {
            Ok(ShortfallView {
                place: place(
                    &known,
                    shift,
                    h.horizon.first.plus(i64::from(day)).to_string(),
                )?,
                missing: i64::from(s.missing),
                reason: s.reason,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok(PlanView {
        id,
        first_day: h.horizon.first.to_string(),
        days: i64::from(h.horizon.days),
        progress_permille: match &control {
            Some(c) => i64::from(c.permille()),
            None if matches!(state, PlanState::Planning | PlanState::Interrupted) => 0,
            None => 1000,
        },
        state,
        message: r.try_get("message")?,
        breakdown: serde_json::from_str(&r.try_get::<String, _>("breakdown")?)
            .map_err(anyhow::Error::from)?,
        shortfalls,
        rows: views,
        dropped,
        planned_at: crate::time::rfc3339(r.try_get("planned_at")?),
        published_at: r
            .try_get::<Option<i64>, _>("published_at")?
            .map(crate::time::rfc3339),
    })
}

/// Publishes draft `id` inside `change`: checks it against every rule as the database stands
/// now, replaces the published roster of its days in its region, and tells each person whose
/// shifts changed. Returns how many people were told.
pub async fn publish(change: &mut Change, p: &Principal, id: i64) -> AppResult<usize> {
    let (h, _) = head(&mut change.tx, p, id).await?;
    let claimed = sqlx::query(
        "UPDATE roster_plans SET state = 'published', published_at = $1 WHERE id = $2 AND state = 'draft'",
    )
    .bind(change.at_ms())
    .bind(id)
    .execute(&mut *change.tx)
    .await?;
    if claimed.rows_affected() == 0 {
        return Err(AppError::Conflict(vec![FieldError::new(
            "id",
            format!("only a draft is published; this plan is {}", h.state),
        )]));
    }
    let rows = plan_rows(&mut change.tx, id).await?;
    let now = problem::load(&mut change.tx, &h.path, h.horizon).await?;
    let assignments: Vec<Assignment> = rows
        .iter()
        .filter_map(|(person, day, shift, _)| {
            let d = h.horizon.index(Day::parse(day).ok()?)?;
            Some(Assignment::new(person.to_string(), shift_key(*shift, d)))
        })
        .collect();
    if let Err(v) = roster::evaluate(&now, &assignments) {
        return Err(AppError::Conflict(vec![FieldError::new(
            "id",
            format!(
                "the roster no longer holds ({}): re-plan before publishing",
                super::refusals::violation(&mut change.tx, &v, h.horizon).await?
            ),
        )]));
    }
    let before = published_rows(&mut change.tx, &h.path, h.horizon).await?;
    let mut starts: HashMap<i64, (i64, i64)> = HashMap::new();
    for r in sqlx::query(
        "SELECT sh.id, sh.start_minute, sh.end_minute FROM post_shifts sh JOIN posts po ON po.id = sh.post_id \
         JOIN sites s ON s.id = po.site_id JOIN regions g ON g.id = s.region_id WHERE g.path LIKE $1",
    )
    .bind(format!("{}%", h.path))
    .fetch_all(&mut *change.tx)
    .await?
    {
        starts.insert(r.try_get("id")?, (r.try_get("start_minute")?, r.try_get("end_minute")?));
    }
    sqlx::query(
        "DELETE FROM roster WHERE day >= $1 AND day <= $2 AND person_id IN (SELECT d.person_id FROM duty_people d \
         JOIN regions g ON g.id = d.community_id WHERE g.path LIKE $3)",
    )
    .bind(h.horizon.first.to_string())
    .bind(h.horizon.last().to_string())
    .bind(format!("{}%", h.path))
    .execute(&mut *change.tx)
    .await?;
    let mut batch = Vec::with_capacity(rows.len());
    for (person, day, shift, _) in &rows {
        let (start, end) = starts
            .get(shift)
            .copied()
            .ok_or_else(|| anyhow::anyhow!("shift {shift} is gone"))?;
        let t = super::posts::shift_time(start, end)?;
        let d = Day::parse(day).map_err(|e| anyhow::anyhow!("{day}: {e}"))?;
        let at = d.start_ms() + i64::from(t.start) * 60_000;
        batch.push(vec![
            crate::db::Arg::from(*person),
            crate::db::Arg::from(day.as_str()),
            crate::db::Arg::from(*shift),
            crate::db::Arg::from(at),
            crate::db::Arg::from(at + i64::from(t.minutes()) * 60_000),
            crate::db::Arg::from(id),
        ]);
    }
    for chunk in batch.chunks(500) {
        change
            .insert_rows(
                "roster",
                &[
                    "person_id",
                    "day",
                    "shift_id",
                    "starts_at",
                    "ends_at",
                    "plan_id",
                ],
                chunk,
            )
            .await?;
    }
    let told = tell_changes(change, &before, &rows).await?;
    change
        .record(
            "roster_plan",
            id,
            "publish",
            &serde_json::json!({"rows": rows.len(), "told": told}),
        )
        .await?;
    Ok(told)
}

/// Tells every person whose shifts differ between `before` and `after` what they are now.
async fn tell_changes(
    change: &mut Change,
    before: &[(i64, String, i64)],
    after: &[(i64, String, i64, bool)],
) -> AppResult<usize> {
    let mut old: BTreeMap<i64, BTreeSet<(&str, i64)>> = BTreeMap::new();
    for (p, d, s) in before {
        old.entry(*p).or_default().insert((d.as_str(), *s));
    }
    let mut new: BTreeMap<i64, BTreeSet<(&str, i64)>> = BTreeMap::new();
    for (p, d, s, _) in after {
        new.entry(*p).or_default().insert((d.as_str(), *s));
    }
    let people: BTreeSet<i64> = old.keys().chain(new.keys()).copied().collect();
    let empty = BTreeSet::new();
    let changed: Vec<i64> = people
        .into_iter()
        .filter(|p| old.get(p).unwrap_or(&empty) != new.get(p).unwrap_or(&empty))
        .collect();
    let shifts: BTreeSet<i64> = changed
        .iter()
        .flat_map(|p| new.get(p).into_iter().flatten().map(|x| x.1))
        .collect();
    let known = places(&mut change.tx, &shifts).await?;
    let mut accounts = super::accounts_of(change, &changed).await?;
    for person in &changed {
        let Some(to) = accounts.remove(person) else {
            continue;
        };
        match new.get(person) {
            Some(now) if !now.is_empty() => {
                let shifts: Vec<String> = now
                    .iter()
                    .map(|(d, s)| {
                        let p = place(&known, *s, d.to_string())?;
                        Ok(format!(
                            "{} {} {} {}",
                            &d[5..],
                            p.hours,
                            p.site_name,
                            p.job.zh()
                        ))
                    })
                    .collect::<AppResult<_>>()?;
                crate::notifications::tell_accounts(
                    change,
                    &to,
                    "roster_changed",
                    &serde_json::json!({"shifts": shifts.join("；")}),
                )
                .await?;
            }
            _ => {
                let days: BTreeSet<&str> = old
                    .get(person)
                    .into_iter()
                    .flatten()
                    .map(|(d, _)| *d)
                    .collect();
                crate::notifications::tell_accounts(
                    change,
                    &to,
                    "roster_cleared",
                    &serde_json::json!({"days": days.into_iter().collect::<Vec<_>>().join(", ")}),
                )
                .await?;
            }
        }
    }
    Ok(changed.len())
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlanFilter {
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlanSummary {
    pub id: i64,
    pub first_day: String,
    pub days: i64,
    pub state: PlanState,
    #[schema(format = DateTime)]
    pub planned_at: String,
}

pub async fn list(db: &Db, p: &Principal, f: &PlanFilter) -> AppResult<ListPage<PlanSummary>> {
    let mut filter = Sql::new(" WHERE 1 = 1");
    p.scope_region(&mut filter, "g.path");
    crate::http::fetch_page(
        db,
        "rp.id, rp.first_day, rp.days, rp.state, rp.planned_at",
        "roster_plans rp JOIN regions g ON g.id = rp.region_id",
        &filter,
        "rp.id DESC",
        &Paging {
            limit: f.limit,
            offset: f.offset,
        },
        |r| {
            Ok(PlanSummary {
                id: r.try_get("id")?,
                first_day: r.try_get("first_day")?,
                days: r.try_get("days")?,
                state: {
                    let state: String = r.try_get("state")?;
                    PlanState::parse(&state).ok_or_else(|| {
                        sqlx::Error::Decode(format!("a plan's state {state:?}").into())
                    })?
                },
                planned_at: crate::time::rfc3339(r.try_get("planned_at")?),
            })
        },
    )
    .await
}

/// The plans of the caller's region, newest first.
#[utoipa::path(get, path = "/api/v1/workforce/plans", tag = "workforce", operation_id = "list_plans",
    params(PlanFilter), responses((status = 200, body = ListPage<PlanSummary>)))]
async fn list_route(
    State(state): State<WorkforceState>,
    Can(p, _): Can<perm::WorkforceRead>,
    ApiQuery(f): ApiQuery<PlanFilter>,
) -> AppResult<ApiJson<ListPage<PlanSummary>>> {
    Ok(ApiJson(list(&state.db, &p, &f).await?))
}

/// A plan: its progress while planning; its rows, the objective's parts, the empty places with
/// why, and what it changes against the published roster once drafted.
#[utoipa::path(get, path = "/api/v1/workforce/plans/{id}", tag = "workforce", operation_id = "get_plan",
    params(("id" = i64, Path)), responses((status = 200, body = PlanView), (status = 404, body = crate::error::ErrorBody)))]
async fn get_route(
    State(state): State<WorkforceState>,
    Can(p, _): Can<perm::WorkforceRead>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<ApiJson<PlanView>> {
    Ok(ApiJson(get(&state.db, &state.running, &p, id).await?))
}

/// Publish a draft: it becomes the roster of its days, and everyone whose shifts changed is told.
#[utoipa::path(post, path = "/api/v1/workforce/plans/{id}/publish", tag = "workforce", operation_id = "publish_plan",
    params(("id" = i64, Path)),
    responses((status = 200, body = PlanView), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody)))]
async fn publish_route(
    State(state): State<WorkforceState>,
    Can(p, _): Can<perm::WorkforcePlan>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<ApiJson<PlanView>> {
    Change::run(&state.db, &p.actor(), async |c| publish(c, &p, id).await).await?;
    Ok(ApiJson(get(&state.db, &state.running, &p, id).await?))
}

pub fn api() -> OpenApiRouter<WorkforceState> {
    OpenApiRouter::new()
        .routes(routes!(list_route))
        .routes(routes!(get_route))
        .routes(routes!(publish_route))
}
