//! The organisation's entities' trails as readable steps (`audit::steps`): regions, people and
//! teams a step names are shown by name, levels, kinds and roles by their labels, an outline as
//! set or not (the trail keeps only its hash).

use std::collections::{BTreeSet, HashMap};

use huoyan_core::auth::Permission;
use huoyan_core::org::{ControlLevel, MemberRole, RegionLevel, TeamKind};
use serde_json::Value;
use sqlx::Row;

use crate::audit::steps::{Step, Words, steps};
use crate::auth::Principal;
use crate::db::{Db, Sql};
use crate::error::AppResult;
use crate::i18n::Locale;

/// How many of an entity's latest events its page shows.
const SHOWN: i64 = 50;

/// The tables whose rows a step may name by id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Named {
    Regions,
    People,
    Teams,
}

impl Named {
    /// What `entity`'s recorded `field` names, if a row.
    fn by(entity: &str, field: &str) -> Option<Named> {
        match (entity, field) {
            ("team", "parent_id") | (_, "branch_id") => Some(Named::Teams),
            (_, "parent_id" | "region_id" | "home_region_id" | "community_id" | "region_ids") => {
                Some(Named::Regions)
            }
            (_, "person_id") => Some(Named::People),
            _ => None,
        }
    }

    fn table(self) -> &'static str {
        match self {
            Named::Regions => "regions",
            Named::People => "people",
            Named::Teams => "teams",
        }
    }
}

struct OrgWords {
    names: HashMap<(Named, i64), String>,
    locale: Locale,
}

impl Words for OrgWords {
    fn value(&self, entity: &str, field: &str, v: &Value) -> Option<String> {
        let en = self.locale.is_en();
        if let Some(named) = Named::by(entity, field) {
            let name = |v: &Value| {
                v.as_i64().map(|id| {
                    self.names
                        .get(&(named, id))
                        .cloned()
                        .unwrap_or_else(|| format!("#{id}"))
                })
            };
            return match v {
                Value::Array(ids) => {
                    Some(ids.iter().filter_map(name).collect::<Vec<_>>().join("、"))
                }
                v => name(v),
            };
        }
        let code = v.as_str();
        match (entity, field) {
            ("region", "level") => RegionLevel::parse(code?).map(|l| l.label(en).to_string()),
            (_, "level") => ControlLevel::parse(code?).map(|l| l.label(en).to_string()),
            ("team", "kind") => TeamKind::parse(code?).map(|k| k.label(en).to_string()),
            ("team", "role") => MemberRole::parse(code?).map(|r| r.label(en).to_string()),
            // Recorded as whether one was given, or as the outline's hash.
            ("region", "geometry") => {
                let set = matches!(v, Value::Bool(true) | Value::String(_));
                Some(
                    self.locale
                        .t(if set {
                            "trail.outline_set"
                        } else {
                            "trail.outline_none"
                        })
                        .to_string(),
                )
            }
            _ => None,
        }
    }
}

/// The ids each table's rows are named by in these summaries (top level and before/after).
fn named_ids(entity: &str, summaries: &[Value]) -> BTreeSet<(Named, i64)> {
    let mut out = BTreeSet::new();
    let mut visit = |fields: &serde_json::Map<String, Value>| {
        for (field, v) in fields {
            if let Some(named) = Named::by(entity, field) {
                let ids = match v {
                    Value::Array(a) => a.iter().filter_map(Value::as_i64).collect(),
                    v => v.as_i64().into_iter().collect::<Vec<_>>(),
                };
                out.extend(ids.into_iter().map(|id| (named, id)));
            }
        }
    };
    for s in summaries {
        for part in [s, &s["before"], &s["after"]] {
            if let Value::Object(fields) = part {
                visit(fields);
            }
        }
    }
    out
}

async fn names(
    db: &Db,
    wanted: BTreeSet<(Named, i64)>,
) -> AppResult<HashMap<(Named, i64), String>> {
    let mut out = HashMap::new();
    for named in [Named::Regions, Named::People, Named::Teams] {
        let ids: Vec<i64> = wanted
            .iter()
            .filter(|(n, _)| *n == named)
            .map(|(_, id)| *id)
            .collect();
        if ids.is_empty() {
            continue;
        }
        let mut sql = Sql::new(&format!(
            "SELECT id, name FROM {} WHERE id IN (",
            named.table()
        ));
        for (i, id) in ids.into_iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(id);
        }
        sql.push(")");
        for row in sql.query().fetch_all(&db.pool).await? {
            out.insert((named, row.try_get("id")?), row.try_get("name")?);
        }
    }
    Ok(out)
}

/// The latest steps of `entity` `id`'s trail, newest first, for a caller who may read trails;
/// None for others (the page then shows no trail).
pub async fn steps_for(
    db: &Db,
    user: &Principal,
    entity: &str,
    id: i64,
    locale: Locale,
) -> AppResult<Option<Vec<Step>>> {
    if !user.role.allows(Permission::AuditRead) {
        return Ok(None);
    }
    let events = crate::audit::trail(db, entity, &id.to_string(), SHOWN, 0).await?;
    let summaries: Vec<Value> = events
        .iter()
        .filter_map(|e| serde_json::from_str(&e.summary).ok())
        .collect();
    let words = OrgWords {
        names: names(db, named_ids(entity, &summaries)).await?,
        locale,
    };
    Ok(Some(steps(&events, locale, &words)))
}
