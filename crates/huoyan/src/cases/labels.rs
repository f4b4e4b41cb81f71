//! What the case pages show for an id or a code: the names of the compounds, departments and
//! accounts on a page, and the timeline's action labels.

use std::collections::HashMap;

use huoyan_core::cases::Action;
use sqlx::Row;

use crate::db::{Db, Sql};
use crate::error::AppResult;

/// Names of the compounds and departments a page shows by id.
#[derive(Default)]
pub(super) struct Names {
    compounds: HashMap<i64, String>,
    departments: HashMap<i64, String>,
    accounts: HashMap<i64, String>,
}

impl Names {
    /// The names of just the compounds, departments and accounts a page shows (a city has
    /// thousands of each).
    pub(super) async fn of(
        db: &Db,
        compounds: impl IntoIterator<Item = i64>,
        departments: impl IntoIterator<Item = Option<i64>>,
        accounts: impl IntoIterator<Item = Option<i64>>,
    ) -> AppResult<Names> {
        let mut names = Names::default();
        let departments: Vec<i64> = departments.into_iter().flatten().collect();
        let accounts: Vec<i64> = accounts.into_iter().flatten().collect();
        for (select, ids, map) in [
            (
                "SELECT id, name FROM regions",
                compounds.into_iter().collect::<Vec<_>>(),
                &mut names.compounds,
            ),
            (
                "SELECT id, name FROM departments",
                departments,
                &mut names.departments,
            ),
            (
                "SELECT id, username FROM accounts",
                accounts,
                &mut names.accounts,
            ),
        ] {
            let mut ids = ids;
            ids.sort_unstable();
            ids.dedup();
            if ids.is_empty() {
                continue;
            }
            let mut sql = Sql::new(select);
            sql.push(" WHERE id IN (");
            for (i, id) in ids.into_iter().enumerate() {
                sql.push(if i == 0 { "" } else { ", " }).bind(id);
            }
            sql.push(")");
            for r in sql.query().fetch_all(&db.pool).await? {
                map.insert(r.try_get(0)?, r.try_get(1)?);
            }
        }
        Ok(names)
    }

    pub fn compound(&self, id: &i64) -> &str {
        self.compounds.get(id).map_or("", String::as_str)
    }

    pub fn department(&self, id: &Option<i64>) -> &str {
        id.and_then(|d| self.departments.get(&d))
            .map_or("—", String::as_str)
    }

    pub fn account_id(&self, id: &i64) -> &str {
        self.account(&Some(*id))
    }

    pub fn account(&self, id: &Option<i64>) -> &str {
        id.and_then(|a| self.accounts.get(&a))
            .map_or("系统 system", String::as_str)
    }
}

pub(super) fn action_label(code: &str, en: bool) -> &'static str {
    match code {
        "report" => {
            if en {
                "Reported"
            } else {
                "上报"
            }
        }
        "absorb" => {
            if en {
                "Merged in another report"
            } else {
                "并入其他上报"
            }
        }
        "escalate" => {
            if en {
                "Escalated (overdue)"
            } else {
                "超期督办"
            }
        }
        "attach" => {
            if en {
                "Files added"
            } else {
                "补充材料"
            }
        }
        other => Action::parse(other).map_or("", |a| a.label(en)),
    }
}
