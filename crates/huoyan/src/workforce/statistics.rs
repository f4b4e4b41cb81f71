//! Day statistics (统计汇总): per day, community and post, the places needed and filled, who
//! signed in, the hours worked and the places left short; per day and community, the blockers
//! opened and lifted. Page, API and workbook.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use huoyan_core::workforce::posts::Job;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::WorkforceState;
use super::days::{Day, span};
use crate::auth::{Can, Page, Principal, perm};
use crate::db::{Db, Sql};
use crate::error::AppResult;
use crate::http::{ApiJson, ApiQuery};
use crate::tabular::{Cell, Sheet};
use crate::web::{PageCtx, PageError, PageResultExt, render};

/// Longest span one request covers.
const MAX_DAYS: i64 = 31;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// First day (a week before the last by default).
    #[serde(default, deserialize_with = "super::days::blank_is_none")]
    #[param(schema_with = crate::time::day_or_blank)]
    pub from: Option<Day>,
    /// Last day (today by default); a span past 31 days is cut to its last 31.
    #[serde(default, deserialize_with = "super::days::blank_is_none")]
    #[param(schema_with = crate::time::day_or_blank)]
    pub to: Option<Day>,
}

/// What a day's places came to.
#[derive(Debug, Clone, Copy, Default, Serialize, ToSchema)]
pub struct Tally {
    /// Places of the shifts (their headcounts as they stand now).
    pub needed: i64,
    /// Places the published roster filled.
    pub filled: i64,
    pub signed_in: i64,
    pub late: i64,
    /// Hours from sign-in to sign-out.
    pub hours: f64,
    /// Places left empty: needed less filled.
    pub short: i64,
}

impl Tally {
    /// The workbook's cells, in the order of the headers.
    fn cells(&self) -> [Cell; 6] {
        let n = |v: i64| Cell::Number(v as f64);
        [
            n(self.needed),
            n(self.filled),
            n(self.signed_in),
            n(self.late),
            Cell::Formatted(self.hours, "0.0"),
            n(self.short),
        ]
    }

    fn add(&mut self, o: &Tally) {
        self.needed += o.needed;
        self.filled += o.filled;
        self.signed_in += o.signed_in;
        self.late += o.late;
        self.hours += o.hours;
        self.short += o.short;
    }
}

