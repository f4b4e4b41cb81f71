//! A sortie sent to its vehicle over the link, and the vehicle's acknowledgement recorded. The
//! upload takes seconds of radio round trips, so no transaction is held open over it: the squad is
//! checked first, and the acknowledged upload is recorded after.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::DronesState;
use crate::audit::Change;
use crate::auth::{Can, perm};
use crate::error::{AppError, AppResult, FieldError};
use crate::http::{ApiJson, ApiPath};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadRequest {
    /// The sortie's number in the mission.
    pub sortie: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Uploaded {
    pub drone_id: i64,
    pub system_id: i64,
    /// Items the vehicle accepted, home included.
    pub items: usize,
    #[schema(format = DateTime)]
    pub uploaded_at: String,
}

/// Upload a sortie to its drone over MAVLink; answers once the vehicle acknowledged it (409 when
/// the vehicle is not on the link, refuses, or stops answering).
#[utoipa::path(post, path = "/api/v1/drones/missions/{id}/upload", tag = "drones", operation_id = "upload_sortie",
    params(("id" = i64, Path)), request_body = UploadRequest,
    responses((status = 200, body = Uploaded), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn upload_route(
    axum::extract::State(state): axum::extract::State<DronesState>,
    Can(p, _): Can<perm::DronesFly>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<UploadRequest>,
) -> AppResult<ApiJson<Uploaded>> {
    let (drone, ground) = super::missions::ground_mission(&state.db, id, req.sortie).await?;
    let (team, system_id): (i64, i64) =
        sqlx::query_as("SELECT team_id, system_id FROM drones WHERE id = $1")
            .bind(drone)
            .fetch_one(&state.db.pool)
            .await?;
    if p.scope.team_id != Some(team) {
        return Err(AppError::OutsideScope(vec![FieldError::new(
            "sortie",
            "flown by a drone of another squad",
        )]));
    }
    let link = state.link.get().ok_or_else(|| {
        AppError::Conflict(vec![FieldError::new(
            "sortie",
            "the server has no MAVLink link (start it with --mavlink)",
        )])
    })?;
    let system = u8::try_from(system_id).map_err(anyhow::Error::from)?;
    link.upload(system, &ground.items).await?;
    let at = Change::run(&state.db, &p.actor(), async |c| {
        sqlx::query(
            "INSERT INTO drone_uploads (mission_id, sortie, drone_id, items, uploaded_by, uploaded_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(req.sortie)
        .bind(drone)
        .bind(i64::try_from(ground.items.len()).map_err(anyhow::Error::from)?)
        .bind(p.account_id)
        .bind(c.at_ms())
        .execute(&mut *c.tx)
        .await?;
        c.record(
            "drone_mission",
            id,
            "upload",
            &serde_json::json!({"sortie": req.sortie, "drone_id": drone, "items": ground.items.len()}),
        )
        .await?;
        Ok(c.at_ms())
    })
    .await?;
    Ok(ApiJson(Uploaded {
        drone_id: drone,
        system_id,
        items: ground.items.len(),
        uploaded_at: crate::time::rfc3339(at),
    }))
}

pub fn api() -> OpenApiRouter<DronesState> {
    OpenApiRouter::new().routes(routes!(upload_route))
}
