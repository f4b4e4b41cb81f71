//! A branch as its leader sees it, without a chat group: the working group, then each volunteer
//! group's leader and members, each with today's and tomorrow's shift, today's sign-in, what
//! blocks them, and their hours this week; the leader marks a member's blocker from the page.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::Response;
use huoyan_core::auth::Role;
use huoyan_core::org::MemberRole;
use huoyan_core::workforce::blockers::BlockerReason;
use huoyan_core::workforce::posts::Job;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::WorkforceState;
use super::days::Day;
use crate::auth::{Can, Page, Principal, perm};
use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::http::{ApiJson, ApiQuery};
use crate::web::{PageCtx, PageError, PageResultExt, render};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BranchQuery {
    /// The branch (or cadres' group); a branch leader's own by default, else the first in reach.
    pub team_id: Option<i64>,
    /// The day (today by default); tomorrow is shown beside it.
    #[serde(default, deserialize_with = "super::days::blank_is_none")]
    #[param(schema_with = crate::time::day_or_blank)]
    pub day: Option<Day>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberShift {
    pub site_name: String,
    pub job: Job,
    pub hours: String,
    pub signed_in: bool,
    pub signed_out: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberDay {
    pub person_id: i64,
    pub name: String,
    pub role: MemberRole,
    /// Whole for the branch leader and the dispatcher, masked for others.
    pub phone: String,
    pub today: Option<MemberShift>,
    pub tomorrow: Option<MemberShift>,
    /// Reasons of the blockers that hold them today or tomorrow (open, or a request refused).
    pub blocked: Vec<BlockerReason>,
    /// Hours signed this week (Monday to the day).
    pub week_hours: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupView {
    pub team_id: i64,
    pub name: String,
    pub members: Vec<MemberDay>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BranchView {
    pub team_id: i64,
    pub name: String,
    pub day: String,
    pub tomorrow: String,
    /// The branch's own members (its leader and working group).
    pub working_group: Vec<MemberDay>,
    /// Its volunteer groups, each with its leader first.
    pub groups: Vec<GroupView>,
}

/// The team `p` may look into: a branch leader their own; others the one they name, within
/// their region.
async fn team_for(db: &Db, p: &Principal, asked: Option<i64>) -> AppResult<i64> {
    let team = match (p.role, p.scope.team_id, asked) {
        (Role::Branch, Some(own), None) => own,
        (Role::Branch, Some(own), Some(t)) if t == own => own,
        (Role::Branch, _, Some(_)) => return Err(AppError::NotFound("team")),
        (_, _, Some(t)) => t,
        // Naming none: the first branch in reach, by name.
        _ => {
            let mut sql = crate::db::Sql::new(
                "SELECT t.id FROM teams t LEFT JOIN regions g ON g.id = t.region_id \
                 WHERE t.kind IN ('party_branch', 'cadre_group')",
            );
            p.scope_region(&mut sql, "g.path");
            sql.push(" ORDER BY t.name, t.id LIMIT 1");
            sql.query()
                .fetch_optional(&db.pool)
                .await?
                .map(|r| r.try_get::<i64, _>(0))
                .transpose()?
                .ok_or(AppError::NotFound("team"))?
        }
    };
    let path: Option<Option<String>> = sqlx::query_scalar(
        "SELECT r.path FROM teams t LEFT JOIN regions r ON r.id = t.region_id \
         WHERE t.id = $1 AND t.kind IN ('party_branch', 'cadre_group')",
    )
    .bind(team)
    .fetch_optional(&db.pool)
    .await?;
    match path {
        None => Err(AppError::NotFound("team")),
        Some(path)
            if p.role == Role::Branch || p.region_in_scope(path.as_deref().unwrap_or("")) =>
        {
            Ok(team)
        }
        Some(_) => Err(AppError::NotFound("team")),
    }
}

fn shift(r: &sqlx::any::AnyRow) -> AppResult<MemberShift> {
    let job: String = r.try_get("job")?;
    Ok(MemberShift {
        site_name: r.try_get("site_name")?,
        job: Job::parse(&job).ok_or_else(|| anyhow::anyhow!("a post's job {job:?}"))?,
        hours: super::posts::shift_time(r.try_get("start_minute")?, r.try_get("end_minute")?)?
            .to_string(),
        signed_in: r.try_get::<Option<i64>, _>("in_at")?.is_some(),
        signed_out: r.try_get::<Option<i64>, _>("out_at")?.is_some(),
    })
}

pub async fn view(db: &Db, p: &Principal, q: &BranchQuery) -> AppResult<BranchView> {
    use chrono::Datelike;
    let team = team_for(db, p, q.team_id).await?;
    let day = q.day.unwrap_or_else(Day::today);
    let tomorrow = day.plus(1);
    let monday = day.plus(-i64::from(day.0.weekday().num_days_from_monday()));
    let name: String = sqlx::query_scalar("SELECT name FROM teams WHERE id = $1")
        .bind(team)
        .fetch_one(&db.pool)
        .await?;
    let rows = sqlx::query(
        "SELECT t.id AS team_id, t.name AS team_name, m.person_id, m.role, pe.name, pe.phone FROM team_members m \
         JOIN teams t ON t.id = m.team_id JOIN people pe ON pe.id = m.person_id \
         WHERE t.id = $1 OR t.parent_id = $1 ORDER BY t.id, m.role, pe.name, m.person_id",
    )
    .bind(team)
    .fetch_all(&db.pool)
    .await?;
    let ids: Vec<i64> = rows
        .iter()
        .map(|r| r.try_get("person_id"))
        .collect::<Result<_, _>>()?;
    let mut shifts: HashMap<(i64, String), MemberShift> = HashMap::new();
    let mut blocked: HashMap<i64, Vec<BlockerReason>> = HashMap::new();
    let mut minutes: HashMap<i64, i64> = HashMap::new();
    for chunk in ids.chunks(500) {
        let list = chunk
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let roster = format!(
            "SELECT r.person_id, r.day, s.name AS site_name, po.job, sh.start_minute, sh.end_minute, si.in_at, si.out_at \
             FROM roster r JOIN post_shifts sh ON sh.id = r.shift_id JOIN posts po ON po.id = sh.post_id \
             JOIN sites s ON s.id = po.site_id LEFT JOIN sign_ins si ON si.person_id = r.person_id \
             AND si.day = r.day AND si.shift_id = r.shift_id WHERE r.day IN ($1, $2) AND r.person_id IN ({list})"
        );
        for r in sqlx::query(sqlx::AssertSqlSafe(roster))
            .bind(day.to_string())
            .bind(tomorrow.to_string())
            .fetch_all(&db.pool)
            .await?
        {
            shifts.insert((r.try_get("person_id")?, r.try_get("day")?), shift(&r)?);
        }
        let blockers = format!(
            "SELECT person_id, reason FROM blockers WHERE state IN ('open', 'refused') \
             AND first_day <= $1 AND last_day >= $2 AND person_id IN ({list}) ORDER BY id"
        );
        for r in sqlx::query(sqlx::AssertSqlSafe(blockers))
            .bind(tomorrow.to_string())
            .bind(day.to_string())
            .fetch_all(&db.pool)
            .await?
        {
            if let Some(reason) = BlockerReason::parse(&r.try_get::<String, _>("reason")?) {
                let v = blocked.entry(r.try_get("person_id")?).or_default();
                if !v.contains(&reason) {
                    v.push(reason);
                }
            }
        }
        let hours = format!(
            "SELECT person_id, CAST(SUM(COALESCE(out_at, in_at) - in_at) AS BIGINT) AS ms FROM sign_ins \
             WHERE day >= $1 AND day <= $2 AND person_id IN ({list}) GROUP BY person_id"
        );
        for r in sqlx::query(sqlx::AssertSqlSafe(hours))
            .bind(monday.to_string())
            .bind(day.to_string())
            .fetch_all(&db.pool)
            .await?
        {
            minutes.insert(r.try_get("person_id")?, r.try_get::<i64, _>("ms")? / 60_000);
        }
    }
    let mut working_group = Vec::new();
    let mut groups: Vec<GroupView> = Vec::new();
    for r in &rows {
        let person: i64 = r.try_get("person_id")?;
        let phone: String = r.try_get("phone")?;
        let member = MemberDay {
            person_id: person,
            name: r.try_get("name")?,
            role: {
                let role: String = r.try_get("role")?;
                MemberRole::parse(&role)
                    .ok_or_else(|| anyhow::anyhow!("a member's role {role:?}"))?
            },
            phone: super::phone_for(p, phone),
            today: shifts.remove(&(person, day.to_string())),
            tomorrow: shifts.remove(&(person, tomorrow.to_string())),
            blocked: blocked.remove(&person).unwrap_or_default(),
            week_hours: (minutes.get(&person).copied().unwrap_or(0) as f64 / 6.0).round() / 10.0,
        };
        let team_id: i64 = r.try_get("team_id")?;
        if team_id == team {
            working_group.push(member);
        } else {
            match groups.iter_mut().find(|g| g.team_id == team_id) {
                Some(g) => g.members.push(member),
                None => groups.push(GroupView {
                    team_id,
                    name: r.try_get("team_name")?,
                    members: vec![member],
                }),
            }
        }
    }
    for g in &mut groups {
        g.members.sort_by_key(|m| m.role != MemberRole::GroupLeader);
    }
    Ok(BranchView {
        team_id: team,
        name,
        day: day.to_string(),
        tomorrow: tomorrow.to_string(),
        working_group,
        groups,
    })
}

/// A branch's members with today's and tomorrow's shifts, sign-ins, blockers and hours.
#[utoipa::path(get, path = "/api/v1/workforce/branch", tag = "workforce", operation_id = "branch_members",
    params(BranchQuery),
    responses((status = 200, body = BranchView), (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn branch_route(
    State(state): State<WorkforceState>,
    Can(p, _): Can<perm::WorkforceRead>,
    ApiQuery(q): ApiQuery<BranchQuery>,
) -> AppResult<ApiJson<BranchView>> {
    Ok(ApiJson(view(&state.db, &p, &q).await?))
}

pub fn api() -> OpenApiRouter<WorkforceState> {
    OpenApiRouter::new().routes(routes!(branch_route))
}

#[derive(askama::Template)]
#[template(path = "workforce/branch.html")]
struct BranchPage {
    ctx: PageCtx,
    branch: BranchView,
    reasons: Vec<(&'static str, &'static str)>,
}

impl BranchPage {
    /// Everyone of the branch, for the blocker form.
    fn everyone(&self) -> Vec<&MemberDay> {
        self.branch
            .working_group
            .iter()
            .chain(self.branch.groups.iter().flat_map(|g| &g.members))
            .collect()
    }
}

#[derive(Deserialize)]
struct PageQuery {
    team_id: Option<i64>,
}

async fn branch_page(
    State(state): State<WorkforceState>,
    Page {
        user, ctx, locale, ..
    }: Page<perm::WorkforceRead>,
    Query(q): Query<PageQuery>,
) -> Result<Response, PageError> {
    let q = BranchQuery {
        team_id: q.team_id,
        day: None,
    };
    let branch = view(&state.db, &user, &q).await.page(locale)?;
    Ok(render(&BranchPage {
        reasons: BlockerReason::choices(ctx.en()),
        ctx,
        branch,
    }))
}

pub fn router() -> axum::Router<WorkforceState> {
    axum::Router::new().route("/workforce/branch", axum::routing::get(branch_page))
}
