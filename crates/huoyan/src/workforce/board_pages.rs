//! The dispatcher's board: a day's places against the published roster, the blockers that leave
//! them short, the forms that record a blocker and start a plan; and the blockers page where a
//! community office grants or refuses what it decides.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use huoyan_core::auth::Permission;
use huoyan_core::workforce::blockers::{BlockerReason, BlockerState};
use huoyan_core::workforce::posts::Job;
use serde::Deserialize;
use sqlx::Row;

use super::WorkforceState;
use super::blockers::{self, BlockerFilter, BlockerView, Decision};
use super::days::Day;
use super::me::{BlockerForm, record};
use super::plans::{self, PlanFilter, PlanSummary};
use crate::audit::Change;
use crate::auth::{Page, Principal, perm};
use crate::check::Text;
use crate::db::{Db, Sql};
use crate::error::AppResult;
use crate::http::ListPage;
use crate::web::{PageCtx, PageError, PageResultExt, render};

/// Most people a board's blocker form offers (a region's duty roll).
const MAX_PEOPLE: i64 = 3_000;

/// A shift's places on a day against those published.
pub struct Need {
    pub post_id: i64,
    pub site_name: String,
    pub region_name: String,
    pub job: Job,
    pub hours: String,
    pub headcount: i64,
    pub filled: i64,
}

async fn needs(db: &Db, p: &Principal, day: Day) -> AppResult<Vec<Need>> {
    let mut sql = Sql::new(
        "SELECT po.id AS post_id, s.name AS site_name, g.name AS region_name, po.job, sh.start_minute, sh.end_minute, sh.headcount, \
         (SELECT COUNT(*) FROM roster r WHERE r.shift_id = sh.id AND r.day = ",
    );
    sql.bind(day.to_string()).push(
        ") AS filled FROM post_shifts sh JOIN posts po ON po.id = sh.post_id JOIN sites s ON s.id = po.site_id \
         JOIN regions g ON g.id = s.region_id WHERE po.active = 1",
    );
    p.scope_region(&mut sql, "g.path");
    sql.push(" ORDER BY g.path, s.name, po.job, sh.start_minute LIMIT ")
        .bind(super::posts::MAX_POSTS);
    sql.query()
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| {
            let job: String = r.try_get("job")?;
            Ok(Need {
                post_id: r.try_get("post_id")?,
                site_name: r.try_get("site_name")?,
                region_name: r.try_get("region_name")?,
                job: Job::parse(&job).ok_or_else(|| anyhow::anyhow!("a post's job {job:?}"))?,
                hours: super::posts::shift_time(
                    r.try_get("start_minute")?,
                    r.try_get("end_minute")?,
                )?
                .to_string(),
                headcount: r.try_get("headcount")?,
                filled: r.try_get("filled")?,
            })
        })
        .collect()
}

/// The people on duty `p` may record a blocker for: (id, "name · community").
async fn duty_roll(db: &Db, p: &Principal) -> AppResult<Vec<(i64, String)>> {
    let mut sql = Sql::new(
        "SELECT d.person_id, pe.name, g.name AS community FROM duty_people d JOIN people pe ON pe.id = d.person_id \
         JOIN regions g ON g.id = d.community_id WHERE 1 = 1",
    );
    p.scope_people(&mut sql, "d.person_id", "d.community_id");
    sql.push(" ORDER BY g.name, pe.name, d.person_id LIMIT ")
        .bind(MAX_PEOPLE);
    sql.query()
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get("person_id")?,
                format!(
                    "{} · {}",
                    r.try_get::<String, _>("name")?,
                    r.try_get::<String, _>("community")?
                ),
            ))
        })
        .collect()
}

/// The branches and cadres' groups `p` may look into, by name: a branch leader their own.
async fn branches(db: &Db, p: &Principal) -> AppResult<Vec<(i64, String)>> {
    let mut sql = Sql::new(
        "SELECT t.id, t.name FROM teams t LEFT JOIN regions g ON g.id = t.region_id \
         WHERE t.kind IN ('party_branch', 'cadre_group')",
    );
    match (p.role, p.scope.team_id) {
        (huoyan_core::auth::Role::Branch, team) => {
            sql.push(" AND t.id = ").bind(team.unwrap_or(-1));
        }
        _ => p.scope_region(&mut sql, "g.path"),
    }
    sql.push(" ORDER BY t.name, t.id LIMIT 500");
    sql.query()
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("name")?)))
        .collect()
}

#[derive(askama::Template)]
#[template(path = "workforce/board.html")]
struct BoardPage {
    ctx: PageCtx,
    day: String,
    needs: Vec<Need>,
    short: i64,
    open_blockers: i64,
    people: Vec<(i64, String)>,
    reasons: Vec<(&'static str, &'static str)>,
    plans: ListPage<PlanSummary>,
    can_plan: bool,
    /// Whether the reader prints the posts' sign-in codes.
    can_manage: bool,
    on_duty: Vec<super::signins::OnDuty>,
    /// The branches and cadres' groups in reach (id, name), each linking to its members.
    branches: Vec<(i64, String)>,
    tomorrow: String,
}

impl BoardPage {
    fn status(&self, s: &str) -> &'static str {
        match s {
            "signed_in" => "workforce.status.signed_in",
            "signed_out" => "workforce.status.signed_out",
            "due" => "workforce.status.due",
            _ => "workforce.status.missing",
        }
    }
}

#[derive(Deserialize)]
struct DayQuery {
    day: Option<String>,
}

