//! `supply`: goods to every door and help for those who cannot come down. A batch is planned per
//! building and split among the volunteer teams (`batches`); each team marks its buildings
//! delivered with the count, and a shortfall, or a building unmarked at the deadline, becomes a
//! case through `cases` (`deliveries`); residents' requests for help are assigned to volunteers
//! and chased to their deadline, the urgent ones told at once (`requests`); and the pages
//! (`pages`).

mod batches;
mod deliveries;
mod figures;
mod pages;
mod plan_page;
mod requests;

pub use batches::{NewBatch, NewShare, plan};
pub use deliveries::{Mark, mark};
pub use requests::{Assignment, Closing, NewRequest, assign, close, file as file_request};

use std::time::Duration;

use huoyan_core::auth::Role;
use utoipa_axum::router::OpenApiRouter;

use crate::auth::Principal;
use crate::db::{Db, Sql};
use crate::web::{Menu, MenuItem};

/// What `supply`'s routes and pages need.
#[derive(Clone, axum::extract::FromRef)]
pub struct SupplyState {
    pub db: Db,
    pub menu: Menu,
}

pub fn api() -> OpenApiRouter<SupplyState> {
    OpenApiRouter::new()
        .merge(batches::api())
        .merge(deliveries::api())
        .merge(requests::api())
        .merge(figures::api())
}

pub fn pages() -> axum::Router<SupplyState> {
    pages::router()
        .merge(figures::router())
        .merge(plan_page::router())
}

pub fn menu() -> Vec<MenuItem> {
    use huoyan_core::auth::Permission;
    vec![
        MenuItem::new("/supply", "nav.supply", |r| {
            r.allows(Permission::SupplyRead)
        }),
        MenuItem::new("/supply/requests", "nav.assistance", |r| {
            r.allows(Permission::AssistanceRead)
        }),
        MenuItem::new("/supply/figures", "supply.figures", |r| {
            r.allows(Permission::SupplyRead)
        }),
    ]
}

/// Appends to `sql` the condition that a row in the region of path column `path_col` (a
/// building, a compound) is in `p`'s sight: a region-scoped caller's subtree; a community
/// office's community; a team-scoped caller's team's region (a volunteer group: its compound;
/// a group without a region works in its branch's), or, where `team_col` names the row's team,
/// that team and its groups.
pub(crate) fn visible(p: &Principal, sql: &mut Sql, path_col: &str, team_col: Option<&str>) {
    if p.role == Role::Admin {
        return;
    }
    if let Some(path) = &p.scope_path {
        sql.push(&format!(" AND {path_col} LIKE "))
            .bind(format!("{path}%"));
    } else if let Some(department) = p.scope.department_id {
        sql.push(
            " AND EXISTS (SELECT 1 FROM departments sd JOIN regions sr ON sr.id = sd.region_id \
             WHERE sd.id = ",
        )
        .bind(department)
        .push(&format!(
            " AND sd.kind = 'community' AND {path_col} LIKE sr.path || '%')"
        ));
    } else if let Some(team) = p.scope.team_id {
        match team_col {
            Some(col) => {
                sql.push(&format!(" AND ({col} = "))
                    .bind(team)
                    .push(&format!(
                        " OR EXISTS (SELECT 1 FROM teams st WHERE st.id = {col} AND st.parent_id = "
                    ))
                    .bind(team)
                    .push("))");
            }
            None => {
                sql.push(
                    " AND EXISTS (SELECT 1 FROM teams st LEFT JOIN regions sr ON sr.id = st.region_id \
                     LEFT JOIN teams sp ON sp.id = st.parent_id LEFT JOIN regions spr ON spr.id = sp.region_id \
                     WHERE st.id = ",
                )
                .bind(team)
                .push(&format!(
                    " AND {path_col} LIKE COALESCE(sr.path, spr.path) || '%')"
                ));
            }
        }
    } else {
        sql.push(" AND 1 = 0");
    }
}

/// Every minute: buildings unmarked at their batch's deadline become cases, and requests past
/// theirs are escalated.
pub async fn run(db: Db) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        match sweep(&db, crate::time::now_ms()).await {
            Ok((0, 0)) => {}
            Ok((missed, overdue)) => {
                tracing::info!(missed, overdue, "supply deadlines passed")
            }
            Err(e) => tracing::warn!(error = %e, "supply sweep failed"),
        }
    }
}

/// What has passed its deadline at `now`: (deliveries missed, requests escalated).
pub async fn sweep(db: &Db, now: i64) -> crate::error::AppResult<(usize, usize)> {
    Ok((
        deliveries::sweep(db, now).await?,
        requests::sweep(db, now).await?,
    ))
}
