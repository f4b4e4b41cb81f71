//! Blind spots: each supervision team's area of responsibility (regions), and every key site in
//! it with the time of its last visit, those never visited or not within the window first.

use std::collections::HashSet;

use axum::extract::State;
use huoyan_core::inspections::visits::Coverage;
use huoyan_core::org::SiteKind;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::InspectionsState;
use crate::audit::Change;
use crate::auth::{Can, Principal, perm};
use crate::check::Check;
use crate::db::{Db, Sql};
use crate::error::{AppError, AppResult};
use crate::http::{ApiJson, ApiPath, ApiQuery};

/// Most regions one team's area names.
const MAX_AREA: usize = 200;

#[derive(Debug, Serialize, ToSchema)]
pub struct Area {
    pub team_id: i64,
    pub team_name: String,
    pub region_ids: Vec<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AreaBody {
    /// The regions (districts, communities, compounds) the team answers for; their subtrees'
    /// sites are its key sites.
    pub region_ids: Vec<i64>,
}

/// Sets team `team_id`'s area to `region_ids` inside `change`, each region within `p`'s scope.
pub async fn set_area(
    change: &mut Change,
    p: &Principal,
    team_id: i64,
    region_ids: &[i64],
) -> AppResult<()> {
    let mut check = Check::default();
    let kind: Option<String> = sqlx::query_scalar("SELECT kind FROM teams WHERE id = $1")
        .bind(team_id)
        .fetch_optional(&mut *change.tx)
        .await?;
    match kind.as_deref() {
        None => return Err(AppError::NotFound("team")),
        Some("supervision_team") => {}
        Some(_) => check.fail("team_id", "areas are a supervision team's"),
    }
    if region_ids.len() > MAX_AREA {
        check.fail("region_ids", format!("at most {MAX_AREA} regions"));
    }
    for (i, r) in region_ids.iter().take(MAX_AREA).enumerate() {
        if region_ids[..i].contains(r) {
            check.fail(&format!("region_ids[{i}]"), "named twice");
        } else {
            let path: Option<String> = sqlx::query_scalar("SELECT path FROM regions WHERE id = $1")
                .bind(*r)
                .fetch_optional(&mut *change.tx)
                .await?;
            match path {
                None => check.fail(&format!("region_ids[{i}]"), "no such region"),
                Some(path) if !p.region_in_scope(&path) => {
                    check.outside(&format!("region_ids[{i}]"))
                }
                Some(_) => {}
            }
        }
    }
    check.done()?;
    sqlx::query("DELETE FROM inspection_areas WHERE team_id = $1")
        .bind(team_id)
        .execute(&mut *change.tx)
        .await?;
    for r in region_ids {
        sqlx::query("INSERT INTO inspection_areas (team_id, region_id) VALUES ($1, $2)")
            .bind(team_id)
            .bind(*r)
            .execute(&mut *change.tx)
            .await?;
    }
    change
        .record(
            "team",
            team_id,
            "set_area",
            &serde_json::json!({"region_ids": region_ids}),
        )
        .await
}

pub(super) async fn areas(db: &Db, p: &Principal) -> AppResult<Vec<Area>> {
    let mut sql = Sql::new(
        "SELECT t.id, t.name, a.region_id FROM teams t \
         LEFT JOIN inspection_areas a ON a.team_id = t.id WHERE t.kind = 'supervision_team'",
    );
    super::rounds::scope(p, &mut sql, "t.id");
    sql.push(" ORDER BY t.id, a.region_id");
    let mut out: Vec<Area> = Vec::new();
    for r in sql.query().fetch_all(&db.pool).await? {
        let id: i64 = r.try_get("id")?;
        if out.last().is_none_or(|a| a.team_id != id) {
            out.push(Area {
                team_id: id,
                team_name: r.try_get("name")?,
                region_ids: Vec::new(),
            });
        }
        if let Some(region) = r.try_get::<Option<i64>, _>("region_id")? {
            out.last_mut().expect("pushed").region_ids.push(region);
        }
    }
    Ok(out)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CoverageQuery {
    pub team_id: Option<i64>,
    /// A site not visited within this many hours is a blind spot (1 to 720; 24 when absent).
    #[param(minimum = 1, maximum = 720)]
    pub window_hours: Option<i64>,
    /// The moment the window ends (RFC 3339); now when absent.
    #[param(value_type = Option<String>, format = DateTime)]
    pub at: Option<crate::time::Instant>,
    /// Only the blind spots.
    pub blind: Option<bool>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SiteCoverage {
    pub team_id: i64,
    pub team_name: String,
    pub site_id: i64,
    pub site_name: String,
    pub kind: SiteKind,
    pub region_id: i64,
    pub region_name: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    #[schema(format = DateTime)]
    pub last_visit_at: Option<String>,
    /// never, stale (not within the window) or covered.
    pub standing: String,
    pub blind: bool,
}

/// Every key site of each team's area in the caller's reach, with its last visit by anyone,
/// never-visited first, then the longest unvisited.
pub async fn coverage(db: &Db, p: &Principal, q: &CoverageQuery) -> AppResult<Vec<SiteCoverage>> {
    let window = q.window_hours.unwrap_or(24);
    if !(1..=720).contains(&window) {
        return Err(AppError::invalid("window_hours", "1 to 720 hours"));
    }
    let at = q.at.map_or_else(crate::time::now_ms, |i| i.0);
    let mut sql = Sql::new(
        "SELECT t.id AS team_id, t.name AS team_name, s.id AS site_id, s.name AS site_name, s.kind, \
         s.region_id, g.name AS region_name, s.lon, s.lat, \
         (SELECT MAX(v.visited_at) FROM inspection_stops v WHERE v.site_id = s.id AND v.visited_at <= ",
    );
    sql.bind(at);
    sql.push(
        ") AS last_visit FROM teams t JOIN inspection_areas a ON a.team_id = t.id \
         JOIN regions area ON area.id = a.region_id \
         JOIN regions g ON g.path LIKE area.path || '%' \
         JOIN sites s ON s.region_id = g.id WHERE t.kind = 'supervision_team'",
    );
    super::rounds::scope(p, &mut sql, "t.id");
    if let Some(t) = q.team_id {
        sql.push(" AND t.id = ").bind(t);
    }
    let mut seen: HashSet<(i64, i64)> = HashSet::new();
    let mut out: Vec<(Coverage, SiteCoverage)> = Vec::new();
    for r in sql.query().fetch_all(&db.pool).await? {
        let key = (r.try_get("team_id")?, r.try_get("site_id")?);
        // A site under two regions of one area is listed once.
        if !seen.insert(key) {
            continue;
        }
        let last: Option<i64> = r.try_get("last_visit")?;
        let standing = Coverage::of(last, at, window * 3_600_000);
        let kind: String = r.try_get("kind")?;
        let row = SiteCoverage {
            team_id: key.0,
            team_name: r.try_get("team_name")?,
            site_id: key.1,
            site_name: r.try_get("site_name")?,
            kind: SiteKind::parse(&kind).ok_or_else(|| anyhow::anyhow!("site kind {kind:?}"))?,
            region_id: r.try_get("region_id")?,
            region_name: r.try_get("region_name")?,
            lon: r.try_get("lon")?,
            lat: r.try_get("lat")?,
            last_visit_at: last.map(crate::time::rfc3339),
            standing: match standing {
                Coverage::Never => "never",
                Coverage::Stale { .. } => "stale",
                Coverage::Covered { .. } => "covered",
            }
            .into(),
            blind: standing.is_blind(),
        };
        if q.blind != Some(true) || row.blind {
            out.push((standing, row));
        }
    }
    out.sort_by_key(|(c, r)| (c.sort_key(), r.team_id, r.site_id));
    Ok(out.into_iter().map(|(_, r)| r).collect())
}

/// Each supervision team's area of responsibility (an inspector: their own team's).
#[utoipa::path(get, path = "/api/v1/inspections/areas", tag = "inspections", operation_id = "list_areas",
    responses((status = 200, body = Vec<Area>)))]
async fn areas_route(
    State(state): State<InspectionsState>,
    Can(p, _): Can<perm::InspectionsRead>,
) -> AppResult<ApiJson<Vec<Area>>> {
    Ok(ApiJson(areas(&state.db, &p).await?))
}

/// Set a supervision team's area of responsibility.
#[utoipa::path(put, path = "/api/v1/inspections/areas/{team_id}", tag = "inspections", operation_id = "set_area",
    params(("team_id" = i64, Path)), request_body = AreaBody,
    responses((status = 200, body = Vec<Area>), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn set_area_route(
    State(state): State<InspectionsState>,
    Can(p, _): Can<perm::InspectionsManage>,
    ApiPath(team): ApiPath<i64>,
    ApiJson(body): ApiJson<AreaBody>,
) -> AppResult<ApiJson<Vec<Area>>> {
    Change::run(&state.db, &p.actor(), async |c| {
        set_area(c, &p, team, &body.region_ids).await
    })
    .await?;
    Ok(ApiJson(areas(&state.db, &p).await?))
}

/// Every key site of each team's area with its last visit; blind spots (never visited, or not
/// within the window) first.
#[utoipa::path(get, path = "/api/v1/inspections/coverage", tag = "inspections", operation_id = "get_coverage",
    params(CoverageQuery), responses((status = 200, body = Vec<SiteCoverage>), (status = 422, body = crate::error::ErrorBody)))]
async fn coverage_route(
    State(state): State<InspectionsState>,
    Can(p, _): Can<perm::InspectionsRead>,
    ApiQuery(q): ApiQuery<CoverageQuery>,
) -> AppResult<ApiJson<Vec<SiteCoverage>>> {
    Ok(ApiJson(coverage(&state.db, &p, &q).await?))
}

pub fn api() -> OpenApiRouter<InspectionsState> {
    OpenApiRouter::new()
        .routes(routes!(areas_route))
        .routes(routes!(set_area_route))
        .routes(routes!(coverage_route))
}
