//! `supply`: goods to every door and help for those who cannot come down. The households that
//! need help, with what they need (`households`). A batch is planned per
//! building and split among the volunteer teams (`batches`); each team marks its buildings
//! delivered with the count, and a shortfall, or a building unmarked at the deadline, becomes a
//! case through `cases` (`deliveries`); residents' requests for help are assigned to volunteers
//! and chased to their deadline, the urgent ones told at once (`requests`); and the pages
//! (`pages`).

mod batches;
mod deliveries;
mod figures;
mod households;
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
use crate::check::Check;
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
        .merge(households::api())
}

pub fn pages() -> axum::Router<SupplyState> {
    pages::router()
        .merge(figures::router())
        .merge(plan_page::router())
        .merge(households::router())
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
        MenuItem::new("/supply/households", "nav.households", |r| {
            r.allows(Permission::HouseholdsRead)
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

/// The latest deadline a batch or a request may have: a week on. Under static management
/// nothing waits longer, and a deadline in 2099 would never be missed.
pub(crate) const LONGEST: i64 = 7 * 24 * 3_600_000;

/// `raw` (the request's `deadline`) as epoch milliseconds after `now` and at most `latest`;
/// None, with `deadline` failed, otherwise.
pub(crate) fn deadline(check: &mut Check, raw: &str, now: i64, latest: i64) -> Option<i64> {
    match crate::time::parse_time("deadline", raw) {
        Err(e) => {
            check.fail("deadline", e.message);
            None
        }
        Ok(d) if d <= now => {
            check.fail("deadline", "must be later than now");
            None
        }
        Ok(d) if d > latest => {
            check.fail(
                "deadline",
                format!("at most {} hours from now", (latest - now) / 3_600_000),
            );
            None
        }
        Ok(d) => Some(d),
    }
}

/// The people who carry for a volunteer group or party branch working where `p` sees (a group
/// without a region of its own works in its branch's): id, "name · team" and the compound or
/// region the team works in. `p` assigns requests to them and no one else.
pub(crate) fn volunteers(p: &Principal) -> Sql {
    let mut sql = Sql::new(
        "SELECT DISTINCT x.id, x.name || ' · ' || t.name AS label, g.id AS region_id FROM people x \
         JOIN team_members m ON m.person_id = x.id JOIN teams t ON t.id = m.team_id \
         LEFT JOIN teams b ON b.id = t.parent_id JOIN regions g ON g.id = COALESCE(t.region_id, b.region_id) \
         WHERE t.kind IN ('volunteer_group', 'party_branch')",
    );
    visible(p, &mut sql, "g.path", Some("t.id"));
    sql
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

/// What has passed its deadline at `now`: (deliveries missed, requests escalated). Each sweep
/// runs whatever the other met: a building that cannot be filed never holds up an urgent request.
pub async fn sweep(db: &Db, now: i64) -> crate::error::AppResult<(usize, usize)> {
    let missed = deliveries::sweep(db, now).await;
    let escalated = requests::sweep(db, now).await;
    Ok((missed?, escalated?))
}

/// What one row of a sweep came to: 1 when it acted, 0 when it had nothing to do or failed; a
/// failure is logged and the sweep goes on, so one bad row holds up none of the others.
pub(crate) fn tally(what: &str, id: i64, done: crate::error::AppResult<bool>) -> usize {
    match done {
        Ok(acted) => usize::from(acted),
        Err(e) => {
            tracing::warn!(error = %e, id, "{what}: skipped");
            0
        }
    }
}
