//! The dispatcher's side of 2022-08-27 to 09-05: the 79 sinking cadres in one group per
//! community, the 215 double-registered volunteers on the duty roll, posts at
//! Gelin's 13 sampling points, its gates and supply stations (and 景程小区's own), blockers of
//! every kind with the community offices' decisions, each day's roster planned by the engine the
//! evening before and published, and the sign-ins at the posts. Every write goes through
//! `workforce`'s own functions at its historical time, by whoever made it.

use huoyan_core::workforce::blockers::BlockerReason;
use huoyan_core::workforce::posts::Job;
use huoyan_core::workforce::roster::SolveOptions;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use sqlx::Row;

use huoyan_core::auth::{Role, Scope};

use std::collections::HashMap;

use crate::audit::{Actor, Change};
use crate::auth::accounts::{self, NewAccount};
use crate::auth::password::{self, DEMO_PASSWORD};
use crate::auth::{Principal, principal_of};
use crate::check::Text;
use crate::db::Db;
use crate::org::teams;
use crate::workforce::{
    self, Day, DutyKind, Enrolment, NewBlocker, NewPost, NewShift, PlanRequest,
};

const SEED: u64 = 0x5EED_0827;
const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
/// When the dispatcher set the posts and the duty roll up (2022-08-26 18:00 Beijing time), and
/// the demo's snapshot (2022-09-05 20:00).
const SETUP: i64 = 1_661_508_000_000;
const SNAPSHOT: i64 = 1_662_379_200_000;
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
    change.act_as(&dispatcher.actor(), SETUP);
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
    let groups: HashMap<i64, i64> = sqlx::query_as(
        "SELECT m.person_id, MIN(m.team_id) FROM team_members m JOIN teams t ON t.id = m.team_id \
         WHERE t.kind = 'volunteer_group' GROUP BY m.person_id",
    )
    .fetch_all(&mut *change.tx)
    .await?
    .into_iter()
    .collect();
    for (i, (person, community)) in volunteers.iter().enumerate() {
        // Every volunteer's phone login, but the one the demo's `volunteer` is already.
        let taken = sqlx::query("SELECT 1 FROM accounts WHERE person_id = $1")
            .bind(person)
            .fetch_optional(&mut *change.tx)
            .await?
            .is_some();
        if let (false, Some(group)) = (taken, groups.get(person)) {
            let login = NewAccount {
                username: format!("volunteer-{:03}", i + 1),
                password: DEMO_PASSWORD.into(),
                role: Role::Volunteer.code().into(),
                person_id: Some(*person),
                scope: Scope {
                    team_id: Some(*group),
                    ..Default::default()
                },
            };
            accounts::check_new(&login, true).map_err(fail)?;
            accounts::insert(&mut change, &login, &hash)
                .await
                .map_err(fail)?;
        }
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

    // The ten days as they went: blockers of every kind reported the evening before and decided
    // by whom their reason names; each evening at 20:30 the dispatcher plans the next day and
    // publishes it; people sign in at their posts (a few late, a few never), sign out or are
    // signed out at the shift's end.
    let first = Day::parse(FIRST_DAY).map_err(anyhow::Error::msg)?;
    let mut blockers: Vec<(i64, NewBlocker)> = Vec::new();
    for k in 0..24usize {
        let person = if k % 2 == 0 {
            cadres[(k * 7) % cadres.len()]
        } else {
            volunteers[(k * 13) % volunteers.len()].0
        };
        let reason = BlockerReason::ALL[k % BlockerReason::ALL.len()];
        let day = first.plus(rng.random_range(0..DAYS));
        let reported = day.plus(-1).start_ms() + 19 * HOUR + k as i64 * 3 * MIN;
        blockers.push((
            reported,
            NewBlocker {
                person_id: Some(person),
                reason,
                first_day: day,
                last_day: Some(day.plus(rng.random_range(0..3)).min(first.plus(DAYS - 1))),
                note: Text::field("note", note(reason)).map_err(fail)?,
            },
        ));
    }
    blockers.sort_by_key(|b| b.0);
    let mut opened = Vec::new();
    let mut next = blockers.into_iter().peekable();
    for d in 0..DAYS {
        let day = first.plus(d);
        let evening = day.plus(-1).start_ms() + 20 * HOUR + 30 * MIN;
        while let Some((at, new)) = next.next_if(|b| b.0 < evening) {
            let mut c = Change::begin(db, &dispatcher.actor()).await.map_err(fail)?;
            c.act_as(&dispatcher.actor(), at);
            let id = workforce::open_blocker(&mut c, &dispatcher, &new)
                .await
                .map_err(fail)?;
            c.commit().await.map_err(fail)?;
            opened.push((id, new.reason, at));
            decide(
                db,
                &dispatcher,
                opened.len() - 1,
                id,
                new.reason,
                at + 40 * MIN,
            )
            .await?;
        }
        let req = PlanRequest {
            first_day: day,
            days: 1,
            pins: Vec::new(),
            seconds: None,
        };
        let opts = SolveOptions {
            seed: SEED + d as u64,
            time_limit: None,
            max_iterations: 40_000,
            control: None,
        };
        let plan = workforce::plan_now(db, &dispatcher, &req, opts, evening)
            .await
            .map_err(fail)?;
        let mut c = Change::begin(db, &dispatcher.actor()).await.map_err(fail)?;
        c.act_as(&dispatcher.actor(), evening + 5 * MIN);
        workforce::publish(&mut c, &dispatcher, plan)
            .await
            .map_err(fail)?;
        c.commit().await.map_err(fail)?;
        sign_ins(db, &mut rng, day).await?;
    }
    // Everyone read what they were told within the evening.
    let told: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT id, at FROM notifications WHERE case_id IS NULL AND read_at IS NULL ORDER BY id",
    )
    .fetch_all(&db.pool)
    .await?;
    let mut c = Change::begin(db, &dispatcher.actor()).await.map_err(fail)?;
    c.act_as(&dispatcher.actor(), SNAPSHOT);
    let read: Vec<(i64, i64)> = told
        .into_iter()
        .map(|(id, at)| {
            (
                id,
                (at + rng.random_range(5..90) * MIN).min(SNAPSHOT).max(at),
            )
        })
        .collect();
    crate::notifications::mark_read(&mut c, &read)
        .await
        .map_err(fail)?;
    c.commit().await.map_err(fail)?;
    Ok(())
}

