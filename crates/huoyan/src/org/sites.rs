//! Sites: named places of a kind in a region (sampling points, zone gates, supply stations…).

use axum::extract::State;
use huoyan_core::org::SiteKind;
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit::{Change, Columns};
use crate::auth::{Can, Principal, perm};
use crate::check::{Check, Required, Text};
use crate::db::{Arg, Db, Float8, Sql};
use crate::error::{AppError, AppResult};
use crate::http::{ApiJson, ApiPath, ApiQuery, ListPage, Paging};
use crate::org::OrgState;
use crate::org::scope::Reach;

#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct Site {
    pub id: i64,
    pub region_id: i64,
    #[schema(value_type = huoyan_core::org::SiteKind)]
    pub kind: String,
    pub name: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub address: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSite {
    pub region_id: i64,
    /// sampling_point, zone_gate, supply_station, community_office, quarantine_site, vendor.
    #[schema(value_type = huoyan_core::org::SiteKind)]
    pub kind: String,
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub address: String,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct SiteUpdate {
    pub name: Option<Required<100>>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub address: Option<Text<200>>,
}

const COLUMNS: &str = "id, region_id, kind, name, lon, lat, address";
const BY_ID: &str = "SELECT id, region_id, kind, name, lon, lat, address FROM sites WHERE id = $1";

/// What an update may change.
impl Columns for Site {
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        vec![
            ("name", self.name.as_str().into()),
            ("lon", self.lon.into()),
            ("lat", self.lat.into()),
            ("address", self.address.as_str().into()),
        ]
    }
}

fn from_row(r: &sqlx::any::AnyRow) -> Result<Site, sqlx::Error> {
    Site::from_row(r)
}

pub async fn get(db: &Db, id: i64) -> AppResult<Site> {
    sqlx::query_as(BY_ID)
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(AppError::NotFound("site"))
}

/// The sites of one region (not its subtree).
/// The compound a site serves, where a case about it is filed: its own region when that is a
/// compound, else the compound of its region whose outline holds the site's point, else the one
/// whose outline's centre lies nearest (a community's sampling point in the street between
/// compounds); None when its region holds no compound.
pub async fn compound_of(db: &Db, site: &Site) -> AppResult<Option<i64>> {
    let region = crate::org::regions::get(db, site.region_id).await?;
    if region.level == huoyan_core::org::RegionLevel::Compound.code() {
        return Ok(Some(region.id));
    }
    let within: std::collections::BTreeSet<i64> = sqlx::query_scalar(
        "SELECT id FROM regions WHERE level = 'compound' AND path LIKE $1 ORDER BY id",
    )
    .bind(format!("{}%", region.path))
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .collect();
    let (Some(lon), Some(lat)) = (site.lon, site.lat) else {
        return Ok(within.first().copied());
    };
    if let crate::org::regions::Located::Compound(c) =
        crate::org::regions::locate(db, lon, lat).await?
        && within.contains(&c)
    {
        return Ok(Some(c));
    }
    let centres = crate::org::outlines::centres(db, &within).await?;
    let nearest = centres
        .iter()
        .map(|(id, (x, y))| {
            (
                huoyan_core::inspections::visits::distance_m([lon, lat], [*x, *y]),
                *id,
            )
        })
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, id)| id);
    Ok(nearest.or_else(|| within.first().copied()))
}

pub async fn in_region(db: &Db, region_id: i64) -> AppResult<Vec<Site>> {
    Ok(
        sqlx::query_as("SELECT id, region_id, kind, name, lon, lat, address FROM sites WHERE region_id = $1 ORDER BY id")
            .bind(region_id)
            .fetch_all(&db.pool)
            .await?,
    )
}