/// One post's day.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PostDay {
    pub day: String,
    pub community: String,
    pub site_name: String,
    pub job: Job,
    #[serde(flatten)]
    pub tally: Tally,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct CommunityDay {
    pub day: String,
    pub community: String,
    #[serde(flatten)]
    pub tally: Tally,
    /// Blockers recorded that day for the community's people, and those lifted that day.
    pub blockers_opened: i64,
    pub blockers_lifted: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Statistics {
    pub from: String,
    pub to: String,
    pub communities: Vec<CommunityDay>,
    pub posts: Vec<PostDay>,
}

/// The days asked for, put in order and cut to the last 31 (the answer says which it holds).
fn range(q: &StatsQuery) -> AppResult<(Day, Day)> {
    let to = q.to.unwrap_or_else(Day::today);
    let from = q.from.unwrap_or_else(|| to.plus(-6));
    let (from, to) = if from <= to { (from, to) } else { (to, from) };
    let from = if span(from, to, MAX_DAYS).is_err() {
        to.plus(1 - MAX_DAYS)
    } else {
        from
    };
    Ok((from, to))
}

pub async fn statistics(db: &Db, p: &Principal, from: Day, to: Day) -> AppResult<Statistics> {
    // Every active shift in reach, with its post and community.
    let mut sql = Sql::new(
        "SELECT sh.id, sh.headcount, po.id AS post_id, po.job, s.name AS site_name, \
         COALESCE(c.name, g.name) AS community FROM post_shifts sh JOIN posts po ON po.id = sh.post_id \
         JOIN sites s ON s.id = po.site_id JOIN regions g ON g.id = s.region_id \
         LEFT JOIN regions c ON c.id = g.parent_id AND c.level = 'community' WHERE po.active = 1",
    );
    p.scope_region(&mut sql, "g.path");
    let shifts = sql.query().fetch_all(&db.pool).await?;
    let mut post_of: BTreeMap<i64, (i64, String, String, Job, i64)> = BTreeMap::new();
    for r in &shifts {
        let job: String = r.try_get("job")?;
        post_of.insert(
            r.try_get("id")?,
            (
                r.try_get("post_id")?,
                r.try_get("community")?,
                r.try_get("site_name")?,
                Job::parse(&job).ok_or_else(|| anyhow::anyhow!("a post's job {job:?}"))?,
                r.try_get("headcount")?,
            ),
        );
    }
    let mut posts: BTreeMap<(String, String, String, i64), PostDay> = BTreeMap::new();
    let mut d = from;
    while d <= to {
        for (post, community, site, job, headcount) in post_of.values() {
            let e = posts
                .entry((d.to_string(), community.clone(), site.clone(), *post))
                .or_insert_with(|| PostDay {
                    day: d.to_string(),
                    community: community.clone(),
                    site_name: site.clone(),
                    job: *job,
                    tally: Tally::default(),
                });
            e.tally.needed += headcount;
        }
        d = d.plus(1);
    }
    let key = |shift: i64, day: String| {
        post_of
            .get(&shift)
            .map(|(post, community, site, _, _)| (day, community.clone(), site.clone(), *post))
    };
    for r in sqlx::query(
        "SELECT shift_id, day, COUNT(*) AS n FROM roster WHERE day >= $1 AND day <= $2 GROUP BY shift_id, day",
    )
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(&db.pool)
    .await?
    {
        if let Some(e) = key(r.try_get("shift_id")?, r.try_get("day")?).and_then(|k| posts.get_mut(&k)) {
            e.tally.filled += r.try_get::<i64, _>("n")?;
        }
    }
    for r in sqlx::query(
        "SELECT shift_id, day, COUNT(*) AS n, CAST(SUM(late) AS BIGINT) AS late, CAST(SUM(COALESCE(out_at, in_at) - in_at) AS BIGINT) AS ms \
         FROM sign_ins WHERE day >= $1 AND day <= $2 GROUP BY shift_id, day",
    )
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(&db.pool)
    .await?
    {
        if let Some(e) = key(r.try_get("shift_id")?, r.try_get("day")?).and_then(|k| posts.get_mut(&k)) {
            e.tally.signed_in += r.try_get::<i64, _>("n")?;
            e.tally.late += r.try_get::<i64, _>("late")?;
            e.tally.hours += r.try_get::<i64, _>("ms")? as f64 / 3_600_000.0;
        }
    }
    let mut communities: BTreeMap<(String, String), CommunityDay> = BTreeMap::new();
    for e in posts.values_mut() {
        let t = &mut e.tally;
        t.short = (t.needed - t.filled).max(0);
        t.hours = (t.hours * 10.0).round() / 10.0;
        let c = communities
            .entry((e.day.clone(), e.community.clone()))
            .or_insert_with(|| CommunityDay {
                day: e.day.clone(),
                community: e.community.clone(),
                ..Default::default()
            });
        c.tally.add(&e.tally);
    }
    // Blockers by the day they were recorded and lifted, in the Beijing calendar.
    let (start, end) = (from.start_ms(), to.plus(1).start_ms());
    let mut sql = Sql::new(
        "SELECT g.name AS community, b.set_at, b.closed_at, b.state FROM blockers b \
         JOIN duty_people d ON d.person_id = b.person_id JOIN regions g ON g.id = d.community_id \
         WHERE ((b.set_at >= ",
    );
    sql.bind(start)
        .push(" AND b.set_at < ")
        .bind(end)
        .push(") OR (b.closed_at >= ")
        .bind(start)
        .push(" AND b.closed_at < ")
        .bind(end)
        .push("))");
    p.scope_people(&mut sql, "b.person_id", "d.community_id");
    for r in sql.query().fetch_all(&db.pool).await? {
        let community: String = r.try_get("community")?;
        let mut bump = |at: i64, lifted: bool| {
            if !(start..end).contains(&at) {
                return;
            }
            let c = communities
                .entry((crate::time::beijing_day(at), community.clone()))
                .or_insert_with(|| CommunityDay {
                    day: crate::time::beijing_day(at),
                    community: community.clone(),
                    ..Default::default()
                });
            if lifted {
                c.blockers_lifted += 1;
            } else {
                c.blockers_opened += 1;
            }
        };
        bump(r.try_get("set_at")?, false);
        if r.try_get::<String, _>("state")? == "lifted"
            && let Some(at) = r.try_get::<Option<i64>, _>("closed_at")?
        {
            bump(at, true);
        }
    }
    for c in communities.values_mut() {
        c.tally.hours = (c.tally.hours * 10.0).round() / 10.0;
    }
    Ok(Statistics {
        from: from.to_string(),
        to: to.to_string(),
        communities: communities.into_values().collect(),
        posts: posts.into_values().collect(),
    })
}

/// The day statistics per community and per post over a span of days.
#[utoipa::path(get, path = "/api/v1/workforce/statistics", tag = "workforce", operation_id = "workforce_statistics",
    params(StatsQuery), responses((status = 200, body = Statistics), (status = 422, body = crate::error::ErrorBody)))]
