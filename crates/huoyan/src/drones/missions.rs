//! Patrol missions: zones (regions under a control order, or polygons drawn on the map) covered by
//! the sorties the core's coverage engine lays over the chosen drones from their homes, and each
//! sortie exported for the pilots' ground-control software (`.plan`, `.waypoints`).

use huoyan_core::drones::Objective;
use huoyan_core::drones::coverage::{self, CameraSpec, CoverageError, Plan, Zone};
use huoyan_core::drones::ground_control::GroundMission;
use huoyan_core::org::{ControlLevel, RegionPath, current_level};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::DronesState;
use crate::audit::Change;
use crate::auth::{Can, Principal, perm};
use crate::check::{Check, Required};
use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::http::{ApiJson, ApiPath, ApiQuery};

/// Most zones and drones a mission takes: a district's sealed compounds, a squad's fleet.
const MAX_REGIONS: usize = 50;
const MAX_POLYGONS: usize = 20;
const MAX_DRONES: usize = 20;
/// Most points of the drawn polygons together.
const MAX_POINTS: usize = 5_000;
/// Most coverage path one mission may hold: a day of a squad's flying (five drones, ten
/// sorties each of 15 km), so that a typo cannot keep the planner busy for minutes.
const MAX_PATH_M: f64 = 2_000_000.0;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMission {
    #[schema(max_length = 80)]
    pub name: Required<80>,
    /// The squad: a pilot's own (the default); a commander names one, or plans for the squad of
    /// the drones chosen.
    pub team_id: Option<i64>,
    /// What the patrol looks for, at least one.
    pub objectives: Vec<Objective>,
    /// Flight height above home, 20 to 500 m.
    pub altitude_m: f64,
    /// Share of the camera's footprint neighbouring sweeps overlap, 0 to 0.9 (0.2 when absent).
    pub side_overlap: Option<f64>,
    /// Regions under a control order in force, whose outlines are the zones (at most 50).
    #[serde(default)]
    pub region_ids: Vec<i64>,
    /// Zones drawn on the map: GeoJSON Polygons or MultiPolygons, lon/lat (at most 20).
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub polygons: Vec<serde_json::Value>,
    /// The squad's drones to fly it (1 to 20).
    pub drone_ids: Vec<i64>,
}

/// A zone as planned.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MissionZone {
    pub id: String,
    pub region_id: Option<i64>,
    pub name: String,
    #[schema(value_type = Object)]
    pub geometry: serde_json::Value,
}

/// One flight of the mission, numbered from 1 across the drones.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SortieSummary {
    pub number: i64,
    pub drone_id: i64,
    pub length_m: f64,
    pub time_s: f64,
    pub waypoints: usize,
    /// The vehicle's last acknowledgement of this sortie's upload.
    #[schema(format = DateTime)]
    pub uploaded_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Mission {
    pub id: i64,
    pub name: String,
    pub team_id: i64,
    pub objectives: Vec<Objective>,
    pub altitude_m: f64,
    pub side_overlap: f64,
    pub zones: Vec<MissionZone>,
    pub sorties: Vec<SortieSummary>,
    pub length_m: f64,
    /// From the first take-off to the last landing.
    pub makespan_s: f64,
    pub spacing_m: f64,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// The coverage plan: per drone (by id), its sorties' waypoints.
    #[schema(value_type = Object)]
    pub plan: Plan,
}

/// Which sortie to export.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Which {
    /// The sortie's number (1 when absent).
    pub sortie: Option<i64>,
}

/// How many positions (arrays starting with a number) a GeoJSON value holds.
fn positions(v: &serde_json::Value) -> usize {
    match v {
        serde_json::Value::Array(a) if a.first().is_some_and(|x| x.is_number()) => 1,
        serde_json::Value::Array(a) => a.iter().map(positions).sum(),
        serde_json::Value::Object(o) => o.values().map(positions).sum(),
        _ => 0,
    }
}