pub async fn insert(change: &mut Change, new: &NewSite) -> AppResult<i64> {
    let mut check = Check::default();
    check.non_empty("name", &new.name, 100);
    check.optional("address", &new.address, 200);
    if SiteKind::parse(&new.kind).is_none() {
        check.fail("kind", "one of sampling_point, zone_gate, supply_station, community_office, quarantine_site, vendor");
    }
    crate::geo::check_point(&mut check, new.lon, new.lat);
    if !change.exists("regions", new.region_id).await? {
        check.fail("region_id", "no such region");
    }
    check.done()?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO sites (region_id, kind, name, lon, lat, address, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(new.region_id)
    .bind(&new.kind)
    .bind(new.name.trim())
    .bind(Float8(new.lon))
    .bind(Float8(new.lat))
    .bind(&new.address)
    .bind(change.at_ms())
    .fetch_one(&mut *change.tx)
    .await?;
    change.record("site", id, "create", &serde_json::json!({"region_id": new.region_id, "kind": new.kind, "name": new.name.trim(), "lon": new.lon, "lat": new.lat})).await?;
    Ok(id)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SiteFilter {
    pub kind: Option<String>,
    /// Sites in this region's subtree.
    pub within: Option<i64>,
    #[param(inline)]
    pub q: Option<Text<100>>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// List sites.
#[utoipa::path(get, path = "/api/v1/sites", tag = "org", operation_id = "list_sites", params(SiteFilter), responses((status = 200, body = ListPage<Site>), (status = 404, description = "the region named by `within` does not exist", body = crate::error::ErrorBody)))]
async fn list_route(
    State(state): State<OrgState>,
    Can(_p, _): Can<perm::SitesRead>,
    ApiQuery(f): ApiQuery<SiteFilter>,
) -> AppResult<ApiJson<ListPage<Site>>> {
    let mut filter = Sql::new(" WHERE 1 = 1");
    if let Some(k) = f.kind.as_deref().filter(|k| !k.is_empty()) {
        filter.push(" AND kind = ").bind(k);
    }
    if let Some(w) = f.within {
        let region = super::regions::get(&state.db, w).await?;
        filter
            .push(" AND region_id IN (SELECT id FROM regions WHERE path LIKE ")
            .bind(format!("{}%", region.path))
            .push(")");
    }
    if let Some(q) = f.q.as_deref().filter(|q| !q.is_empty()) {
        filter.push(" AND name").like("%", q, "%");
    }
    let paging = Paging {
        limit: f.limit,
        offset: f.offset,
    };
    Ok(ApiJson(
        crate::http::fetch_page(
            &state.db, COLUMNS, "sites", &filter, "id", &paging, from_row,
        )
        .await?,
    ))
}

/// Add a site.
#[utoipa::path(post, path = "/api/v1/sites", tag = "org", operation_id = "create_site", request_body = NewSite, responses((status = 201, body = Site), (status = 422, body = crate::error::ErrorBody)))]
async fn create_route(
    State(state): State<OrgState>,
    Can(p, _): Can<perm::SitesWrite>,
    ApiJson(new): ApiJson<NewSite>,
) -> AppResult<(axum::http::StatusCode, ApiJson<Site>)> {
    let id = Change::run(&state.db, &p.actor(), async |change| {
        let mut check = Check::default();
        Reach::of(change, &p)
            .await?
            .region(change, &mut check, "region_id", new.region_id)
            .await?;
        check.done()?;
        insert(change, &new).await
    })
    .await?;
    Ok((
        axum::http::StatusCode::CREATED,
        ApiJson(get(&state.db, id).await?),
    ))
}

/// One site.
#[utoipa::path(get, path = "/api/v1/sites/{id}", tag = "org", operation_id = "get_site", params(("id" = i64, Path)), responses((status = 200, body = Site)))]
async fn get_route(
    State(state): State<OrgState>,
    Can(_p, _): Can<perm::SitesRead>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<ApiJson<Site>> {
    Ok(ApiJson(get(&state.db, id).await?))
}

/// Changes a site in the caller's reach, deciding on the row as the change reads it.
pub async fn update(db: &Db, p: &Principal, id: i64, u: &SiteUpdate) -> AppResult<()> {
    Change::run(db, &p.actor(), async |change| {
        let before: Site = change
            .fetch(BY_ID, id)
            .await?
            .ok_or(AppError::NotFound("site"))?;
        let mut check = Check::default();
        Reach::of(change, p)
            .await?
            .region(change, &mut check, "region_id", before.region_id)
            .await?;
        let mut after = before.clone();
        if let Some(n) = &u.name {
            check.non_empty("name", n, 100);
            after.name = n.trim().to_string();
        }
        if u.lon.is_some() {
            after.lon = u.lon;
        }
        if u.lat.is_some() {
            after.lat = u.lat;
        }
        if let Some(a) = &u.address {
            after.address = a.to_string();
        }
        crate::geo::check_point(&mut check, after.lon, after.lat);
        check.done()?;
        change.update("site", "sites", id, &before, &after).await?;
        Ok(())
    })
    .await
}

/// Rename or move a site.
#[utoipa::path(patch, path = "/api/v1/sites/{id}", tag = "org", operation_id = "update_site", params(("id" = i64, Path)), request_body = SiteUpdate, responses((status = 200, body = Site)))]
async fn update_route(
    State(state): State<OrgState>,
    Can(p, _): Can<perm::SitesWrite>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(u): ApiJson<SiteUpdate>,
) -> AppResult<ApiJson<Site>> {
    update(&state.db, &p, id, &u).await?;
    Ok(ApiJson(get(&state.db, id).await?))
}

pub fn api() -> OpenApiRouter<OrgState> {
    OpenApiRouter::new()
        .routes(routes!(list_route, create_route))
        .routes(routes!(get_route, update_route))
}
