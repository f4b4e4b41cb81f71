//! The fleet: each drone with what planning needs (endurance, cruise speed, camera, home), where
//! its video plays, and, from the link, its status and last position.

use huoyan_core::drones::link::{Fix, LinkState, Status};
use huoyan_core::drones::{StreamKind, check_stream_url};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::DronesState;
use crate::audit::Change;
use crate::auth::{Can, Principal, perm};
use crate::check::{Check, Required};
use crate::error::{AppError, AppResult};
use crate::http::{ApiJson, ApiPath};
use crate::org::scope::Reach;

/// Most playback URLs a drone has (main camera, zoom, thermal, a spare).
const MAX_STREAMS: usize = 4;

/// Where a drone's video plays; the browser fetches it, never the server.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Stream {
    pub kind: StreamKind,
    /// `https://` or `http://`, at most 500 characters.
    #[schema(max_length = 500)]
    pub url: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDrone {
    /// The radio callsign, unique in the city (警航1).
    #[schema(max_length = 40)]
    pub callsign: Required<40>,
    #[schema(max_length = 60)]
    pub model: Required<60>,
    /// The squad: a pilot's own (the default); an administrator names one.
    pub team_id: Option<i64>,
    /// The MAVLink system id its telemetry carries, 1 to 255, unique.
    pub system_id: i64,
    /// Flight time on a full battery, 1 to 600 minutes.
    pub endurance_min: i64,
    /// Cruise speed, above 0 and at most 40 m/s.
    pub cruise_mps: f64,
    /// The camera's horizontal field of view, above 0 and below 180 degrees.
    pub hfov_deg: f64,
    /// Where it takes off and lands (WGS-84).
    pub home_lon: f64,
    pub home_lat: f64,
    #[serde(default)]
    pub streams: Vec<Stream>,
}

/// What may change on a drone; absent fields stay.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DroneUpdate {
    /// The operator's mark: on the charger.
    pub charging: Option<bool>,
    pub streams: Option<Vec<Stream>>,
    pub home_lon: Option<f64>,
    pub home_lat: Option<f64>,
    pub endurance_min: Option<i64>,
    pub cruise_mps: Option<f64>,
    pub hfov_deg: Option<f64>,
}

/// A drone with its state.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Drone {
    pub id: i64,
    pub callsign: String,
    pub model: String,
    pub team_id: i64,
    pub team: String,
    pub system_id: i64,
    pub endurance_min: i64,
    pub cruise_mps: f64,
    pub hfov_deg: f64,
    pub home_lon: f64,
    pub home_lat: f64,
    pub streams: Vec<Stream>,
    pub charging: bool,
    pub status: Status,
    pub link: LinkState,
    /// The last position heard, from the link or, before the server heard it, the stored track.
    pub position: Option<Fix>,
    pub battery_pct: Option<u8>,
}

/// The figures a plan and the update share, each checked against its range.
fn check_figures(
    check: &mut Check,
    endurance_min: Option<i64>,
    cruise_mps: Option<f64>,
    hfov_deg: Option<f64>,
) {
    if endurance_min.is_some_and(|m| !(1..=600).contains(&m)) {
        check.fail("endurance_min", "1 to 600 minutes");
    }
    if cruise_mps.is_some_and(|v| !(v.is_finite() && v > 0.0 && v <= 40.0)) {
        check.fail("cruise_mps", "above 0 and at most 40 m/s");
    }
    if hfov_deg.is_some_and(|v| !(v.is_finite() && v > 0.0 && v < 180.0)) {
        check.fail("hfov_deg", "above 0 and below 180 degrees");
    }
}

fn check_streams(check: &mut Check, streams: &[Stream]) {
    if streams.len() > MAX_STREAMS {
        check.fail("streams", format!("at most {MAX_STREAMS}"));
    }
    for (i, s) in streams.iter().enumerate() {
        if let Err(e) = check_stream_url(&s.url) {
            check.fail(&format!("streams[{i}].url"), e.to_string());
        }
    }
}

