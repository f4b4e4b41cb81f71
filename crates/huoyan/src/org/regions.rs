//! The regions tree and each region's control level, derived from the orders.

use axum::extract::State;
use huoyan_core::org::{
    ControlOrder, LevelChange, RegionLevel, RegionPath, current_level, level_history,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{FromRow, Row};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit::{Actor, Change, Columns};
use crate::auth::{Can, Principal, perm};
use crate::check::{Check, Required, Text};
use crate::db::{Arg, Db, Sql};
use crate::error::{AppError, AppResult};
use crate::http::{ApiJson, ApiPath, ApiQuery, ListPage, Paging};
use crate::i18n::Locale;
use crate::org::OrgState;
use crate::time::rfc3339;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Control {
    /// `static_management`, `temporary_control`, `high_risk`, `medium_risk`, `low_risk`, `lifted`.
    #[schema(value_type = huoyan_core::org::ControlLevel)]
    pub level: String,
    pub label: String,
    /// When this level began for the region.
    #[schema(format = DateTime)]
    pub since: String,
    pub order_id: i64,
    pub order_number: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Region {
    pub id: i64,
    pub parent_id: Option<i64>,
    #[schema(value_type = huoyan_core::org::RegionLevel)]
    pub level: String,
    /// GB/T 2260 code for official divisions.
    pub code: Option<String>,
    pub name: String,
    /// The control level in force; absent when no order covers the region.
    pub control: Option<Control>,
    /// GeoJSON geometry (RFC 7946), on single-region reads only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub geometry: Option<serde_json::Value>,
    #[serde(skip)]
    pub path: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRegion {
    pub parent_id: Option<i64>,
    #[schema(value_type = huoyan_core::org::RegionLevel)]
    pub level: String,
    #[schema(max_length = 20)]
    pub code: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[schema(value_type = Option<Object>)]
    pub geometry: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct RegionUpdate {
    pub name: Option<Required<100>>,
    pub code: Option<Text<20>>,
    #[schema(value_type = Option<Object>)]
    pub geometry: Option<serde_json::Value>,
}

const COLUMNS: &str = "id, parent_id, level, code, name, path";

/// A region as stored; `geometry` (GeoJSON text) only where a query selects it.
#[derive(Debug, FromRow)]
struct RegionRow {
    id: i64,
    parent_id: Option<i64>,
    level: String,
    code: Option<String>,
    name: String,
    path: String,
    #[sqlx(default)]
    geometry: Option<String>,
}

impl From<RegionRow> for Region {
    fn from(r: RegionRow) -> Self {
        Region {
            id: r.id,
            parent_id: r.parent_id,
            level: r.level,
            code: r.code,
            name: r.name,
            path: r.path,
            control: None,
            geometry: r.geometry.and_then(|g| serde_json::from_str(&g).ok()),
        }
    }
}

fn from_row(r: &sqlx::any::AnyRow) -> Result<Region, sqlx::Error> {
    RegionRow::from_row(r).map(Region::from)
}

/// What an update may change: level, parent and path are fixed when a region is made.
#[derive(Debug, Clone, FromRow)]
struct Editable {
    name: String,
    code: Option<String>,
    geometry: Option<String>,
}

const EDITABLE: &str = "SELECT name, code, geometry FROM regions WHERE id = $1";

impl Columns for Editable {
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        vec![
            ("name", self.name.as_str().into()),
            ("code", self.code.clone().into()),
            ("geometry", self.geometry.clone().into()),
        ]
    }

    /// An outline is too long for the trail: it shows the first 16 hex digits of its SHA-256.
    fn shown(&self, column: &str, value: &Arg) -> serde_json::Value {
        match (column, value) {
            ("geometry", Arg::Text(Some(g))) => format!(
                "sha256:{}",
                &hex::encode(Sha256::digest(g.as_bytes()))[..16]
            )
            .into(),
            _ => value.to_json(),
        }
    }
}

/// Fills `control` for each region from the orders in force at `at_ms`.
pub fn attach_control(regions: &mut [Region], orders: &[ControlOrder], at_ms: i64, locale: Locale) {
    let at = chrono::DateTime::from_timestamp_millis(at_ms).unwrap_or_default();
    for r in regions {
        let lineage = RegionPath::from_stored(r.path.clone()).ids();
        r.control = current_level(&lineage, orders, at).map(|(level, order)| {
            let since = level_history(&lineage, orders)
                .into_iter()
                .rev()
                .find(|h| h.from <= at)
                .map(|h| h.from)
                .unwrap_or(order.effective_from);
            Control {
                level: level.code().to_string(),
                label: if locale.is_en() {
                    level.en()
                } else {
                    level.zh()
                }
                .to_string(),
                since: rfc3339(since.timestamp_millis()),
                order_id: order.id,
                order_number: order.number.clone(),
            }
        });
    }
}

pub async fn get(db: &Db, id: i64) -> AppResult<Region> {
    let row: RegionRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS}, geometry FROM regions WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?
    .ok_or(AppError::NotFound("region"))?;
    Ok(Region::from(row))
}

/// Inserts a region inside an open change; the parent must exist and sit one level up.
pub async fn insert(change: &mut Change, new: &NewRegion) -> AppResult<i64> {
    let mut check = Check::default();
    check.non_empty("name", &new.name, 100);
    check.optional("code", new.code.as_deref().unwrap_or_default(), 20);
    let level = RegionLevel::parse(&new.level);
    if level.is_none() {
        check.fail(
            "level",
            "one of city, district, subdistrict, community, compound, building",
        );
    }
    let geometry = new
        .geometry
        .as_ref()
        .and_then(|g| crate::geo::check_geometry(&mut check, "geometry", g));
    let parent = match new.parent_id {
        Some(pid) => {
            let row = sqlx::query("SELECT level, path FROM regions WHERE id = $1")
                .bind(pid)
                .fetch_optional(&mut *change.tx)
                .await?;
            match row {
                Some(r) => Some((
                    r.try_get::<String, _>("level")?,
                    r.try_get::<String, _>("path")?,
                )),
                None => {
                    check.fail("parent_id", "no such region");
                    None
                }
            }
        }
        None => None,
    };
    if let Some(level) = level {
        let parent_level = parent.as_ref().and_then(|(l, _)| RegionLevel::parse(l));
        let parent_known = new.parent_id.is_none() || parent.is_some();
        if parent_known && !level.fits_under(parent_level) {
            let wanted = level
                .parent_level()
                .map(|l| l.code())
                .unwrap_or("none (the city is the root)");
            check.fail(
                "parent_id",
                format!("a {} must be under a {wanted}", level.code()),
            );
        }
    }
    check.done()?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO regions (parent_id, level, code, name, path, geometry, created_at) VALUES ($1, $2, $3, $4, '', $5, $6) RETURNING id",
    )
    .bind(new.parent_id)
    .bind(&new.level)
    .bind(new.code.as_deref().filter(|c| !c.is_empty()))
    .bind(new.name.trim())
    .bind(geometry)
    .bind(change.at_ms())
    .fetch_one(&mut *change.tx)
    .await?;
    let path = match &parent {
        Some((_, p)) => RegionPath::from_stored(p.clone()).child(id),
        None => RegionPath::root(id),
    };
    sqlx::query("UPDATE regions SET path = $1 WHERE id = $2")
        .bind(path.as_str())
        .bind(id)
        .execute(&mut *change.tx)
        .await?;
    change
        .record("region", id, "create", &serde_json::json!({"parent_id": new.parent_id, "level": new.level, "code": new.code, "name": new.name.trim(), "geometry": new.geometry.is_some()}))
        .await?;
    Ok(id)
}

pub async fn create(db: &Db, actor: &Actor, new: &NewRegion) -> AppResult<i64> {
    let id = Change::run(db, actor, async |change| insert(change, new).await).await?;
    Ok(id)
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RegionFilter {
    /// Only these regions: ids separated by commas, at most 100.
    #[param(schema_with = ids_param)]
    pub ids: Option<Text<1000>>,
    /// city, district, subdistrict, community, compound or building.
    #[param(schema_with = crate::http::empty_or::<huoyan_core::org::RegionLevel>)]
    pub level: Option<String>,
    pub parent_id: Option<i64>,
    /// Regions inside this one (any depth).
    pub within: Option<i64>,
    /// Part of the name or code.
    #[param(inline)]
    pub q: Option<Text<100>>,
    /// Only regions at this control level now (`none` for uncontrolled ones); applied after paging.
    pub control: Option<String>,
    /// Evaluate control levels at this RFC 3339 time instead of now.
    #[param(schema_with = crate::http::empty_or::<crate::http::Instant>)]
    pub at: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

pub async fn list(db: &Db, f: &RegionFilter, locale: Locale) -> AppResult<ListPage<Region>> {
    select(db, f, locale, None).await
}

/// The regions matching `f` with their control levels; with `outlines`, only those with an
/// outline in that caller's region subtree, each with its outline (`outlines::list`).
pub(super) async fn select(
    db: &Db,
    f: &RegionFilter,
    locale: Locale,
    outlines: Option<&Principal>,
) -> AppResult<ListPage<Region>> {
    let mut filter = Sql::new(" WHERE 1 = 1");
    if let Some(ids) = f.ids.as_deref().filter(|i| !i.trim().is_empty()) {
        let ids = parse_ids(ids)?;
        filter.push(" AND id IN (");
        for (i, id) in ids.into_iter().enumerate() {
            if i > 0 {
                filter.push(", ");
            }
            filter.bind(id);
        }
        filter.push(")");
    }
    if let Some(level) = f.level.as_deref().filter(|l| !l.is_empty()) {
        if RegionLevel::parse(level).is_none() {
            return Err(AppError::invalid(
                "level",
                "one of city, district, subdistrict, community, compound, building",
            ));
        }
        filter.push(" AND level = ").bind(level);
    }
    if let Some(p) = f.parent_id {
        filter.push(" AND parent_id = ").bind(p);
    }
    if let Some(w) = f.within {
        let within = get(db, w).await?;
        filter
            .push(" AND path LIKE ")
            .bind(format!("{}%", within.path))
            .push(" AND id <> ")
            .bind(w);
    }
    if let Some(q) = f.q.as_deref().filter(|q| !q.is_empty()) {
        filter
            .push(" AND (name")
            .like("%", q, "%")
            .push(" OR code")
            .like("", q, "%")
            .push(")");
    }
    let at_ms = match f.at.as_deref().filter(|a| !a.is_empty()) {
        Some(a) => crate::time::parse_time("at", a).map_err(|e| AppError::Invalid(vec![e]))?,
        None => crate::time::now_ms(),
    };
    let paging = Paging {
        limit: f.limit,
        offset: f.offset,
    };
    let columns = match outlines {
        Some(p) => {
            p.scope_region(&mut filter, "path");
            filter.push(" AND geometry IS NOT NULL");
            format!("{COLUMNS}, geometry")
        }
        None => COLUMNS.to_string(),
    };
    let mut page = crate::http::fetch_page(
        db, &columns, "regions", &filter, "code, id", &paging, from_row,
    )
    .await?;
    let orders = super::orders::rules(db).await?;
    attach_control(&mut page.items, &orders, at_ms, locale);
    if let Some(c) = f.control.as_deref().filter(|c| !c.is_empty()) {
        page.items.retain(|r| {
            r.control
                .as_ref()
                .map(|x| x.level.as_str())
                .unwrap_or("none")
                == c
        });
    }
    Ok(page)
}

/// The document's schema of `ids`: what `parse_ids` takes (blank for none).
fn ids_param() -> utoipa::openapi::schema::Schema {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .pattern(Some("^ *([0-9]{1,18} *(, *[0-9]{1,18} *){0,99})?$"))
        .max_length(Some(1000))
        .into()
}

/// The ids of a comma-separated list: at most 100, each a number.
fn parse_ids(text: &str) -> AppResult<Vec<i64>> {
    let ids = text
        .split(',')
        .map(|i| i.trim().parse::<i64>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| AppError::invalid("ids", "expected region ids separated by commas"))?;
    if ids.len() > 100 {
        return Err(AppError::invalid("ids", "at most 100 ids"));
    }
    Ok(ids)
}

/// List regions with filters; each carries its current control level.
#[utoipa::path(get, path = "/api/v1/regions", tag = "org", operation_id = "list_regions", params(RegionFilter), responses((status = 200, body = ListPage<Region>), (status = 404, description = "the region named by `within` does not exist", body = crate::error::ErrorBody)))]
async fn list_route(
    State(state): State<OrgState>,
    Can(_p, _): Can<perm::RegionsRead>,
    locale: Locale,
    ApiQuery(f): ApiQuery<RegionFilter>,
) -> AppResult<ApiJson<ListPage<Region>>> {
    Ok(ApiJson(list(&state.db, &f, locale).await?))
}

/// Add a region under its parent (one level up).
#[utoipa::path(post, path = "/api/v1/regions", tag = "org", operation_id = "create_region", request_body = NewRegion, responses((status = 201, body = Region), (status = 422, body = crate::error::ErrorBody)))]
async fn create_route(
    State(state): State<OrgState>,
    Can(p, _): Can<perm::RegionsWrite>,
    locale: Locale,
    ApiJson(new): ApiJson<NewRegion>,
) -> AppResult<(axum::http::StatusCode, ApiJson<Region>)> {
    let id = create(&state.db, &p.actor(), &new).await?;
    Ok((
        axum::http::StatusCode::CREATED,
        ApiJson(with_control(&state.db, id, locale).await?),
    ))
}

pub async fn with_control(db: &Db, id: i64, locale: Locale) -> AppResult<Region> {
    let mut region = get(db, id).await?;
    let orders = super::orders::rules(db).await?;
    attach_control(
        std::slice::from_mut(&mut region),
        &orders,
        crate::time::now_ms(),
        locale,
    );
    Ok(region)
}

/// One region with its geometry and control level.
#[utoipa::path(get, path = "/api/v1/regions/{id}", tag = "org", operation_id = "get_region", params(("id" = i64, Path)), responses((status = 200, body = Region), (status = 404, body = crate::error::ErrorBody)))]
async fn get_route(
    State(state): State<OrgState>,
    Can(_p, _): Can<perm::RegionsRead>,
    locale: Locale,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<ApiJson<Region>> {
    Ok(ApiJson(with_control(&state.db, id, locale).await?))
}

/// Renames a region or sets its code or outline, deciding on the row as the change reads it.
pub async fn update(db: &Db, actor: &Actor, id: i64, u: &RegionUpdate) -> AppResult<()> {
    Change::run(db, actor, async |change| {
        let before: Editable = change
            .fetch(EDITABLE, id)
            .await?
            .ok_or(AppError::NotFound("region"))?;
        let mut after = before.clone();
        let mut check = Check::default();
        if let Some(n) = &u.name {
            check.non_empty("name", n, 100);
            after.name = n.trim().to_string();
        }
        if let Some(c) = &u.code {
            after.code = Some(c.trim().to_string()).filter(|c| !c.is_empty());
        }
        if let Some(g) = &u.geometry {
            after.geometry = crate::geo::check_geometry(&mut check, "geometry", g);
        }
        check.done()?;
        change
            .update("region", "regions", id, &before, &after)
            .await?;
        Ok(())
    })
    .await
}

/// Rename a region, set its code or geometry.
#[utoipa::path(patch, path = "/api/v1/regions/{id}", tag = "org", operation_id = "update_region", params(("id" = i64, Path)), request_body = RegionUpdate, responses((status = 200, body = Region)))]
async fn update_route(
    State(state): State<OrgState>,
    Can(p, _): Can<perm::RegionsWrite>,
    locale: Locale,
    ApiPath(id): ApiPath<i64>,
    ApiJson(u): ApiJson<RegionUpdate>,
) -> AppResult<ApiJson<Region>> {
    update(&state.db, &p.actor(), id, &u).await?;
    Ok(ApiJson(with_control(&state.db, id, locale).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LevelStep {
    #[schema(format = DateTime)]
    pub from: String,
    /// Absent: no order in force from then on.
    #[schema(value_type = Option<huoyan_core::org::ControlLevel>)]
    pub level: Option<String>,
    pub order_id: Option<i64>,
    pub order_number: Option<String>,
}

impl From<LevelChange> for LevelStep {
    fn from(c: LevelChange) -> Self {
        LevelStep {
            from: rfc3339(c.from.timestamp_millis()),
            level: c.level.map(|l| l.code().to_string()),
            order_id: c.order_id,
            order_number: c.order_number,
        }
    }
}

pub async fn history(db: &Db, id: i64) -> AppResult<Vec<LevelChange>> {
    let region = get(db, id).await?;
    let orders = super::orders::rules(db).await?;
    Ok(level_history(
        &RegionPath::from_stored(region.path).ids(),
        &orders,
    ))
}

/// The region's control level over time, oldest first.
#[utoipa::path(get, path = "/api/v1/regions/{id}/levels", tag = "org", operation_id = "list_region_levels", params(("id" = i64, Path)), responses((status = 200, body = Vec<LevelStep>)))]
async fn levels_route(
    State(state): State<OrgState>,
    Can(_p, _): Can<perm::RegionsRead>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<ApiJson<Vec<LevelStep>>> {
    Ok(ApiJson(
        history(&state.db, id)
            .await?
            .into_iter()
            .map(LevelStep::from)
            .collect(),
    ))
}

/// The region chain from the root to `id`, for breadcrumbs and labels.
pub async fn lineage(db: &Db, path: &str) -> AppResult<Vec<(i64, String, String)>> {
    // The ancestors are exactly the regions whose path is a prefix of this one.
    let rows = sqlx::query(
        "SELECT id, name, level FROM regions WHERE $1 LIKE path || '%' ORDER BY LENGTH(path)",
    )
    .bind(path)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("name")?, r.try_get("level")?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(AppError::from)
}

/// A human label for a principal's scope: the region, department or team name.
pub async fn scope_label(db: &Db, p: &Principal, locale: Locale) -> AppResult<String> {
    let q = if let Some(id) = p.scope.region_id {
        Some(("SELECT name FROM regions WHERE id = $1", id))
    } else if let Some(id) = p.scope.department_id {
        Some(("SELECT name FROM departments WHERE id = $1", id))
    } else {
        p.scope
            .team_id
            .map(|id| ("SELECT name FROM teams WHERE id = $1", id))
    };
    match q {
        Some((sql, id)) => Ok(sqlx::query_scalar(sql)
            .bind(id)
            .fetch_optional(&db.pool)
            .await?
            .unwrap_or_default()),
        None => Ok(if locale.is_en() {
            "Whole city"
        } else {
            "全市"
        }
        .to_string()),
    }
}

/// Where a point lies among the regions that have outlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Located {
    /// Outside the city's outline (when it has one).
    OutsideCity,
    /// Inside the city, in this compound.
    Compound(i64),
    /// Inside the city (or no outlines to tell), in no compound with an outline.
    Unmatched,
}

/// Each region's level and path, read once: both are fixed when the region is made (the path is
/// its ancestors' ids, and regions are never moved or deleted), so the copy cannot go stale.
/// Saves a round trip on every report and check-in, which name a compound to validate.
#[derive(Clone, Default)]
pub struct Lineages(
    std::sync::Arc<std::sync::RwLock<std::collections::HashMap<i64, (RegionLevel, String)>>>,
);

impl Lineages {
    /// Region `id`'s level and path, or None when there is no such region.
    pub async fn get(&self, db: &Db, id: i64) -> AppResult<Option<(RegionLevel, String)>> {
        if let Some(known) = self.0.read().expect("not poisoned").get(&id) {
            return Ok(Some(known.clone()));
        }
        let Some(row) = sqlx::query("SELECT level, path FROM regions WHERE id = $1")
            .bind(id)
            .fetch_optional(&db.pool)
            .await?
        else {
            return Ok(None);
        };
        let level: String = row.try_get("level")?;
        let level = RegionLevel::parse(&level)
            .ok_or_else(|| anyhow::anyhow!("region {id} has unknown level {level}"))?;
        let lineage = (level, row.try_get::<String, _>("path")?);
        self.0
            .write()
            .expect("not poisoned")
            .insert(id, lineage.clone());
        Ok(Some(lineage))
    }
}

/// Matches a point to the compound whose outline contains it, and tells a point outside the
/// city. Regions without an outline are not considered.
pub async fn locate(db: &Db, lon: f64, lat: f64) -> AppResult<Located> {
    let rows = sqlx::query(
        "SELECT id, level, geometry FROM regions WHERE level IN ('city', 'compound') AND geometry IS NOT NULL ORDER BY id",
    )
    .fetch_all(&db.pool)
    .await?;
    let (mut cities, mut in_city, mut compound) = (0, false, None);
    for r in &rows {
        let (id, level, text): (i64, String, String) = (
            r.try_get("id")?,
            r.try_get("level")?,
            r.try_get("geometry")?,
        );
        let is_city = level == "city";
        if (is_city && in_city) || (!is_city && compound.is_some()) {
            continue;
        }
        let Ok(geometry) = serde_json::from_str::<geojson::Geometry>(&text) else {
            continue;
        };
        let inside = huoyan_core::org::places::contains(&geometry, lon, lat);
        if is_city {
            cities += 1;
            in_city |= inside;
        } else if inside {
            compound = Some(id);
        }
    }
    Ok(match compound {
        _ if cities > 0 && !in_city => Located::OutsideCity,
        Some(id) => Located::Compound(id),
        None => Located::Unmatched,
    })
}

/// Whether region `id`'s outline contains the point; false when it has none.
pub async fn outline_contains(db: &Db, id: i64, lon: f64, lat: f64) -> AppResult<bool> {
    let text: Option<String> = sqlx::query_scalar("SELECT geometry FROM regions WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .flatten();
    Ok(text
        .and_then(|t| serde_json::from_str::<geojson::Geometry>(&t).ok())
        .is_some_and(|g| huoyan_core::org::places::contains(&g, lon, lat)))
}

pub fn api() -> OpenApiRouter<OrgState> {
    OpenApiRouter::new()
        .routes(routes!(list_route, create_route))
        .routes(routes!(get_route, update_route))
        .routes(routes!(levels_route))
}