async fn stats_route(
    State(state): State<WorkforceState>,
    Can(p, _): Can<perm::WorkforceRead>,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> AppResult<ApiJson<Statistics>> {
    let (from, to) = range(&q)?;
    Ok(ApiJson(statistics(&state.db, &p, from, to).await?))
}

/// The same as a workbook: a sheet by community, a sheet by post.
#[utoipa::path(get, path = "/api/v1/workforce/statistics.xlsx", tag = "workforce", operation_id = "workforce_statistics_workbook",
    params(StatsQuery),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>)))]
async fn workbook_route(
    State(state): State<WorkforceState>,
    Can(p, _): Can<perm::WorkforceRead>,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> AppResult<Response> {
    let (from, to) = range(&q)?;
    let s = statistics(&state.db, &p, from, to).await?;
    let n = |v: i64| Cell::Number(v as f64);
    let communities: Vec<Vec<Cell>> = s
        .communities
        .iter()
        .map(|c| {
            let mut row = vec![Cell::Text(c.day.clone()), Cell::Text(c.community.clone())];
            row.extend(c.tally.cells());
            row.extend([n(c.blockers_opened), n(c.blockers_lifted)]);
            row
        })
        .collect();
    let posts: Vec<Vec<Cell>> = s
        .posts
        .iter()
        .map(|x| {
            let mut row = vec![
                Cell::Text(x.day.clone()),
                Cell::Text(x.community.clone()),
                Cell::Text(x.site_name.clone()),
                Cell::Text(x.job.zh().to_string()),
            ];
            row.extend(x.tally.cells());
            row
        })
        .collect();
    let bytes = crate::tabular::write_workbook(&[
        Sheet {
            name: "按社区",
            headers: &[
                "日期",
                "社区",
                "需要",
                "已排",
                "签到",
                "迟到",
                "工时",
                "缺岗",
                "新增受阻",
                "解除受阻",
            ],
            rows: &communities,
        },
        Sheet {
            name: "按岗位",
            headers: &[
                "日期", "社区", "点位", "岗位", "需要", "已排", "签到", "迟到", "工时", "缺岗",
            ],
            rows: &posts,
        },
    ])?;
    Ok((
        crate::tabular::xlsx_headers(&format!("workforce-{from}-{to}.xlsx")),
        bytes,
    )
        .into_response())
}

pub fn api() -> OpenApiRouter<WorkforceState> {
    OpenApiRouter::new()
        .routes(routes!(stats_route))
        .routes(routes!(workbook_route))
}

#[derive(askama::Template)]
#[template(path = "workforce/statistics.html")]
struct StatsPage {
    ctx: PageCtx,
    stats: Statistics,
}

#[derive(Deserialize)]
struct PageQuery {
    from: Option<String>,
    to: Option<String>,
}

async fn stats_page(
    State(state): State<WorkforceState>,
    Page {
        user, ctx, locale, ..
    }: Page<perm::WorkforceRead>,
    Query(q): Query<PageQuery>,
) -> Result<Response, PageError> {
    let q = StatsQuery {
        from: super::days::from_query("from", q.from.as_deref()).page(locale)?,
        to: super::days::from_query("to", q.to.as_deref()).page(locale)?,
    };
    let (from, to) = range(&q).page(locale)?;
    let stats = statistics(&state.db, &user, from, to).await.page(locale)?;
    Ok(render(&StatsPage { ctx, stats }))
}

pub fn router() -> axum::Router<WorkforceState> {
    axum::Router::new().route("/workforce/statistics", axum::routing::get(stats_page))
}
