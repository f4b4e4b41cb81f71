//! The dispatcher's side of 2022-08-27 to 09-05: the 79 sinking cadres in one group per
//! community, the 215 double-registered volunteers on the duty roll, posts at
//! Gelin's 13 sampling points, its gates and supply stations (and 景程小区's own), blockers of
//! every kind with the community offices' decisions, and a ten-day roster planned by the engine
//! and published. Every write goes through `workforce`'s own functions, as the dispatcher.

use huoyan_core::workforce::blockers::BlockerReason;
use huoyan_core::workforce::posts::Job;
use huoyan_core::workforce::roster::SolveOptions;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use sqlx::Row;

use huoyan_core::auth::{Role, Scope};

use crate::audit::Change;
use crate::auth::accounts::{self, NewAccount};
use crate::auth::password::{self, DEMO_PASSWORD};
use crate::auth::principal_of;
use crate::check::Text;
use crate::db::Db;
use crate::org::teams;
use crate::workforce::{
    self, Day, DutyKind, Enrolment, NewBlocker, NewPost, NewShift, PlanRequest,
};

const SEED: u64 = 0x5EED_0827;
/// The first day the dispatcher rostered, and the days planned.
const FIRST_DAY: &str = "2022-08-27";
const DAYS: i64 = 10;

