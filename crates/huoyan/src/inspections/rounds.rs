//! Rounds: a team's planned visits of one day, in the order the route engine proposes, beside the
//! length of the order the team gave; read back with each stop's checklist version and answers.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use huoyan_core::auth::Role;
use huoyan_core::inspections::route::{self, MAX_SITES};
use huoyan_core::org::SiteKind;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::InspectionsState;
use super::checklists::{self, ChecklistView};
use crate::audit::Change;
use crate::auth::{Can, Principal, perm};
use crate::check::{Check, Text};
use crate::db::{Db, Sql};
use crate::error::{AppError, AppResult, FieldError};
use crate::http::{ApiJson, ApiPath, ApiQuery, ListPage, Paging};

/// Most members a round names.
const MAX_MEMBERS: usize = 20;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRound {
    /// The team: the inspector's own (the default).
    pub team_id: Option<i64>,
    /// The round's day, YYYY-MM-DD in the city's zone.
    pub day: Text<10, true>,
    /// The sites to visit, in the order the team would take them (1 to 200).
    pub site_ids: Vec<i64>,
    /// The team's members going on the round (at most 20).
    #[serde(default)]
    pub member_ids: Vec<i64>,
    /// Where the round sets out (WGS-84), when not at whichever site suits.
    pub start_lon: Option<f64>,
    pub start_lat: Option<f64>,
}

/// The team a caller plans for and records visits of: an inspector's own, and only that.
pub(super) fn team_for(p: &Principal, asked: Option<i64>) -> AppResult<i64> {
    match (p.scope.team_id, asked) {
        (Some(own), None) => Ok(own),
        (Some(own), Some(t)) if t == own => Ok(own),
        _ => Err(AppError::OutsideScope(vec![FieldError::new(
            "team_id",
            "an inspector plans their own team's rounds",
        )])),
    }
}

struct SiteRow {
    id: i64,
    kind: Option<SiteKind>,
    point: Option<[f64; 2]>,
}

