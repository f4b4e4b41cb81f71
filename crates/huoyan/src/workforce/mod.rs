//! `workforce`: the dispatcher's side of the sinking cadres and volunteers. Posts with their
//! daily shifts (`posts`, on a page with a form and a sheet import: `posts_pages`,
//! `posts_import`); who is on duty for which community, with their wishes (`duty`); why
//! someone cannot come, and who lifts it (`blockers`); the roster engine's input read from the
//! database (`problem`), run beside the server (`planning`) and its drafts published
//! (`plans`); and each person's own shifts (`me`).

mod blockers;
mod board_pages;
mod branch;
mod days;
mod duty;
mod grouping;
mod me;
mod plan_pages;
mod planning;
mod plans;
mod posts;
mod posts_import;
mod posts_pages;
mod problem;
mod refusals;
mod signins;
mod statistics;

pub use blockers::{Decision, NewBlocker, decide as decide_blocker, open as open_blocker};
pub use days::Day;
pub use duty::{Enrolment, enrol};
pub use huoyan_core::workforce::DutyKind;
pub use planning::{PinRequest, PlanRequest, Running, plan_now};
pub use plans::publish;
pub use posts::{NewPost, NewShift, create as create_post};
pub use problem::{Horizon, for_region as problem_for_region};
pub use signins::{
    SignIn, SignOut, close_ended, close_ended_in, run as sign_out_job, sign_in, sign_out,
};

use utoipa_axum::router::OpenApiRouter;

use crate::audit::Change;
use crate::db::Db;
use crate::error::AppResult;
use crate::web::{Menu, MenuItem};

/// What `workforce`'s routes and pages need.
#[derive(Clone, axum::extract::FromRef)]
pub struct WorkforceState {
    pub db: Db,
    pub menu: Menu,
    pub running: Running,
}

/// Whether `p` sees the phones of people on duty whole: those who call them in (the dispatcher
/// and the branch leader); everyone else sees them masked.
fn phones_whole(p: &crate::auth::Principal) -> bool {
    use huoyan_core::auth::Role;
    matches!(p.role, Role::Dispatcher | Role::Branch)
}

/// `phone` as `p` may see it.
fn phone_for(p: &crate::auth::Principal, phone: String) -> String {
    if phones_whole(p) {
        phone
    } else {
        huoyan_core::org::mask_phone(&phone)
    }
}

/// The active accounts (their phones' logins) of each of `people` who has one, read at once.
async fn accounts_of(
    change: &mut Change,
    people: &[i64],
) -> AppResult<std::collections::HashMap<i64, Vec<i64>>> {
    let mut out: std::collections::HashMap<i64, Vec<i64>> = Default::default();
    for chunk in people.chunks(500) {
        let mut sql = crate::db::Sql::new(
            "SELECT person_id, id FROM accounts WHERE disabled = 0 AND person_id IN (",
        );
        for (i, p) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "" } else { ", " }).bind(*p);
        }
        sql.push(")");
        for r in sql.query().fetch_all(&mut *change.tx).await? {
            use sqlx::Row;
            out.entry(r.try_get("person_id")?)
                .or_default()
                .push(r.try_get("id")?);
        }
    }
    Ok(out)
}

/// The active dispatchers whose region holds region `region`.
async fn dispatchers_of(change: &mut Change, region: i64) -> AppResult<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT a.id FROM accounts a WHERE a.disabled = 0 AND a.role = 'dispatcher' AND (a.scope_region_id IS NULL \
         OR EXISTS (SELECT 1 FROM regions c JOIN regions s ON s.id = a.scope_region_id \
         WHERE c.id = $1 AND c.path LIKE s.path || '%'))",
    )
    .bind(region)
    .fetch_all(&mut *change.tx)
    .await?)
}

pub fn api() -> OpenApiRouter<WorkforceState> {
    OpenApiRouter::new()
        .merge(posts::api())
        .merge(duty::api())
        .merge(blockers::api())
        .merge(planning::api())
        .merge(plans::api())
        .merge(me::api())
        .merge(signins::api())
        .merge(grouping::api())
        .merge(statistics::api())
        .merge(branch::api())
        .merge(posts_import::api())
}

pub fn pages() -> axum::Router<WorkforceState> {
    board_pages::router()
        .merge(plan_pages::router())
        .merge(me::router())
        .merge(signins::router())
        .merge(grouping::router())
        .merge(statistics::router())
        .merge(branch::router())
        .merge(posts_pages::router())
}

pub fn menu() -> Vec<MenuItem> {
    use huoyan_core::auth::Permission;
    vec![
        MenuItem::new("/workforce", "nav.workforce", |r| {
            r.allows(Permission::WorkforceRead)
        }),
        MenuItem::new("/duty", "nav.duty", |_| true),
    ]
}
