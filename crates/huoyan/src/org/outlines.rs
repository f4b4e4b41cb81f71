//! The regions on the map: their outlines as GeoJSON with their control levels, and the centre of
//! a compound's outline, where a case reported without a point is pinned.

use std::collections::{BTreeSet, HashMap};

use axum::extract::State;
use sqlx::Row;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::regions::{Region, RegionFilter, select};
use crate::auth::{Can, Principal, perm};
use crate::db::{Db, Sql};
use crate::error::AppResult;
use crate::geo::{Feature, FeatureCollection};
use crate::http::{ApiJson, ApiQuery};
use crate::i18n::Locale;
use crate::org::OrgState;

/// The outlined regions matching `f` in the caller's region subtree (a caller confined otherwise
/// sees the city's, as the regions list does), each with its control level.
pub async fn list(
    db: &Db,
    p: &Principal,
    f: &RegionFilter,
    locale: Locale,
) -> AppResult<FeatureCollection<Region>> {
    let page = select(db, f, locale, Some(p)).await?;
    let features = page
        .items
        .into_iter()
        .filter_map(|mut r| {
            let geometry = r.geometry.take()?;
            Some(Feature::new(r.id, geometry, r))
        })
        .collect();
    Ok(FeatureCollection::new(features, page.total, page.limit))
}

/// Regions' outlines as GeoJSON (RFC 7946), each feature's properties the region with its control
/// level now (or at `at`). Only regions that have an outline, in the caller's region subtree; the
/// filters are the regions list's.
#[utoipa::path(get, path = "/api/v1/regions/geojson", tag = "org", operation_id = "list_region_outlines", params(RegionFilter),
    responses((status = 200, description = "the outlines, at most `limit` (500) of `total`", body = FeatureCollection<Region>),
        (status = 404, description = "the region named by `within` does not exist", body = crate::error::ErrorBody)))]
async fn list_route(
    State(state): State<OrgState>,
    Can(p, _): Can<perm::RegionsRead>,
    locale: Locale,
    ApiQuery(f): ApiQuery<RegionFilter>,
) -> AppResult<ApiJson<FeatureCollection<Region>>> {
    Ok(ApiJson(list(&state.db, &p, &f, locale).await?))
}

/// The centre (lon, lat) of each of `ids`' outlines; regions without one are left out.
pub async fn centres(db: &Db, ids: &BTreeSet<i64>) -> AppResult<HashMap<i64, (f64, f64)>> {
    let mut out = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let mut sql =
        Sql::new("SELECT id, geometry FROM regions WHERE geometry IS NOT NULL AND id IN (");
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(*id);
    }
    sql.push(")");
    for row in sql.query().fetch_all(&db.pool).await? {
        let text: String = row.try_get("geometry")?;
        let centre = serde_json::from_str::<geojson::Geometry>(&text)
            .ok()
            .as_ref()
            .and_then(huoyan_core::org::places::centre);
        if let Some(c) = centre {
            out.insert(row.try_get("id")?, c);
        }
    }
    Ok(out)
}

pub fn api() -> OpenApiRouter<OrgState> {
    OpenApiRouter::new().routes(routes!(list_route))
}