/// The decision on blocker `id` (the `k`th): the community offices grant two requests in three
/// and refuse the rest; the dispatcher reaches half of those who did not answer.
async fn decide(
    db: &Db,
    dispatcher: &Principal,
    k: usize,
    id: i64,
    reason: BlockerReason,
    at: i64,
) -> anyhow::Result<()> {
    use huoyan_core::workforce::blockers::Lifter;
    let fail = |err: crate::error::AppError| anyhow::anyhow!("{err}: {:?}", err.fields());
    let (who, lift) = match reason.lifter() {
        Lifter::Community => (office_of(db, id).await?, (k / 6) % 3 != 2),
        Lifter::Dispatcher if k.is_multiple_of(2) => (Some(dispatcher.clone()), true),
        _ => (None, true),
    };
    let Some(who) = who else { return Ok(()) };
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
    let mut c = Change::begin(db, &who.actor()).await.map_err(fail)?;
    c.act_as(&who.actor(), at);
    workforce::decide_blocker(&mut c, &who, id, lift, &d)
        .await
        .map_err(fail)?;
    c.commit().await.map_err(fail)?;
    Ok(())
}

/// A published shift with its person's login: (account, person, shift, starts, ends, site lon, lat).
type Rostered = (i64, i64, i64, i64, i64, Option<f64>, Option<f64>);

/// `day`'s sign-ins, each by the person's own login at its time, up to the snapshot: most a few
/// minutes early, one in twelve late, one in fifteen never; two in three sign out by hand, the
/// rest are signed out at the shift's end.
async fn sign_ins(db: &Db, rng: &mut StdRng, day: Day) -> anyhow::Result<()> {
    let fail = |err: crate::error::AppError| anyhow::anyhow!("{err}: {:?}", err.fields());
    let rows: Vec<Rostered> = sqlx::query_as(
        "SELECT a.id, r.person_id, r.shift_id, r.starts_at, r.ends_at, s.lon, s.lat FROM roster r \
         JOIN accounts a ON a.person_id = r.person_id AND a.role = 'volunteer' \
         JOIN post_shifts sh ON sh.id = r.shift_id JOIN posts p ON p.id = sh.post_id JOIN sites s ON s.id = p.site_id \
         WHERE r.day = $1 ORDER BY r.starts_at, r.person_id",
    )
    .bind(day.to_string())
    .fetch_all(&db.pool)
    .await?;
    let mut events: Vec<(i64, bool, usize)> = Vec::new();
    for (i, (_, _, _, starts, ends, _, _)) in rows.iter().enumerate() {
        if rng.random_range(0..15) == 0 {
            continue;
        }
        let at = if rng.random_range(0..12) == 0 {
            starts + rng.random_range(11..40) * MIN
        } else {
            starts - rng.random_range(2..25) * MIN
        };
        events.push((at, true, i));
        if rng.random_range(0..3) < 2 {
            events.push((ends + rng.random_range(0..15) * MIN, false, i));
        }
    }
    events.sort();
    let mut c = Change::begin(db, &Actor::system("demo"))
        .await
        .map_err(fail)?;
    let mut accounts: HashMap<i64, Principal> = HashMap::new();
    for (at, signing_in, i) in events.into_iter().filter(|e| e.0 <= SNAPSHOT) {
        let (account, _, shift, _, _, lon, lat) = rows[i];
        let who = match accounts.entry(account) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(principal_of(db, account).await.map_err(fail)?)
            }
        };
        c.act_as(&who.actor(), at);
        if signing_in {
            let s = workforce::SignIn {
                code: None,
                shift_id: Some(shift),
                day: Some(day),
                lon: lon.map(|x| x + rng.random_range(-0.0005..0.0005)),
                lat,
            };
            workforce::sign_in(&mut c, db, who, &s)
                .await
                .map_err(fail)?;
        } else {
            let s = workforce::SignOut {
                shift_id: shift,
                day,
            };
            workforce::sign_out(&mut c, who, &s).await.map_err(fail)?;
        }
    }
    // The shifts that ended before the snapshot sign out whoever is still signed in.
    let end = day.plus(1).start_ms().min(SNAPSHOT);
    c.act_as(&Actor::system("sign-out at the shift's end"), end);
    workforce::close_ended_in(&mut c, end).await.map_err(fail)?;
    c.commit().await.map_err(fail)?;
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