async fn board(
    State(state): State<WorkforceState>,
    Page {
        user, ctx, locale, ..
    }: Page<perm::WorkforceRead>,
    Query(q): Query<DayQuery>,
) -> Result<Response, PageError> {
    let tomorrow = Day::today().plus(1);
    let day = super::days::from_query("day", q.day.as_deref())
        .page(locale)?
        .unwrap_or(tomorrow);
    let needs = needs(&state.db, &user, day).await.page(locale)?;
    let short = needs.iter().map(|n| (n.headcount - n.filled).max(0)).sum();
    let open = BlockerFilter {
        state: None,
        day: Some(day),
        person_id: None,
        limit: Some(1),
        offset: None,
    };
    let open_blockers = blockers::list(&state.db, &user, &open)
        .await
        .page(locale)?
        .total;
    let can_plan = user.role.allows(Permission::WorkforcePlan);
    let on_duty = super::signins::on_duty(&state.db, &user, crate::time::now_ms())
        .await
        .page(locale)?;
    let people = if matches!(
        user.role,
        huoyan_core::auth::Role::Dispatcher | huoyan_core::auth::Role::Branch
    ) {
        duty_roll(&state.db, &user).await.page(locale)?
    } else {
        Vec::new()
    };
    let branches = branches(&state.db, &user).await.page(locale)?;
    let plans = plans::list(
        &state.db,
        &user,
        &PlanFilter {
            limit: Some(10),
            offset: None,
        },
    )
    .await
    .page(locale)?;
    Ok(render(&BoardPage {
        reasons: BlockerReason::choices(ctx.en()),
        ctx,
        day: day.to_string(),
        needs,
        short,
        open_blockers,
        people,
        plans,
        can_plan,
        can_manage: user.role.allows(Permission::WorkforceManage),
        on_duty,
        branches,
        tomorrow: tomorrow.to_string(),
    }))
}

async fn blocker_submit(
    State(state): State<WorkforceState>,
    Page { user, locale, .. }: Page<perm::WorkforceRead>,
    axum::Form(form): axum::Form<BlockerForm>,
) -> Result<Response, PageError> {
    record(&state, &user, locale, form, "/workforce/blockers").await
}

#[derive(askama::Template)]
#[template(path = "workforce/blockers.html")]
struct BlockersPage {
    ctx: PageCtx,
    page: ListPage<BlockerView>,
    state: String,
    user: Principal,
}

impl BlockersPage {
    fn filter_label(&self, s: &str) -> &'static str {
        match s {
            "open" => "workforce.blocker.open",
            "refused" => "workforce.blocker.refused",
            "lifted" => "workforce.blocker.lifted",
            _ => "workforce.blocker.all",
        }
    }

    /// Whether the reader may lift or refuse `b` (the API decides again when they do).
    fn may(&self, b: &BlockerView, lift: bool) -> bool {
        use huoyan_core::workforce::blockers as rules;
        let who = rules::Standing {
            role: self.user.role,
            own: self.user.person_id == Some(b.person_id),
            community_office: self.user.scope.department_id.is_some()
                && b.department_name.is_some(),
        };
        b.state == BlockerState::Open
            && if lift {
                rules::may_lift(b.reason, who)
            } else {
                rules::may_refuse(b.reason, who)
            }
    }
}

#[derive(Deserialize)]
struct BlockersQuery {
    state: Option<String>,
    offset: Option<i64>,
}

async fn blockers_page(
    State(state): State<WorkforceState>,
    Page {
        user, ctx, locale, ..
    }: Page<perm::BlockersRead>,
    Query(q): Query<BlockersQuery>,
) -> Result<Response, PageError> {
    let wanted = q.state.unwrap_or_else(|| "open".into());
    let f = BlockerFilter {
        state: Some(blockers::StateFilter::parse(&wanted)),
        day: None,
        person_id: None,
        limit: Some(50),
        offset: q.offset,
    };
    let page = blockers::list(&state.db, &user, &f).await.page(locale)?;
    Ok(render(&BlockersPage {
        ctx,
        page,
        state: wanted,
        user,
    }))
}

#[derive(Deserialize)]
struct DecisionForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    back: String,
}

async fn decide(
    state: &WorkforceState,
    user: &Principal,
    locale: crate::i18n::Locale,
    id: i64,
    lift: bool,
    form: DecisionForm,
) -> Result<Response, PageError> {
    user.check_csrf(Some(&form.csrf)).page(locale)?;
    let d = Decision {
        note: Text::field("note", form.note).page(locale)?,
    };
    Change::run(&state.db, &user.actor(), async |c| {
        blockers::decide(c, user, id, lift, &d).await
    })
    .await
    .page(locale)?;
    let back = if form.back == "/duty" {
        "/duty"
    } else {
        "/workforce/blockers"
    };
    Ok(Redirect::to(back).into_response())
}

async fn lift_submit(
    State(state): State<WorkforceState>,
    Page { user, locale, .. }: Page,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<DecisionForm>,
) -> Result<Response, PageError> {
    decide(&state, &user, locale, id, true, form).await
}

async fn refuse_submit(
    State(state): State<WorkforceState>,
    Page { user, locale, .. }: Page<perm::BlockersRead>,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<DecisionForm>,
) -> Result<Response, PageError> {
    decide(&state, &user, locale, id, false, form).await
}

pub fn router() -> Router<WorkforceState> {
    Router::new()
        .route("/workforce", axum::routing::get(board))
        .route(
            "/workforce/blockers",
            axum::routing::get(blockers_page).post(blocker_submit),
        )
        .route(
            "/workforce/blockers/{id}/lift",
            axum::routing::post(lift_submit),
        )
        .route(
            "/workforce/blockers/{id}/refuse",
            axum::routing::post(refuse_submit),
        )
}