/// The field a planner's refusal is about.
fn field_of(e: &CoverageError) -> &'static str {
    use CoverageError as E;
    match e {
        E::NoDrones | E::OutOfReach { .. } | E::BadDrone { .. } => "drone_ids",
        E::BadCamera { field, .. } if *field == "side_overlap" => "side_overlap",
        E::BadCamera { .. } | E::TooLarge { .. } => "altitude_m",
        _ => "polygons",
    }
}

/// The zones of `new`, read inside `change`: each region must have an outline and be under a
/// control order in force now.
async fn zones_of(
    change: &mut Change,
    check: &mut Check,
    new: &NewMission,
) -> AppResult<Vec<MissionZone>> {
    let mut zones = Vec::new();
    if new.region_ids.len() > MAX_REGIONS {
        check.fail("region_ids", format!("at most {MAX_REGIONS}"));
        return Ok(zones);
    }
    let orders = crate::org::orders::rules_on(&mut change.tx).await?;
    let now = chrono::DateTime::from_timestamp_millis(change.at_ms()).unwrap_or_default();
    for (i, &id) in new.region_ids.iter().enumerate() {
        let field = format!("region_ids[{i}]");
        let Some(r) = sqlx::query("SELECT name, path, geometry FROM regions WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *change.tx)
            .await?
        else {
            check.fail(&field, "no such region");
            continue;
        };
        let lineage = RegionPath::from_stored(r.try_get::<String, _>("path")?).ids();
        match current_level(&lineage, &orders, now) {
            Some((level, _)) if level != ControlLevel::Lifted => {}
            _ => {
                check.fail(&field, "no control order is in force there");
                continue;
            }
        }
        let Some(text) = r.try_get::<Option<String>, _>("geometry")? else {
            check.fail(&field, "the region has no outline");
            continue;
        };
        zones.push(MissionZone {
            id: format!("region-{id}"),
            region_id: Some(id),
            name: r.try_get("name")?,
            geometry: serde_json::from_str(&text).map_err(anyhow::Error::from)?,
        });
    }
    if new.polygons.len() > MAX_POLYGONS {
        check.fail("polygons", format!("at most {MAX_POLYGONS}"));
        return Ok(zones);
    }
    let points: usize = new.polygons.iter().map(positions).sum();
    if points > MAX_POINTS {
        check.fail("polygons", format!("at most {MAX_POINTS} points in all"));
        return Ok(zones);
    }
    for (i, g) in new.polygons.iter().enumerate() {
        if crate::geo::check_geometry(check, &format!("polygons[{i}]"), g).is_some() {
            zones.push(MissionZone {
                id: format!("drawn-{}", i + 1),
                region_id: None,
                name: format!("#{}", i + 1),
                geometry: g.clone(),
            });
        }
    }
    if new.region_ids.is_empty() && new.polygons.is_empty() {
        check.fail("region_ids", "name a region or draw a polygon");
    }
    Ok(zones)
}

/// Plans `new` as `p` inside `change`; returns the mission's id. The squad, its drones and the
/// zones' control are read in the change that writes the plan.
pub async fn plan(change: &mut Change, p: &Principal, new: &NewMission) -> AppResult<i64> {
    let mut check = Check::default();
    let mut ids = new.drone_ids.clone();
    ids.sort_unstable();
    ids.dedup();
    let drones = super::fleet::for_planning(change, &ids).await?;
    // A commander who names no squad plans for the one whose drones they chose.
    let asked = new.team_id.or_else(|| {
        p.scope
            .team_id
            .is_none()
            .then(|| drones.first().map(|d| d.team_id))
            .flatten()
    });
    let team = super::fleet::squad_for(change, p, &mut check, asked).await?;
    if new.objectives.is_empty() || new.objectives.len() > 20 {
        check.fail("objectives", "1 to 20 entries");
    }
    let mut objectives = new.objectives.clone();
    objectives.sort_by_key(|o| o.code());
    objectives.dedup();
    if !(new.altitude_m.is_finite() && (20.0..=500.0).contains(&new.altitude_m)) {
        check.fail("altitude_m", "20 to 500 m");
    }
    let overlap = new.side_overlap.unwrap_or(0.2);
    if !(overlap.is_finite() && (0.0..=0.9).contains(&overlap)) {
        check.fail("side_overlap", "0 to 0.9");
    }
    if ids.is_empty() || ids.len() > MAX_DRONES || ids.len() != new.drone_ids.len() {
        check.fail("drone_ids", format!("1 to {MAX_DRONES} different drones"));
    }
    for (i, id) in new.drone_ids.iter().enumerate() {
        match drones.iter().find(|d| d.id == *id) {
            None => check.fail(&format!("drone_ids[{i}]"), "no such drone"),
            Some(d) if Some(d.team_id) != team => {
                check.fail(&format!("drone_ids[{i}]"), "not a drone of the squad")
            }
            Some(_) => {}
        }
    }
    let zones = zones_of(change, &mut check, new).await?;
    let name = new.name.trimmed().to_string();
    check.done()?;
    let hfov = drones
        .iter()
        .map(|d| d.hfov_deg)
        .fold(f64::INFINITY, f64::min);
    let request = coverage::PlanRequest {
        zones: zones
            .iter()
            .map(|z| {
                serde_json::from_value(z.geometry.clone())
                    .map(|g| Zone::from_geojson(z.id.clone(), g))
                    .map_err(anyhow::Error::from)
            })
            .collect::<Result<_, _>>()?,
        // The narrowest camera of the drones chosen: sweeps spaced for it leave no blind
        // strip under any of them.
        camera: CameraSpec {
            altitude_m: new.altitude_m,
            hfov_deg: hfov,
            side_overlap: overlap,
        },
        drones: drones.into_iter().map(|d| d.drone).collect(),
    };
    let bound: f64 = request
        .zones
        .iter()
        .filter_map(|z| coverage::lower_bound_length(z, &request.camera).ok())
        .sum();
    if bound > MAX_PATH_M {
        return Err(AppError::invalid(
            "altitude_m",
            format!(
                "the zones need about {:.0} km of sweeps, more than the {:.0} km one mission holds; fly higher or split the zones",
                bound / 1000.0,
                MAX_PATH_M / 1000.0
            ),
        ));
    }
    // Seconds of planning for a district: off the request threads.
    let planned = tokio::task::spawn_blocking(move || coverage::plan(&request))
        .await
        .map_err(anyhow::Error::from)?
        .map_err(|e| AppError::invalid(field_of(&e), e.to_string()))?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO drone_missions (name, team_id, objectives, altitude_m, side_overlap, zones, plan, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(&name)
    .bind(team)
    .bind(serde_json::to_string(&objectives).map_err(anyhow::Error::from)?)
    .bind(new.altitude_m)
    .bind(overlap)
    .bind(serde_json::to_string(&zones).map_err(anyhow::Error::from)?)
    .bind(serde_json::to_string(&planned).map_err(anyhow::Error::from)?)
    .bind(p.account_id)
    .bind(change.at_ms())
    .fetch_one(&mut *change.tx)
    .await?;
    change
        .record(
            "drone_mission",
            id,
            "plan",
            &serde_json::json!({"name": name, "team_id": team, "objectives": objectives,
                "altitude_m": new.altitude_m, "side_overlap": overlap, "drone_ids": ids,
                "zones": zones.iter().map(|z| &z.id).collect::<Vec<_>>(),
                "sorties": planned.drones.iter().map(|d| d.sorties.len()).sum::<usize>(),
                "length_m": planned.drones.iter().map(|d| d.length_m).sum::<f64>()}),
        )
        .await?;
    Ok(id)
}

/// The sorties of `plan` in order, numbered from 1: (number, drone id, sortie).
pub fn sorties(plan: &Plan) -> impl Iterator<Item = (i64, i64, &coverage::Sortie)> {
    plan.drones
        .iter()
        .flat_map(|d| {
            d.sorties
                .iter()
                .map(move |s| (d.drone.parse().unwrap_or(0), s))
        })
        .zip(1..)
        .map(|((drone, s), n)| (n, drone, s))
}

pub async fn get(db: &Db, id: i64) -> AppResult<Mission> {
    let r = sqlx::query(
        "SELECT id, name, team_id, objectives, altitude_m, side_overlap, zones, plan, created_at \
         FROM drone_missions WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&db.pool)
    .await?
    .ok_or(AppError::NotFound("mission"))?;
    let uploads = sqlx::query(
        "SELECT sortie, MAX(uploaded_at) AS at FROM drone_uploads WHERE mission_id = $1 GROUP BY sortie",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|u| Ok((u.try_get::<i64, _>("sortie")?, u.try_get::<i64, _>("at")?)))
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let json = |col: &str| -> AppResult<serde_json::Value> {
        Ok(serde_json::from_str(&r.try_get::<String, _>(col)?).map_err(anyhow::Error::from)?)
    };
    let plan: Plan = serde_json::from_value(json("plan")?).map_err(anyhow::Error::from)?;
    let summaries = sorties(&plan)
        .map(|(number, drone_id, s)| SortieSummary {
            number,
            drone_id,
            length_m: s.length_m,
            time_s: s.time_s,
            waypoints: s.waypoints.len(),
            uploaded_at: uploads
                .iter()
                .find(|u| u.0 == number)
                .map(|u| crate::time::rfc3339(u.1)),
        })
        .collect();
    Ok(Mission {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        team_id: r.try_get("team_id")?,
        objectives: serde_json::from_value(json("objectives")?).map_err(anyhow::Error::from)?,
        altitude_m: r.try_get("altitude_m")?,
        side_overlap: r.try_get("side_overlap")?,
        zones: serde_json::from_value(json("zones")?).map_err(anyhow::Error::from)?,
        sorties: summaries,
        length_m: plan.drones.iter().map(|d| d.length_m).sum(),
        makespan_s: plan.makespan_s,
        spacing_m: plan.spacing_m,
        created_at: crate::time::rfc3339(r.try_get("created_at")?),
        plan,
    })
}

/// Sortie `number` of mission `id` as ground control takes it, with the drone that flies it.
pub async fn ground_mission(db: &Db, id: i64, number: i64) -> AppResult<(i64, GroundMission)> {
    let mission = get(db, id).await?;
    let (drone, sortie) = sorties(&mission.plan)
        .find(|(n, _, _)| *n == number)
        .map(|(_, d, s)| (d, s.clone()))
        .ok_or(AppError::NotFound("sortie"))?;
    let cruise: f64 = sqlx::query_scalar("SELECT cruise_mps FROM drones WHERE id = $1")
        .bind(drone)
        .fetch_one(&db.pool)
        .await?;
    let ground = GroundMission::for_sortie(&sortie, cruise)
        .map_err(|e| AppError::invalid("sortie", e.to_string()))?;
    Ok((drone, ground))
}

/// Plan a patrol mission over zones under control or drawn polygons for the squad's drones.
#[utoipa::path(post, path = "/api/v1/drones/missions", tag = "drones", operation_id = "plan_mission",
    request_body = NewMission,
    responses((status = 201, body = Mission), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn plan_route(
    axum::extract::State(state): axum::extract::State<DronesState>,
    Can(p, _): Can<perm::DronesPlan>,
    ApiJson(new): ApiJson<NewMission>,
) -> AppResult<(axum::http::StatusCode, ApiJson<Mission>)> {
    let id = Change::run(&state.db, &p.actor(), async |c| plan(c, &p, &new).await).await?;
    Ok((
        axum::http::StatusCode::CREATED,
        ApiJson(get(&state.db, id).await?),
    ))
}

/// A mission summary in the list.
#[derive(Debug, Serialize, ToSchema)]
pub struct MissionItem {
    pub id: i64,
    pub name: String,
    pub team_id: i64,
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// The latest missions, newest first (at most 200).
#[utoipa::path(get, path = "/api/v1/drones/missions", tag = "drones", operation_id = "list_missions",
    responses((status = 200, body = Vec<MissionItem>)))]
async fn list_route(
    axum::extract::State(state): axum::extract::State<DronesState>,
    Can(_p, _): Can<perm::DronesRead>,
) -> AppResult<ApiJson<Vec<MissionItem>>> {
    let rows = sqlx::query(
        "SELECT id, name, team_id, created_at FROM drone_missions ORDER BY id DESC LIMIT 200",
    )
    .fetch_all(&state.db.pool)
    .await?;
    let items = rows
        .iter()
        .map(|r| {
            Ok(MissionItem {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                team_id: r.try_get("team_id")?,
                created_at: crate::time::rfc3339(r.try_get("created_at")?),
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
    Ok(ApiJson(items))
}

/// One mission with its zones, sorties and waypoints.
#[utoipa::path(get, path = "/api/v1/drones/missions/{id}", tag = "drones", operation_id = "get_mission",
    params(("id" = i64, Path)),
    responses((status = 200, body = Mission), (status = 404, body = crate::error::ErrorBody)))]
async fn get_route(
    axum::extract::State(state): axum::extract::State<DronesState>,
    Can(_p, _): Can<perm::DronesRead>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<ApiJson<Mission>> {
    Ok(ApiJson(get(&state.db, id).await?))
}

/// The two files ground-control software reads.
enum FileKind {
    Plan,
    Waypoints,
}

/// The sortie `which` of mission `id` as a download of `kind`.
async fn ground_file(
    db: &Db,
    id: i64,
    which: Which,
    kind: FileKind,
) -> AppResult<axum::response::Response> {
    use axum::http::header;
    use axum::response::IntoResponse;
    let n = which.sortie.unwrap_or(1);
    let (_, ground) = ground_mission(db, id, n).await?;
    let (ext, content_type, body) = match kind {
        FileKind::Plan => (
            "plan",
            "application/json",
            serde_json::to_string_pretty(&ground.to_plan()).map_err(anyhow::Error::from)?,
        ),
        FileKind::Waypoints => (
            "waypoints",
            "text/plain; charset=utf-8",
            ground.to_waypoints(),
        ),
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"huoyan-{id}-{n}.{ext}\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// A sortie as a QGroundControl `.plan` file (JSON; take-off, waypoints, return to launch, an
/// inclusion geofence around the path).
#[utoipa::path(get, path = "/api/v1/drones/missions/{id}/plan", tag = "drones", operation_id = "mission_plan_file",
    params(("id" = i64, Path), Which),
    responses((status = 200, content_type = "application/json", body = Object),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn plan_file_route(
    axum::extract::State(state): axum::extract::State<DronesState>,
    Can(_p, _): Can<perm::DronesRead>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(which): ApiQuery<Which>,
) -> AppResult<axum::response::Response> {
    ground_file(&state.db, id, which, FileKind::Plan).await
}

/// A sortie as a `QGC WPL 110` `.waypoints` file (tab-separated; line 0 is home).
#[utoipa::path(get, path = "/api/v1/drones/missions/{id}/waypoints", tag = "drones", operation_id = "mission_waypoints_file",
    params(("id" = i64, Path), Which),
    responses((status = 200, content_type = "text/plain", body = String),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn waypoints_route(
    axum::extract::State(state): axum::extract::State<DronesState>,
    Can(_p, _): Can<perm::DronesRead>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(which): ApiQuery<Which>,
) -> AppResult<axum::response::Response> {
    ground_file(&state.db, id, which, FileKind::Waypoints).await
}

pub fn api() -> OpenApiRouter<DronesState> {
    OpenApiRouter::new()
        .routes(routes!(list_route, plan_route))
        .routes(routes!(get_route))
        .routes(routes!(plan_file_route))
        .routes(routes!(waypoints_route))
}
