//! Named places shared across community lines, derived from the sites and compound outlines `org`
//! holds: a sampling point, gate, shop or supply station within reach of two compounds of
//! different communities (`huoyan_core::org::places::shared_places`). A problem there is reported
//! from either side, so the duplicate proposer treats the two compounds as neighbours.

use std::collections::HashMap;

use huoyan_core::org::places::{NamedPoint, Outline, shared_places};
use sqlx::Row;

use crate::db::Db;
use crate::error::AppResult;

/// How far from a compound's outline a place still serves it: across a road.
pub const REACH_M: f64 = 100.0;

/// For each compound, the compounds of other communities it shares a named place with, and the
/// place's name.
pub type Neighbours = HashMap<i64, Vec<(i64, String)>>;

/// What changes when places move, appear or go, or compounds are outlined: compared before a
/// cached `Neighbours` is used again.
pub async fn mark(db: &Db) -> AppResult<(i64, f64, i64)> {
    let sites = sqlx::query(
        "SELECT COUNT(*), COALESCE(SUM(lon), 0.0) + COALESCE(SUM(lat), 0.0) FROM sites \
         WHERE lon IS NOT NULL AND lat IS NOT NULL",
    )
    .fetch_one(&db.pool)
    .await?;
    let outlined: i64 = sqlx::query(
        "SELECT COUNT(*) FROM regions WHERE level = 'compound' AND geometry IS NOT NULL",
    )
    .fetch_one(&db.pool)
    .await?
    .try_get(0)?;
    Ok((sites.try_get(0)?, sites.try_get(1)?, outlined))
}

/// Every compound's neighbours through shared named places.
pub async fn neighbours(db: &Db) -> AppResult<Neighbours> {
    let mut compounds = Vec::new();
    let rows = sqlx::query(
        "SELECT id, parent_id, geometry FROM regions \
         WHERE level = 'compound' AND geometry IS NOT NULL AND parent_id IS NOT NULL",
    )
    .fetch_all(&db.pool)
    .await?;
    for row in rows {
        let text: String = row.try_get("geometry")?;
        if let Ok(geometry) = serde_json::from_str::<geojson::Geometry>(&text) {
            compounds.push(Outline {
                id: row.try_get("id")?,
                community_id: row.try_get("parent_id")?,
                geometry,
            });
        }
    }
    let places: Vec<NamedPoint> = sqlx::query(
        "SELECT name, lon, lat FROM sites WHERE lon IS NOT NULL AND lat IS NOT NULL \
         AND kind IN ('sampling_point', 'zone_gate', 'vendor', 'supply_station')",
    )
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| {
        Ok(NamedPoint {
            name: r.try_get("name")?,
            lon: r.try_get("lon")?,
            lat: r.try_get("lat")?,
        })
    })
    .collect::<Result<_, sqlx::Error>>()?;
    let mut out = Neighbours::new();
    for (a, b, name) in shared_places(&compounds, &places, REACH_M) {
        let list = out.entry(a).or_default();
        if !list.iter().any(|(c, _)| *c == b) {
            list.push((b, name));
        }
    }
    Ok(out)
}
