//! Reading an entity's audit trail.

use axum::extract::State;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit::TrailEvent;
use crate::auth::{Can, perm};
use crate::error::AppResult;
use crate::http::{ApiJson, ApiQuery};
use crate::web::Base;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrailQuery {
    /// `region`, `control_order`, `site`, `department`, `person`, `team`, `registration`, `account`.
    pub entity: String,
    pub entity_id: String,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// An entity's audit trail, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", operation_id = "list_audit_events", params(TrailQuery), responses((status = 200, body = Vec<TrailEvent>)))]
async fn trail(
    State(state): State<Base>,
    Can(_p, _): Can<perm::AuditRead>,
    ApiQuery(q): ApiQuery<TrailQuery>,
) -> AppResult<ApiJson<Vec<TrailEvent>>> {
    let paging = crate::http::Paging {
        limit: q.limit,
        offset: q.offset,
    };
    let events = crate::audit::trail(
        &state.db,
        &q.entity,
        &q.entity_id,
        paging.limit(),
        paging.offset(),
    )
    .await?;
    Ok(ApiJson(events.into_iter().map(TrailEvent::from).collect()))
}

pub fn api() -> OpenApiRouter<Base> {
    OpenApiRouter::new().routes(routes!(trail))
}
