//! Reading an entity's trail.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Can, perm};
use crate::error::AppResult;
use crate::http::{ApiJson, ApiQuery, AppState, rfc3339};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrailQuery {
    /// `region`, `control_order`, `site`, `department`, `person`, `team`, `registration`, `account`.
    pub entity: String,
    pub entity_id: String,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrailEvent {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    /// What changed, as recorded.
    #[schema(value_type = Object)]
    pub summary: serde_json::Value,
    pub hash: String,
}

impl From<huoyan_core::audit::AuditEvent> for TrailEvent {
    fn from(e: huoyan_core::audit::AuditEvent) -> Self {
        TrailEvent {
            seq: e.seq,
            at: rfc3339(e.at_ms),
            actor: e.actor,
            action: e.action,
            summary: serde_json::from_str(&e.summary)
                .unwrap_or(serde_json::Value::String(e.summary)),
            hash: e.hash,
        }
    }
}

/// An entity's audit trail, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(TrailQuery), responses((status = 200, body = Vec<TrailEvent>)))]
async fn trail(
    State(state): State<AppState>,
    Can(_p, _): Can<perm::AuditRead>,
    ApiQuery(q): ApiQuery<TrailQuery>,
) -> AppResult<ApiJson<Vec<TrailEvent>>> {
    let paging = crate::http::Paging {
        limit: q.limit,
        offset: q.offset,
    };
    let events = super::trail(
        &state.db,
        &q.entity,
        &q.entity_id,
        paging.limit(),
        paging.offset(),
    )
    .await?;
    Ok(ApiJson(events.into_iter().map(TrailEvent::from).collect()))
}

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(trail))
}
