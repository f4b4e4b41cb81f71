//! Tomorrow's grouping table (第二日工作分组表): the published roster of a day laid out as the
//! communities draw it up by hand each evening, by branch group or by post: group, leader,
//! member, phone, post, time. Phones are shown whole to those who call people in (the
//! dispatcher, the branch leader) and masked to everyone else; every workbook is an export of
//! personal data, so it is audited.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use huoyan_core::workforce::posts::Job;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::WorkforceState;
use super::days::Day;
use crate::audit::Change;
use crate::auth::{Can, Page, Principal, perm};
use crate::db::{Db, Sql};
use crate::error::AppResult;
use crate::http::{ApiJson, ApiQuery};
use crate::tabular::Cell;
use crate::web::{PageCtx, PageError, PageResultExt, render};

/// Most rows one table holds: a city's roster of a day.
const MAX_ROWS: i64 = 20_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// By the branch group (volunteer group, cadres' group) each person belongs to.
    Branch,
    /// By post: everyone at one site's job together.
    Post,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GroupingQuery {
    /// The day (tomorrow by default).
    #[serde(default, deserialize_with = "super::days::blank_is_none")]
    #[param(schema_with = crate::time::day_or_blank)]
    pub day: Option<Day>,
    /// `branch` (the default) or `post`.
    #[param(inline)]
    pub by: Option<GroupBy>,
}

/// One person's line of the table.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupingRow {
    /// The group: a branch group's name, or the post (`site · job`).
    pub group: String,
    /// The group's leader on this day (a group leader of the group, else the first named).
    pub leader: String,
    pub member: String,
    pub person_id: i64,
    /// Whole for the dispatcher and the branch leader, masked for everyone else.
    pub phone: String,
    pub post: String,
    pub job: Job,
    /// `HH:MM-HH:MM`.
    pub time: String,
}

/// The published roster of `day` in `p`'s reach, as the table's rows in the table's order.
pub async fn rows(db: &Db, p: &Principal, day: Day, by: GroupBy) -> AppResult<Vec<GroupingRow>> {
    let mut sql = Sql::new(
        "SELECT r.person_id, pe.name, pe.phone, s.name AS site_name, po.job, sh.start_minute, sh.end_minute, \
         (SELECT t.name FROM team_members m JOIN teams t ON t.id = m.team_id \
          WHERE m.person_id = r.person_id AND t.kind IN ('volunteer_group', 'cadre_group', 'party_branch') \
          ORDER BY CASE t.kind WHEN 'party_branch' THEN 1 ELSE 0 END, t.id LIMIT 1) AS team, \
         (SELECT m.role FROM team_members m JOIN teams t ON t.id = m.team_id \
          WHERE m.person_id = r.person_id AND t.kind IN ('volunteer_group', 'cadre_group', 'party_branch') \
          ORDER BY CASE t.kind WHEN 'party_branch' THEN 1 ELSE 0 END, t.id LIMIT 1) AS member_role \
         FROM roster r JOIN people pe ON pe.id = r.person_id JOIN duty_people d ON d.person_id = r.person_id \
         JOIN post_shifts sh ON sh.id = r.shift_id JOIN posts po ON po.id = sh.post_id \
         JOIN sites s ON s.id = po.site_id WHERE r.day = ",
    );
    sql.bind(day.to_string());
    p.scope_people(&mut sql, "r.person_id", "d.community_id");
    sql.push(" ORDER BY r.person_id LIMIT ").bind(MAX_ROWS);
    struct Line {
        row: GroupingRow,
        leads: bool,
        start: i64,
    }
    let mut lines = Vec::new();
    for r in sql.query().fetch_all(&db.pool).await? {
        let job: String = r.try_get("job")?;
        let job = Job::parse(&job).ok_or_else(|| anyhow::anyhow!("a post's job {job:?}"))?;
        let site: String = r.try_get("site_name")?;
        let post = format!("{site} · {}", job.zh());
        let phone: String = r.try_get("phone")?;
        let team: Option<String> = r.try_get("team")?;
        let role: Option<String> = r.try_get("member_role")?;
        let start: i64 = r.try_get("start_minute")?;
        lines.push(Line {
            row: GroupingRow {
                group: match by {
                    GroupBy::Branch => team.unwrap_or_else(|| "未编组 Ungrouped".into()),
                    GroupBy::Post => post.clone(),
                },
                leader: String::new(),
                member: r.try_get("name")?,
                person_id: r.try_get("person_id")?,
                phone: super::phone_for(p, phone),
                post,
                job,
                time: super::posts::shift_time(start, r.try_get("end_minute")?)?.to_string(),
            },
            leads: matches!(role.as_deref(), Some("group_leader" | "leader")),
            start,
        });
    }
    lines.sort_by(|a, b| {
        (
            &a.row.group,
            !a.leads,
            a.start,
            &a.row.post,
            &a.row.member,
            a.row.person_id,
        )
            .cmp(&(
                &b.row.group,
                !b.leads,
                b.start,
                &b.row.post,
                &b.row.member,
                b.row.person_id,
            ))
    });
    // A group's leader: its first line, which is a leader's when one is on duty that day.
    let mut leaders: HashMap<String, String> = HashMap::new();
    for l in &lines {
        leaders
            .entry(l.row.group.clone())
            .or_insert_with(|| l.row.member.clone());
    }
    Ok(lines
        .into_iter()
        .map(|mut l| {
            l.row.leader = leaders[&l.row.group].clone();
            l.row
        })
        .collect())
}

