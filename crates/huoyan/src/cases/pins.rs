//! The cases on the map: the list's cases, with the list's filters and scope, as GeoJSON points.
//! A case reported without a point is pinned at its compound's centre.

use std::collections::BTreeSet;

use axum::extract::State;
use huoyan_core::cases::{CaseState, Category, Priority};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{CaseFilter, CasesState};
use crate::auth::{Can, Principal, perm};
use crate::db::Db;
use crate::error::AppResult;
use crate::geo::{Feature, FeatureCollection};
use crate::http::{ApiJson, ApiQuery};
use crate::i18n::Locale;

/// A case as its pin shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CasePin {
    /// As pages write it, `#` and the id.
    pub number: String,
    /// The start of the description.
    pub title: String,
    pub state: CaseState,
    pub state_label: &'static str,
    pub priority: Priority,
    pub priority_label: &'static str,
    pub category: Category,
    pub category_label: &'static str,
    /// An open task is past its deadline.
    pub overdue: bool,
    /// Where the pin stands: the point reported, or the compound's centre.
    pub placed: Placed,
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Placed {
    Reported,
    Compound,
}

/// The most pins one answer carries (a page of the list at its largest).
const MOST: i64 = 500;

/// The cases matching `f` in the caller's scope, in the list's order, as pins: at most `f.limit`
/// (500 when absent). A case with neither a point nor a compound outline has no pin, but counts
/// in `total`.
pub async fn pins(
    db: &Db,
    p: &Principal,
    f: &CaseFilter,
    locale: Locale,
) -> AppResult<FeatureCollection<CasePin>> {
    let f = CaseFilter {
        limit: Some(f.limit.unwrap_or(MOST)),
        ..f.clone()
    };
    let page = super::list(db, p, &f).await?;
    let unplaced: BTreeSet<i64> = page
        .items
        .iter()
        .filter(|c| c.lon.is_none() || c.lat.is_none())
        .map(|c| c.compound_id)
        .collect();
    let centres = crate::org::outlines::centres(db, &unplaced).await?;
    let en = locale.is_en();
    let features = page
        .items
        .into_iter()
        .filter_map(|c| {
            let (at, placed) = match (c.lon, c.lat) {
                (Some(lon), Some(lat)) => ((lon, lat), Placed::Reported),
                _ => (*centres.get(&c.compound_id)?, Placed::Compound),
            };
            let pin = CasePin {
                number: format!("#{}", c.id),
                title: c.description.chars().take(60).collect(),
                state: c.state,
                state_label: c.state.label(en),
                priority: c.priority,
                priority_label: c.priority.label(en),
                category: c.category,
                category_label: c.category.label(en),
                overdue: c.overdue,
                placed,
            };
            Some(Feature::point(c.id, at, pin))
        })
        .collect();
    Ok(FeatureCollection::new(features, page.total, page.limit))
}

/// The cases the list shows, as GeoJSON points (RFC 7946) for a map: the same filters and scope
/// as `list_cases`, at most `limit` (default and most 500) of `total`, overdue first, then newest.
#[utoipa::path(get, path = "/api/v1/cases/geojson", tag = "cases", operation_id = "list_case_pins", params(CaseFilter),
    responses((status = 200, description = "the pins, at most `limit` of `total`", body = FeatureCollection<CasePin>)))]
async fn pins_route(
    State(state): State<CasesState>,
    Can(p, _): Can<perm::CasesRead>,
    locale: Locale,
    ApiQuery(f): ApiQuery<CaseFilter>,
) -> AppResult<ApiJson<FeatureCollection<CasePin>>> {
    Ok(ApiJson(pins(&state.db, &p, &f, locale).await?))
}

pub fn api() -> OpenApiRouter<CasesState> {
    OpenApiRouter::new().routes(routes!(pins_route))
}