/// The squad a drone or mission belongs to: a pilot's own; anyone else names one in reach. The
/// team must be a drone squad.
pub(super) async fn squad_for(
    change: &mut Change,
    p: &Principal,
    check: &mut Check,
    asked: Option<i64>,
) -> AppResult<Option<i64>> {
    let team = match (p.scope.team_id, asked) {
        (Some(own), None) => own,
        (Some(own), Some(t)) if t == own => own,
        (Some(_), Some(_)) => {
            check.outside("team_id");
            return Ok(None);
        }
        (None, None) => {
            check.fail("team_id", "name the drone squad");
            return Ok(None);
        }
        (None, Some(t)) => t,
    };
    Reach::of(change, p)
        .await?
        .team(change, check, "team_id", team)
        .await?;
    let kind: Option<String> = sqlx::query_scalar("SELECT kind FROM teams WHERE id = $1")
        .bind(team)
        .fetch_optional(&mut *change.tx)
        .await?;
    match kind.as_deref() {
        None => check.fail("team_id", "no such team"),
        Some("drone_squad") => {}
        Some(_) => check.fail("team_id", "not a drone squad"),
    }
    Ok(Some(team))
}

/// Registers `new` as `p` inside `change`; returns its id.
pub async fn register(change: &mut Change, p: &Principal, new: &NewDrone) -> AppResult<i64> {
    let mut check = Check::default();
    let team = squad_for(change, p, &mut check, new.team_id).await?;
    if !(1..=255).contains(&new.system_id) {
        check.fail("system_id", "1 to 255");
    }
    check_figures(
        &mut check,
        Some(new.endurance_min),
        Some(new.cruise_mps),
        Some(new.hfov_deg),
    );
    crate::geo::check_point(&mut check, Some(new.home_lon), Some(new.home_lat));
    check_streams(&mut check, &new.streams);
    check.done()?;
    let streams = serde_json::to_string(&new.streams).map_err(anyhow::Error::from)?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO drones (callsign, model, team_id, system_id, endurance_min, cruise_mps, hfov_deg, \
         home_lon, home_lat, streams, charging, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11) RETURNING id",
    )
    .bind(new.callsign.trimmed())
    .bind(new.model.trimmed())
    .bind(team.expect("checked"))
    .bind(new.system_id)
    .bind(new.endurance_min)
    .bind(new.cruise_mps)
    .bind(new.hfov_deg)
    .bind(new.home_lon)
    .bind(new.home_lat)
    .bind(&streams)
    .bind(change.at_ms())
    .fetch_one(&mut *change.tx)
    .await?;
    change
        .record(
            "drone",
            id,
            "register",
            &serde_json::json!({"callsign": new.callsign.trimmed(), "model": new.model.trimmed(),
                "team_id": team, "system_id": new.system_id, "endurance_min": new.endurance_min,
                "cruise_mps": new.cruise_mps, "hfov_deg": new.hfov_deg,
                "home": [new.home_lon, new.home_lat], "streams": new.streams}),
        )
        .await?;
    Ok(id)
}

