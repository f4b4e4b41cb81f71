//! Which compound an address names (`大庆市高新区景程小区3号楼`), among the compounds a caller may
//! file against: the regions are read here, the rule is `huoyan_core::org::addresses`.

use huoyan_core::org::RegionLevel;
use huoyan_core::org::addresses::{AddressMatch, Gazetteer, NamedRegion};
use sqlx::Row;

use crate::auth::Principal;
use crate::db::Db;
use crate::error::AppResult;

/// Most candidates an ambiguous address's answer lists.
const SHOWN: usize = 5;

/// What an address names, with the regions it was matched against to describe the candidates.
pub struct Named {
    pub found: AddressMatch,
    /// Whether the caller's scope left some of the city's compounds out.
    pub scoped: bool,
    gazetteer: Gazetteer,
}

/// Matches `address` against the compounds in `p`'s scope (a scoped caller's other compounds
/// are neither found nor listed) and against every region above the compounds, by which the
/// address may begin. Read whole for each address: names can change, and an address-only report
/// is rare beside the ones that name their compound or carry a point.
pub async fn compound_named(db: &Db, p: &Principal, address: &str) -> AppResult<Named> {
    let rows = sqlx::query(
        "SELECT id, parent_id, level, name, path FROM regions WHERE level <> 'building'",
    )
    .fetch_all(&db.pool)
    .await?;
    let mut regions = Vec::with_capacity(rows.len());
    let mut scoped = false;
    for r in &rows {
        let Some(level) = RegionLevel::parse(&r.try_get::<String, _>("level")?) else {
            continue;
        };
        if level == RegionLevel::Compound && !p.region_in_scope(&r.try_get::<String, _>("path")?) {
            scoped = true;
            continue;
        }
        regions.push(NamedRegion {
            id: r.try_get("id")?,
            parent_id: r.try_get("parent_id")?,
            level,
            name: r.try_get("name")?,
        });
    }
    let gazetteer = Gazetteer::new(regions);
    Ok(Named {
        found: gazetteer.find(address),
        scoped,
        gazetteer,
    })
}

impl Named {
    /// Candidates as an answer lists them, at most [`SHOWN`]: each name with its id and the
    /// regions it lies in below the city, which tell two compounds of one name apart.
    pub fn candidates(&self, ids: &[i64]) -> String {
        let mut shown: Vec<String> = ids
            .iter()
            .take(SHOWN)
            .map(|id| {
                let lineage = self.gazetteer.lineage(*id);
                match lineage.split_last() {
                    Some((name, above)) => {
                        let within = above.get(1..).unwrap_or_default().join("/");
                        format!("{name} (id {id}, {within})")
                    }
                    None => format!("id {id}"),
                }
            })
            .collect();
        if ids.len() > SHOWN {
            shown.push("…".into());
        }
        shown.join("; ")
    }
}