/// Plans `new` as `p` inside `change`; returns the round's id. Every id is checked as the
/// transaction sees it, and every failure is named at once.
pub async fn plan(change: &mut Change, p: &Principal, new: &NewRound) -> AppResult<i64> {
    let team_id = team_for(p, new.team_id)?;
    let mut check = Check::default();
    let team: Option<String> = sqlx::query_scalar("SELECT kind FROM teams WHERE id = $1")
        .bind(team_id)
        .fetch_optional(&mut *change.tx)
        .await?;
    match team.as_deref() {
        None => check.fail("team_id", "no such team"),
        Some("supervision_team") => {}
        Some(_) => check.fail("team_id", "rounds are a supervision team's"),
    }
    if chrono::NaiveDate::parse_from_str(new.day.trimmed(), "%Y-%m-%d").is_err() {
        check.fail("day", "a day as YYYY-MM-DD");
    }
    if new.site_ids.is_empty() || new.site_ids.len() > MAX_SITES {
        check.fail("site_ids", format!("1 to {MAX_SITES} sites"));
    }
    let start = match (new.start_lon, new.start_lat) {
        (None, None) => None,
        (Some(lon), Some(lat)) if (73.0..=136.0).contains(&lon) && (3.0..=54.0).contains(&lat) => {
            Some([lon, lat])
        }
        _ => {
            check.fail(
                "start_lon",
                "start_lon and start_lat together, a point in China",
            );
            None
        }
    };
    let mut sites: Vec<SiteRow> = Vec::with_capacity(new.site_ids.len());
    let mut lists: HashMap<SiteKind, ChecklistView> = HashMap::new();
    for (i, id) in new.site_ids.iter().take(MAX_SITES).enumerate() {
        let field = format!("site_ids[{i}]");
        if new.site_ids[..i].contains(id) {
            check.fail(&field, "named twice");
            continue;
        }
        let row = sqlx::query("SELECT kind, lon, lat FROM sites WHERE id = $1")
            .bind(*id)
            .fetch_optional(&mut *change.tx)
            .await?;
        let Some(row) = row else {
            check.fail(&field, "no such site");
            continue;
        };
        let kind = SiteKind::parse(&row.try_get::<String, _>("kind")?);
        let point = match (row.try_get("lon")?, row.try_get("lat")?) {
            (Some(lon), Some(lat)) => Some([lon, lat]),
            _ => None,
        };
        if point.is_none() {
            check.fail(&field, "the site has no coordinates to plan a route over");
        }
        if let Some(k) = kind
            && !lists.contains_key(&k)
        {
            match checklists::latest_in(change, k).await? {
                Some(c) => {
                    lists.insert(k, c);
                }
                None => check.fail(&field, format!("no checklist for {} yet", k.en())),
            }
        }
        sites.push(SiteRow {
            id: *id,
            kind,
            point,
        });
    }
    if new.member_ids.len() > MAX_MEMBERS {
        check.fail("member_ids", format!("at most {MAX_MEMBERS} members"));
    }
    for (i, person) in new.member_ids.iter().take(MAX_MEMBERS).enumerate() {
        let field = format!("member_ids[{i}]");
        if new.member_ids[..i].contains(person) {
            check.fail(&field, "named twice");
            continue;
        }
        let member =
            sqlx::query("SELECT 1 FROM team_members WHERE team_id = $1 AND person_id = $2")
                .bind(team_id)
                .bind(*person)
                .fetch_optional(&mut *change.tx)
                .await?;
        if member.is_none() {
            check.fail(&field, "not a member of the team");
        }
    }
    check.done()?;
    let points: Vec<[f64; 2]> = sites.iter().filter_map(|s| s.point).collect();
    let proposed =
        route::propose(&points, start).map_err(|e| AppError::invalid("site_ids", e.to_string()))?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO inspection_rounds (team_id, day, length_m, given_length_m, planned_by, planned_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(team_id)
    .bind(new.day.trimmed())
    .bind(proposed.length_m)
    .bind(proposed.given_length_m)
    .bind(p.account_id)
    .bind(change.at_ms())
    .fetch_one(&mut *change.tx)
    .await?;
    for person in &new.member_ids {
        sqlx::query("INSERT INTO inspection_round_members (round_id, person_id) VALUES ($1, $2)")
            .bind(id)
            .bind(*person)
            .execute(&mut *change.tx)
            .await?;
    }
    let mut order = Vec::with_capacity(sites.len());
    for (seq, &given) in proposed.order.iter().enumerate() {
        let site = &sites[given];
        let kind = site.kind.expect("checked");
        sqlx::query(
            "INSERT INTO inspection_stops (round_id, seq, given_seq, site_id, checklist_id) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(seq as i64 + 1)
        .bind(given as i64 + 1)
        .bind(site.id)
        .bind(lists[&kind].id)
        .execute(&mut *change.tx)
        .await?;
        order.push(site.id);
    }
    change
        .record(
            "inspection_round",
            id,
            "plan",
            &serde_json::json!({
                "team_id": team_id, "day": new.day.trimmed(), "site_ids": order,
                "member_ids": new.member_ids,
                "length_m": proposed.length_m.round(), "given_length_m": proposed.given_length_m.round(),
            }),
        )
        .await?;
    Ok(id)
}

/// A round in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoundSummary {
    pub id: i64,
    pub team_id: i64,
    pub team_name: String,
    pub day: String,
    pub stops: i64,
    pub visited: i64,
    pub findings: i64,
    /// Metres in the proposed order and in the order the team gave.
    pub length_m: f64,
    pub given_length_m: f64,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RoundFilter {
    pub team_id: Option<i64>,
    /// YYYY-MM-DD.
    #[param(inline)]
    pub day: Option<Text<10>>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// Confines rounds (alias `r`) to the caller: an inspector sees their team's.
pub(super) fn scope(p: &Principal, sql: &mut Sql, team_column: &str) {
    if p.role == Role::Inspector {
        sql.push(&format!(" AND {team_column} = "))
            .bind(p.scope.team_id.unwrap_or(-1));
    }
}

pub(super) async fn list(
    db: &Db,
    p: &Principal,
    f: &RoundFilter,
) -> AppResult<ListPage<RoundSummary>> {
    let mut filter = Sql::new(" WHERE 1 = 1");
    scope(p, &mut filter, "r.team_id");
    if let Some(t) = f.team_id {
        filter.push(" AND r.team_id = ").bind(t);
    }
    if let Some(d) = f
        .day
        .as_ref()
        .map(|d| d.trimmed())
        .filter(|d| !d.is_empty())
    {
        filter.push(" AND r.day = ").bind(d);
    }
    let paging = Paging {
        limit: f.limit,
        offset: f.offset,
    };
    crate::http::fetch_page(
        db,
        "r.id, r.team_id, t.name AS team_name, r.day, r.length_m, r.given_length_m, \
         (SELECT COUNT(*) FROM inspection_stops s WHERE s.round_id = r.id) AS stops, \
         (SELECT COUNT(*) FROM inspection_stops s WHERE s.round_id = r.id AND s.visited_at IS NOT NULL) AS visited, \
         (SELECT COUNT(*) FROM inspection_stops s JOIN inspection_answers a ON a.stop_id = s.id \
          WHERE s.round_id = r.id AND a.answer = 'fail') AS findings",
        "inspection_rounds r JOIN teams t ON t.id = r.team_id",
        &filter,
        "r.day DESC, r.id DESC",
        &paging,
        |r| {
            Ok(RoundSummary {
                id: r.try_get("id")?,
                team_id: r.try_get("team_id")?,
                team_name: r.try_get("team_name")?,
                day: r.try_get("day")?,
                stops: r.try_get("stops")?,
                visited: r.try_get("visited")?,
                findings: r.try_get("findings")?,
                length_m: r.try_get("length_m")?,
                given_length_m: r.try_get("given_length_m")?,
            })
        },
    )
    .await
}

/// One answered item of a visit.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnswerView {
    pub code: String,
    #[schema(value_type = huoyan_core::inspections::checklist::Answer)]
    pub answer: String,
    pub note: String,
    /// The case a failure became, and where it stands.
    pub case_id: Option<i64>,
    pub case_state: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StopView {
    pub id: i64,
    /// Place in the proposed order, and in the order the team gave.
    pub seq: i64,
    pub given_seq: i64,
    pub site_id: i64,
    pub site_name: String,
    pub site_kind: SiteKind,
    pub site_lon: Option<f64>,
    pub site_lat: Option<f64>,
    pub region_name: String,
    pub checklist: ChecklistView,
    #[schema(format = DateTime)]
    pub visited_at: Option<String>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    /// Metres from the site where the visit was recorded; `far` past 500 m (flagged, not refused).
    pub distance_m: Option<f64>,
    pub far: bool,
    pub note: String,
    pub answers: Vec<AnswerView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoundDetail {
    pub id: i64,
    pub team_id: i64,
    pub team_name: String,
    pub day: String,
    pub length_m: f64,
    pub given_length_m: f64,
    #[schema(format = DateTime)]
    pub planned_at: String,
    pub members: Vec<MemberView>,
    /// In the proposed order.
    pub stops: Vec<StopView>,
}

/// Round `id` as `p` may see it (404 otherwise).
pub async fn detail(db: &Db, p: &Principal, id: i64) -> AppResult<RoundDetail> {
    let mut sql = Sql::new(
        "SELECT r.id, r.team_id, t.name AS team_name, r.day, r.length_m, r.given_length_m, r.planned_at \
         FROM inspection_rounds r JOIN teams t ON t.id = r.team_id WHERE r.id = ",
    );
    sql.bind(id);
    scope(p, &mut sql, "r.team_id");
    let r = sql
        .query()
        .fetch_optional(&db.pool)
        .await?
        .ok_or(AppError::NotFound("round"))?;
    let members = sqlx::query(
        "SELECT p.id, p.name FROM inspection_round_members m JOIN people p ON p.id = m.person_id \
         WHERE m.round_id = $1 ORDER BY p.id",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|m| {
        Ok(MemberView {
            id: m.try_get("id")?,
            name: m.try_get("name")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let stops = sqlx::query(
        "SELECT s.id, s.seq, s.given_seq, s.site_id, s.checklist_id, s.visited_at, s.lon, s.lat, \
         s.distance_m, s.far, s.note, site.name AS site_name, site.kind AS site_kind, \
         site.lon AS site_lon, site.lat AS site_lat, g.name AS region_name \
         FROM inspection_stops s JOIN sites site ON site.id = s.site_id \
         JOIN regions g ON g.id = site.region_id WHERE s.round_id = $1 ORDER BY s.seq",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await?;
    let ids: Vec<i64> = stops
        .iter()
        .map(|s| s.try_get("checklist_id"))
        .collect::<Result<_, _>>()?;
    let lists: HashMap<i64, ChecklistView> = checklists::by_ids(db, &ids)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let answers = sqlx::query(
        "SELECT a.stop_id, a.item, a.answer, a.note, a.case_id, c.state AS case_state \
         FROM inspection_answers a JOIN inspection_stops s ON s.id = a.stop_id \
         LEFT JOIN cases c ON c.id = a.case_id WHERE s.round_id = $1",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await?;
    let mut by_stop: HashMap<i64, Vec<AnswerView>> = HashMap::new();
    for a in &answers {
        by_stop
            .entry(a.try_get("stop_id")?)
            .or_default()
            .push(AnswerView {
                code: a.try_get("item")?,
                answer: a.try_get("answer")?,
                note: a.try_get("note")?,
                case_id: a.try_get("case_id")?,
                case_state: a.try_get("case_state")?,
            });
    }
    let mut views = Vec::with_capacity(stops.len());
    for s in &stops {
        let stop_id: i64 = s.try_get("id")?;
        let checklist = lists
            .get(&s.try_get::<i64, _>("checklist_id")?)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("stop {stop_id}: its checklist is missing"))?;
        let mut answers = by_stop.remove(&stop_id).unwrap_or_default();
        let place = |code: &str| checklist.items.iter().position(|i| i.code == code);
        answers.sort_by_key(|a| place(&a.code));
        let kind: String = s.try_get("site_kind")?;
        views.push(StopView {
            id: stop_id,
            seq: s.try_get("seq")?,
            given_seq: s.try_get("given_seq")?,
            site_id: s.try_get("site_id")?,
            site_name: s.try_get("site_name")?,
            site_kind: SiteKind::parse(&kind)
                .ok_or_else(|| anyhow::anyhow!("site of unknown kind {kind:?}"))?,
            site_lon: s.try_get("site_lon")?,
            site_lat: s.try_get("site_lat")?,
            region_name: s.try_get("region_name")?,
            visited_at: s
                .try_get::<Option<i64>, _>("visited_at")?
                .map(crate::time::rfc3339),
            lon: s.try_get("lon")?,
            lat: s.try_get("lat")?,
            distance_m: s.try_get("distance_m")?,
            far: s.try_get::<i64, _>("far")? != 0,
            note: s.try_get("note")?,
            checklist,
            answers,
        });
    }
    Ok(RoundDetail {
        id: r.try_get("id")?,
        team_id: r.try_get("team_id")?,
        team_name: r.try_get("team_name")?,
        day: r.try_get("day")?,
        length_m: r.try_get("length_m")?,
        given_length_m: r.try_get("given_length_m")?,
        planned_at: crate::time::rfc3339(r.try_get("planned_at")?),
        members,
        stops: views,
    })
}

/// Rounds in the caller's reach (an inspector: their team's), newest day first.
#[utoipa::path(get, path = "/api/v1/inspections/rounds", tag = "inspections", operation_id = "list_rounds",
    params(RoundFilter), responses((status = 200, body = ListPage<RoundSummary>)))]
async fn list_route(
    State(state): State<InspectionsState>,
    Can(p, _): Can<perm::InspectionsRead>,
    ApiQuery(f): ApiQuery<RoundFilter>,
) -> AppResult<ApiJson<ListPage<RoundSummary>>> {
    Ok(ApiJson(list(&state.db, &p, &f).await?))
}

/// Plan a round: the sites in the order the team would take them; answered with the stops in the
/// order proposed (shortest travel over the sites' coordinates), its length beside the given
/// order's, and each stop's checklist version.
#[utoipa::path(post, path = "/api/v1/inspections/rounds", tag = "inspections", operation_id = "plan_round",
    request_body = NewRound,
    responses((status = 201, body = RoundDetail), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn plan_route(
    State(state): State<InspectionsState>,
    Can(p, _): Can<perm::InspectionsRun>,
    ApiJson(new): ApiJson<NewRound>,
) -> AppResult<(StatusCode, ApiJson<RoundDetail>)> {
    let id = Change::run(&state.db, &p.actor(), async |c| plan(c, &p, &new).await).await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(detail(&state.db, &p, id).await?),
    ))
}

/// One round with its stops in the proposed order, their checklists and answers.
#[utoipa::path(get, path = "/api/v1/inspections/rounds/{id}", tag = "inspections", operation_id = "get_round",
    params(("id" = i64, Path)), responses((status = 200, body = RoundDetail), (status = 404, body = crate::error::ErrorBody)))]
async fn get_route(
    State(state): State<InspectionsState>,
    Can(p, _): Can<perm::InspectionsRead>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<ApiJson<RoundDetail>> {
    Ok(ApiJson(detail(&state.db, &p, id).await?))
}

pub fn api() -> OpenApiRouter<InspectionsState> {
    OpenApiRouter::new()
        .routes(routes!(list_route, plan_route))
        .routes(routes!(get_route))
}
