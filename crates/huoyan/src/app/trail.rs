//! Reading an entity's audit trail. The composition root serves it because an entity's
//! visibility is its own context's rule: a trail is shown only to a caller who may see the
//! entity itself (404 otherwise, as the entity's own route answers), so a district's commander
//! reads neither another district's cases and people nor their trails.

use axum::extract::State;
use huoyan_core::auth::Scope;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit::TrailEvent;
use crate::auth::{Can, Principal, perm};
use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::http::{ApiJson, ApiQuery};
use crate::org::{orders, people, regions, sites, teams};
use crate::web::Base;

/// The kinds of entity the trail records.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TrailEntity {
    Case,
    Region,
    ControlOrder,
    Site,
    Department,
    Person,
    Team,
    Registration,
    Account,
    /// A compound's daily check-ins (the id is the compound's). An inspector's check-ins are in
    /// their team's trail, a drone operator's in their account's.
    CheckIn,
    /// A discipline record: only for the roles that may see the discipline track (for every
    /// other role, every id is not found).
    DisciplineFlag,
}

impl TrailEntity {
    /// The name events are recorded under.
    fn recorded_as(self) -> &'static str {
        match self {
            TrailEntity::Case => "case",
            TrailEntity::Region => "region",
            TrailEntity::ControlOrder => "control_order",
            TrailEntity::Site => "site",
            TrailEntity::Department => "department",
            TrailEntity::Person => "person",
            TrailEntity::Team => "team",
            TrailEntity::Registration => "registration",
            TrailEntity::Account => "account",
            TrailEntity::CheckIn => "check_in",
            TrailEntity::DisciplineFlag => "discipline_flag",
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrailQuery {
    #[param(inline)]
    pub entity: TrailEntity,
    #[param(minimum = 1)]
    pub entity_id: i64,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// Whether region `path` lies within the caller's scope. A caller confined other than by region
/// sees no region's trail.
fn sees_path(p: &Principal, path: &str) -> bool {
    p.region_in_scope(path) && (p.scope_path.is_some() || p.scope == Scope::default())
}

async fn sees_region(db: &Db, p: &Principal, id: i64) -> AppResult<bool> {
    Ok(sees_path(p, &regions::get(db, id).await?.path))
}

/// `Ok` when the caller may see the entity, `NotFound` when not (as if it did not exist).
async fn visible(db: &Db, p: &Principal, entity: TrailEntity, id: i64) -> AppResult<()> {
    let seen = match entity {
        TrailEntity::Case => crate::cases::get_scoped(db, p, id).await.map(|_| true)?,
        TrailEntity::Person => people::get_scoped(db, p, id).await.map(|_| true)?,
        TrailEntity::Registration => {
            let person = teams::registration_person(db, id).await?;
            people::get_scoped(db, p, person).await.map(|_| true)?
        }
        TrailEntity::Region | TrailEntity::CheckIn => sees_region(db, p, id).await?,
        TrailEntity::Site => sees_region(db, p, sites::get(db, id).await?.region_id).await?,
        TrailEntity::Team => match teams::get_scoped(db, p, id).await?.region_id {
            Some(region) => sees_region(db, p, region).await?,
            // A city-wide team (a supervision team) concerns every district.
            None => true,
        },
        TrailEntity::ControlOrder => {
            // An order concerns the districts it covers and the compounds within them.
            let mut concerns = false;
            for region in orders::get(db, id).await?.region_ids {
                let path = regions::get(db, region).await?.path;
                let within_order = p
                    .scope_path
                    .as_deref()
                    .is_some_and(|scope| scope.starts_with(path.as_str()));
                concerns |= within_order || sees_path(p, &path);
            }
            concerns
        }
        TrailEntity::DisciplineFlag => {
            huoyan_core::inspections::discipline::may_see(p.role)
                && crate::inspections::discipline_record(db, id).await.is_ok()
        }
        // The registry of departments is the whole city's.
        TrailEntity::Department => crate::org::departments::get(db, id).await.map(|_| true)?,
        // An account is seen where what it is confined to is seen; an unconfined one (an
        // administrator) only by the unconfined.
        TrailEntity::Account => {
            let scope = crate::auth::accounts::get(db, id).await?.scope;
            if let Some(region) = scope.region_id {
                sees_region(db, p, region).await?
            } else if let Some(team) = scope.team_id {
                teams::get_scoped(db, p, team).await.map(|_| true)?
            } else {
                scope.department_id.is_some() || p.scope == Scope::default()
            }
        }
    };
    if seen {
        Ok(())
    } else {
        Err(AppError::NotFound(entity.recorded_as()))
    }
}

/// An entity's audit trail, newest first; only for an entity the caller may see.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", operation_id = "list_audit_events", params(TrailQuery),
    responses((status = 200, description = "the entity's events, newest first", body = Vec<TrailEvent>),
        (status = 404, description = "no such entity in the caller's scope", body = crate::error::ErrorBody)))]
async fn trail(
    State(state): State<Base>,
    Can(p, _): Can<perm::AuditRead>,
    ApiQuery(q): ApiQuery<TrailQuery>,
) -> AppResult<ApiJson<Vec<TrailEvent>>> {
    visible(&state.db, &p, q.entity, q.entity_id).await?;
    let paging = crate::http::Paging {
        limit: q.limit,
        offset: q.offset,
    };
    let events = crate::audit::trail(
        &state.db,
        q.entity.recorded_as(),
        &q.entity_id.to_string(),
        paging.limit(),
        paging.offset(),
    )
    .await?;
    Ok(ApiJson(events.into_iter().map(TrailEvent::from).collect()))
}

pub fn api() -> OpenApiRouter<Base> {
    OpenApiRouter::new().routes(routes!(trail))
}
