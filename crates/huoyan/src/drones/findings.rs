//! Aerial findings: what the camera sees, marked by the operator at the drone's current position
//! (or a point on the map), filed as a case (source `drone`) in the compound whose outline holds
//! the point, with the time, position and heading in its text.

use huoyan_core::cases::{Category, Priority, Source};
use huoyan_core::drones::link::LinkState;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::DronesState;
use super::live::Live;
use crate::audit::Change;
use crate::auth::{Can, Principal, perm};
use crate::check::{Check, Required};
use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::http::ApiJson;
use crate::org::regions::Located;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFinding {
    /// The drone whose camera saw it (one of the pilot's squad).
    pub drone_id: i64,
    pub category: Category,
    #[schema(max_length = 500)]
    pub description: Required<500>,
    /// A point marked on the map (WGS-84); absent: where the drone is now.
    pub lon: Option<f64>,
    pub lat: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FiledFinding {
    pub case_id: i64,
    pub compound_id: i64,
    pub lon: f64,
    pub lat: f64,
}

/// Where a finding lies: the point given, else the drone's live position (a stale one would put
/// the case in the wrong compound).
fn point_of(
    live: &Live,
    check: &mut Check,
    system_id: i64,
    new: &NewFinding,
) -> Option<(f64, f64, Option<f64>)> {
    if new.lon.is_some() || new.lat.is_some() {
        crate::geo::check_point(check, new.lon, new.lat);
        return new.lon.zip(new.lat).map(|(lon, lat)| (lon, lat, None));
    }
    let now = crate::time::now_ms();
    let vehicle = u8::try_from(system_id).ok().and_then(|s| live.vehicle(s));
    match vehicle {
        Some(v) if v.link(now) == LinkState::Up && v.fix.is_some() => {
            let f = v.fix.expect("checked");
            Some((f.lon, f.lat, f.heading_deg))
        }
        _ => {
            check.fail(
                "lon",
                "the drone's position is not known now; mark the point on the map",
            );
            None
        }
    }
}

/// Files `new` as `p` inside `change`; a finding without a point is placed where `live` last
/// heard the drone.
pub async fn file(
    db: &Db,
    live: &Live,
    change: &mut Change,
    p: &Principal,
    new: &NewFinding,
) -> AppResult<FiledFinding> {
    let row: Option<(i64, i64, String)> =
        sqlx::query_as("SELECT team_id, system_id, callsign FROM drones WHERE id = $1")
            .bind(new.drone_id)
            .fetch_optional(&mut *change.tx)
            .await?;
    let (team, system_id, callsign) = row.ok_or(AppError::NotFound("drone"))?;
    let mut check = Check::default();
    if p.scope.team_id != Some(team) {
        check.outside("drone_id");
    }
    let point = point_of(live, &mut check, system_id, new);
    check.done()?;
    let (lon, lat, heading) = point.expect("checked");
    let compound = match crate::org::regions::locate(db, lon, lat).await? {
        Located::Compound(id) => id,
        Located::OutsideCity => return Err(AppError::invalid("lon", "outside the city")),
        Located::Unmatched => {
            return Err(AppError::invalid(
                "lon",
                "inside no compound's outline; mark the point on a compound",
            ));
        }
    };
    let heading = heading.map_or(String::new(), |h| format!("，航向{h:.0}°"));
    let at = crate::time::beijing(change.at_ms());
    let case_id = crate::cases::file_finding(
        change,
        p,
        crate::cases::Finding {
            source: Source::Drone,
            priority: Priority::Normal,
            category: new.category,
            compound_id: compound,
            lon: Some(lon),
            lat: Some(lat),
            address: format!("{lat:.6}, {lon:.6}"),
            description: format!(
                "【空中督导】{callsign} {at}（{lat:.6}, {lon:.6}{heading}）：{}",
                new.description.trimmed()
            ),
        },
    )
    .await?;
    Ok(FiledFinding {
        case_id,
        compound_id: compound,
        lon,
        lat,
    })
}

/// Mark what a drone's camera sees as a case in the compound below it.
#[utoipa::path(post, path = "/api/v1/drones/findings", tag = "drones", operation_id = "file_aerial_finding",
    request_body = NewFinding,
    responses((status = 201, body = FiledFinding), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn file_route(
    axum::extract::State(state): axum::extract::State<DronesState>,
    Can(p, _): Can<perm::DronesFly>,
    ApiJson(new): ApiJson<NewFinding>,
) -> AppResult<(axum::http::StatusCode, ApiJson<FiledFinding>)> {
    let filed = Change::run(&state.db, &p.actor(), async |c| {
        file(&state.db, &state.live, c, &p, &new).await
    })
    .await?;
    Ok((axum::http::StatusCode::CREATED, ApiJson(filed)))
}

pub fn api() -> OpenApiRouter<DronesState> {
    OpenApiRouter::new().routes(routes!(file_route))
}