/// Changes drone `id` as `p` inside `change`: the drone is read, checked against the caller's
/// squad, and written in the same transaction.
pub async fn update(change: &mut Change, p: &Principal, id: i64, u: &DroneUpdate) -> AppResult<()> {
    let team: i64 = sqlx::query_scalar("SELECT team_id FROM drones WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *change.tx)
        .await?
        .ok_or(AppError::NotFound("drone"))?;
    let mut check = Check::default();
    squad_for(change, p, &mut check, Some(team)).await?;
    if check.failed("team_id") {
        return Err(AppError::NotFound("drone"));
    }
    check_figures(&mut check, u.endurance_min, u.cruise_mps, u.hfov_deg);
    if u.home_lon.is_some() || u.home_lat.is_some() {
        crate::geo::check_point(&mut check, u.home_lon, u.home_lat);
    }
    if let Some(streams) = &u.streams {
        check_streams(&mut check, streams);
    }
    check.done()?;
    let streams = u
        .streams
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(anyhow::Error::from)?;
    sqlx::query(
        "UPDATE drones SET charging = COALESCE($1, charging), streams = COALESCE($2, streams), \
         home_lon = COALESCE($3, home_lon), home_lat = COALESCE($4, home_lat), \
         endurance_min = COALESCE($5, endurance_min), cruise_mps = COALESCE($6, cruise_mps), \
         hfov_deg = COALESCE($7, hfov_deg) WHERE id = $8",
    )
    .bind(u.charging.map(i64::from))
    .bind(streams)
    .bind(u.home_lon)
    .bind(u.home_lat)
    .bind(u.endurance_min)
    .bind(u.cruise_mps)
    .bind(u.hfov_deg)
    .bind(id)
    .execute(&mut *change.tx)
    .await?;
    change
        .record(
            "drone",
            id,
            "update",
            &serde_json::json!({"charging": u.charging, "streams": u.streams,
                "home_lon": u.home_lon, "home_lat": u.home_lat, "endurance_min": u.endurance_min,
                "cruise_mps": u.cruise_mps, "hfov_deg": u.hfov_deg}),
        )
        .await
}

const COLUMNS: &str = "d.id, d.callsign, d.model, d.team_id, t.name AS team, d.system_id, \
    d.endurance_min, d.cruise_mps, d.hfov_deg, d.home_lon, d.home_lat, d.streams, d.charging, \
    f.at_ms, f.lon, f.lat, f.alt_m, f.heading_deg, f.battery_pct";

/// The drones, each with its last stored fix, merged with what the link has heard since.
async fn fetch(state: &DronesState, one: Option<i64>) -> AppResult<Vec<Drone>> {
    let mut sql = crate::db::Sql::new(&format!(
        "SELECT {COLUMNS} FROM drones d JOIN teams t ON t.id = d.team_id \
         LEFT JOIN drone_fixes f ON f.drone_id = d.id AND f.at_ms = \
         (SELECT MAX(at_ms) FROM drone_fixes x WHERE x.drone_id = d.id)"
    ));
    if let Some(id) = one {
        sql.push(" WHERE d.id = ").bind(id);
    }
    sql.push(" ORDER BY d.callsign");
    let rows = sql.query().fetch_all(&state.db.pool).await?;
    let now = crate::time::now_ms();
    rows.iter()
        .map(|r| {
            let system_id: i64 = r.try_get("system_id")?;
            let charging = r.try_get::<i64, _>("charging")? != 0;
            let stored = match r.try_get::<Option<i64>, _>("at_ms")? {
                Some(at_ms) => Some(Fix {
                    at_ms,
                    lon: r.try_get("lon")?,
                    lat: r.try_get("lat")?,
                    alt_m: r.try_get("alt_m")?,
                    heading_deg: r.try_get("heading_deg")?,
                }),
                None => None,
            };
            let stored_battery: Option<i64> = r.try_get("battery_pct")?;
            let heard = u8::try_from(system_id)
                .ok()
                .and_then(|s| state.live.vehicle(s));
            let vehicle = heard.unwrap_or_default();
            let streams: String = r.try_get("streams")?;
            Ok(Drone {
                id: r.try_get("id")?,
                callsign: r.try_get("callsign")?,
                model: r.try_get("model")?,
                team_id: r.try_get("team_id")?,
                team: r.try_get("team")?,
                system_id,
                endurance_min: r.try_get("endurance_min")?,
                cruise_mps: r.try_get("cruise_mps")?,
                hfov_deg: r.try_get("hfov_deg")?,
                home_lon: r.try_get("home_lon")?,
                home_lat: r.try_get("home_lat")?,
                streams: serde_json::from_str(&streams).map_err(anyhow::Error::from)?,
                charging,
                status: vehicle.status(now, charging),
                link: vehicle.link(now),
                position: vehicle.fix.or(stored),
                battery_pct: vehicle
                    .battery_pct
                    .or_else(|| stored_battery.and_then(|b| u8::try_from(b).ok())),
            })
        })
        .collect()
}

/// The drone squads, for a manager who registers drones for any of them (at most 200: a city has
/// a handful).
pub async fn squads(state: &DronesState) -> AppResult<Vec<(i64, String)>> {
    Ok(sqlx::query_as(
        "SELECT id, name FROM teams WHERE kind = 'drone_squad' ORDER BY name, id LIMIT 200",
    )
    .fetch_all(&state.db.pool)
    .await?)
}

pub async fn list(state: &DronesState) -> AppResult<Vec<Drone>> {
    fetch(state, None).await
}

pub async fn get(state: &DronesState, id: i64) -> AppResult<Drone> {
    fetch(state, Some(id))
        .await?
        .pop()
        .ok_or(AppError::NotFound("drone"))
}

/// A drone as planning needs it.
pub(super) struct Planned {
    pub id: i64,
    pub team_id: i64,
    pub hfov_deg: f64,
    pub drone: huoyan_core::drones::coverage::Drone,
}

/// Drones by id as planning needs them, read inside `change` (ids with no drone are left out).
pub(super) async fn for_planning(change: &mut Change, ids: &[i64]) -> AppResult<Vec<Planned>> {
    let mut out = Vec::with_capacity(ids.len());
    for &id in ids {
        let Some(r) = sqlx::query(
            "SELECT team_id, endurance_min, cruise_mps, hfov_deg, home_lon, home_lat FROM drones WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *change.tx)
        .await?
        else {
            continue;
        };
        let endurance_s = r.try_get::<i64, _>("endurance_min")? as f64 * 60.0;
        out.push(Planned {
            id,
            team_id: r.try_get("team_id")?,
            hfov_deg: r.try_get("hfov_deg")?,
            drone: huoyan_core::drones::coverage::Drone {
                id: id.to_string(),
                home: [r.try_get("home_lon")?, r.try_get("home_lat")?],
                cruise_speed_mps: r.try_get("cruise_mps")?,
                endurance_s,
                // A fifth of the battery kept for the way home against the wind, and five
                // minutes to swap a battery between sorties.
                reserve_s: endurance_s / 5.0,
                turnaround_s: 300.0,
            },
        });
    }
    Ok(out)
}

/// The fleet: every drone with its link state, status, battery and last position.
#[utoipa::path(get, path = "/api/v1/drones", tag = "drones", operation_id = "list_drones",
    responses((status = 200, body = Vec<Drone>)))]