/// A post as the demo sets it: job, the one skill it needs (or none), shifts as (hours, headcount).
type PostSpec = (Job, &'static str, &'static [(&'static str, i64)]);

/// The posts of every Gelin sampling point.
const SAMPLING_POSTS: [PostSpec; 3] = [
    (
        Job::Scanning,
        "扫码",
        &[("04:30-12:30", 3), ("12:30-20:30", 2)],
    ),
    (Job::Order, "秩序维护", &[("04:30-12:30", 2)]),
    (Job::Disinfection, "消杀", &[("12:30-14:30", 1)]),
];

pub(super) async fn load(db: &Db) -> anyhow::Result<()> {
    let fail = |err: crate::error::AppError| anyhow::anyhow!("{err}: {:?}", err.fields());
    let mut rng = StdRng::seed_from_u64(SEED);
    let dispatcher: i64 =
        sqlx::query_scalar("SELECT id FROM accounts WHERE username = 'dispatcher'")
            .fetch_one(&db.pool)
            .await?;
    let dispatcher = principal_of(db, dispatcher).await.map_err(fail)?;
    let gelin: i64 = sqlx::query_scalar("SELECT id FROM regions WHERE code = $1")
        .bind(super::GELIN)
        .fetch_one(&db.pool)
        .await?;
    let communities: Vec<(i64, String)> = sqlx::query(
        "SELECT g.id, g.name FROM regions g WHERE g.parent_id = $1 AND EXISTS \
         (SELECT 1 FROM sites s WHERE s.region_id = g.id AND s.kind = 'sampling_point') ORDER BY g.code",
    )
    .bind(gelin)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .collect::<Result<_, sqlx::Error>>()?;
    anyhow::ensure!(
        communities.len() == 5,
        "five Gelin communities with sampling points"
    );
    // The sinking cadres: the people with the cadres' skills who belong to no team.
    let cadres: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM people WHERE skills IN ('扫码,秩序维护', '扫码,采样协助') \
         AND NOT EXISTS (SELECT 1 FROM team_members m WHERE m.person_id = people.id) ORDER BY id",
    )
    .fetch_all(&db.pool)
    .await?;
    anyhow::ensure!(
        cadres.len() == 79,
        "79 sinking cadres, found {}",
        cadres.len()
    );

    // One login per cadre for the phone (`cadre-01` …), sharing one hash of the demo password
    // as the cases' logins do.
    let hash = tokio::task::spawn_blocking(|| password::hash(DEMO_PASSWORD)).await??;
    let mut change = Change::begin(db, &dispatcher.actor()).await.map_err(fail)?;
    for (k, (community, name)) in communities.iter().enumerate() {
        let group = teams::insert(
            &mut change,
            &teams::NewTeam {
                kind: "cadre_group".into(),
                name: format!("{name}下沉干部组"),
                parent_id: None,
                region_id: Some(*community),
            },
            "",
        )
        .await
        .map_err(fail)?;
        for (i, person) in cadres.iter().enumerate().filter(|(i, _)| i % 5 == k) {
            teams::add_member(
                &mut change,
                group,
                &teams::NewMember {
                    person_id: *person,
                    role: if i < 5 { "leader" } else { "member" }.into(),
                },
                "",
            )
            .await
            .map_err(fail)?;
            let login = NewAccount {
                username: format!("cadre-{:02}", i + 1),
                password: DEMO_PASSWORD.into(),
                role: Role::Volunteer.code().into(),
                person_id: Some(*person),
                scope: Scope {
                    team_id: Some(group),
                    ..Default::default()
                },
            };
            accounts::check_new(&login, true).map_err(fail)?;
            accounts::insert(&mut change, &login, &hash)
                .await
                .map_err(fail)?;
            let days_off = if i % 9 == 4 {
                vec![Text::field("days_off", format!("2022-09-0{}", 1 + i % 4)).map_err(fail)?]
            } else {
                Vec::new()
            };
            let e = Enrolment {
                community_id: *community,
                kind: DutyKind::Cadre,
                max_hours_per_week: 56,
                avoid_early: i % 13 == 6,
                days_off,
            };
            workforce::enrol(&mut change, &dispatcher, *person, &e)
                .await
                .map_err(fail)?;
        }
    }
    // The double-registered volunteers serve the community they registered with.
    let volunteers: Vec<(i64, i64)> =
        sqlx::query("SELECT person_id, community_id FROM registrations ORDER BY person_id")
            .fetch_all(&mut *change.tx)
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()?;
    for (i, (person, community)) in volunteers.iter().enumerate() {
        let e = Enrolment {
            community_id: *community,
            kind: DutyKind::Volunteer,
            max_hours_per_week: 24 + 8 * (i as i64 % 3),
            avoid_early: i % 11 == 3,
            days_off: Vec::new(),
        };
        workforce::enrol(&mut change, &dispatcher, *person, &e)
            .await
            .map_err(fail)?;
    }

    // Posts: the sampling points', the gates' and the supply stations' of Gelin, and 景程小区's.
    let sites = sqlx::query(
        "SELECT s.id, s.kind FROM sites s JOIN regions g ON g.id = s.region_id \
         WHERE (g.parent_id = $1 OR g.name = '景程小区') AND s.kind IN ('sampling_point', 'zone_gate', 'supply_station') \
         ORDER BY s.id",
    )
    .bind(gelin)
    .fetch_all(&mut *change.tx)
    .await?;
    for s in &sites {
        let (site, kind): (i64, String) = (s.try_get(0)?, s.try_get(1)?);
        let posts: Vec<PostSpec> = match kind.as_str() {
            "sampling_point" => SAMPLING_POSTS.to_vec(),
            "zone_gate" => vec![(Job::GateDuty, "", &[("08:00-16:00", 1), ("16:00-00:00", 1)])],
            _ => vec![(Job::Delivery, "", &[("09:00-17:00", 2)])],
        };
        for (job, skill, shifts) in posts {
            let new = NewPost {
                site_id: site,
                job,
                skills: if skill.is_empty() {
                    Vec::new()
                } else {
                    vec![Text::field("skills", skill).map_err(fail)?]
                },
                note: Text::default(),
                shifts: shifts
                    .iter()
                    .map(|(hours, headcount)| {
                        Ok(NewShift {
                            hours: Text::field("hours", *hours)?,
                            headcount: *headcount,
                        })
                    })
                    .collect::<Result<_, crate::error::AppError>>()
                    .map_err(fail)?,
            };
            workforce::create_post(&mut change, &dispatcher, &new)
                .await
                .map_err(fail)?;
        }
    }
    change.commit().await.map_err(fail)?;

    // Blockers of every kind over the ten days, as the people reported them and the dispatcher
    // recorded them; the community offices decide the passes, sealed units and closed roads.
    let first = Day::parse(FIRST_DAY).map_err(anyhow::Error::msg)?;
    let reasons = BlockerReason::ALL;
    let mut opened = Vec::new();
    for k in 0..24usize {
        let person = if k % 2 == 0 {
            cadres[(k * 7) % cadres.len()]
        } else {
            volunteers[(k * 13) % volunteers.len()].0
        };
        let reason = reasons[k % reasons.len()];
        let day = first.plus(rng.random_range(0..DAYS));
        let new = NewBlocker {
            person_id: Some(person),
            reason,
            first_day: day,
            last_day: Some(day.plus(rng.random_range(0..3)).min(first.plus(DAYS - 1))),
            note: Text::field("note", note(reason)).map_err(fail)?,
        };
        let id = Change::run(db, &dispatcher.actor(), async |c| {
            workforce::open_blocker(c, &dispatcher, &new).await
        })
        .await
        .map_err(fail)?;
        opened.push((id, reason));
    }
    // The community offices grant two requests in three and refuse the rest; the dispatcher
    // reaches half of those who did not answer.
    for (k, (id, reason)) in opened.iter().enumerate() {
        use huoyan_core::workforce::blockers::Lifter;
        let (decider, lift) = match reason.lifter() {
            Lifter::Community => (office_of(db, *id).await?, (k / 6) % 3 != 2),
            Lifter::Dispatcher if k % 2 == 0 => (Some(dispatcher.clone()), true),
            _ => (None, true),
        };
        let Some(who) = decider else { continue };
        let d = workforce::Decision {
            note: Text::field(
                "note",
                if lift {
                    "已同意"
                } else {
                    "暂不具备条件"
                },
            )
            .map_err(fail)?,
        };
        Change::run(db, &who.actor(), async |c| {
            workforce::decide_blocker(c, &who, *id, lift, &d).await
        })
        .await
        .map_err(fail)?;
    }

    // The ten days rostered by the engine around the blockers, and published.
    let req = PlanRequest {
        first_day: first,
        days: DAYS,
        pins: Vec::new(),
        seconds: None,
    };
    let opts = SolveOptions {
        seed: SEED,
        time_limit: None,
        max_iterations: 200_000,
        control: None,
    };
    let plan = workforce::plan_now(db, &dispatcher, &req, opts)
        .await
        .map_err(fail)?;
    Change::run(db, &dispatcher.actor(), async |c| {
        workforce::publish(c, &dispatcher, plan).await
    })
    .await
    .map_err(fail)?;
    Ok(())
}

/// The community office deciding blocker `id`, as a principal.
async fn office_of(db: &Db, id: i64) -> anyhow::Result<Option<crate::auth::Principal>> {
    let account: Option<i64> = sqlx::query_scalar(
        "SELECT a.id FROM blockers b JOIN accounts a ON a.scope_department_id = b.department_id \
         AND a.role = 'department' WHERE b.id = $1 ORDER BY a.id LIMIT 1",
    )
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    match account {
        Some(a) => Ok(Some(
            principal_of(db, a)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?,
        )),
        None => Ok(None),
    }
}

fn note(reason: BlockerReason) -> &'static str {
    match reason {
        BlockerReason::BuildingSealed => "所在单元出现阳性，单元封闭",
        BlockerReason::NoPass => "小区封控，需社区开具通行证",
        BlockerReason::RoadClosed => "社区道路封闭，无法出行",
        BlockerReason::Unreachable => "电话无人接听",
        BlockerReason::Sick => "发热，居家观察",
        BlockerReason::Other => "家中老人需照顾",
    }
}