/// The grouping table of a day: one line per person on duty, by branch group or by post.
#[utoipa::path(get, path = "/api/v1/workforce/grouping", tag = "workforce", operation_id = "grouping_table",
    params(GroupingQuery), responses((status = 200, body = Vec<GroupingRow>)))]
async fn grouping_route(
    State(state): State<WorkforceState>,
    Can(p, _): Can<perm::WorkforceRead>,
    ApiQuery(q): ApiQuery<GroupingQuery>,
) -> AppResult<ApiJson<Vec<GroupingRow>>> {
    let day = q.day.unwrap_or_else(|| Day::today().plus(1));
    Ok(ApiJson(
        rows(&state.db, &p, day, q.by.unwrap_or(GroupBy::Branch)).await?,
    ))
}

/// The workbook: the columns communities use (组别, 组长, 组员, 联系电话, 岗位, 时间).
pub async fn workbook(db: &Db, p: &Principal, day: Day, by: GroupBy) -> AppResult<Vec<u8>> {
    let rows = rows(db, p, day, by).await?;
    let phones = if super::phones_whole(p) {
        "whole"
    } else {
        "masked"
    };
    Change::run(db, &p.actor(), async |c| {
        c.record(
            "export",
            "grouping",
            "export",
            &serde_json::json!({"kind": "grouping", "day": day, "rows": rows.len(), "phones": phones}),
        )
        .await
    })
    .await?;
    let cells: Vec<Vec<Cell>> = rows
        .iter()
        .map(|r| {
            vec![
                Cell::Text(r.group.clone()),
                Cell::Text(r.leader.clone()),
                Cell::Text(r.member.clone()),
                Cell::Text(r.phone.clone()),
                Cell::Text(r.post.clone()),
                Cell::Text(r.time.clone()),
            ]
        })
        .collect();
    Ok(crate::tabular::write_xlsx(
        &format!("{day}分组表"),
        &["组别", "组长", "组员", "联系电话", "岗位", "时间"],
        &cells,
    )?)
}

/// The grouping table as a workbook, as communities print it.
#[utoipa::path(get, path = "/api/v1/workforce/grouping.xlsx", tag = "workforce", operation_id = "grouping_workbook",
    params(GroupingQuery),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>)))]
async fn workbook_route(
    State(state): State<WorkforceState>,
    Can(p, _): Can<perm::WorkforceRead>,
    ApiQuery(q): ApiQuery<GroupingQuery>,
) -> AppResult<Response> {
    let day = q.day.unwrap_or_else(|| Day::today().plus(1));
    let bytes = workbook(&state.db, &p, day, q.by.unwrap_or(GroupBy::Branch)).await?;
    Ok((
        crate::tabular::xlsx_headers(&format!("grouping-{day}.xlsx")),
        bytes,
    )
        .into_response())
}

pub fn api() -> OpenApiRouter<WorkforceState> {
    OpenApiRouter::new()
        .routes(routes!(grouping_route))
        .routes(routes!(workbook_route))
}

#[derive(askama::Template)]
#[template(path = "workforce/grouping.html")]
struct GroupingPage {
    ctx: PageCtx,
    day: String,
    by: GroupBy,
    rows: Vec<GroupingRow>,
}

impl GroupingPage {
    /// Whether `i` starts a new group (its heading row).
    fn starts(&self, i: &usize) -> bool {
        *i == 0 || self.rows[*i].group != self.rows[*i - 1].group
    }

    fn by_post(&self) -> bool {
        self.by == GroupBy::Post
    }
}

#[derive(Deserialize)]
struct PageQuery {
    day: Option<String>,
    by: Option<String>,
}

/// The table on a page, printable on A4 (the print style drops the menu and the forms).
async fn grouping_page(
    State(state): State<WorkforceState>,
    Page {
        user, ctx, locale, ..
    }: Page<perm::WorkforceRead>,
    Query(q): Query<PageQuery>,
) -> Result<Response, PageError> {
    let day = super::days::from_query("day", q.day.as_deref())
        .page(locale)?
        .unwrap_or_else(|| Day::today().plus(1));
    let by = match q.by.as_deref() {
        Some("post") => GroupBy::Post,
        _ => GroupBy::Branch,
    };
    let rows = rows(&state.db, &user, day, by).await.page(locale)?;
    Ok(render(&GroupingPage {
        ctx,
        day: day.to_string(),
        by,
        rows,
    }))
}

pub fn router() -> axum::Router<WorkforceState> {
    axum::Router::new().route("/workforce/grouping", axum::routing::get(grouping_page))
}