async fn list_route(
    axum::extract::State(state): axum::extract::State<DronesState>,
    Can(_p, _): Can<perm::DronesRead>,
) -> AppResult<ApiJson<Vec<Drone>>> {
    Ok(ApiJson(list(&state).await?))
}

/// Register a drone of the caller's squad.
#[utoipa::path(post, path = "/api/v1/drones", tag = "drones", operation_id = "register_drone",
    request_body = NewDrone,
    responses((status = 201, body = Drone), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn register_route(
    axum::extract::State(state): axum::extract::State<DronesState>,
    Can(p, _): Can<perm::DronesManage>,
    ApiJson(new): ApiJson<NewDrone>,
) -> AppResult<(axum::http::StatusCode, ApiJson<Drone>)> {
    let id = Change::run(&state.db, &p.actor(), async |c| register(c, &p, &new).await).await?;
    Ok((
        axum::http::StatusCode::CREATED,
        ApiJson(get(&state, id).await?),
    ))
}

/// One drone with its state.
#[utoipa::path(get, path = "/api/v1/drones/{id}", tag = "drones", operation_id = "get_drone",
    params(("id" = i64, Path)),
    responses((status = 200, body = Drone), (status = 404, body = crate::error::ErrorBody)))]
async fn get_route(
    axum::extract::State(state): axum::extract::State<DronesState>,
    Can(_p, _): Can<perm::DronesRead>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<ApiJson<Drone>> {
    Ok(ApiJson(get(&state, id).await?))
}

/// Change a drone of the caller's squad: the charging mark, its streams, home or figures.
#[utoipa::path(patch, path = "/api/v1/drones/{id}", tag = "drones", operation_id = "update_drone",
    params(("id" = i64, Path)), request_body = DroneUpdate,
    responses((status = 200, body = Drone), (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn update_route(
    axum::extract::State(state): axum::extract::State<DronesState>,
    Can(p, _): Can<perm::DronesManage>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(u): ApiJson<DroneUpdate>,
) -> AppResult<ApiJson<Drone>> {
    Change::run(&state.db, &p.actor(), async |c| update(c, &p, id, &u).await).await?;
    Ok(ApiJson(get(&state, id).await?))
}

pub fn api() -> OpenApiRouter<DronesState> {
    OpenApiRouter::new()
        .routes(routes!(list_route, register_route))
        .routes(routes!(get_route, update_route))
}
