//! The boards by next step as the pages show them: the group's dispatch board and a unit's inbox,
//! in the lanes of `huoyan_core::cases::board`, each ordered by priority and then deadline.

use huoyan_core::auth::Role;
use huoyan_core::cases::TaskState;
use huoyan_core::cases::board::{BoardCase, Lane, lane_of, lane_order, lanes_for};
use sqlx::Row;

use super::views::{COLUMNS, from_row};
use super::{Case, CaseFilter};
use crate::auth::Principal;
use crate::db::{Db, Sql};
use crate::error::AppResult;

/// Most cases a board reads; past it the board says so and the list's filters narrow it.
pub const BOARD_MAX: usize = 1000;
/// Most cases shown in one lane.
pub const LANE_MAX: usize = 50;

/// A lane with the cases shown in it and how many it holds.
pub struct LaneView {
    pub lane: Lane,
    pub items: Vec<Case>,
    pub total: usize,
}

/// A role's board: its lanes (each non-empty lane, in order) and whether it reached `BOARD_MAX`.
pub struct Board {
    pub lanes: Vec<LaneView>,
    pub truncated: bool,
}

impl Board {
    /// How many cases the lanes hold.
    pub fn total(&self) -> usize {
        self.lanes.iter().map(|l| l.total).sum()
    }
}

/// The board's statement for `p` over the cases `f` selects, with the unit whose tasks it reads
/// (a department's own); none for a role without a board. Public for the plans test.
pub async fn board_sql(
    db: &Db,
    p: &Principal,
    f: &CaseFilter,
) -> AppResult<Option<(Sql, Option<i64>)>> {
    let mut f = f.clone();
    let (states, unit): (&[&str], _) = match p.role {
        Role::Group => (
            &[
                "triaged",
                "dispatched",
                "rectifying",
                "rectified",
                "verified",
            ],
            None,
        ),
        Role::Department => (&["dispatched", "rectifying"], p.scope.department_id),
        _ => return Ok(None),
    };
    f.state = Some(states.join(","));
    let filter = match unit {
        Some(_) => f.to_sql_in_own_open_tasks(db, p).await?,
        None => f.to_sql(db, p).await?,
    };
    // The unit's id is the caller's own (an integer), written into the text so that the filter's
    // placeholders keep their numbers.
    let mine = |column: &str| match unit {
        Some(d) => format!(
            "(SELECT {column} FROM case_tasks m WHERE m.case_id = cases.id AND m.department_id = {d} \
             AND m.state IN ('dispatched', 'rectifying') ORDER BY m.id DESC LIMIT 1)"
        ),
        None => "NULL".to_string(),
    };
    // The page's ids first, from the filter's indexes, then their rows: read whole and tested
    // for an asked extension before the sort, all 71,880 open cases of 990,188 were read for the
    // first 1,001 (296 ms; 15 ms so). The first ids of each open state are read in the order of
    // the state's index and merged: walking the primary key, PostgreSQL passed 427,334 closed
    // cases before the oldest open ones (279 ms), and sorting every open case's id took 26 ms
    // (11 ms so). The states are the board's own, written into the text.
    let take = BOARD_MAX + 1;
    let arms: Vec<String> = states
        .iter()
        .enumerate()
        .map(|(i, state)| {
            format!(
                "SELECT s{i}.id FROM (SELECT cases.id FROM cases{} AND cases.state = '{state}' \
                 ORDER BY cases.id LIMIT {take}) AS s{i}",
                filter.text()
            )
        })
        .collect();
    let sql = format!(
        "SELECT {COLUMNS}, CASE WHEN EXISTS (SELECT 1 FROM case_tasks x WHERE x.case_id = cases.id \
         AND x.extension_until IS NOT NULL AND x.state IN ('dispatched', 'rectifying')) THEN 1 ELSE 0 END AS extension_asked, \
         {} AS my_state, {} AS my_due FROM cases WHERE cases.id IN \
         (SELECT open.id FROM ({}) AS open ORDER BY open.id LIMIT {take}) ORDER BY cases.id",
        mine("m.state"),
        mine("m.due_at"),
        arms.join(" UNION ALL "),
    );
    Ok(Some((filter.with_text(&sql), unit)))
}

/// The board of `p` over the cases `f` selects, as of `now_ms`.
pub async fn board(db: &Db, p: &Principal, f: &CaseFilter, now_ms: i64) -> AppResult<Board> {
    let Some((sql, unit)) = board_sql(db, p, f).await? else {
        return Ok(Board {
            lanes: Vec::new(),
            truncated: false,
        });
    };
    let rows = sql.query().fetch_all(&db.pool).await?;
    let truncated = rows.len() > BOARD_MAX;
    let mut placed: Vec<(Lane, BoardCase, Case)> = Vec::new();
    for r in rows.iter().take(BOARD_MAX) {
        let case = from_row(r)?;
        let my_state: Option<String> = r.try_get("my_state")?;
        let my_due: Option<i64> = r.try_get("my_due")?;
        let seen = BoardCase {
            state: case.state,
            priority: case.priority,
            due_at: match unit {
                Some(_) => my_due,
                None => r.try_get("due_at")?,
            },
            extension_asked: r.try_get::<i64, _>("extension_asked")? != 0,
            my_task: my_state.as_deref().and_then(TaskState::parse),
        };
        if let Some(lane) = lane_of(p.role, &seen, now_ms) {
            placed.push((lane, seen, case));
        }
    }
    let lanes = lanes_for(p.role)
        .iter()
        .filter_map(|&lane| {
            let mut inside: Vec<&(Lane, BoardCase, Case)> =
                placed.iter().filter(|(l, _, _)| *l == lane).collect();
            inside.sort_by(|a, b| lane_order((&a.1, a.2.id), (&b.1, b.2.id)));
            (!inside.is_empty()).then(|| LaneView {
                lane,
                total: inside.len(),
                items: inside.iter().take(LANE_MAX).map(|c| c.2.clone()).collect(),
            })
        })
        .collect();
    Ok(Board { lanes, truncated })
}
